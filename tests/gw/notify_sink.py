#!/usr/bin/env python3
"""Plays systemd's side of the Type=notify protocol for t_notify.sh.

Usage: notify_sink.py SOCKET OUT

Binds an AF_UNIX datagram socket at SOCKET (the path a gateway gets as
NOTIFY_SOCKET) and appends every message to OUT, one line per assignment,
each prefixed with the seconds since the sink started ("1.234 READY=1").
When a message holds READY=1, the listening sockets of this network
namespace are copied at that instant to OUT.sctp-eps (/proc/net/sctp/eps)
and OUT.tcp (/proc/net/tcp), so the test can check that READY=1 came only
once the gateway was listening. Runs until SIGTERM.
"""
import os
import shutil
import signal
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    start = time.monotonic()
    with open(out, "a", buffering=1) as f:
        while True:
            msg = sock.recv(4096).decode("utf-8", "replace")
            now = time.monotonic() - start
            if "READY=1" in msg.split("\n"):
                for src, suffix in (("/proc/net/sctp/eps", ".sctp-eps"), ("/proc/net/tcp", ".tcp")):
                    try:
                        shutil.copyfile(src, out + suffix)
                    except OSError as e:
                        print(f"notify_sink: {src}: {e}", file=sys.stderr)
            for line in msg.split("\n"):
                if line:
                    f.write(f"{now:.3f} {line}\n")


if __name__ == "__main__":
    main()
