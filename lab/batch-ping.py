#!/usr/bin/env python3
"""Echo requests from one network namespace to many IPv4 addresses at once.

Usage: batch-ping.py COUNT INTERVAL_S TIMEOUT_S ADDRESS...
       batch-ping.py --steady INTERVAL_S DURATION_S TIMEOUT_S ADDRESS...

Each round sends one request to every address, then waits until each has answered or
TIMEOUT_S has passed since it was sent; the next round starts INTERVAL_S after this one
started. Prints one
line per reply, `ADDRESS ROUND TTL MS`, where TTL is the reply's IP time to live as `ping`
shows it. A reply counts only when its identifier, its sequence number and its source address
are all those of a request still waiting: oping matches on the first two alone, and its random
per-host identifiers collide often enough in a hundred-target batch to swap two targets'
answers. Needs root (a raw socket); sends nothing but the echo requests asked for.

With --steady it sends one request to every address every INTERVAL_S for DURATION_S, without
waiting for answers between rounds (a failure's losses are what it measures), then prints one line
per request: `ADDRESS ROUND SENT_MS TTL RTT_MS`, SENT_MS when it left (milliseconds since the
epoch, to line up with a failure's time), TTL and RTT_MS `-` for a request unanswered within
TIMEOUT_S.
"""
import os
import select
import socket
import struct
import sys
import time

PAYLOAD = bytes(56)  # ping's default size: an 84-byte packet


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(header + PAYLOAD), ident, seq) + PAYLOAD


def fail(message: str) -> None:
    sys.stderr.write(f"batch-ping: {message}\n")
    sys.exit(2)


def ipv4_addresses(addresses: list) -> list:
    for a in addresses:
        try:
            socket.inet_pton(socket.AF_INET, a)
        except OSError:
            fail(f"{a!r} is not an IPv4 address")
    return addresses


def parse_args(argv: list) -> tuple:
    if len(argv) < 4:
        fail("usage: batch-ping.py COUNT INTERVAL_S TIMEOUT_S ADDRESS...")
    try:
        count, interval, timeout = int(argv[0]), float(argv[1]), float(argv[2])
    except ValueError:
        fail("COUNT must be a whole number and INTERVAL_S, TIMEOUT_S numbers of seconds")
    addresses = ipv4_addresses(argv[3:])
    if count < 1 or timeout <= 0 or interval < 0:
        fail("COUNT must be at least 1, TIMEOUT_S above 0 and INTERVAL_S not below 0")
    # Sequence numbers name (round, address) pairs, so they must not wrap.
    if count * len(addresses) > 0xFFFF:
        fail(f"{count} rounds of {len(addresses)} addresses is more than 65,535 requests")
    return count, interval, timeout, addresses


def raw_socket() -> socket.socket:
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        fail("needs root: echo requests go out on a raw socket")
        raise


def reply_of(packet: bytes) -> tuple:
    """(identifier, sequence, ttl) of an echo reply, or None for anything else."""
    header_len = (packet[0] & 0x0F) * 4
    if len(packet) < header_len + 8:
        return None
    kind, _, _, ident, seq = struct.unpack("!BBHHH", packet[header_len:header_len + 8])
    return (ident, seq, packet[8]) if kind == 0 else None


def steady(argv: list) -> None:
    if len(argv) < 4:
        fail("usage: batch-ping.py --steady INTERVAL_S DURATION_S TIMEOUT_S ADDRESS...")
    try:
        interval, duration, timeout = float(argv[0]), float(argv[1]), float(argv[2])
    except ValueError:
        fail("INTERVAL_S, DURATION_S and TIMEOUT_S are numbers of seconds")
    addresses = ipv4_addresses(argv[3:])
    if interval <= 0 or duration <= 0 or timeout <= 0:
        fail("INTERVAL_S, DURATION_S and TIMEOUT_S must be above 0")
    sock = raw_socket()
    ident = os.getpid() & 0xFFFF
    rounds = max(1, int(duration / interval))
    # A sequence number is reused only after 65,536 requests, long after its timeout.
    waiting = {}  # seq -> (address, round, sent wall ms, sent monotonic)
    results = []
    start = time.monotonic()
    next_round = 0
    while next_round < rounds or waiting:
        now = time.monotonic()
        if next_round < rounds and now >= start + next_round * interval:
            wall = time.time() * 1000
            for i, address in enumerate(addresses):
                seq = (next_round * len(addresses) + i) & 0xFFFF
                if seq in waiting:
                    old = waiting.pop(seq)
                    results.append(f"{old[0]} {old[1]} {old[2]:.0f} - -")
                try:
                    sock.sendto(echo_request(ident, seq), (address, 0))
                except OSError:
                    pass  # no route: counts as no answer
                waiting[seq] = (address, next_round + 1, wall, time.monotonic())
            next_round += 1
            continue
        for seq in [s for s, w in waiting.items() if now - w[3] >= timeout]:
            old = waiting.pop(seq)
            results.append(f"{old[0]} {old[1]} {old[2]:.0f} - -")
        wake = start + next_round * interval if next_round < rounds else now + timeout
        if waiting:
            wake = min(wake, min(w[3] for w in waiting.values()) + timeout)
        ready, _, _ = select.select([sock], [], [], max(0.0, wake - time.monotonic()))
        if not ready:
            continue
        packet, (source, _) = sock.recvfrom(65535)
        received = time.monotonic()
        reply = reply_of(packet)
        if reply is None or reply[0] != ident or reply[1] not in waiting:
            continue
        address, rnd, wall, sent = waiting[reply[1]]
        if source != address:
            continue
        del waiting[reply[1]]
        results.append(f"{address} {rnd} {wall:.0f} {reply[2]} {(received - sent) * 1000:.3f}")
    sys.stdout.write("".join(f"{line}\n" for line in results))


def main() -> None:
    if sys.argv[1:2] == ["--steady"]:
        steady(sys.argv[2:])
        return
    count, interval, timeout, addresses = parse_args(sys.argv[1:])
    sock = raw_socket()
    ident = os.getpid() & 0xFFFF
    out = []
    for rnd in range(count):
        started = time.monotonic()
        waiting = {}  # seq -> (address, sent at)
        for i, address in enumerate(addresses):
            seq = rnd * len(addresses) + i
            try:
                sock.sendto(echo_request(ident, seq), (address, 0))
                waiting[seq] = (address, time.monotonic())
            except OSError:
                pass  # no route: no reply, as ping would say
        while waiting:
            # Each request waits TIMEOUT_S from its own sending: on a busy machine the last
            # of a hundred is sent well after the first.
            now = time.monotonic()
            for seq in [seq for seq, (_, sent) in waiting.items() if now - sent >= timeout]:
                del waiting[seq]
            if not waiting:
                break
            wake = min(sent for _, sent in waiting.values()) + timeout
            ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
            if not ready:
                continue
            packet, (source, _) = sock.recvfrom(65535)
            received = time.monotonic()
            reply = reply_of(packet)
            if reply is None or reply[0] != ident or reply[1] not in waiting:
                continue
            address, sent = waiting[reply[1]]
            if source != address:
                continue
            del waiting[reply[1]]
            out.append(f"{address} {rnd + 1} {reply[2]} {(received - sent) * 1000:.3f}")
        if rnd + 1 < count:
            time.sleep(max(0.0, started + interval - time.monotonic()))
    sys.stdout.write("".join(f"{line}\n" for line in out))


if __name__ == "__main__":
    main()
