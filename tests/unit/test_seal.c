/* Sealed messages (src/seal.c): round trips of every type and size on
 * several streams both ways; every way a message must fail to open (a
 * flipped bit, another stream, PPID or epoch, a changed type, a replay, a
 * skip, a reordering, a truncation, a stream beyond the association's),
 * each leaving the receiver able to open the genuine next message; known
 * answers (RFC 8439's AEAD vector at a counter of every byte, and a sealed
 * message built from libsodium alone by seal.h's layout); and rekeying: the whole
 * REKEY/REKEY/SWITCH/SWITCH exchange with old-key messages still in flight, the old key's wiping,
 * the deferred offer, every message out of turn, the traffic bound, 300 rekeys in a row past the
 * PPID's epoch byte, and counters that never restart. */
#include "seal.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define NSTREAMS 5

/* A sealed message as it travels: its stream, PPID and bytes. */
typedef struct sealed {
    uint16_t sid;
    uint32_t ppid;
    size_t len;
    uint8_t b[WIRE_MSG_MAX];
} sealed_t;

static const wire_type_t all_types[] = {
    WIRE_HELLO, WIRE_AUTH,   WIRE_READY, WIRE_ERROR, WIRE_KEEP, WIRE_REKEY,  WIRE_SWITCH,
    WIRE_OPEN,  WIRE_RESULT, WIRE_DATA,  WIRE_FIN,   WIRE_RST,  WIRE_WINDOW, WIRE_CLOSE,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

static uint8_t plain[WIRE_MSG_MAX];
static uint8_t scratch[WIRE_MSG_MAX];

/* Distinct bytes for every (seed, position). */
static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;

    for (size_t k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[k] = (uint8_t)x;
    }
}

static int all_zero(const void *p, size_t len)
{
    const uint8_t *b = p;

    for (size_t k = 0; k < len; k++)
        if (b[k])
            return 0;
    return 1;
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t k = 0; m && k + m <= n; k++)
        if (memcmp(hay + k, needle, m) == 0)
            return 1;
    return 0;
}

/* An initiator and a responder from one handshake's keys. */
static void pair(seal_t *i, seal_t *r, uint64_t rekey_bytes)
{
    noise_keys_t k;

    memset(k.i2r, 0x11, sizeof(k.i2r));
    memset(k.r2i, 0x22, sizeof(k.r2i));
    memset(k.ck, 0x33, sizeof(k.ck));
    memset(k.h, 0x44, sizeof(k.h));
    CHECK(seal_init(i, 1, &k, rekey_bytes) == 0);
    CHECK(seal_init(r, 0, &k, rekey_bytes) == 0);
    CHECK(seal_streams(i, NSTREAMS) == 0);
    CHECK(seal_streams(r, NSTREAMS) == 0);
}

/* Seals len bytes of p as `type` on sid into m. */
static void seal_to(seal_t *s, uint16_t sid, wire_type_t type, const uint8_t *p, size_t len,
                    sealed_t *m)
{
    memcpy(m->b, p, len);
    m->sid = sid;
    m->len = seal_msg(s, sid, type, m->b, len, &m->ppid);
    CHECK(m->len == len + SEAL_OVERHEAD);
    CHECK(seal_is_sealed(m->ppid));
    CHECK(m->ppid == WIRE_PPID_SEALED + (s->tx_epoch & 0xffu));
}

/* Opens a copy of m (as given, or changed by the caller) on sid/ppid/len. */
static seal_err_t try_open(seal_t *s, uint16_t sid, uint32_t ppid, const uint8_t *b, size_t len,
                           wire_type_t *type, size_t *plen)
{
    memcpy(scratch, b, len);
    return seal_open(s, sid, ppid, scratch, len, type, plen);
}

static seal_err_t open_err(seal_t *s, const sealed_t *m)
{
    wire_type_t t;
    size_t n;

    return try_open(s, m->sid, m->ppid, m->b, m->len, &t, &n);
}

/* m must open to `type` and the len bytes of p. */
static void open_ok(seal_t *s, const sealed_t *m, wire_type_t type, const uint8_t *p, size_t len)
{
    wire_type_t t = 0;
    size_t n = 0;

    CHECK(try_open(s, m->sid, m->ppid, m->b, m->len, &t, &n) == SEAL_OK);
    CHECK(t == type && n == len && memcmp(scratch, p, len) == 0);
}

/* A short message of `seed` on sid, sealed by `from` and opened by `to`. */
static void roundtrip(seal_t *from, seal_t *to, uint16_t sid, uint32_t seed)
{
    static sealed_t m;
    uint8_t p[40];

    fill(p, sizeof(p), seed);
    seal_to(from, sid, WIRE_DATA, p, sizeof(p), &m);
    open_ok(to, &m, WIRE_DATA, p, sizeof(p));
}

/* A held message: sealed now, delivered later. */
typedef struct held {
    sealed_t m;
    uint8_t p[32];
} held_t;

