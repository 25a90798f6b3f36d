/* The Noise handshake: two handshake_t talk through the real codec on stream
 * 0. The HELLOs go in clear; AUTH and READY are sealed and opened with the
 * keys each side took from its handshake (seal.h), as assoc.c does. Only a
 * genuine exchange completes; wrong keys, tampering, downgrades, version and
 * encryption mismatches, misordered messages and replays all fail, each
 * with its code. */
#include "handshake.h"
#include "seal.h"
#include "wire.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

typedef struct pkt {
    uint32_t ppid;
    size_t len;
    uint8_t bytes[WIRE_MSG_MAX];
} pkt_t;

/* One gateway: its handshake, the sealing it sets up once keys_ready, the
 * messages it last wanted sent and how its last input ended. */
typedef struct side {
    handshake_t hs;
    seal_t seal;
    int sealed;        /* seal holds the handshake's keys */
    noise_keys_t keys; /* a copy, to compare the two sides */
    hs_out_t out;
    int rc;
    uint16_t code;
    const char *why;
} side_t;

#define FEED_SEAL (-100) /* a sealed message did not open */

static const uint8_t key_a[40] = "0123456789abcdef0123456789abcdef-key-A!";
static const uint8_t key_b[40] = "0123456789abcdef0123456789abcdef-key-B!";

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* Once the handshake has keys, take them into a seal_t (as assoc.c does). */
static void take_keys(side_t *s)
{
    if (s->sealed || !s->hs.keys_ready)
        return;
    CHECK(seal_init(&s->seal, s->hs.initiator, &s->hs.keys, 0) == 0);
    s->keys = s->hs.keys;
    s->sealed = 1;
}

static void side_free(side_t *s)
{
    handshake_clear(&s->hs);
    if (s->sealed)
        seal_free(&s->seal);
    s->sealed = 0;
}

static int side_init(side_t *s, int initiator, const uint8_t *key, size_t key_len, const char *name,
                     uint32_t window, uint16_t flags)
{
    memset(s, 0, sizeof(*s));
    s->rc = handshake_init(&s->hs, initiator, key, key_len, name, window, flags, &s->out);
    take_keys(s);
    return s->rc;
}

/* Encodes message k of what `s` wants sent; AUTH and READY are sealed with
 * its keys, which it must hold by then. */
static void to_pkt(side_t *s, int k, pkt_t *p)
{
    const wire_msg_t *m = &s->out.msg[k];
    ssize_t n;

    CHECK(k < s->out.n);
    n = wire_encode(m, p->bytes, sizeof(p->bytes) - SEAL_OVERHEAD);
    CHECK(n > 0);
    p->len = n < 0 ? 0 : (size_t)n;
    p->ppid = wire_ppid(m->type);
    if (m->type == WIRE_AUTH || m->type == WIRE_READY) {
        CHECK(s->sealed);
        if (s->sealed)
            p->len = seal_msg(&s->seal, WIRE_CONTROL_SID, m->type, p->bytes, p->len, &p->ppid);
        CHECK(seal_is_sealed(p->ppid));
    }
}

/* Seals AUTH with keys from some other handshake, as an attacker would. */
static void forge_auth(seal_t *keys_of_attacker, pkt_t *p)
{
    p->bytes[0] = 0;
    p->len = seal_msg(keys_of_attacker, WIRE_CONTROL_SID, WIRE_AUTH, p->bytes, 1, &p->ppid);
    CHECK(p->len == 1 + SEAL_OVERHEAD);
}

/* Receives one packet on stream 0: opens it if sealed, decodes it, feeds it.
 * Returns the handshake's answer, or FEED_SEAL. */
static int feed(side_t *s, const pkt_t *in)
{
    pkt_t p = *in;
    wire_msg_t m;
    size_t len = p.len;
    uint32_t ppid = p.ppid;

    s->code = 0xffff;
    s->why = NULL;
    s->out.n = 0;
    if (seal_is_sealed(p.ppid)) {
        wire_type_t type;

        if (!s->sealed ||
            seal_open(&s->seal, WIRE_CONTROL_SID, p.ppid, p.bytes, p.len, &type, &len) != SEAL_OK)
            return s->rc = FEED_SEAL;
        ppid = wire_ppid(type);
    }
    CHECK(wire_decode(WIRE_CONTROL_SID, ppid, p.bytes, len, &m) == 0);
    s->rc = handshake_input(&s->hs, &m, &s->out, &s->code, &s->why);
    take_keys(s);
    if (s->rc < 0) {
        CHECK(s->hs.state == HS_FAILED);
        CHECK(s->why != NULL && strlen(s->why) > 10);
    }
    return s->rc;
}

