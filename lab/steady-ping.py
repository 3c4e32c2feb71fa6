#!/usr/bin/env python3
"""Echo requests from one network namespace to many IPv4 addresses, at a steady rate, for a while.

Usage: steady-ping.py INTERVAL_S DURATION_S TIMEOUT_S ADDRESS...

Every INTERVAL_S it sends one request to every address, for DURATION_S, then waits out the last
requests' TIMEOUT_S and prints one line per request: `ADDRESS ROUND SENT_MS TTL RTT_MS`, where
SENT_MS is when it left (milliseconds since the epoch, to line up with a failure's time) and TTL
and RTT_MS are `-` for a request that got no answer within TIMEOUT_S. A reply counts only when its
identifier, sequence number and source address are those of a request still waiting (as in
batch-ping.py). Needs root (a raw socket); sends nothing but these echo requests.
"""
import os
import select
import socket
import struct
import sys
import time

PAYLOAD = bytes(56)


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
    sys.stderr.write(f"steady-ping: {message}\n")
    sys.exit(2)


def main() -> None:
    argv = sys.argv[1:]
    if len(argv) < 4:
        fail("usage: steady-ping.py INTERVAL_S DURATION_S TIMEOUT_S ADDRESS...")
    try:
        interval, duration, timeout = float(argv[0]), float(argv[1]), float(argv[2])
    except ValueError:
        fail("INTERVAL_S, DURATION_S and TIMEOUT_S are numbers of seconds")
    addresses = argv[3:]
    for a in addresses:
        try:
            socket.inet_pton(socket.AF_INET, a)
        except OSError:
            fail(f"{a!r} is not an IPv4 address")
    if interval <= 0 or duration <= 0 or timeout <= 0:
        fail("INTERVAL_S, DURATION_S and TIMEOUT_S must be above 0")
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        fail("needs root: echo requests go out on a raw socket")
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
        header_len = (packet[0] & 0x0F) * 4
        if len(packet) < header_len + 8:
            continue
        kind, _, _, reply_ident, seq = struct.unpack("!BBHHH", packet[header_len:header_len + 8])
        if kind != 0 or reply_ident != ident or seq not in waiting:
            continue
        address, rnd, wall, sent = waiting[seq]
        if source != address:
            continue
        del waiting[seq]
        results.append(f"{address} {rnd} {wall:.0f} {packet[8]} {(received - sent) * 1000:.3f}")
    sys.stdout.write("".join(f"{line}\n" for line in results))


if __name__ == "__main__":
    main()
