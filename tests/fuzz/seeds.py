#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/
(with --check: into a temporary folder, and fails unless that is what
tests/fuzz/corpus/ holds, so a format changed without its seeds shows).

Each seed is a small, meaningful input in its target's input format (see
the header comment of each fuzz_*.c): valid messages of every type, real
configuration files, addresses of both families and some bad ones, honest
and attacked handshakes, sealed traffic with rekeys and attacks. Run it
again after changing an input format, and check the result in:
  tests/fuzz/seeds.py && git add tests/fuzz/corpus
"""
import filecmp
import os
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")

HELLO, AUTH, READY, ERROR, KEEP, REKEY, SWITCH = 1, 2, 3, 4, 5, 6, 7
OPEN, RESULT, DATA, FIN, RST, WINDOW, CLOSE = 16, 17, 18, 19, 20, 21, 22


def lstr(s):
    return bytes([len(s)]) + s


def hello(noise_len=120, version=3, flags=1):
    """version u16 | flags u16 | the Noise message (e, sealed payload)."""
    return struct.pack(">HH", version, flags) + bytes(i % 256 for i in range(noise_len))


def peer(name=b"site-a", window=1048576, version=3, flags=1):
    """The handshake payload: version u16 | flags u16 | window u32 | name."""
    return struct.pack(">HHI", version, flags, window) + lstr(name)


def reason(code, text):
    return struct.pack(">H", code) + lstr(text)


def wire_seeds():
    """mode u8 (stream selector; 0x80 = encode; 0x40 = handshake payload)
    | type u8 | payload."""
    def dec(sid_sel, t, payload):
        return bytes([sid_sel, (t + 4) % 32]) + payload

    seeds = {
        "hello": dec(0, HELLO, hello()),
        "hello-short": dec(0, HELLO, hello(noise_len=1)),
        "hello-max": dec(0, HELLO, hello(noise_len=256)),
        "hello-over": dec(0, HELLO, hello(noise_len=257)),
        "hello-empty": dec(0, HELLO, hello(noise_len=0)),
        "auth": dec(0, AUTH, b"\0"),
        "auth-old": dec(0, AUTH, bytes(range(100, 132))),
        "rekey": dec(0, REKEY, bytes(range(9, 41))),
        "rekey-on-stream-1": dec(1, REKEY, bytes(range(9, 41))),
        "switch": dec(0, SWITCH, struct.pack(">Q", 0x0102030405060708)),
        "switch-short": dec(0, SWITCH, b"\0" * 7),
        "ready": dec(0, READY, b"\0"),
        "error": dec(0, ERROR, reason(10, b"authentication failed")),
        "keep": dec(0, KEEP, b"\0"),
        "open": dec(1, OPEN, lstr(b"web")),
        "result-ok": dec(1, RESULT, reason(0, b"")),
        "result-refused": dec(2, RESULT, reason(2, b"connection refused")),
        "data": dec(1, DATA, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        "fin": dec(3, FIN, b"\0"),
        "rst": dec(1, RST, reason(1, b"reset by client")),
        "window": dec(1, WINDOW, struct.pack(">I", 65536)),
        "close": dec(2, CLOSE, b"\0"),
        "open-on-stream-0": dec(0, OPEN, lstr(b"web")),
        "peer": bytes([0x40, 0]) + peer(),
        "peer-bad-name": bytes([0x40, 0]) + peer(name=b"a b"),
        "peer-nul-name": bytes([0x40, 0]) + peer(name=b"ab\0c"),
        "peer-zero-window": bytes([0x40, 0]) + peer(window=0),
        "peer-trailing": bytes([0x40, 0]) + peer() + b"x",
        "window-zero": dec(1, WINDOW, b"\0\0\0\0"),
        "error-control-char": dec(0, ERROR, reason(5, b"line\nforged")),
    }
    # Encode direction: cap u8 (255 = all the room) | raw wire_msg_t union
    # bytes (host order, as the struct lays them out on x86-64).
    # HELLO is version u16 | flags u16 | noise_len u16 (0x8000: no pointer)
    # | noise bytes, all big-endian.
    name = b"site-a".ljust(64, b"\0")
    raw_hello = struct.pack(">HHH", 3, 1, 120) + bytes(range(120))
    seeds["enc-hello"] = bytes([0x80, HELLO + 4, 255]) + raw_hello
    seeds["enc-hello-small"] = bytes([0x80, HELLO + 4, 40]) + raw_hello
    seeds["enc-hello-over"] = bytes([0x80, HELLO + 4, 255]) + struct.pack(">HHH", 3, 1, 257)
    seeds["enc-hello-null"] = bytes([0x80, HELLO + 4, 255]) + struct.pack(">HHH", 3, 1, 0x8010)
    seeds["enc-rekey"] = bytes([0x80, REKEY + 4, 255]) + bytes(range(32))
    seeds["enc-switch"] = bytes([0x80, SWITCH + 4, 255]) + struct.pack("<Q", 77)
    seeds["enc-auth"] = bytes([0x80, AUTH + 4, 255])
    # wire_peer_t as laid out in memory: cap u8 | version, flags, window
    # (host order) | name[64].
    seeds["enc-peer"] = bytes([0xc0, 0, 255]) + struct.pack("<HHI", 3, 1, 65536) + name
    seeds["enc-peer-small"] = bytes([0xc0, 0, 12]) + struct.pack("<HHI", 3, 1, 65536) + name
    seeds["enc-open"] = bytes([0x80, OPEN + 4, 255]) + b"web".ljust(64, b"\0")
    seeds["enc-rst"] = bytes([0x80, RST + 4, 255]) + struct.pack("<H", 1) + b"bye\x01\x7f".ljust(256, b"\0")
    seeds["enc-window"] = bytes([0x80, WINDOW + 4, 255]) + struct.pack("<I", 4096)
    seeds["enc-fin"] = bytes([0x80, FIN + 4, 255])
    return seeds


def addr_seeds():
    """port u16 big-endian | text."""
    texts = {
        "v4": (0, b"10.1.0.1"), "v4-port": (9899, b"10.1.0.1"),
        "v6": (0, b"2001:db8::1"), "v6-brackets": (80, b"[2001:db8::1]"),
        "v6-scope": (0, b"fe80::1%2"), "v4-mapped": (0, b"::ffff:10.1.0.1"),
        "hp-v4": (0, b"127.0.0.1:8080"), "hp-v6": (0, b"[::1]:8080"),
        "hp-any": (0, b"*:8080"), "hp-scope": (0, b"[fe80::1%3]:22"),
        "hp-max-port": (0, b"10.0.0.1:65535"),
        "bad-short": (0, b"1.2.3"), "bad-octet": (0, b"256.1.1.1"),
        "bad-zero-lead": (0, b"01.2.3.4"), "bad-ambiguous": (0, b"::1:80"),
        "bad-no-colon": (0, b"[::1]80"), "bad-port-zero": (0, b"10.0.0.1:0"),
        "bad-port-big": (0, b"10.0.0.1:65536"), "bad-name": (0, b"localhost:80"),
        "bad-port-range": (0xFFFF, b"10.0.0.1"), "empty": (0, b""),
    }
    return {k: struct.pack(">H", p) + t for k, (p, t) in texts.items()}


def reasm_seeds():
    """max u8 | held u8 | reads of flags u8 (sid sel | 4 notification |
    8 eor), length u16."""
    def rd(sel, n, eor=True, note=False):
        return bytes([sel | (4 if note else 0) | (8 if eor else 0)]) + struct.pack(">H", n - 1)

    return {
        "whole": b"\x80\x80" + rd(1, 10) + rd(2, 100) + rd(0, 1),
        "pieces": b"\x80\x80" + rd(1, 50, False) + rd(1, 50, False) + rd(1, 20),
        "interleaved": b"\xff\xff" + rd(1, 30, False) + rd(2, 40, False) + rd(1, 5)
        + rd(3, 7, False, True) + rd(2, 1) + rd(3, 2, True, True),
        "overlong": b"\x10\xff" + rd(1, 40, False) + rd(1, 40),
        "exact-max": b"\x10\xff" + rd(1, 15, False) + rd(1, 2),
        "held-limit": b"\xff\x02" + rd(1, 5, False) + rd(2, 5, False),
        "notification": b"\x40\x40" + rd(0, 20, False, True) + rd(0, 20, True, True),
    }


def handshake_seeds():
    """mode u8 | ops (see fuzz_handshake.c)."""
    honest = bytes([0, 1, 1, 0, 1])
    return {
        "honest": b"\0" + honest,
        "honest-interleaved": b"\0" + bytes([0, 1, 0, 1, 0, 1]),
        "wrong-key": b"\1" + honest,
        "same-ephemeral": b"\2" + honest,
        "mismatch": b"\4" + honest,
        "replay-auth": b"\0" + bytes([0, 1, 4, 2, 0, 1]),
        "inject-sealed": b"\0" + bytes([0, 1, 6, 0, 0x80, 17]) + bytes(17),
        "drop-auth": b"\0" + bytes([0, 1, 3, 0, 1]),
        "replay-hello": b"\0" + bytes([0, 5, 0, 1, 1]),
        "reflect-auth": b"\0" + bytes([0, 4, 2, 1, 1, 0]),
        "inject-error": b"\0" + bytes([0, 6, 1, ERROR, 3]) + reason(10, b""),
        "inject-ready": b"\0" + bytes([0, 1, 1, 6, 1, READY, 1, 0, 0, 1]),
        "tamper-hello": b"\0" + bytes([7, 0, 40, 1, 1, 1, 0, 1]),
        "tamper-auth": b"\0" + bytes([0, 1, 7, 1, 3, 0x80, 0, 1]),
    }


def seal_seeds():
    """mode u8 | ops (see fuzz_seal.c)."""
    def seal(sid, n, t=3):
        return bytes([0, sid, t, n]) + bytes(range(n))

    def dlv(sid):
        return bytes([1, sid])

    back, start = b"\x02", b"\x03"
    dance = start + dlv(0) + back + dlv(0) + back  # sender: the initiator
    return {
        "honest": b"\1" + seal(1, 5) + seal(2, 0, 0) + seal(0, 9, 1) + dlv(2) + dlv(1) + dlv(0),
        "rekey-in-flight": b"\1" + seal(1, 4) + seal(2, 4) + dance + dlv(1) + dlv(2),
        "rekey-sender-responder": b"\0" + seal(3, 2) + start + back + dlv(0) + back + dlv(0)
        + dlv(3),
        "rekey-deferred": b"\1" + seal(1, 3) + dance + start + dlv(0) + dlv(1) + back + dlv(0)
        + back,
        "mutate": b"\1" + seal(1, 8) + bytes([4, 1, 0x20, 3]) + bytes([4, 1, 5, 1]) + dlv(1),
        "inject": b"\1" + seal(2, 1) + bytes([5, 2, 0, 18]) + bytes(18) + dlv(2),
        "replay": b"\1" + seal(1, 1) + dlv(1) + seal(1, 1) + bytes([6, 0, 6, 0x80]) + dlv(1),
        "control-fed": b"\1" + seal(1, 1) + bytes([7, 2]) + bytes(range(9, 41)) + dlv(1) + back,
        "control-zero-key": b"\1" + seal(1, 1) + bytes([7, 0]) + dlv(1),
    }


BASE = b"[gateway]\nname = t\npsk_file = site.key\n[association]\nrole = connect\nremote = 10.1.0.2, 10.2.0.2\n"


def config_seeds():
    seeds = {}
    for name in ("site-a.ini", "site-b.ini", "hub.ini"):
        with open(os.path.join(ROOT, "config", name), "rb") as f:
            seeds[name] = f.read()
    seeds.update({
        "minimal": BASE,
        "listen-v6": b"[gateway]\npsk_file = site.key\n[association]\nrole = listen\n"
                     b"local = fd00:1::1, fd00:2::1\nport = 9900\n[ssh]\nconnect = [::1]:22\n",
        # Every key of the table (tests/fuzz/words_check.sh holds it to that).
        "all-keys": b"[gateway]\nname = t\nlog_level = debug\npsk_file = site.key\n"
                    b"drain_ms = 0\nstall_ms = 1000\nmetrics = 127.0.0.1:8080\ncontrol = /run/sctpgw/t.sock\n"
                    b"[association]\nrole = connect\nremote = 10.1.0.2, 10.2.0.2\n"
                    b"local = 10.1.0.1, 10.2.0.1\nport = 1\nudp_port = 9899\nprimary = 10.2.0.2\n"
                    b"failover_ms = 100\noutage_ms = 100\nmax_flows = 32767\n"
                    b"flow_window = 4096\nsock_buffer = 65536\nencryption = off\nrekey_s = 1\n"
                    b"[a]\naccept = *:80\npeer = b\n[b]\nconnect = 10.0.0.1:80\n",
        "bom-indent": b"\xef\xbb\xbf  [gateway]\n\tpsk_file = site.key ; c\n[association]\nrole = listen\n",
        "crlf": BASE.replace(b"\n", b"\r\n"),
        "key-short": BASE.replace(b"site.key", b"short.key"),
        "key-loose": BASE.replace(b"site.key", b"loose.key"),
        "key-dir": BASE.replace(b"site.key", b"keydir"),
        "key-fifo": BASE.replace(b"site.key", b"fifo.key"),
        "key-absent": BASE.replace(b"site.key", b"absent.key"),
        "dup-section": BASE + b"[gateway]\n",
        "dup-key": BASE + b"role = listen\n",
        "unknown-key": BASE + b"colour = blue\n",
        "miscased": BASE + b"[Gateway]\n",
        "no-equals": BASE + b"just words\n",
        "outside": b"name = x\n" + BASE,
        "long-line": BASE + b"; " + b"x" * 300 + b"\n",
        "clash": BASE + b"[a]\naccept = *:80\n[b]\naccept = 127.0.0.1:80\n",
        "both": BASE + b"[a]\naccept = 127.0.0.1:80\nconnect = 10.0.0.1:80\n",
        "primary-foreign": BASE + b"primary = 10.9.9.9\n",
        "timers": BASE + b"failover_ms = 5000\n",
        "empty": b"",
    })
    return seeds


def http_seeds():
    """The bytes a client sends to the metrics port."""
    ok = b"GET /metrics HTTP/1.1\r\nHost: 10.0.0.1:9100\r\nAccept: text/plain\r\n\r\n"
    return {
        "get": ok,
        "head": ok.replace(b"GET", b"HEAD", 1),
        "query": ok.replace(b"/metrics", b"/metrics?name=a", 1),
        "http10-lf": b"GET /metrics HTTP/1.0\n\n",
        "http12": ok.replace(b"HTTP/1.1", b"HTTP/1.2", 1),
        "absolute": ok.replace(b"/metrics", b"http://10.0.0.1:9100/metrics", 1),
        "empty-line-first": b"\r\n" + ok,
        "post": ok.replace(b"GET", b"POST", 1),
        "other-path": ok.replace(b"/metrics", b"/metricsx", 1),
        "http2": ok.replace(b"HTTP/1.1", b"HTTP/2.0", 1),
        "bad-version": ok.replace(b"HTTP/1.1", b"HTTQ/1.1", 1),
        "folded": ok.replace(b"\r\nAccept", b"\r\n Accept", 1),
        "stray-cr": ok.replace(b"text/plain", b"text\r/plain", 1),
        "no-blank-line": ok[:-2],
        "with-body": b"GET /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
        "long-field": b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
        "double-space": b"GET  /metrics HTTP/1.1\r\n\r\n",
        "empty": b"",
    }


def write(target, seeds, out=OUT):
    d = os.path.join(out, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


TARGETS = {
    "wire": wire_seeds,
    "addr": addr_seeds,
    "reasm": reasm_seeds,
    "http": http_seeds,
    "handshake": handshake_seeds,
    "config": config_seeds,
    "seal": seal_seeds,
}


def differences(a, b, rel=""):
    """Names below a and b (relative to them) that differ, are in one only,
    or are a file in one and a folder in the other."""
    c = filecmp.dircmp(a, b, ignore=[], hide=[])
    _, mismatch, errors = filecmp.cmpfiles(a, b, c.common_files, shallow=False)
    out = [os.path.join(rel, n) for n in c.left_only + c.right_only + c.common_funny + mismatch + errors]
    for d in c.common_dirs:
        out += differences(os.path.join(a, d), os.path.join(b, d), os.path.join(rel, d))
    return out


def main():
    if sys.argv[1:] not in ([], ["--check"]):
        sys.exit("usage: seeds.py [--check]")
    if not sys.argv[1:]:
        shutil.rmtree(OUT, ignore_errors=True)
        for target, seeds in TARGETS.items():
            write(target, seeds())
        return
    with tempfile.TemporaryDirectory() as tmp:
        for target, seeds in TARGETS.items():
            write(target, seeds(), tmp)
        diff = differences(tmp, OUT)
    if diff:
        sys.exit("tests/fuzz/corpus is not what seeds.py writes (run tests/fuzz/seeds.py "
                 "and check the result in); these differ: " + ", ".join(sorted(diff)))
    print("seeds: tests/fuzz/corpus is what seeds.py writes")


if __name__ == "__main__":
    main()
