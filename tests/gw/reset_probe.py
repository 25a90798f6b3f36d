#!/usr/bin/env python3
"""TCP endpoints that reset, or report how their peer ended the connection.

    reset_probe.py server PORT [--reset]   accept one connection; with --reset,
                                           read 100 bytes then reset it
    reset_probe.py server PORT --slow S [--reply]
                                           accept one connection; with
                                           --reply send "reply" and half-close
                                           at once; read nothing for S
                                           seconds, then read it to its end
                                           (a small receive buffer: the
                                           sender holds what waits)
    reset_probe.py client PORT [--reset]   connect; with --reset, send 1000
                                           bytes then reset
    reset_probe.py client PORT --upload N [--reset]
                                           connect, send N bytes and
                                           half-close; then read to the end,
                                           or with --reset wait 0.5 s and
                                           reset
Without --reset each side reads until the connection ends and prints
"reset" (ECONNRESET) or "eof" (a clean FIN), and the seconds it waited;
a --slow server also the bytes it read.
"""
import socket
import struct
import sys
import time


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def watch(sock, count=False):
    start = time.monotonic()
    got = 0
    sock.settimeout(10)
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                break
            got += len(b)
        how = "eof"
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    print(f"{how} {time.monotonic() - start:.3f}" + (f" {got}" if count else ""), flush=True)


def option(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def serve(port, do_reset):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if "--slow" in sys.argv:
        # A small window: what it has not read waits in the gateway, not in
        # the kernel's buffers.
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(("127.0.0.1", port))
    ls.listen()
    ls.settimeout(20)
    try:
        conn, _ = ls.accept()
    except socket.timeout:
        print("no-connection 20.000", flush=True)
        return
    slow = option("--slow")
    if slow is not None:
        if "--reply" in sys.argv:
            conn.sendall(b"reply")
            conn.shutdown(socket.SHUT_WR)
        time.sleep(float(slow))
        watch(conn, count=True)
    elif do_reset:
        conn.recv(100)
        reset(conn)
    else:
        watch(conn)


def main():
    role, port, do_reset = sys.argv[1], int(sys.argv[2]), "--reset" in sys.argv
    if role == "server":
        serve(port, do_reset)
        return
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    upload = option("--upload")
    if upload is not None:
        sock.sendall(b"u" * int(upload))
        sock.shutdown(socket.SHUT_WR)
        if do_reset:
            time.sleep(0.5)
            reset(sock)
        else:
            watch(sock)
        return
    sock.sendall(b"x" * (1000 if do_reset else 100))
    if do_reset:
        time.sleep(0.3)
        reset(sock)
    else:
        watch(sock)


main()
