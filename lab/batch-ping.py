#!/usr/bin/env python3
"""Echo requests from one network namespace to many IPv4 addresses at once.

Usage: batch-ping.py COUNT INTERVAL_S TIMEOUT_S ADDRESS...

Each round sends one request to every address, then waits until each has answered or
TIMEOUT_S has passed since it was sent; the next round starts INTERVAL_S after this one
started. Prints one
line per reply, `ADDRESS ROUND TTL MS`, where TTL is the reply's IP time to live as `ping`
shows it. A reply counts only when its identifier, its sequence number and its source address
are all those of a request still waiting: oping matches on the first two alone, and its random
per-host identifiers collide often enough in a hundred-target batch to swap two targets'
answers. Needs root (a raw socket); sends nothing but the echo requests asked for.
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


def parse_args(argv: list) -> tuple:
    if len(argv) < 4:
        fail("usage: batch-ping.py COUNT INTERVAL_S TIMEOUT_S ADDRESS...")
    try:
        count, interval, timeout = int(argv[0]), float(argv[1]), float(argv[2])
    except ValueError:
        fail("COUNT must be a whole number and INTERVAL_S, TIMEOUT_S numbers of seconds")
    addresses = argv[3:]
    for a in addresses:
        try:
            socket.inet_pton(socket.AF_INET, a)
        except OSError:
            fail(f"{a!r} is not an IPv4 address")
    if count < 1 or timeout <= 0 or interval < 0:
        fail("COUNT must be at least 1, TIMEOUT_S above 0 and INTERVAL_S not below 0")
    # Sequence numbers name (round, address) pairs, so they must not wrap.
    if count * len(addresses) > 0xFFFF:
        fail(f"{count} rounds of {len(addresses)} addresses is more than 65,535 requests")
    return count, interval, timeout, addresses


def main() -> None:
    count, interval, timeout, addresses = parse_args(sys.argv[1:])
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        fail("needs root: echo requests go out on a raw socket")
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
            header_len = (packet[0] & 0x0F) * 4
            if len(packet) < header_len + 8:
                continue
            kind, _, _, reply_ident, seq = struct.unpack("!BBHHH", packet[header_len:header_len + 8])
            if kind != 0 or reply_ident != ident or seq not in waiting:
                continue
            address, sent = waiting[seq]
            if source != address:
                continue
            del waiting[seq]
            out.append(f"{address} {rnd + 1} {packet[8]} {(received - sent) * 1000:.3f}")
        if rnd + 1 < count:
            time.sleep(max(0.0, started + interval - time.monotonic()))
    sys.stdout.write("".join(f"{line}\n" for line in out))


if __name__ == "__main__":
    main()