/* Feeds a message that is not sent as bytes (out of order, say). */
static int feed_msg(side_t *s, const wire_msg_t *m)
{
    s->code = 0xffff;
    s->why = NULL;
    s->rc = handshake_input(&s->hs, m, &s->out, &s->code, &s->why);
    return s->rc;
}

/* A complete exchange, every packet kept for later abuse. */
typedef struct run {
    side_t i, r;
    pkt_t hello_i, hello_r, auth, ready;
} run_t;

static run_t run1, run2, run3;

static void start(run_t *x, const uint8_t *ki, const uint8_t *kr, uint16_t fi, uint16_t fr)
{
    CHECK(side_init(&x->i, 1, ki, sizeof(key_a), "gw-init", 1000, fi) == 0);
    CHECK(side_init(&x->r, 0, kr, sizeof(key_a), "gw-resp.2", 262144, fr) == 0);
    CHECK(x->i.out.n == 1 && x->i.out.msg[0].type == WIRE_HELLO);
    CHECK(x->r.out.n == 0);
    CHECK(!x->i.hs.keys_ready && !x->r.hs.keys_ready);
    to_pkt(&x->i, 0, &x->hello_i);
}

/* Runs a genuine exchange to the end; returns 1 when both completed. */
static int complete(run_t *x, uint16_t flags)
{
    start(x, key_a, key_a, flags, flags);
    CHECK(feed(&x->r, &x->hello_i) == 0);
    CHECK(x->r.out.n == 1 && x->r.out.msg[0].type == WIRE_HELLO);
    CHECK(x->r.hs.state == HS_WAIT_AUTH && x->r.sealed);
    to_pkt(&x->r, 0, &x->hello_r);
    CHECK(feed(&x->i, &x->hello_r) == 0);
    CHECK(x->i.out.n == 1 && x->i.out.msg[0].type == WIRE_AUTH);
    CHECK(x->i.hs.state == HS_WAIT_READY && x->i.sealed);
    to_pkt(&x->i, 0, &x->auth);
    CHECK(feed(&x->r, &x->auth) == 1);
    CHECK(x->r.out.n == 1 && x->r.out.msg[0].type == WIRE_READY);
    to_pkt(&x->r, 0, &x->ready);
    CHECK(feed(&x->i, &x->ready) == 1);
    CHECK(x->i.out.n == 0);
    return x->i.hs.state == HS_DONE && x->r.hs.state == HS_DONE;
}

static void test_complete(void)
{
    static const uint16_t flags[] = {WIRE_F_SEALED, 0};

    for (int k = 0; k < 2; k++) {
        CHECK(complete(&run1, flags[k]));
        /* the same keys on both sides, one per direction */
        CHECK(memcmp(run1.i.keys.i2r, run1.r.keys.i2r, NOISE_KEY_LEN) == 0);
        CHECK(memcmp(run1.i.keys.r2i, run1.r.keys.r2i, NOISE_KEY_LEN) == 0);
        CHECK(memcmp(run1.i.keys.ck, run1.r.keys.ck, NOISE_HASH_LEN) == 0);
        CHECK(memcmp(run1.i.keys.h, run1.r.keys.h, NOISE_HASH_LEN) == 0);
        CHECK(memcmp(run1.i.keys.i2r, run1.i.keys.r2i, NOISE_KEY_LEN) != 0);
        CHECK(!is_zero(run1.i.keys.i2r, NOISE_KEY_LEN));
        /* names, windows, versions and flags exchanged */
        CHECK_STR(run1.i.hs.peer.name, "gw-resp.2");
        CHECK(run1.i.hs.peer.flow_window == 262144);
        CHECK_STR(run1.r.hs.peer.name, "gw-init");
        CHECK(run1.r.hs.peer.flow_window == 1000);
        CHECK(run1.i.hs.peer.version == WIRE_VERSION && run1.r.hs.peer.version == WIRE_VERSION);
        CHECK(run1.i.hs.peer.flags == flags[k] && run1.r.hs.peer.flags == flags[k]);
        /* the clear fields of each HELLO, and the names are not in clear */
        CHECK(run1.hello_i.bytes[0] == 0 && run1.hello_i.bytes[1] == WIRE_VERSION);
        CHECK(run1.hello_i.bytes[3] == flags[k] && run1.hello_r.bytes[3] == flags[k]);
        CHECK(!memmem(run1.hello_i.bytes, run1.hello_i.len, "gw-init", 7));
        CHECK(!memmem(run1.hello_r.bytes, run1.hello_r.len, "gw-resp", 7));
        /* NNpsk0: e (32) + sealed payload (tag 16) */
        CHECK(run1.hello_i.len == 4 + 32 + 2 + 2 + 4 + 1 + 7 + 16);
        CHECK(run1.hello_r.len == 4 + 32 + 2 + 2 + 4 + 1 + 9 + 16);
        /* a sealed message after the handshake opens on the other side */
        uint8_t b[16 + SEAL_OVERHEAD] = "after handshake";
        uint32_t ppid;
        wire_type_t t;
        size_t len, n = seal_msg(&run1.r.seal, 0, WIRE_KEEP, b, 16, &ppid);
        CHECK(seal_open(&run1.i.seal, 0, ppid, b, n, &t, &len) == SEAL_OK);
        CHECK(t == WIRE_KEEP && len == 16 && memcmp(b, "after handshake", 16) == 0);
        side_free(&run1.i);
        side_free(&run1.r);
    }
}