static void hold(seal_t *from, uint16_t sid, uint32_t seed, held_t *h)
{
    fill(h->p, sizeof(h->p), seed);
    seal_to(from, sid, WIRE_DATA, h->p, sizeof(h->p), &h->m);
}

static void deliver(seal_t *to, const held_t *h)
{
    open_ok(to, &h->m, WIRE_DATA, h->p, sizeof(h->p));
}

/* A control message through the wire: encoded, sealed on stream 0, opened,
 * decoded, then given to seal_on_control. Returns its answer. */
static int ctl(seal_t *from, seal_t *to, const wire_msg_t *m, wire_msg_t *out)
{
    static sealed_t s;
    uint8_t enc[64];
    wire_type_t t = 0;
    size_t n = 0;
    wire_msg_t got;
    ssize_t len = wire_encode(m, enc, sizeof(enc));

    CHECK(len > 0);
    seal_to(from, WIRE_CONTROL_SID, m->type, enc, len > 0 ? (size_t)len : 0, &s);
    CHECK(try_open(to, s.sid, s.ppid, s.b, s.len, &t, &n) == SEAL_OK);
    CHECK(t == m->type);
    CHECK(wire_decode(WIRE_CONTROL_SID, wire_ppid(t), scratch, n, &got) == 0);
    return seal_on_control(to, &got, out);
}

/* The whole exchange, nothing else in flight on the control stream. */
static void rekey(seal_t *i, seal_t *r)
{
    wire_msg_t offer, answer, sw_i, sw_r, none = {.type = 0};
    uint32_t e = i->tx_epoch;

    CHECK(seal_rekey_start(i, &offer) == 1 && offer.type == WIRE_REKEY);
    CHECK(ctl(i, r, &offer, &answer) == 1 && answer.type == WIRE_REKEY);
    CHECK(ctl(r, i, &answer, &sw_i) == 1 && sw_i.type == WIRE_SWITCH);
    CHECK(ctl(i, r, &sw_i, &sw_r) == 1 && sw_r.type == WIRE_SWITCH);
    CHECK(ctl(r, i, &sw_r, &none) == 0 && none.type == 0);
    CHECK(i->tx_epoch == e + 1 && r->tx_epoch == e + 1);
    CHECK(i->phase == SEAL_IDLE && r->phase == SEAL_IDLE);
}

/* RFC 8439 appendix A.5, the AEAD vector whose nonce is 00 00 00 00 followed
 * by 01 02 .. 08: Noise's nonce layout for n = 0x0807060504030201, which is
 * stream 0x0807's message 0x060504030201 in seal.h's layout. */
static const char a5_key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const char a5_nonce[] = "000000000102030405060708";
static const char a5_ad[] = "f33388860000000000004e91";
static const char a5_plain[] =
    "496e7465726e65742d4472616674732061726520647261667420646f63756d656e74732076616c696420666f"
    "722061206d6178696d756d206f6620736978206d6f6e74687320616e64206d617920626520757064617465"
    "642c207265706c616365642c206f72206f62736f6c65746564206279206f7468657220646f63756d656e74"
    "7320617420616e792074696d652e20497420697320696e617070726f70726961746520746f207573652049"
    "6e7465726e65742d447261667473206173207265666572656e6365206d6174657269616c206f7220746f20"
    "63697465207468656d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67726573"
    "732e2fe2809d";
static const char a5_cipher[] =
    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e"
    "382d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33"
    "bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b916"
    "6c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718c"
    "bc546a0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a10"
    "73a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5c"
    "b4022b02709b";
static const char a5_tag[] = "eead9d67890cbb22392336fea1851f38";
#define A5_SID 0x0807
#define A5_CTR 0x060504030201ull

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;

    CHECK(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL) == 0);
    return n;
}

/* The AEAD as noise.h uses it, at a counter whose every byte differs: the
 * published ciphertext and tag, and back. */
static void test_known_answer_aead(void)
{
    static uint8_t key[32], ad[12], pt[512], ct[512], want[512], got[512];
    size_t ad_len = unhex(ad, sizeof(ad), a5_ad), len = unhex(pt, sizeof(pt), a5_plain);
    size_t clen = unhex(want, sizeof(want), a5_cipher);

    unhex(key, sizeof(key), a5_key);
    CHECK(clen == len && len == 265);
    clen += unhex(want + clen, sizeof(want) - clen, a5_tag);
    noise_encrypt(key, (uint64_t)A5_SID << 48 | A5_CTR, ad, ad_len, pt, len, ct);
    CHECK(clen == len + NOISE_TAG_LEN && memcmp(ct, want, clen) == 0);
    CHECK(noise_decrypt(key, (uint64_t)A5_SID << 48 | A5_CTR, ad, ad_len, ct, clen, got) == 0);
    CHECK(memcmp(got, pt, len) == 0);
    ct[clen - 1] ^= 1;
    CHECK(noise_decrypt(key, (uint64_t)A5_SID << 48 | A5_CTR, ad, ad_len, ct, clen, got) < 0);
}

