#!/usr/bin/env python3
"""A client that stops reading: connects to HOST:PORT with a small receive
buffer, sends BYTES (as fast as the connection takes them), reads nothing
for HOLD_S seconds, then reads whatever comes, until the connection fails
or TIMEOUT_S after the connect.

    stall.py HOST:PORT BYTES HOLD_S TIMEOUT_S

prints "connect_ms=C reset_ms=T errno=NAME sent=N received=M": C the wall
clock at the connect (ms since the epoch), T the milliseconds from the
connect to the failure (a send refused, a read's error or the socket's) or
-1 and errno=none when it did not fail; an orderly end (EOF) is
errno=EOF. A gateway that gave up on the connection while its window was
shut sends nothing then (the kernel dropped the socket): the reset comes
when the window opens, at the first read.
"""
import errno
import select
import socket
import sys
import time


def run(s, total, hold, timeout, t0):
    """Returns (errno or 0, bytes sent, bytes received)."""
    chunk = b"s" * 65536
    sent = received = 0
    p = select.poll()
    while time.monotonic() - t0 < timeout:
        reading = time.monotonic() - t0 >= hold
        p.register(s, (select.POLLOUT if sent < total else 0) |
                   (select.POLLIN if reading else 0) | select.POLLERR | select.POLLHUP)
        for _, ev in p.poll(50):
            try:
                if ev & select.POLLIN or (reading and ev & (select.POLLERR | select.POLLHUP)):
                    data = s.recv(65536)
                    if not data:
                        return -1, sent, received
                    received += len(data)
                elif ev & (select.POLLERR | select.POLLHUP):
                    return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or errno.EPIPE, \
                        sent, received
                elif ev & select.POLLOUT:
                    sent += s.send(chunk[: total - sent])
            except BlockingIOError:
                pass
            except OSError as e:
                return e.errno, sent, received
    return 0, sent, received


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    total, hold, timeout = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, int(port)))
    connect_ms, t0 = time.time() * 1000, time.monotonic()
    s.setblocking(False)
    err, sent, received = run(s, total, hold, timeout, t0)
    ms = (time.monotonic() - t0) * 1000 if err else -1
    name = "EOF" if err == -1 else errno.errorcode.get(err, "none")
    print("connect_ms=%d reset_ms=%d errno=%s sent=%d received=%d"
          % (connect_ms, ms, name, sent, received))


if __name__ == "__main__":
    main()
