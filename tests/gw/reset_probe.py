#!/usr/bin/env python3
"""TCP endpoints that reset, or report how their peer ended the connection.

    reset_probe.py server PORT [--reset]   accept one connection; with --reset,
                                           read 100 bytes then reset it
    reset_probe.py client PORT [--reset]   connect; with --reset, send 1000
                                           bytes then reset
Without --reset each side reads until the connection ends and prints
"reset" (ECONNRESET) or "eof" (a clean FIN), and the seconds it waited.
"""
import socket
import struct
import sys
import time


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def watch(sock):
    start = time.monotonic()
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
        how = "eof"
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    print(f"{how} {time.monotonic() - start:.3f}", flush=True)


def main():
    role, port, do_reset = sys.argv[1], int(sys.argv[2]), "--reset" in sys.argv
    if role == "server":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen()
        ls.settimeout(20)
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            print("no-connection 20.000", flush=True)
            return
        if do_reset:
            conn.recv(100)
            reset(conn)
        else:
            watch(conn)
        return
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"x" * (1000 if do_reset else 100))
    if do_reset:
        time.sleep(0.3)
        reset(sock)
    else:
        watch(sock)


main()
