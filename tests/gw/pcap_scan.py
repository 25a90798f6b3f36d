#!/usr/bin/python3
"""What a tcpdump capture (pcap, Ethernet) holds, for t_crypto.sh:

    pcap_scan.py FILE... [--marker TEXT]... [--src A --dst B]

prints one line of key=value: sctp_packets and sctp_bytes (IPv4 packets of
protocol 132, and their bytes from the IP header on), then for each marker
marker<i>=<occurrences in the raw bytes of the files> (a search of the
raw bytes, whatever the framing: chunk boundaries may split a marker, never
hide one that is whole), and with --src/--dst the packets from A to B whose
first chunk is an ABORT (aborts_src_dst) or a FORWARD-TSN or I-FORWARD-TSN
(fwdtsns_src_dst), and the ERROR and COOKIE-ECHO chunks they carry
(errors_src_dst, cookie_echoes_src_dst).
Plain Python, no scapy."""
import argparse
import socket
import struct
import sys


def records(data):
    """(time in s, frame) of each record of a pcap file's bytes."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("not a pcap file")
    scale = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off : off + 16])
        yield sec + frac / scale, data[off + 16 : off + 16 + incl]
        off += 16 + incl


def chunks_of(sctp, ctype_wanted):
    """How many chunks of a type an SCTP packet (common header on) holds."""
    n, off = 0, 12
    while off + 4 <= len(sctp):
        ctype, _flags, clen = struct.unpack(">BBH", sctp[off : off + 4])
        if clen < 4:
            break
        n += ctype == ctype_wanted
        off += (clen + 3) & ~3
    return n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--marker", action="append", default=[])
    p.add_argument("--src")
    p.add_argument("--dst")
    o = p.parse_args()
    src = socket.inet_aton(o.src) if o.src else None
    dst = socket.inet_aton(o.dst) if o.dst else None
    packets = nbytes = aborts = fwdtsns = errors = cookies = 0
    counts = [0] * len(o.marker)
    for name in o.files:
        with open(name, "rb") as f:
            data = f.read()
        for i, m in enumerate(o.marker):
            counts[i] += data.count(m.encode())
        for _, frame in records(data):
            if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 132:
                continue
            ip = frame[14:]
            packets += 1
            nbytes += len(ip)  # a GSO packet's IP length may not cover it all
            ihl = (ip[0] & 0x0F) * 4
            if src and ip[12:16] == src and ip[16:20] == dst and len(ip) > ihl + 12:
                aborts += ip[ihl + 12] == 6
                fwdtsns += ip[ihl + 12] in (0xC0, 0xC2)
                errors += chunks_of(ip[ihl:], 9)
                cookies += chunks_of(ip[ihl:], 10)
    out = f"sctp_packets={packets} sctp_bytes={nbytes}"
    out += "".join(f" marker{i}={c}" for i, c in enumerate(counts))
    if src:
        out += f" aborts_src_dst={aborts} fwdtsns_src_dst={fwdtsns} errors_src_dst={errors}"
        out += f" cookie_echoes_src_dst={cookies}"
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