/* A sealed message byte for byte as seal.h lays it out, built here from
 * libsodium alone: the same key and nonce give the vector's ciphertext
 * (the keystream does not depend on the associated data), then the type
 * byte, then the tag over stream || PPID. */
static void test_known_answer_seal(void)
{
    static uint8_t nonce[12], ad[6], pt[512], want[512], buf[512];
    static sealed_t m;
    noise_keys_t k;
    seal_t i, r;
    size_t len = unhex(pt, sizeof(pt), a5_plain);
    wire_type_t t = 0;
    size_t n = 0;
    uint32_t ppid;

    memset(&k, 0, sizeof(k));
    unhex(k.i2r, sizeof(k.i2r), a5_key);
    CHECK(seal_init(&i, 1, &k, 0) == 0 && seal_streams(&i, A5_SID + 1) == 0);
    CHECK(seal_init(&r, 0, &k, 0) == 0 && seal_streams(&r, A5_SID + 1) == 0);
    i.tx_ctr[A5_SID] = r.rx_ctr[A5_SID] = A5_CTR;
    seal_to(&i, A5_SID, WIRE_DATA, pt, len, &m);

    unhex(want, sizeof(want), a5_cipher);
    CHECK(memcmp(m.b, want, len) == 0);
    ppid = WIRE_PPID_SEALED;
    CHECK(m.ppid == ppid);
    unhex(nonce, sizeof(nonce), a5_nonce);
    ad[0] = A5_SID >> 8, ad[1] = A5_SID & 0xff;
    ad[2] = ppid >> 24, ad[3] = ppid >> 16 & 0xff, ad[4] = ppid >> 8 & 0xff, ad[5] = ppid & 0xff;
    memcpy(buf, pt, len);
    buf[len] = (uint8_t)WIRE_DATA;
    crypto_aead_chacha20poly1305_ietf_encrypt(want, NULL, buf, len + 1, ad, sizeof(ad), NULL, nonce,
                                              k.i2r);
    CHECK(m.len == len + 1 + NOISE_TAG_LEN && memcmp(m.b, want, m.len) == 0);
    CHECK(try_open(&r, m.sid, m.ppid, m.b, m.len, &t, &n) == SEAL_OK);
    CHECK(t == WIRE_DATA && n == len && memcmp(scratch, pt, len) == 0);
    CHECK(i.tx_ctr[A5_SID] == A5_CTR + 1 && r.rx_ctr[A5_SID] == A5_CTR + 1);
    seal_free(&i);
    seal_free(&r);
}

static void test_roundtrips(void)
{
    static const size_t sizes[] = {
        0,    1,    2,    15,   16,   17,   31,    32,    33,    100,   255,   256,          1000,
        1023, 1024, 1500, 4095, 4096, 9000, 16384, 32767, 32768, 65000, 65535, WIRE_DATA_MAX};
    static sealed_t m;
    seal_t i, r;
    uint32_t seed = 1;

    pair(&i, &r, 0);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (size_t t = 0; t < NTYPES; t++) {
            for (uint16_t sid = 0; sid < 3; sid++) {
                seal_t *from = (seed & 1) ? &i : &r, *to = (seed & 1) ? &r : &i;
                size_t len = sizes[s];

                fill(plain, len, seed++);
                seal_to(from, sid, all_types[t], plain, len, &m);
                /* No run of the plaintext survives sealing. */
                if (len >= 8)
                    CHECK(!contains(m.b, m.len, plain, len < 16 ? len : 16));
                open_ok(to, &m, all_types[t], plain, len);
            }
        }
    }
    /* Every size from 0 to 300 both ways, on streams 1..4. */
    for (size_t len = 0; len <= 300; len++) {
        fill(plain, len, seed++);
        seal_to(&i, 1 + len % 4, WIRE_DATA, plain, len, &m);
        open_ok(&r, &m, WIRE_DATA, plain, len);
        seal_to(&r, 1 + len % 4, WIRE_DATA, plain, len, &m);
        open_ok(&i, &m, WIRE_DATA, plain, len);
    }
    /* The same plaintext twice on one stream: never the same bytes. */
    {
        static sealed_t a;

        fill(plain, 64, 7);
        seal_to(&i, 2, WIRE_DATA, plain, 64, &a);
        seal_to(&i, 2, WIRE_DATA, plain, 64, &m);
        CHECK(memcmp(a.b, m.b, m.len) != 0);
        open_ok(&r, &a, WIRE_DATA, plain, 64);
        open_ok(&r, &m, WIRE_DATA, plain, 64);
    }
    seal_free(&i);
    seal_free(&r);
}

