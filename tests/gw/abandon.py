#!/usr/bin/env python3
"""Clients that abandon their connections in every way a flow can end early,
and a back end that ends its connections as they arrive.

    abandon.py client PORT N       N connections of each kind (N/5 for
                                   credit), all at once:
        close     connect and close at once (before the far end answered)
        reset     connect and reset at once
        credit    send 4 MiB without reading, then close (DATA waits for
                  credit; unread bytes make the close a reset). Each may
                  move megabytes through both gateways before its sends
                  stall, one after another
        halfclose send 1 KiB, half-close, close without reading the echo
        linger    send 1 KiB, read nothing, reset after 100 ms
    prints "opened=X failed=Y" (connections that could not even connect),
    then each failure's errno and count; SIGUSR1 prints where it is (for a
    test that waited too long)
    abandon.py server PORT         accept forever; close or reset each
                                   connection at once, alternately
"""
import collections
import errno
import faulthandler
import selectors
import signal
import socket
import struct
import sys
import time


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def connect(port, errors):
    """A socket connecting to port, or None if the connect failed at once
    (no port left, say): tallied by errno in errors, never taken for a
    connection."""
    s = socket.socket()
    s.setblocking(False)
    err = s.connect_ex(("127.0.0.1", port))
    if err in (0, errno.EINPROGRESS):
        return s
    errors["at once " + errno.errorcode.get(err, str(err))] += 1
    s.close()
    return None


def wait_connected(socks, deadline, errors):
    """The sockets that connected. A connection reset before we looked did
    connect: the far back end ended it (the "gone" server) and the gateway
    passed the reset on, which is what it must do. Only a refusal or no
    answer at all counts as a failure, tallied by errno in errors."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    ok, left = [], len(socks)
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            sel.unregister(key.fileobj)
            left -= 1
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err in (0, errno.ECONNRESET, errno.EPIPE):
                ok.append(key.fileobj)
            else:
                errors[errno.errorcode.get(err, str(err))] += 1
                key.fileobj.close()
    for key in list(sel.get_map().values()):
        errors["no answer"] += 1
        key.fileobj.close()
    return ok


def send_some(s, total, limit=2.0):
    """Sends up to total bytes, until a send stalls for 50 ms or limit
    seconds have gone: whatever is left waits for credit either way."""
    s.setblocking(True)
    s.settimeout(0.05)
    sent, chunk = 0, b"x" * 65536
    end = time.monotonic() + limit
    try:
        while sent < total and time.monotonic() < end:
            sent += s.send(chunk[: total - sent])
    except (socket.timeout, OSError):
        pass


def client(port, n):
    kinds = ["close", "reset", "credit", "halfclose", "linger"]
    count = {k: max(1, n // 5) if k == "credit" else n for k in kinds}
    errors = collections.Counter()
    t0 = time.monotonic()
    socks = {k: [connect(port, errors) for _ in range(count[k])] for k in kinds}
    socks = {k: [s for s in socks[k] if s is not None] for k in kinds}
    # "close" and "reset" end before the far end can have answered.
    for s in socks["close"]:
        s.close()
    for s in socks["reset"]:
        reset(s)
    deadline = time.monotonic() + 20
    rest = {k: wait_connected(socks[k], deadline, errors) for k in kinds[2:]}
    t1 = time.monotonic()
    for s in rest["credit"]:
        send_some(s, 4 << 20)
    for s in rest["halfclose"]:
        send_some(s, 1024)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the far end already ended it: that is one of the races

    for s in rest["linger"]:
        send_some(s, 1024)
    time.sleep(0.1)
    for s in rest["credit"] + rest["halfclose"]:
        s.close()
    for s in rest["linger"]:
        reset(s)
    opened = sum(len(v) for v in rest.values())
    why = "".join(f" {e}={c}" for e, c in sorted(errors.items()))
    wanted = sum(count[k] for k in kinds[2:])
    failed = wanted - opened + sum(count[k] - len(socks[k]) for k in kinds[:2])
    t2 = time.monotonic()
    print(f"opened={opened} failed={failed}{why} (connected in {t1 - t0:.1f} s, "
          f"sent and ended in {t2 - t1:.1f} s)", flush=True)


def server(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4096)
    flip = False
    while True:
        c, _ = ls.accept()
        flip = not flip
        if flip:
            reset(c)
        else:
            c.close()


def main():
    faulthandler.register(signal.SIGUSR1)
    if sys.argv[1] == "client":
        client(int(sys.argv[2]), int(sys.argv[3]))
    else:
        server(int(sys.argv[2]))


if __name__ == "__main__":
    main()
