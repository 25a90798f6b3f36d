#!/usr/bin/env python3
"""What each site sent around a cut of link 1, from profile.sh's captures
(CAPTURE=1 with w6 or w6b): when each site's DATA moved to link 2, and how
much site b sent into link 1 after the cut, where site a's ingress drops it.

Usage: tests/bench/cut.py OUT   (OUT holds a-l1.pcap ... b-l2.pcap)

The bed's tcpdump decodes no I-DATA chunk, so this reads the pcaps itself:
IPv4, SCTP, DATA (0) and I-DATA (0x40) chunks. The cut is the last packet
from site a seen on link 1 at site b before a silence of a second or more.
Site a's own packets into link 1 are dropped before its capture sees them,
so only site b's are counted."""
import os
import struct
import sys

SITE_A, SITE_B = ".1", ".2"  # the last octet of each site's addresses (tests/net/topo)
DATA_CHUNKS = (0x00, 0x40)


def packets(path):
    """(time, source address, DATA chunks in the packet) for each SCTP packet."""
    with open(path, "rb") as f:
        head = f.read(24)
        nano = struct.unpack("<I", head[:4])[0] == 0xA1B23C4D
        linktype = struct.unpack("<I", head[20:24])[0]
        skip = {1: 14, 113: 16}.get(linktype, 0)
        while len(rec := f.read(16)) == 16:
            sec, frac, caplen, _ = struct.unpack("<IIII", rec)
            ip = f.read(caplen)[skip:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 132:
                continue
            sctp = ip[(ip[0] & 15) * 4:]
            yield sec + frac / (1e9 if nano else 1e6), ".".join(map(str, ip[12:16])), data_chunks(sctp)


def data_chunks(sctp):
    n, off = 0, 12
    while off + 4 <= len(sctp):
        kind, _, length = struct.unpack("!BBH", sctp[off:off + 4])
        if length < 4:
            break
        n += kind in DATA_CHUNKS
        off += (length + 3) & ~3
    return n


def cut_span(out):
    """(cut, restore): site a's last packet on link 1 at site b before a
    silence of a second or more, and its first after it."""
    prev = None
    for t, src, _ in packets(os.path.join(out, "b-l1.pcap")):
        if src.endswith(SITE_A):
            if prev is not None and t - prev >= 1.0:
                return prev, t
            prev = t
    return None, None


def main():
    out = sys.argv[1]
    missing = [f"{s}-l{n}.pcap" for s in "ab" for n in (1, 2)
               if not os.path.exists(os.path.join(out, f"{s}-l{n}.pcap"))]
    if missing:
        print(f"cut.py: no {', '.join(missing)} in {out} (run profile.sh with CAPTURE=1)")
        return 1
    t0, t1 = cut_span(out)
    if t0 is None:
        print("cut.py: no silence of a second from site a on link 1: no cut captured")
        return 1
    print("ms after the cut (the last packet from site a on link 1 at site b)")
    for site, me in (("a", SITE_A), ("b", SITE_B)):
        for t, src, n in packets(os.path.join(out, f"{site}-l2.pcap")):
            if t > t0 and src.endswith(me) and n:
                print(f"  site {site}: first DATA on link 2 at {(t - t0) * 1000:+.0f}")
                break
        else:
            print(f"  site {site}: no DATA on link 2 after the cut")
    into, first, last = 0, None, None
    for t, src, n in packets(os.path.join(out, "b-l1.pcap")):
        if t0 < t < t1 and src.endswith(SITE_B) and n:
            into += n
            first = first if first is not None else t
            last = t
    if into:
        print(f"  site b: {into} DATA chunks into link 1 from {(first - t0) * 1000:+.0f} "
              f"to {(last - t0) * 1000:+.0f}, all lost (the link came back at "
              f"{(t1 - t0) * 1000:+.0f})")
    else:
        print("  site b: no DATA into link 1 after the cut")
    return 0


if __name__ == "__main__":
    sys.exit(main())
