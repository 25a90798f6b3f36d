#!/usr/bin/env python3
"""What each site sent around a cut of link 1, from profile.sh's captures
(CAPTURE=1 with w6 or w6b): when each site's DATA moved to link 2, and how
much site b sent into link 1 after the cut, where site a's ingress drops it.

Usage: tests/bench/cut.py OUT   (OUT holds a-l1.pcap ... b-l2.pcap)

The bed's tcpdump decodes no I-DATA chunk; hops.py's readers do. The cut
is the last packet from site a seen on link 1 at site b before a silence of
a second or more.
Site a's own packets into link 1 are dropped before its capture sees them,
so only site b's are counted."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hops import SITE_A, packets, sctp_chunks  # noqa: E402


def cut_span(out):
    """(cut, restore): site a's last packet on link 1 at site b before a
    silence of a second or more, and its first after it."""
    prev = None
    for t, ip in packets(os.path.join(out, "b-l1.pcap")):
        if ip[9] == 132 and ip[12:16] == SITE_A[1]:
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
    for site, way in (("a", "ab"), ("b", "ba")):
        chunks = sctp_chunks(os.path.join(out, f"{site}-l2.pcap"), SITE_A[2])
        t = next((t for t, w, *_ in chunks if t > t0 and w == way), None)
        print(f"  site {site}: " + (f"first DATA on link 2 at {(t - t0) * 1000:+.0f}"
                                    if t else "no DATA on link 2 after the cut"))
    sent = [t for t, w, *_ in sctp_chunks(os.path.join(out, "b-l1.pcap"), SITE_A[1])
            if t0 < t < t1 and w == "ba"]
    into = len(sent)
    first, last = (sent[0], sent[-1]) if sent else (None, None)
    if into:
        print(f"  site b: {into} DATA chunks into link 1 from {(first - t0) * 1000:+.0f} "
              f"to {(last - t0) * 1000:+.0f}, all lost (the link came back at "
              f"{(t1 - t0) * 1000:+.0f})")
    else:
        print("  site b: no DATA into link 1 after the cut")
    return 0


if __name__ == "__main__":
    sys.exit(main())