/* Every way to spoil a message; after each the genuine one opens. */
static void test_rejections(void)
{
    static sealed_t m, m2, bad;
    seal_t i, r;
    uint8_t p[5] = {1, 2, 3, 4, 5};

    pair(&i, &r, 0);
    /* Every bit of every byte of a short message. */
    for (size_t pos = 0; pos < sizeof(p) + SEAL_OVERHEAD; pos++) {
        seal_to(&i, 1, WIRE_DATA, p, sizeof(p), &m);
        for (int bit = 0; bit < 8; bit++) {
            bad = m;
            bad.b[pos] ^= (uint8_t)(1u << bit);
            CHECK(open_err(&r, &bad) == SEAL_E_TAG);
        }
        open_ok(&r, &m, WIRE_DATA, p, sizeof(p));
    }
    /* The type is inside: its byte (the last plaintext position) changed. */
    seal_to(&i, 1, WIRE_DATA, p, sizeof(p), &m);
    bad = m;
    bad.b[sizeof(p)] ^= (uint8_t)(WIRE_DATA ^ WIRE_RST);
    CHECK(open_err(&r, &bad) == SEAL_E_TAG);
    open_ok(&r, &m, WIRE_DATA, p, sizeof(p));
    /* Another stream (whose counter is the same, 0). */
    seal_to(&i, 3, WIRE_DATA, p, sizeof(p), &m);
    seal_to(&i, 4, WIRE_DATA, p, sizeof(p), &m2);
    CHECK(r.rx_ctr[3] == r.rx_ctr[4]);
    /* One counter, one plaintext, two streams: two nonces, two keystreams. */
    CHECK(memcmp(m.b, m2.b, sizeof(p) + 1) != 0);
    bad = m;
    bad.sid = 4;
    CHECK(open_err(&r, &bad) == SEAL_E_TAG);
    open_ok(&r, &m2, WIRE_DATA, p, sizeof(p));
    open_ok(&r, &m, WIRE_DATA, p, sizeof(p));
    /* Another PPID: an epoch whose key is not held, another base, unsealed. */
    seal_to(&i, 1, WIRE_DATA, p, sizeof(p), &m);
    bad = m;
    bad.ppid = m.ppid + 1;
    CHECK(open_err(&r, &bad) == SEAL_E_EPOCH);
    bad.ppid = m.ppid + 2; /* epoch 2: the live key's slot, not its epoch */
    CHECK(open_err(&r, &bad) == SEAL_E_EPOCH);
    bad.ppid = m.ppid ^ 0x10000u;
    CHECK(open_err(&r, &bad) == SEAL_E_EPOCH);
    bad.ppid = wire_ppid(WIRE_DATA);
    CHECK(open_err(&r, &bad) == SEAL_E_EPOCH);
    open_ok(&r, &m, WIRE_DATA, p, sizeof(p));
    /* A replay: the same message again, on its own and after the next. */
    CHECK(open_err(&r, &m) == SEAL_E_TAG);
    seal_to(&i, 1, WIRE_DATA, p, sizeof(p), &m2);
    CHECK(open_err(&r, &m) == SEAL_E_TAG);
    open_ok(&r, &m2, WIRE_DATA, p, sizeof(p));
    CHECK(open_err(&r, &m2) == SEAL_E_TAG);
    /* A skip: the second arrives first; then both in order. */
    seal_to(&i, 2, WIRE_DATA, p, sizeof(p), &m);
    seal_to(&i, 2, WIRE_DATA, p, sizeof(p) - 1, &m2);
    CHECK(open_err(&r, &m2) == SEAL_E_TAG);
    open_ok(&r, &m, WIRE_DATA, p, sizeof(p));
    CHECK(open_err(&r, &m) == SEAL_E_TAG); /* two reordered: the first after */
    open_ok(&r, &m2, WIRE_DATA, p, sizeof(p) - 1);
    /* Truncated: one byte short, down to nothing. */
    seal_to(&i, 1, WIRE_DATA, p, sizeof(p), &m);
    for (size_t len = 0; len < m.len; len++) {
        wire_type_t t;
        size_t n;

        CHECK(try_open(&r, m.sid, m.ppid, m.b, len, &t, &n) ==
              (len < SEAL_OVERHEAD ? SEAL_E_SHORT : SEAL_E_TAG));
    }
    /* ... and one byte long. */
    bad = m;
    bad.b[bad.len++] = 0;
    CHECK(open_err(&r, &bad) == SEAL_E_TAG);
    open_ok(&r, &m, WIRE_DATA, p, sizeof(p));
    /* A stream beyond the association's, both ways. */
    bad = m;
    bad.sid = NSTREAMS;
    CHECK(open_err(&r, &bad) == SEAL_E_STREAM);
    bad.sid = 0xffff;
    CHECK(open_err(&r, &bad) == SEAL_E_STREAM);
    {
        uint32_t ppid = 0;

        memcpy(bad.b, p, sizeof(p));
        CHECK(seal_msg(&i, NSTREAMS, WIRE_DATA, bad.b, sizeof(p), &ppid) == 0);
    }
    roundtrip(&i, &r, 1, 99);
    roundtrip(&r, &i, 1, 98);
    /* Streams carry more streams: the counters in use are kept. */
    CHECK(seal_streams(&i, NSTREAMS + 2) == 0 && seal_streams(&r, NSTREAMS + 2) == 0);
    CHECK(seal_streams(&r, 2) == 0 && r.nstreams == NSTREAMS + 2);
    roundtrip(&i, &r, 1, 97);
    roundtrip(&i, &r, NSTREAMS + 1, 96);
    /* A message of the other direction reflected back (same counter). */
    seal_to(&r, NSTREAMS, WIRE_DATA, p, sizeof(p), &m);
    seal_to(&i, NSTREAMS, WIRE_DATA, p, sizeof(p), &m2);
    CHECK(r.rx_ctr[NSTREAMS] == 0 && i.rx_ctr[NSTREAMS] == 0);
    CHECK(open_err(&r, &m) == SEAL_E_TAG);
    open_ok(&r, &m2, WIRE_DATA, p, sizeof(p));
    open_ok(&i, &m, WIRE_DATA, p, sizeof(p));
    seal_free(&i);
    seal_free(&r);
}

