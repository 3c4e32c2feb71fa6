#!/usr/bin/env python3
"""TCP and UDP flows inside the lab, for its access checks (standard library only).

Usage:
  flow-probe.py serve TCP_PORTS UDP_PORTS [TAG]
      Listen on every address on each port (comma-separated lists, "-" for none): accept every
      TCP connection and close it, answer every UDP datagram with the same bytes. Prints "ready"
      once every socket is bound, then serves until stdin closes or it is stopped. TAG is not
      read: it marks the process as the lab's, so the lab's teardown finds it.
  flow-probe.py probe TIMEOUT_S TARGET...
      TARGET is ADDRESS:tcp:PORT or ADDRESS:udp:PORT. Tries every target at once and prints one
      line per target, "TARGET RESULT": open (TCP connected, or a UDP answer came back), closed
      (refused: the packet got there and nothing listens) or timeout (no answer: dropped on the
      way). A UDP datagram is sent again every quarter second until an answer or the timeout.
"""
import errno
import os
import select
import socket
import sys
import time


def fail(message: str) -> None:
    sys.stderr.write(f"flow-probe: {message}\n")
    sys.exit(2)


def ports(text: str) -> list:
    if text == "-":
        return []
    try:
        out = [int(p) for p in text.split(",")]
    except ValueError:
        fail(f"{text!r} is not a comma-separated list of ports")
    if any(p < 1 or p > 65535 for p in out):
        fail(f"{text!r} holds a port outside 1-65535")
    return out


def serve(tcp_ports: list, udp_ports: list) -> None:
    listeners, answerers = [], []
    for port in tcp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(128)
        s.setblocking(False)
        listeners.append(s)
    for port in udp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        s.setblocking(False)
        answerers.append(s)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    watched = listeners + answerers + [sys.stdin]
    while True:
        ready, _, _ = select.select(watched, [], [])
        for s in ready:
            if s is sys.stdin:
                if not os.read(sys.stdin.fileno(), 4096):
                    return
            elif s in listeners:
                try:
                    conn, _ = s.accept()
                    conn.close()
                except OSError:
                    pass
            else:
                try:
                    data, peer = s.recvfrom(2048)
                    s.sendto(data, peer)
                except OSError:
                    pass


def parse_target(text: str) -> tuple:
    parts = text.split(":")
    if len(parts) != 3 or parts[1] not in ("tcp", "udp"):
        fail(f"{text!r} is not ADDRESS:tcp:PORT or ADDRESS:udp:PORT")
    try:
        socket.inet_pton(socket.AF_INET, parts[0])
    except OSError:
        fail(f"{parts[0]!r} is not an IPv4 address")
    return parts[0], parts[1], ports(parts[2])[0]


def probe(timeout: float, targets: list) -> None:
    result = {}
    pending = {}  # socket -> (target text, kind)
    sent_at = {}
    for text in targets:
        address, kind, port = parse_target(text)
        if kind == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            code = s.connect_ex((address, port))
            if code in (0, errno.EINPROGRESS):
                pending[s] = (text, kind)
            else:
                result[text] = "closed" if code == errno.ECONNREFUSED else "timeout"
                s.close()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            try:
                s.connect((address, port))
                s.send(b"wg-mesh access probe")
                sent_at[s] = time.monotonic()
                pending[s] = (text, kind)
            except OSError:
                result[text] = "timeout"
                s.close()
    deadline = time.monotonic() + timeout
    while pending:
        now = time.monotonic()
        if now >= deadline:
            break
        for s, (text, kind) in list(pending.items()):
            if kind == "udp" and now - sent_at[s] >= 0.25:
                try:
                    s.send(b"wg-mesh access probe")
                except OSError:
                    pass
                sent_at[s] = now
        readable = [s for s, (_, k) in pending.items() if k == "udp"]
        writable = [s for s, (_, k) in pending.items() if k == "tcp"]
        r, w, _ = select.select(readable, writable, [], min(0.25, max(0.0, deadline - now)))
        for s in w:
            text, _ = pending.pop(s)
            code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result[text] = "open" if code == 0 else "closed" if code == errno.ECONNREFUSED else "timeout"
            s.close()
        for s in r:
            text, _ = pending.pop(s)
            try:
                s.recv(2048)
                result[text] = "open"
            except ConnectionRefusedError:
                result[text] = "closed"
            except OSError:
                result[text] = "timeout"
            s.close()
    for s, (text, _) in pending.items():
        result[text] = "timeout"
        s.close()
    sys.stdout.write("".join(f"{t} {result[t]}\n" for t in targets))


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "serve":
        serve(ports(args[1]), ports(args[2]))
    elif len(args) >= 2 and args[0] == "probe":
        try:
            timeout = float(args[1])
        except ValueError:
            fail("TIMEOUT_S must be a number of seconds")
        probe(timeout, args[2:])
    else:
        fail("usage: flow-probe.py serve TCP_PORTS UDP_PORTS [TAG] | probe TIMEOUT_S ADDRESS:PROTO:PORT...")


if __name__ == "__main__":
    main()