/* Every run has fresh ephemerals, so fresh keys. */
static void test_fresh_keys(void)
{
    CHECK(complete(&run1, WIRE_F_SEALED));
    CHECK(complete(&run2, WIRE_F_SEALED));
    CHECK(memcmp(run1.i.keys.i2r, run2.i.keys.i2r, NOISE_KEY_LEN) != 0);
    CHECK(memcmp(run1.i.keys.r2i, run2.i.keys.r2i, NOISE_KEY_LEN) != 0);
    CHECK(memcmp(run1.i.keys.h, run2.i.keys.h, NOISE_HASH_LEN) != 0);
    CHECK(memcmp(run1.hello_i.bytes, run2.hello_i.bytes, run1.hello_i.len) != 0);
    /* so the same AUTH seals to other bytes */
    CHECK(run1.auth.len == run2.auth.len);
    CHECK(memcmp(run1.auth.bytes, run2.auth.bytes, run1.auth.len) != 0);
    side_free(&run1.i);
    side_free(&run1.r);
    side_free(&run2.i);
    side_free(&run2.r);
}

static void test_wrong_key(void)
{
    /* the responder refuses HELLO_i: it does not open with its key */
    start(&run1, key_a, key_b, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == -1);
    CHECK(run1.r.code == WIRE_E_AUTH);
    CHECK(run1.r.why && strstr(run1.r.why, "psk_file"));
    CHECK(run1.r.out.n == 0 && !run1.r.hs.keys_ready);
    side_free(&run1.i);
    side_free(&run1.r);

    /* a key file that differs only in length (a prefix) is another key */
    side_init(&run1.i, 1, key_a, sizeof(key_a), "gw-init", 1000, WIRE_F_SEALED);
    side_init(&run1.r, 0, key_a, sizeof(key_a) - 1, "gw-resp", 1000, WIRE_F_SEALED);
    to_pkt(&run1.i, 0, &run1.hello_i);
    CHECK(feed(&run1.r, &run1.hello_i) == -1 && run1.r.code == WIRE_E_AUTH);
    side_free(&run1.i);
    side_free(&run1.r);
}

/* A flipped bit anywhere in either HELLO fails the handshake. */
static void test_flipped_bits(void)
{
    pkt_t p;
    unsigned fails_i = 0, fails_r = 0, total_i = 0, total_r = 0;

    complete(&run2, WIRE_F_SEALED); /* for the lengths and a genuine HELLO_r */
    for (size_t at = 0; at < run2.hello_i.len; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
            p = run1.hello_i;
            p.bytes[at] ^= (uint8_t)(1u << bit);
            total_r++;
            if (feed(&run1.r, &p) == -1 && !run1.r.hs.keys_ready && run1.r.out.n == 0)
                fails_r++;
            side_free(&run1.i);
            side_free(&run1.r);
        }
    }
    for (size_t at = 0; at < run2.hello_r.len; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
            CHECK(feed(&run1.r, &run1.hello_i) == 0);
            to_pkt(&run1.r, 0, &p);
            p.bytes[at] ^= (uint8_t)(1u << bit);
            total_i++;
            if (feed(&run1.i, &p) == -1 && !run1.i.hs.keys_ready && run1.i.out.n == 0)
                fails_i++;
            side_free(&run1.i);
            side_free(&run1.r);
        }
    }
    CHECK(total_r > 100 && fails_r == total_r);
    CHECK(total_i > 100 && fails_i == total_i);
    side_free(&run2.i);
    side_free(&run2.r);
}

/* Sets HELLO's clear flags in flight. */
static void set_flags(pkt_t *p, uint16_t flags)
{
    p->bytes[2] = (uint8_t)(flags >> 8);
    p->bytes[3] = (uint8_t)flags;
}