/* SCTP orders each stream alone: any interleaving of the streams opens. */
static void test_interleave(void)
{
    enum { PER = 6, STREAMS = 4 };
    static held_t h[STREAMS][PER];
    seal_t i, r;
    size_t next[STREAMS] = {0}, left = STREAMS * PER;
    uint32_t x = 12345;

    pair(&i, &r, 0);
    for (int k = 0; k < PER; k++)
        for (int s = 0; s < STREAMS; s++)
            hold(&i, (uint16_t)(1 + s), (uint32_t)(k * 10 + s), &h[s][k]);
    while (left) {
        int s;

        x = x * 1103515245u + 12345u;
        s = (int)((x >> 16) % STREAMS);
        if (next[s] == PER)
            continue;
        deliver(&r, &h[s][next[s]++]);
        left--;
    }
    /* Reversed stream order, and stream 0 between. */
    for (int s = STREAMS - 1; s >= 0; s--)
        hold(&i, (uint16_t)(1 + s), (uint32_t)(100 + s), &h[s][0]);
    roundtrip(&i, &r, 0, 7);
    for (int s = STREAMS - 1; s >= 0; s--)
        deliver(&r, &h[s][0]);
    seal_free(&i);
    seal_free(&r);
}

/* A rekey with messages of other streams, sealed under the old keys, still
 * under way both ways when the SWITCHes arrive. */
