#!/usr/bin/python3
"""Where an interactive flow's round trip through the sctpgw pair waits:
per-hop latency from the captures `profile.sh hops` takes (pcap files,
Ethernet framing, every packet whole), plain Python.

    hops.py DIR [--worst N]

DIR holds a-lo.pcap and b-lo.pcap (the TCP legs at each site's loopback:
client to gateway a on port 7402, gateway b to the echo back end on 9002)
and a-l1/a-l2/b-l1/b-l2.pcap (SCTP on each link at each site). The flow
sends 100-byte requests; request i is byte range [100i, 100i+100) of the
TCP legs, and of the interactive stream's DATA after sealing's 17 bytes
per message come off (the pair must run encrypted), whatever messages the
gateways cut it into; the links must be clean (chunks are taken in the
order they are seen). For
each request, the time its last byte is first seen at each point:

  t0 client -> gateway a       (site a, loopback)
  t1 SCTP leaves site a        (site a's link, after its netem qdisc)
  t2 SCTP reaches site b       (site b's link)
  t3 gateway b -> echo         (site b, loopback)
  t4 echo -> gateway b
  t5 SCTP leaves site b
  t6 SCTP reaches site a
  t7 gateway a -> client

and prints p50/p90/p99 of each hop in ms. A capture taps a link after its
qdisc, so t0->t1 holds gateway a, its socket and link delay and queue; the
flow's SCTP stream is the one with the most DATA chunks from b to a (the
bulk flows' streams carry only WINDOW that way).
"""
import argparse
import os
import struct
import sys
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gw"))
from pcap_scan import records  # noqa: E402

MSG = 100
SEAL = 17  # what sealing adds to a message (WIRE_SEAL_MAX)
WINDOW = SEAL + 4  # a sealed WINDOW: not the flow's bytes
SITE_A = {1: bytes([10, 1, 0, 1]), 2: bytes([10, 2, 0, 1])}


def frames(path):
    """(time, IPv4 packet or fragment) of a pcap file with Ethernet framing."""
    with open(path, "rb") as f:
        data = f.read()
    for t, frame in records(data):
        if frame[12:14] == b"\x08\x00":
            yield t, frame[14:]


def packets(path, counts=None):
    """(time, IPv4 packet) of a pcap file, fragments put back together (the
    time the last one came); counts["fragments"] counts them."""
    parts = {}
    for t, ip in frames(path):
        flags = struct.unpack(">H", ip[6:8])[0]
        if not flags & 0x3FFF:
            yield t, ip
            continue
        if counts is not None:
            counts["fragments"] = counts.get("fragments", 0) + 1
        ihl = (ip[0] & 15) * 4
        key = (ip[4:6], ip[9], ip[12:20])
        got = parts.setdefault(key, {"pieces": {}, "end": None})
        body = ip[ihl : struct.unpack(">H", ip[2:4])[0]]
        got["pieces"][(flags & 0x1FFF) * 8] = body
        if not flags & 0x2000:
            got["end"] = (flags & 0x1FFF) * 8 + len(body)
        if got["end"] is None or sum(map(len, got["pieces"].values())) < got["end"]:
            continue
        whole = b"".join(got["pieces"][o] for o in sorted(got["pieces"]))
        head = got["pieces"].get(0)
        del parts[key]
        if head is not None:
            hdr = bytearray(ip[:ihl])
            hdr[6:8] = b"\x00\x00"
            yield t, bytes(hdr) + whole