/* A change of the clear flags in flight fails, whatever the responder's
 * own setting: the flags are in the prologue and in the payload. */
static void test_downgrade(void)
{
    static const struct {
        uint16_t fi, fr, forged;
    } cases[] = {
        {WIRE_F_SEALED, 0, 0},                  /* downgrade to a responder with off */
        {WIRE_F_SEALED, WIRE_F_SEALED, 0},      /* downgrade to a responder with on */
        {0, WIRE_F_SEALED, WIRE_F_SEALED},      /* upgrade */
        {0, 0, WIRE_F_SEALED},                  /* upgrade to a responder with off */
        {WIRE_F_SEALED, WIRE_F_SEALED, 0x0003}, /* an unknown flag added */
        {0, 0, 0x8000},                         /* an unknown flag with encryption off */
    };

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        pkt_t p;

        start(&run1, key_a, key_a, cases[k].fi, cases[k].fr);
        p = run1.hello_i;
        set_flags(&p, cases[k].forged);
        CHECK(feed(&run1.r, &p) == -1);
        /* the flag matches the responder's: only the handshake can tell */
        if ((cases[k].forged & WIRE_F_SEALED) == cases[k].fr)
            CHECK(run1.r.code == WIRE_E_AUTH);
        else
            CHECK(run1.r.code == WIRE_E_MISMATCH);
        CHECK(!run1.r.hs.keys_ready && run1.r.out.n == 0);
        side_free(&run1.i);
        side_free(&run1.r);
    }

    /* HELLO_r's flags changed in flight: the initiator notices */
    static const uint16_t forged_r[] = {0, 0x0003};
    for (size_t k = 0; k < 2; k++) {
        pkt_t p;

        start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
        CHECK(feed(&run1.r, &run1.hello_i) == 0);
        to_pkt(&run1.r, 0, &p);
        set_flags(&p, forged_r[k]);
        CHECK(feed(&run1.i, &p) == -1);
        CHECK(run1.i.code == (k == 0 ? WIRE_E_MISMATCH : WIRE_E_AUTH));
        if (k == 1)
            CHECK(run1.i.why && strstr(run1.i.why, "changed in flight"));
        CHECK(run1.i.out.n == 0 && !run1.i.hs.keys_ready);
        side_free(&run1.i);
        side_free(&run1.r);
    }
}

/* Builds an HELLO_i by hand with noise.h, with the given prologue, clear
 * fields and payload, as a peer holding the key file would; with zero_e,
 * its ephemeral key is all zeros (a low-order point). */
static void craft_hello_i(const uint8_t *psk, const uint8_t *pro, size_t pro_len, uint16_t flags,
                          uint16_t payload_flags, int zero_e, pkt_t *p)
{
    wire_peer_t me = {.version = WIRE_VERSION, .flags = payload_flags, .flow_window = 500};
    uint8_t e[NOISE_DH_LEN], pub[NOISE_DH_LEN], payload[WIRE_PEER_MAX];
    noise_hs_t n;
    ssize_t plen, len;

    strcpy(me.name, "gw-crafted");
    plen = wire_peer_encode(&me, payload, sizeof(payload));
    CHECK(plen > 0);
    noise_keypair(e, pub);
    CHECK(noise_hs_init(&n, 1, pro, pro_len, psk, e) == 0);
    if (zero_e)
        memset(n.e_pub, 0, sizeof(n.e_pub));
    len = noise_hs_write(&n, payload, (size_t)plen, p->bytes + 4, WIRE_NOISE_MAX);
    CHECK(len > 0);
    p->bytes[0] = 0;
    p->bytes[1] = WIRE_VERSION;
    set_flags(p, flags);
    p->len = 4 + (size_t)len;
    p->ppid = wire_ppid(WIRE_HELLO);
    noise_hs_clear(&n);
}

/* The prologue is "sctpgw" || version u16 || flags u16 of HELLO_i, as
 * handshake.h documents: a HELLO_i made with it opens; one made without
 * it, or with other clear fields in it, does not, even when its payload
 * agrees with its clear fields. */