static void test_rekey_in_flight(void)
{
    static held_t to_r[3], to_i[2];
    static sealed_t m, bad;
    seal_t i, r;
    wire_msg_t offer, answer, sw_i, sw_r, out;
    uint8_t old_i2r[NOISE_KEY_LEN], old_r2i[NOISE_KEY_LEN];

    pair(&i, &r, 0);
    memcpy(old_i2r, i.tx_key, sizeof(old_i2r));
    memcpy(old_r2i, r.tx_key, sizeof(old_r2i));
    roundtrip(&i, &r, 1, 1);
    hold(&i, 1, 10, &to_r[0]);
    hold(&i, 2, 11, &to_r[1]);
    hold(&r, 3, 12, &to_i[0]);
    seal_to(&i, 4, WIRE_DATA, (const uint8_t *)"old", 3, &m); /* opened, kept to replay */
    open_ok(&r, &m, WIRE_DATA, (const uint8_t *)"old", 3);

    CHECK(seal_rekey_start(&r, &offer) == 0); /* the responder never offers */
    CHECK(seal_rekey_start(&i, &offer) == 1);
    CHECK(seal_rekey_start(&i, &out) == 0); /* one at a time */
    CHECK(seal_rekey_due(&i) == 0);
    hold(&i, 2, 13, &to_r[2]); /* after the offer, still under epoch 0 */
    CHECK(to_r[2].m.ppid == WIRE_PPID_SEALED);
    CHECK(ctl(&i, &r, &offer, &answer) == 1);
    CHECK(r.phase == SEAL_ANSWERED && r.rx[0].live && r.rx[1].live);
    CHECK(seal_on_control(&r, &offer, &out) == -1); /* a second offer */
    /* The SWITCH must come under the new key: the last opened was old. */
    sw_i = (wire_msg_t){.type = WIRE_SWITCH, .u.count = 3};
    CHECK(seal_on_control(&r, &sw_i, &out) == -1);
    hold(&r, 3, 14, &to_i[1]); /* the responder still seals under epoch 0 */
    CHECK(to_i[1].m.ppid == WIRE_PPID_SEALED);
    CHECK(seal_on_control(&i, &sw_i, &out) == -1); /* SWITCH while OFFERED */
    CHECK(ctl(&r, &i, &answer, &sw_i) == 1 && sw_i.type == WIRE_SWITCH);
    CHECK(i.phase == SEAL_SWITCHED && i.tx_epoch == 1);
    CHECK(seal_rekey_start(&i, &out) == 0);
    /* The initiator's epoch-0 messages: the round trip, three held, the
     * one kept to replay and the REKEY. */
    CHECK(sw_i.u.count == 6);
    /* An old message under the new epoch's PPID does not open. */
    bad = to_r[1].m;
    bad.ppid = WIRE_PPID_SEALED + 1;
    CHECK(open_err(&r, &bad) == SEAL_E_TAG);
    CHECK(ctl(&i, &r, &sw_i, &sw_r) == 1 && sw_r.type == WIRE_SWITCH);
    CHECK(r.phase == SEAL_IDLE && r.tx_epoch == 1 && r.rekeys == 1);
    CHECK(r.rx[0].live && r.rx[0].last_known && r.rx[0].last == 6 && r.rx[0].opened == 3);
    /* The responder's epoch-0 messages: two held and the answer. */
    CHECK(sw_r.u.count == 3);
    CHECK(ctl(&r, &i, &sw_r, &out) == 0);
    CHECK(i.phase == SEAL_IDLE && i.rekeys == 1 && i.rx[0].live);
    CHECK(memcmp(i.tx_key, old_i2r, NOISE_KEY_LEN) != 0);
    CHECK(memcmp(r.tx_key, old_r2i, NOISE_KEY_LEN) != 0);
    CHECK(memcmp(i.tx_key, r.tx_key, NOISE_KEY_LEN) != 0);

    /* New traffic goes both ways meanwhile, on the held messages' streams
     * too where SCTP lets it: a stream after its old messages. */
    roundtrip(&i, &r, 4, 20);
    roundtrip(&r, &i, 4, 21);
    /* A replay of an old-epoch message while the old key is live. */
    CHECK(open_err(&r, &m) == SEAL_E_TAG);
    deliver(&r, &to_r[0]);
    deliver(&r, &to_r[1]);
    roundtrip(&i, &r, 1, 22);
    CHECK(r.rx[0].live && r.rx[0].opened == 5);
    CHECK(seal_rekey_start(&i, &out) == 0); /* its old key is still live */
    deliver(&i, &to_i[0]);
    deliver(&i, &to_i[1]);
    CHECK(!i.rx[0].live && all_zero(i.rx[0].key, NOISE_KEY_LEN));
    deliver(&r, &to_r[2]);
    CHECK(!r.rx[0].live && all_zero(r.rx[0].key, NOISE_KEY_LEN));
    /* The old key is gone: nothing under epoch 0 opens any more. */
    CHECK(open_err(&r, &m) == SEAL_E_EPOCH);
    CHECK(open_err(&r, &to_r[2].m) == SEAL_E_EPOCH);
    CHECK(open_err(&i, &to_i[1].m) == SEAL_E_EPOCH);
    roundtrip(&i, &r, 2, 23);
    roundtrip(&r, &i, 3, 24);
    /* The counters went on through the rekey. */
    CHECK(i.tx_ctr[2] == 3 && r.rx_ctr[2] == 3);
    seal_free(&i);
    seal_free(&r);
}

/* The responder's old key is still live when the next offer comes. */
static void test_rekey_deferred(void)
{
    static held_t late;
    seal_t i, r;
    wire_msg_t offer, answer, sw_i, sw_r, out, second;

    pair(&i, &r, 0);
    hold(&i, 2, 1, &late); /* under epoch 0, arrives after both rekeys' offers */
    rekey(&i, &r);
    CHECK(!i.rx[0].live && r.rx[0].live);
    CHECK(seal_rekey_start(&i, &offer) == 1);
    memset(&out, 0xa5, sizeof(out));
    CHECK(seal_pending(&r, &out) == 0);
    CHECK(ctl(&i, &r, &offer, &out) == 0);
    CHECK(r.offer_waits && r.phase == SEAL_IDLE);
    CHECK(((const uint8_t *)&out)[0] == 0xa5);
    CHECK(seal_pending(&r, &out) == 0); /* not while the old key lives */
    second = offer;
    CHECK(seal_on_control(&r, &second, &out) == -1); /* a second offer */
    roundtrip(&i, &r, 1, 5);
    CHECK(seal_pending(&r, &out) == 0);
    deliver(&r, &late);
    CHECK(!r.rx[0].live);
    CHECK(seal_pending(&r, &answer) == 1 && answer.type == WIRE_REKEY);
    CHECK(!r.offer_waits && all_zero(r.offer, sizeof(r.offer)));
    CHECK(seal_pending(&r, &out) == 0);
    CHECK(ctl(&r, &i, &answer, &sw_i) == 1);
    CHECK(ctl(&i, &r, &sw_i, &sw_r) == 1);
    CHECK(ctl(&r, &i, &sw_r, &out) == 0);
    CHECK(i.tx_epoch == 2 && r.tx_epoch == 2 && i.rekeys == 2 && r.rekeys == 2);
    roundtrip(&i, &r, 2, 6);
    roundtrip(&r, &i, 2, 7);
    seal_free(&i);
    seal_free(&r);
}

