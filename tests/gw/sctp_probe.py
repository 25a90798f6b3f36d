#!/usr/bin/env python3
"""Reads a running gateway's SCTP timers from the kernel, for t_reload.sh.

Usage: sctp_probe.py PID...

Takes a copy of each SCTP socket of each process PID (pidfd_getfd, as root)
and, for the first one with an established association, prints one line:

    pid=PID rto_initial=500 rto_max=500 rto_min=250 hbinterval=252 pathmaxrxt=2 asocmaxrxt=730

the association's own values (SCTP_RTOINFO, SCTP_PEER_ADDR_PARAMS with no
address, SCTP_ASSOCINFO; on a one-to-one socket the kernel ignores the
association id and answers for its association; it keeps them in
jiffies, so 250 ms may read 252). Exits 1 when a process has no such
socket. Several processes in one call: python starts slowly in the VM.
"""
import ctypes
import os
import struct
import sys

IPPROTO_SCTP = 132
SOL_SOCKET = 1
SO_PROTOCOL = 38
SCTP_RTOINFO = 0
SCTP_ASSOCINFO = 1
SCTP_PEER_ADDR_PARAMS = 9
SCTP_STATUS = 14
SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
SCTP_ESTABLISHED = 4  # enum sctp_sstat_state

libc = ctypes.CDLL(None, use_errno=True)


def getsockopt(fd, level, name, size):
    buf = ctypes.create_string_buffer(size)  # zeroed: association id 0, no address
    n = ctypes.c_uint(size)
    if libc.getsockopt(fd, level, name, buf, ctypes.byref(n)) < 0:
        return None
    return buf.raw[: n.value]


def probe(fd):
    proto = getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, 4)
    if proto is None or struct.unpack("i", proto)[0] != IPPROTO_SCTP:
        return None
    status = getsockopt(fd, IPPROTO_SCTP, SCTP_STATUS, 256)
    if status is None or struct.unpack_from("i", status, 4)[0] != SCTP_ESTABLISHED:
        return None
    rto = getsockopt(fd, IPPROTO_SCTP, SCTP_RTOINFO, 16)
    # struct sctp_paddrparams is packed: id, sockaddr_storage, hbinterval, pathmaxrxt, ...
    pp = getsockopt(fd, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, 156)
    ai = getsockopt(fd, IPPROTO_SCTP, SCTP_ASSOCINFO, 20)
    if rto is None or pp is None or ai is None:
        return None
    _, initial, rmax, rmin = struct.unpack("IIII", rto)
    hb, pmr = struct.unpack_from("<IH", pp, 4 + 128)
    amr = struct.unpack_from("<H", ai, 4)[0]
    return (f"rto_initial={initial} rto_max={rmax} rto_min={rmin} hbinterval={hb} "
            f"pathmaxrxt={pmr} asocmaxrxt={amr}")


def probe_pid(pid):
    pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        print(f"sctp_probe: pidfd_open {pid}: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return False
    for name in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                continue
        except OSError:
            continue
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
        if fd < 0:
            continue
        line = probe(fd)
        os.close(fd)
        if line:
            print(f"pid={pid} {line}")
            return True
    print(f"sctp_probe: process {pid} has no established SCTP association", file=sys.stderr)
    return False


def main():
    ok = [probe_pid(int(pid)) for pid in sys.argv[1:]]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