static void test_prologue(void)
{
    static const uint8_t pro_on[] = {'s', 'c', 't', 'p', 'g', 'w', 0, WIRE_VERSION, 0, 1};
    static const uint8_t pro_off[] = {'s', 'c', 't', 'p', 'g', 'w', 0, WIRE_VERSION, 0, 0};
    uint8_t psk[NOISE_KEY_LEN];
    pkt_t p;

    /* the Noise psk as the handshake derives it from key_a */
    CHECK(side_init(&run2.r, 0, key_a, sizeof(key_a), "gw-x", 1, 0) == 0);
    memcpy(psk, run2.r.hs.psk, sizeof(psk));
    side_free(&run2.r);

    static const struct {
        const uint8_t *pro;
        size_t len;
        uint16_t flags, payload_flags, resp_flags;
        int ok;
    } cases[] = {
        {pro_on, sizeof(pro_on), WIRE_F_SEALED, WIRE_F_SEALED, WIRE_F_SEALED, 1},
        {pro_off, sizeof(pro_off), 0, 0, 0, 1},
        /* no prologue, or only the label */
        {pro_on, 0, WIRE_F_SEALED, WIRE_F_SEALED, WIRE_F_SEALED, 0},
        {pro_on, 6, WIRE_F_SEALED, WIRE_F_SEALED, WIRE_F_SEALED, 0},
        /* a prologue of other flags than the clear ones */
        {pro_off, sizeof(pro_off), WIRE_F_SEALED, WIRE_F_SEALED, WIRE_F_SEALED, 0},
        {pro_on, sizeof(pro_on), 0, 0, 0, 0},
        /* clear fields and payload that disagree */
        {pro_on, sizeof(pro_on), WIRE_F_SEALED, 0, WIRE_F_SEALED, 0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        CHECK(side_init(&run2.r, 0, key_a, sizeof(key_a), "gw-r", 1, cases[k].resp_flags) == 0);
        craft_hello_i(psk, cases[k].pro, cases[k].len, cases[k].flags, cases[k].payload_flags, 0,
                      &p);
        if (cases[k].ok) {
            CHECK(feed(&run2.r, &p) == 0);
            CHECK_STR(run2.r.hs.peer.name, "gw-crafted");
        } else {
            CHECK(feed(&run2.r, &p) == -1);
            CHECK(run2.r.code == WIRE_E_AUTH);
        }
        side_free(&run2.r);
    }
    sodium_memzero(psk, sizeof(psk));
}

/* An ephemeral key that is a low-order point in a HELLO_i made with the
 * key is the peer's fault and said so, not our internal error; in a
 * HELLO_r not made with it (the key zeroed in flight) it is a message
 * that does not open, not a key holder's fault. (noise.c tells a HELLO_r
 * made with the key and such a point: test_noise.) */
static void test_low_order_key(void)
{
    static const uint8_t pro[] = {'s', 'c', 't', 'p', 'g', 'w', 0, WIRE_VERSION, 0, 1};
    static const char why[] = "the peer's ephemeral key is a low-order point";
    uint8_t psk[NOISE_KEY_LEN];
    pkt_t p;

    CHECK(side_init(&run2.r, 0, key_a, sizeof(key_a), "gw-r", 1, WIRE_F_SEALED) == 0);
    memcpy(psk, run2.r.hs.psk, sizeof(psk));
    craft_hello_i(psk, pro, sizeof(pro), WIRE_F_SEALED, WIRE_F_SEALED, 1, &p);
    CHECK(feed(&run2.r, &p) == -1);
    CHECK(run2.r.code == WIRE_E_AUTH && run2.r.why && strcmp(run2.r.why, why) == 0);
    CHECK(run2.r.out.n == 0 && !run2.r.hs.keys_ready);
    side_free(&run2.r);
    sodium_memzero(psk, sizeof(psk));

    start(&run2, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run2.r, &run2.hello_i) == 0);
    to_pkt(&run2.r, 0, &p);
    memset(p.bytes + 4, 0, NOISE_DH_LEN); /* HELLO_r's e */
    CHECK(feed(&run2.i, &p) == -1);
    CHECK(run2.i.code == WIRE_E_AUTH && run2.i.why && strstr(run2.i.why, "does not open"));
    side_free(&run2.i);
    side_free(&run2.r);
}

static void test_version(void)
{
    pkt_t p;

    /* an older or newer initiator: the responder says why */
    static const uint16_t versions[] = {2, 4, 0, 0xffff};
    for (size_t k = 0; k < 4; k++) {
        start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
        p = run1.hello_i;
        p.bytes[0] = (uint8_t)(versions[k] >> 8);
        p.bytes[1] = (uint8_t)versions[k];
        CHECK(feed(&run1.r, &p) == -1);
        CHECK(run1.r.code == WIRE_E_VERSION);
        CHECK(run1.r.why && strstr(run1.r.why, "version"));
        side_free(&run1.i);
        side_free(&run1.r);
    }
    /* and an answer in another version */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == 0);
    to_pkt(&run1.r, 0, &p);
    p.bytes[1] = 2;
    CHECK(feed(&run1.i, &p) == -1 && run1.i.code == WIRE_E_VERSION);
    CHECK(run1.i.why && strstr(run1.i.why, "version"));
    side_free(&run1.i);
    side_free(&run1.r);
    /* the version is checked before anything else, even with another key */
    start(&run1, key_a, key_b, WIRE_F_SEALED, 0);
    p = run1.hello_i;
    p.bytes[1] = 2;
    CHECK(feed(&run1.r, &p) == -1 && run1.r.code == WIRE_E_VERSION);
    side_free(&run1.i);
    side_free(&run1.r);
}