/* What the gateway watches for a peer that keeps its old keys alive
 * (seal_old_waits; assoc.c ends such an association): after an honest
 * SWITCH the old key goes with its last message; after one announcing
 * more than were sealed it stays while the new keys work. */
static void test_rekey_old_waits(void)
{
    static held_t late;
    seal_t i, r;
    wire_msg_t offer, answer, sw_i, sw_r, out;
    uint64_t announced = 0, opened = 0;

    pair(&i, &r, 0);
    CHECK(seal_old_waits(&r, &announced, &opened) == 0);
    hold(&i, 2, 1, &late); /* under epoch 0, delivered after the SWITCH */
    rekey(&i, &r);
    CHECK(seal_old_waits(&r, &announced, &opened) == 1 && announced == opened + 1);
    CHECK(seal_old_waits(&i, &announced, &opened) == 0);
    deliver(&r, &late);
    CHECK(seal_old_waits(&r, &announced, &opened) == 0);

    CHECK(seal_rekey_start(&i, &offer) == 1);
    CHECK(ctl(&i, &r, &offer, &answer) == 1);
    CHECK(ctl(&r, &i, &answer, &sw_i) == 1 && sw_i.type == WIRE_SWITCH);
    sw_i.u.count += 1000;
    CHECK(ctl(&i, &r, &sw_i, &sw_r) == 1);
    CHECK(ctl(&r, &i, &sw_r, &out) == 0);
    CHECK(seal_old_waits(&r, &announced, &opened) == 1 && announced == opened + 1000);
    roundtrip(&i, &r, 1, 3);
    roundtrip(&r, &i, 1, 4);
    CHECK(seal_old_waits(&r, &announced, &opened) == 1 && announced == opened + 1000);
    CHECK(seal_old_waits(&i, &announced, &opened) == 0);
    seal_free(&i);
    seal_free(&r);
}

/* Every REKEY and SWITCH out of turn, and low-order keys. */
static void test_rekey_refusals(void)
{
    seal_t i, r;
    wire_msg_t sw = {.type = WIRE_SWITCH, .u.count = 0}, rk = {.type = WIRE_REKEY}, offer, out;
    wire_msg_t other = {.type = WIRE_KEEP};

    pair(&i, &r, 0);
    noise_keypair(scratch, rk.u.key);
    CHECK(seal_on_control(&r, &sw, &out) == -1);    /* responder: SWITCH first */
    CHECK(seal_on_control(&i, &rk, &out) == -1);    /* initiator: REKEY unasked */
    CHECK(seal_on_control(&i, &sw, &out) == -1);    /* initiator: SWITCH unasked */
    CHECK(seal_on_control(&i, &other, &out) == -1); /* not a rekey message */
    CHECK(seal_rekey_start(&r, &out) == 0);
    CHECK(i.phase == SEAL_IDLE && r.phase == SEAL_IDLE);
    CHECK(seal_rekey_start(&i, &offer) == 1);
    CHECK(seal_on_control(&i, &rk, &out) == 1);  /* an answer from "the peer" */
    CHECK(seal_on_control(&i, &rk, &out) == -1); /* a second answer */
    CHECK(seal_on_control(&i, &sw, &out) == -1); /* its SWITCH under the old key */
    seal_free(&i);
    seal_free(&r);

    /* Low-order keys (all zeros, u = 1, a point of order 8): offered to
     * the responder, answered to the initiator, and in an offer that must
     * wait. The last is refused when it comes, not left to fail unseen in
     * seal_pending (whose caller sends only on 1): that would leave the
     * initiator offering for ever and the keys unchanged. */
    for (size_t k = 0; k < 3; k++) {
        static held_t late;
        static const char order8[] =
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800";
        wire_msg_t bad = {.type = WIRE_REKEY};

        if (k == 1)
            bad.u.key[0] = 1;
        if (k == 2)
            CHECK(sodium_hex2bin(bad.u.key, WIRE_KEY_LEN, order8, 64, NULL, NULL, NULL) == 0);
        pair(&i, &r, 0);
        CHECK(seal_on_control(&r, &bad, &out) == -1);
        CHECK(r.phase == SEAL_IDLE);
        CHECK(seal_rekey_start(&i, &offer) == 1);
        CHECK(seal_on_control(&i, &bad, &out) == -1);
        seal_free(&i);
        seal_free(&r);

        pair(&i, &r, 0);
        hold(&i, 2, 1, &late);
        rekey(&i, &r);
        CHECK(r.rx[0].live);
        CHECK(seal_on_control(&r, &bad, &out) == -1 && !r.offer_waits);
        deliver(&r, &late);
        CHECK(seal_pending(&r, &out) == 0);
        seal_free(&i);
        seal_free(&r);
    }
}

