#!/usr/bin/env python3
"""A download whose client still has bytes to send when the peer is done.

    half_open.py server PORT            each connection: send 1000 bytes and
                                        half-close, then read for good
                                        (never close: the gateway ends it)
    half_open.py client PORT DIR NAME   connect, read the 1000 bytes to the
                                        FIN, make DIR/NAME.ready; once
                                        DIR/NAME.go exists send 1000 bytes;
                                        once DIR/NAME.stop exists write the
                                        connection's state to DIR/NAME.out:
                                        "reset" (CLOSE) or "open" (still
                                        CLOSE_WAIT: no reset came)
"""
import os
import socket
import sys
import threading
import time


def serve(conn):
    conn.sendall(b"d" * 1000)
    conn.shutdown(socket.SHUT_WR)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
    time.sleep(3600)


def server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)


def client(port, where, name):
    base = os.path.join(where, name)
    c = socket.create_connection(("127.0.0.1", port))
    got = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += len(b)
    with open(base + ".ready", "w") as f:
        f.write("%d\n" % got)
    wait_for(base + ".go")
    c.sendall(b"u" * 1000)
    wait_for(base + ".stop")
    state = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    with open(base + ".out.tmp", "w") as f:
        f.write({7: "reset", 8: "open"}.get(state, "state %d" % state) + "\n")
    os.rename(base + ".out.tmp", base + ".out")


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), sys.argv[3], sys.argv[4])