static void test_mismatch(void)
{
    /* initiator on, responder off */
    start(&run1, key_a, key_a, WIRE_F_SEALED, 0);
    CHECK(feed(&run1.r, &run1.hello_i) == -1);
    CHECK(run1.r.code == WIRE_E_MISMATCH);
    CHECK(run1.r.why && strstr(run1.r.why, "gave up has encryption = off, the other on"));
    side_free(&run1.i);
    side_free(&run1.r);

    /* initiator off, responder on */
    start(&run1, key_a, key_a, 0, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == -1);
    CHECK(run1.r.code == WIRE_E_MISMATCH);
    CHECK(run1.r.why && strstr(run1.r.why, "gave up has encryption = on, the other off"));
    side_free(&run1.i);
    side_free(&run1.r);
}

static void expect_protocol(side_t *s, const wire_msg_t *m)
{
    CHECK(feed_msg(s, m) == -1);
    CHECK(s->code == WIRE_E_PROTOCOL);
    CHECK(s->hs.state == HS_FAILED);
    CHECK(s->out.n == 0);
}

static void test_out_of_order(void)
{
    const wire_msg_t auth = {.type = WIRE_AUTH}, ready = {.type = WIRE_READY},
                     keep = {.type = WIRE_KEEP};
    wire_msg_t hello;

    /* AUTH before HELLO, at either side */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    expect_protocol(&run1.r, &auth);
    CHECK_STR(run1.r.why, "unexpected AUTH during the handshake (waiting for the peer's HELLO)");
    expect_protocol(&run1.i, &auth);
    side_free(&run1.i);
    side_free(&run1.r);

    /* READY at the responder, before and after HELLO_i */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    expect_protocol(&run1.r, &ready);
    side_free(&run1.r);
    side_init(&run1.r, 0, key_a, sizeof(key_a), "gw-resp", 1000, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == 0);
    expect_protocol(&run1.r, &ready);
    side_free(&run1.i);
    side_free(&run1.r);

    /* a second HELLO at the responder, and at the initiator */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == 0);
    CHECK(wire_decode(0, run1.hello_i.ppid, run1.hello_i.bytes, run1.hello_i.len, &hello) == 0);
    expect_protocol(&run1.r, &hello);
    side_free(&run1.r);
    CHECK(complete(&run1, WIRE_F_SEALED));
    CHECK(wire_decode(0, run1.hello_r.ppid, run1.hello_r.bytes, run1.hello_r.len, &hello) == 0);
    expect_protocol(&run1.i, &hello);
    side_free(&run1.i);
    side_free(&run1.r);

    /* AUTH at the initiator; READY before HELLO_r; KEEP during the handshake */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    expect_protocol(&run1.i, &ready);
    side_free(&run1.i);
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == 0);
    to_pkt(&run1.r, 0, &run1.hello_r);
    CHECK(feed(&run1.i, &run1.hello_r) == 0);
    expect_protocol(&run1.i, &auth);
    CHECK_STR(run1.i.why, "unexpected AUTH during the handshake (waiting for the peer's READY)");
    expect_protocol(&run1.r, &keep);
    CHECK_STR(run1.r.why, "unexpected KEEP during the handshake (waiting for the peer's AUTH)");
    side_free(&run1.i);
    side_free(&run1.r);

    /* reflection: the initiator's own HELLO sent back to it */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.i, &run1.hello_i) == -1);
    CHECK(run1.i.code == WIRE_E_AUTH && !run1.i.hs.keys_ready);
    side_free(&run1.i);
    side_free(&run1.r);

    /* a failed handshake stays failed */
    start(&run1, key_a, key_b, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.r, &run1.hello_i) == -1);
    side_free(&run1.i);
    side_init(&run1.i, 1, key_a, sizeof(key_a), "gw-init", 1000, WIRE_F_SEALED);
    to_pkt(&run1.i, 0, &run1.hello_i);
    CHECK(wire_decode(0, run1.hello_i.ppid, run1.hello_i.bytes, run1.hello_i.len, &hello) == 0);
    expect_protocol(&run1.r, &hello);
    side_free(&run1.i);
    side_free(&run1.r);
}