/* The traffic bound makes a rekey due on the initiator only. */
static void test_rekey_due(void)
{
    static sealed_t m;
    seal_t i, r;

    pair(&i, &r, 1000);
    fill(plain, 600, 1);
    seal_to(&i, 1, WIRE_DATA, plain, 600, &m);
    open_ok(&r, &m, WIRE_DATA, plain, 600);
    CHECK(seal_rekey_due(&i) == 0 && seal_rekey_due(&r) == 0);
    seal_to(&r, 1, WIRE_DATA, plain, 399, &m);
    open_ok(&i, &m, WIRE_DATA, plain, 399);
    CHECK(seal_rekey_due(&i) == 0);
    seal_to(&r, 1, WIRE_DATA, plain, 1, &m);
    open_ok(&i, &m, WIRE_DATA, plain, 1);
    CHECK(seal_rekey_due(&i) == 1 && seal_rekey_due(&r) == 0);
    rekey(&i, &r);
    CHECK(seal_rekey_due(&i) == 0);
    seal_to(&i, 1, WIRE_DATA, plain, 600, &m);
    open_ok(&r, &m, WIRE_DATA, plain, 600);
    CHECK(seal_rekey_due(&i) == 0);
    seal_to(&i, 1, WIRE_DATA, plain, 600, &m);
    open_ok(&r, &m, WIRE_DATA, plain, 600);
    CHECK(seal_rekey_due(&i) == 1);
    seal_free(&i);
    seal_free(&r);

    /* The default bound. */
    pair(&i, &r, 0);
    CHECK(i.rekey_at == SEAL_REKEY_BYTES);
    seal_free(&i);
    seal_free(&r);
}

/* Many rekeys in a row with traffic between and across each: everything
 * opens, every epoch has its own keys, the epoch's byte in the PPID wraps,
 * the counters never restart, so no nonce repeats under any key. */
static void test_rekey_many(void)
{
    enum { ROUNDS = 300 };
    static held_t a, b;
    static sealed_t before, after, ancient;
    seal_t i, r;
    uint8_t prev_i[NOISE_KEY_LEN], prev_r[NOISE_KEY_LEN];

    pair(&i, &r, 0);
    fill(plain, 48, 3);
    for (uint32_t k = 0; k < ROUNDS; k++) {
        uint16_t sid = (uint16_t)(1 + k % (NSTREAMS - 1));
        uint64_t ctr = i.tx_ctr[sid];

        memcpy(prev_i, i.tx_key, NOISE_KEY_LEN);
        memcpy(prev_r, r.tx_key, NOISE_KEY_LEN);
        roundtrip(&i, &r, sid, k);
        roundtrip(&r, &i, sid, k + 1000);
        hold(&i, sid, k + 2000, &a); /* sealed under epoch k, opened under k + 1 */
        hold(&r, sid, k + 3000, &b);
        seal_to(&i, sid, WIRE_DATA, plain, 48, &before);
        rekey(&i, &r);
        seal_to(&i, sid, WIRE_DATA, plain, 48, &after);
        CHECK(memcmp(before.b, after.b, after.len) != 0);
        CHECK(i.tx_ctr[sid] == ctr + 4);
        CHECK(before.ppid == WIRE_PPID_SEALED + (k & 0xffu));
        CHECK(after.ppid == WIRE_PPID_SEALED + ((k + 1) & 0xffu));
        deliver(&r, &a);
        open_ok(&r, &before, WIRE_DATA, plain, 48);
        deliver(&i, &b);
        open_ok(&r, &after, WIRE_DATA, plain, 48);
        CHECK(!i.rx[k & 1].live && !r.rx[k & 1].live);
        CHECK(memcmp(prev_i, i.tx_key, NOISE_KEY_LEN) != 0);
        CHECK(memcmp(prev_r, r.tx_key, NOISE_KEY_LEN) != 0);
        if (k == 0)
            ancient = before;
        /* Epoch 256 has epoch 0's PPID: its messages still do not open. */
        if (k == 255) {
            CHECK(i.tx_epoch == 256 && after.ppid == ancient.ppid);
            CHECK(open_err(&r, &ancient) == SEAL_E_TAG);
        }
    }
    CHECK(i.tx_epoch == ROUNDS && r.tx_epoch == ROUNDS && i.rekeys == ROUNDS);
    roundtrip(&i, &r, 0, 1);
    roundtrip(&r, &i, 0, 2);
    seal_free(&i);
    seal_free(&r);
}

static void test_free(void)
{
    seal_t i, r;
    wire_msg_t offer;

    pair(&i, &r, 0);
    CHECK(seal_rekey_start(&i, &offer) == 1);
    CHECK(!all_zero(i.e_priv, sizeof(i.e_priv)));
    seal_free(&i);
    seal_free(&r);
    CHECK(all_zero(&i, sizeof(i)) && all_zero(&r, sizeof(r)));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_known_answer_aead();
    test_known_answer_seal();
    test_roundtrips();
    test_rejections();
    test_interleave();
    test_rekey_in_flight();
    test_rekey_deferred();
    test_rekey_old_waits();
    test_rekey_refusals();
    test_rekey_due();
    test_rekey_many();
    test_free();
    CHECK(strcmp(seal_err_name(SEAL_E_TAG), "?") != 0);
    return check_status("test_seal");
}