def tcp_legs(path):
    """{(sport, dport): [(time, end offset)]} of segments with payload."""
    isn, legs = {}, {}
    for t, ip in packets(path):
        if ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        plen = struct.unpack(">H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
        if tcp[13] & 2:  # SYN
            isn[sport, dport] = seq + 1
        elif plen > 0 and (sport, dport) in isn:
            legs.setdefault((sport, dport), []).append(
                (t, ((seq - isn[sport, dport]) & 0xFFFFFFFF) + plen)
            )
    return legs


def sctp_chunks(path, src_a):
    """(time, 'ab'|'ba', TSN, stream, payload length, flags) of each DATA
    or I-DATA chunk."""
    for t, ip in packets(path):
        if ip[9] != 132:
            continue
        way = "ab" if ip[12:16] == src_a else "ba"
        c = ip[(ip[0] & 15) * 4 + 12 :]
        while len(c) >= 4:
            kind, flags, clen = c[0], c[1], struct.unpack(">H", c[2:4])[0]
            if clen < 4:
                break
            if kind in (0, 64) and len(c) >= 10:
                tsn, sid = struct.unpack(">IH", c[4:10])
                yield t, way, tsn, sid, clen - (20 if kind == 64 else 16), flags
            c = c[(clen + 3) & ~3 :]


def site_chunks(d, site):
    """A site's chunks on both links, each TSN once (its first sending or
    arrival: a retransmission may take the other link)."""
    seen, out = set(), []
    chunks = (c for link in (1, 2) for c in sctp_chunks(f"{d}/{site}-l{link}.pcap", SITE_A[link]))
    for t, way, tsn, sid, plen, flags in sorted(chunks):
        if (way, tsn) not in seen:
            seen.add((way, tsn))
            out.append((t, way, sid, plen, flags))
    return out


def reached(events, n):
    """When each of the first n requests' last byte was first seen."""
    out, best = [], 0
    for t, end in sorted(events):
        best = max(best, end)
        while len(out) < n and (len(out) + 1) * MSG <= best:
            out.append(t)
    return out


def stream_bytes(chunks, way, sid):
    """[(time, flow bytes so far)] of the stream's DATA one way."""
    total, out = 0, []
    for t, w, s, plen, flags in chunks:
        if w != way or s != sid or (plen == WINDOW and flags & 3 == 3):
            continue
        total += plen - (SEAL if flags & 1 else 0)  # E bit: the type and tag end a message
        out.append((t, total))
    return out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--worst", type=int, default=0, help="also print the N slowest requests")
    o = p.parse_args()
    d = o.dir
    a_lo, b_lo = tcp_legs(f"{d}/a-lo.pcap"), tcp_legs(f"{d}/b-lo.pcap")
    at = {site: site_chunks(d, site) for site in "ab"}
    echoed = Counter(s for _, w, s, plen, _ in at["a"] if w == "ba" and s != 0 and plen != WINDOW)
    if not echoed:
        raise SystemExit("hops: no stream carries data from b to a")
    sid = echoed.most_common(1)[0][0]
    def leg(legs, port, out):
        for k, v in legs.items():
            if (k[0] if out else k[1]) == port:
                return v
        raise SystemExit(f"hops: no TCP segment {'from' if out else 'to'} port {port} in the captures")

    t0 = reached(leg(a_lo, 7402, False), 10**9)
    n = len(t0)
    points = [
        ("client -> gateway a", t0),
        ("SCTP leaves a", reached(stream_bytes(at["a"], "ab", sid), n)),
        ("SCTP reaches b", reached(stream_bytes(at["b"], "ab", sid), n)),
        ("gateway b -> echo", reached(leg(b_lo, 9002, False), n)),
        ("echo -> gateway b", reached(leg(b_lo, 9002, True), n)),
        ("SCTP leaves b", reached(stream_bytes(at["b"], "ba", sid), n)),
        ("SCTP reaches a", reached(stream_bytes(at["a"], "ba", sid), n)),
        ("gateway a -> client", reached(leg(a_lo, 7402, True), n)),
    ]
    counts = {}
    for link in (1, 2):
        for _ in packets(f"{d}/a-l{link}.pcap", counts):
            pass
    m = min(len(ts) for _, ts in points)
    print(f"stream {sid}: {n} requests, {m} seen at every point; "
          f"{counts.get('fragments', 0)} IP fragments on site a's links")
    for site, way in (("a", "ab"), ("b", "ab"), ("b", "ba"), ("a", "ba")):
        got = (stream_bytes(at[site], way, sid) or [(0, 0)])[-1][1]
        if got < n * MSG:
            print(f"warning: the capture at site {site} holds {got} of the {n * MSG} bytes {way}: "
                  "it missed packets, and the hops on either side of it are skewed after the first")
    print("%-44s %8s %8s %8s" % ("hop (ms)", "p50", "p90", "p99"))
    for (a, ta), (b, tb) in zip(points, points[1:]):
        hop = [(tb[i] - ta[i]) * 1000 for i in range(m)]
        print("%-44s %8.1f %8.1f %8.1f" % (f"{a} .. {b}", pct(hop, .5), pct(hop, .9), pct(hop, .99)))
    total = [(points[-1][1][i] - t0[i]) * 1000 for i in range(m)]
    print("%-44s %8.1f %8.1f %8.1f" % ("round trip", pct(total, .5), pct(total, .9), pct(total, .99)))
    for i in sorted(sorted(range(m), key=lambda i: -total[i])[: o.worst]):
        hops = " ".join("%.1f" % ((points[j + 1][1][i] - points[j][1][i]) * 1000) for j in range(len(points) - 1))
        print(f"request {i}: {total[i]:.1f} ms = {hops}")


if __name__ == "__main__":
    main()