static void test_peer_error(void)
{
    wire_msg_t e = {.type = WIRE_ERROR};
    pkt_t p;

    /* the peer's code is ours, at any step */
    e.u.reason.code = WIRE_E_MISMATCH;
    strcpy(e.u.reason.text, "encryption mismatch");
    p.len = (size_t)wire_encode(&e, p.bytes, sizeof(p.bytes));
    p.ppid = wire_ppid(WIRE_ERROR);
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.i, &p) == -1 && run1.i.code == WIRE_E_MISMATCH);
    CHECK(run1.i.why && strstr(run1.i.why, "peer"));
    CHECK(feed(&run1.r, &run1.hello_i) == 0);
    CHECK(feed(&run1.r, &p) == -1 && run1.r.code == WIRE_E_MISMATCH);
    CHECK(!run1.r.out.n);
    side_free(&run1.i);
    side_free(&run1.r);

    /* a code of 0 (ok) is no reason: a protocol error */
    e.u.reason.code = WIRE_OK;
    p.len = (size_t)wire_encode(&e, p.bytes, sizeof(p.bytes));
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(feed(&run1.i, &p) == -1 && run1.i.code == WIRE_E_PROTOCOL);
    side_free(&run1.i);
    side_free(&run1.r);
}

/* A recorded HELLO_i replayed to a fresh responder gets a HELLO_r, but the
 * attacker holds no key its AUTH could be sealed with. */
static void test_replay(void)
{
    seal_t forged;
    pkt_t p;

    CHECK(complete(&run1, WIRE_F_SEALED)); /* the recorded run */
    side_free(&run1.r);

    CHECK(side_init(&run2.r, 0, key_a, sizeof(key_a), "gw-resp", 1000, WIRE_F_SEALED) == 0);
    CHECK(feed(&run2.r, &run1.hello_i) == 0);
    CHECK(run2.r.out.n == 1 && run2.r.out.msg[0].type == WIRE_HELLO && run2.r.sealed);
    CHECK(run2.r.hs.state == HS_WAIT_AUTH);
    CHECK(memcmp(run2.r.keys.i2r, run1.i.keys.i2r, NOISE_KEY_LEN) != 0);

    /* the recorded AUTH */
    p = run1.auth;
    CHECK(feed(&run2.r, &p) == FEED_SEAL);
    /* an AUTH sealed with the recorded run's keys, from their first counter */
    CHECK(seal_init(&forged, 1, &run1.i.keys, 0) == 0);
    forge_auth(&forged, &p);
    CHECK(feed(&run2.r, &p) == FEED_SEAL);
    seal_free(&forged);
    /* with the keys of another run with the right key file */
    CHECK(complete(&run3, WIRE_F_SEALED));
    CHECK(seal_init(&forged, 1, &run3.i.keys, 0) == 0);
    forge_auth(&forged, &p);
    CHECK(feed(&run2.r, &p) == FEED_SEAL);
    seal_free(&forged);
    /* with the responder's own keys the wrong way round (a reflection) */
    CHECK(seal_init(&forged, 0, &run2.r.keys, 0) == 0);
    forge_auth(&forged, &p);
    CHECK(feed(&run2.r, &p) == FEED_SEAL);
    seal_free(&forged);
    /* with keys of zeros */
    noise_keys_t zero;
    memset(&zero, 0, sizeof(zero));
    CHECK(seal_init(&forged, 1, &zero, 0) == 0);
    forge_auth(&forged, &p);
    CHECK(feed(&run2.r, &p) == FEED_SEAL);
    seal_free(&forged);
    /* none of that moved it: it still waits for AUTH, flows stay shut */
    CHECK(run2.r.hs.state == HS_WAIT_AUTH);

    /* HELLO_i replayed again at another fresh responder: other keys again */
    CHECK(side_init(&run2.i, 0, key_a, sizeof(key_a), "gw-resp", 1000, WIRE_F_SEALED) == 0);
    CHECK(feed(&run2.i, &run1.hello_i) == 0);
    CHECK(memcmp(run2.i.keys.i2r, run2.r.keys.i2r, NOISE_KEY_LEN) != 0);
    side_free(&run1.i);
    side_free(&run2.i);
    side_free(&run2.r);
    side_free(&run3.i);
    side_free(&run3.r);
}

