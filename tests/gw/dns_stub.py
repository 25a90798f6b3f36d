#!/usr/bin/env python3
"""A DNS server for tests: every name is unknown (NXDOMAIN) at once, except
names under "slow." whose queries are never answered, so the resolver waits
for its timeout.

    dns_stub.py ADDR LOG    serve UDP on ADDR:53, one line per query in LOG

It prints "ready" once it listens. Names in /etc/hosts never reach it.
"""
import socket
import sys


def qname(msg):
    """The first question's name, lower case, and where the question ends."""
    i, labels = 12, []
    while msg[i]:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode("ascii", "replace"))
        i += 1 + msg[i]
    return ".".join(labels).lower(), i + 5  # the root label, QTYPE, QCLASS


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], 53))
    log = open(sys.argv[2], "a", buffering=1)
    print("ready", flush=True)
    while True:
        msg, peer = sock.recvfrom(4096)
        if len(msg) < 17:
            continue
        name, end = qname(msg)
        slow = name.startswith("slow.")
        log.write(f"{name} {'dropped' if slow else 'nxdomain'}\n")
        if slow:
            continue
        # QR, AA and the query's RD; RA and RCODE 3 (NXDOMAIN); the question
        # echoed, no records (an EDNS OPT of the query is left out).
        flags = bytes([0x84 | (msg[2] & 0x01), 0x83])
        sock.sendto(msg[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + msg[12:end], peer)


main()