static void test_init_and_clear(void)
{
    hs_out_t out;
    handshake_t hs;
    char long_name[70];

    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    CHECK(handshake_init(&hs, 1, key_a, sizeof(key_a), "", 1000, 0, &out) == -1);
    CHECK(handshake_init(&hs, 1, key_a, sizeof(key_a), "a b", 1000, 0, &out) == -1);
    CHECK(handshake_init(&hs, 0, key_a, sizeof(key_a), long_name, 1000, 0, &out) == -1);
    CHECK(handshake_init(&hs, 1, key_a, sizeof(key_a), "gw", 0, 0, &out) == -1);
    CHECK(handshake_init(&hs, 0, key_a, sizeof(key_a), "gw", 1, 0, &out) == 0);
    CHECK(out.n == 0 && hs.state == HS_WAIT_HELLO);
    handshake_clear(&hs);

    /* clear wipes the Noise psk, the keys and the handshake state */
    CHECK(complete(&run1, WIRE_F_SEALED));
    CHECK(!is_zero(run1.i.hs.psk, sizeof(run1.i.hs.psk)));
    CHECK(!is_zero(&run1.i.hs.keys, sizeof(run1.i.hs.keys)));
    handshake_clear(&run1.i.hs);
    handshake_clear(&run1.r.hs);
    CHECK(is_zero(run1.i.hs.psk, sizeof(run1.i.hs.psk)));
    CHECK(is_zero(&run1.i.hs.keys, sizeof(run1.i.hs.keys)));
    CHECK(is_zero(&run1.i.hs.noise, sizeof(run1.i.hs.noise)));
    CHECK(is_zero(run1.r.hs.psk, sizeof(run1.r.hs.psk)));
    CHECK(is_zero(&run1.r.hs.keys, sizeof(run1.r.hs.keys)));
    side_free(&run1.i);
    side_free(&run1.r);

    /* also in the middle of a handshake, with an ephemeral secret held */
    start(&run1, key_a, key_a, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(!is_zero(run1.i.hs.noise.e_priv, NOISE_DH_LEN));
    handshake_clear(&run1.i.hs);
    CHECK(is_zero(&run1.i.hs.noise, sizeof(run1.i.hs.noise)));
    CHECK(is_zero(run1.i.hs.psk, sizeof(run1.i.hs.psk)));
    side_free(&run1.i);
    side_free(&run1.r);
}

/* The SCTP-AUTH key: deterministic for one key file, different for another,
 * and unrelated to the Noise psk or anything the handshake derives. */
static void test_auth_key(void)
{
    uint8_t a1[32], a2[32], b[32], c[32];

    handshake_auth_key(key_a, sizeof(key_a), a1);
    handshake_auth_key(key_a, sizeof(key_a), a2);
    handshake_auth_key(key_b, sizeof(key_b), b);
    handshake_auth_key(key_a, sizeof(key_a) - 1, c);
    CHECK(memcmp(a1, a2, 32) == 0);
    CHECK(memcmp(a1, b, 32) != 0);
    CHECK(memcmp(a1, c, 32) != 0);
    CHECK(!is_zero(a1, 32));
    CHECK(memcmp(a1, key_a, 32) != 0);

    CHECK(complete(&run1, WIRE_F_SEALED));
    CHECK(memcmp(run1.i.hs.psk, run1.r.hs.psk, NOISE_KEY_LEN) == 0);
    CHECK(memcmp(a1, run1.i.hs.psk, 32) != 0);
    CHECK(memcmp(a1, run1.i.keys.i2r, 32) != 0);
    CHECK(memcmp(a1, run1.i.keys.r2i, 32) != 0);
    CHECK(memcmp(a1, run1.i.keys.ck, 32) != 0);
    CHECK(memcmp(a1, run1.i.keys.h, 32) != 0);
    /* the Noise psk is deterministic too, and another key file's differs */
    CHECK(complete(&run2, WIRE_F_SEALED));
    CHECK(memcmp(run1.i.hs.psk, run2.i.hs.psk, NOISE_KEY_LEN) == 0);
    side_free(&run2.i);
    side_free(&run2.r);
    start(&run2, key_b, key_b, WIRE_F_SEALED, WIRE_F_SEALED);
    CHECK(memcmp(run1.i.hs.psk, run2.i.hs.psk, NOISE_KEY_LEN) != 0);
    CHECK(memcmp(b, run2.i.hs.psk, 32) != 0);
    /* with both sides on key_b, the exchange completes */
    CHECK(feed(&run2.r, &run2.hello_i) == 0);
    side_free(&run1.i);
    side_free(&run1.r);
    side_free(&run2.i);
    side_free(&run2.r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_complete();
    test_fresh_keys();
    test_wrong_key();
    test_flipped_bits();
    test_downgrade();
    test_prologue();
    test_low_order_key();
    test_version();
    test_mismatch();
    test_out_of_order();
    test_peer_error();
    test_replay();
    test_init_and_clear();
    test_auth_key();
    return check_status("handshake");
}
