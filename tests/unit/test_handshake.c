/* The mutual key proof: two handshakes talk through the real codec on stream
 * 0; wrong keys, tampering, replays, reflections and misordered messages all
 * fail, and only a genuine exchange completes. */
#include "handshake.h"
#include "wire.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sodium.h>

typedef struct pkt {
    uint32_t ppid;
    size_t len;
    uint8_t bytes[WIRE_MSG_MAX];
} pkt_t;

static const uint8_t key_a[40] = "0123456789abcdef0123456789abcdef-key-A!";
static const uint8_t key_b[40] = "0123456789abcdef0123456789abcdef-key-B!";

/* Encodes one message as it would go out on stream 0. */
static void to_pkt(const wire_msg_t *m, pkt_t *p)
{
    ssize_t n = wire_encode(m, p->bytes, sizeof(p->bytes));

    CHECK(n >= 0);
    p->ppid = wire_ppid(m->type);
    p->len = n < 0 ? 0 : (size_t)n;
}

/* Decodes a packet on stream 0 and feeds it. */
static int feed(handshake_t *hs, const pkt_t *p, hs_out_t *out, uint16_t *code, const char **why)
{
    wire_msg_t m;
    int rc = wire_decode(WIRE_CONTROL_SID, p->ppid, p->bytes, p->len, &m);

    CHECK(rc == 0);
    if (rc != 0)
        return -100;
    *code = 0xffff;
    *why = NULL;
    return handshake_input(hs, &m, out, code, why);
}

static void error_pkt(uint16_t code, const char *text, pkt_t *p)
{
    wire_msg_t m = {.type = WIRE_ERROR};

    m.u.reason.code = code;
    strcpy(m.u.reason.text, text);
    to_pkt(&m, p);
}

/* A complete, step-by-step exchange; every packet is kept for later abuse. */
typedef struct run {
    handshake_t i, r;
    pkt_t hello_i, hello_r, auth_r, auth_i, ready;
} run_t;

static run_t run1, run2;

static void start(run_t *x, const uint8_t *ki, size_t ki_len, const uint8_t *kr, size_t kr_len)
{
    hs_out_t out;

    CHECK(handshake_init(&x->i, 1, ki, ki_len, "gw-a", 65536, &out) == 0);
    CHECK(out.n == 1);
    CHECK(out.msg[0].type == WIRE_HELLO);
    to_pkt(&out.msg[0], &x->hello_i);
    CHECK(handshake_init(&x->r, 0, kr, kr_len, "gw-b.example", 262144, &out) == 0);
    CHECK(out.n == 0);
    CHECK(x->i.state == HS_WAIT_HELLO);
    CHECK(x->r.state == HS_WAIT_HELLO);
    CHECK(x->i.initiator == 1 && x->r.initiator == 0);
}

/* responder takes HELLO_i; initiator takes HELLO_r; both proofs cross */
static void to_auth(run_t *x)
{
    hs_out_t out;
    uint16_t code;
    const char *why;

    CHECK(feed(&x->r, &x->hello_i, &out, &code, &why) == 0);
    CHECK(out.n == 2);
    CHECK(out.msg[0].type == WIRE_HELLO);
    CHECK(out.msg[1].type == WIRE_AUTH);
    to_pkt(&out.msg[0], &x->hello_r);
    to_pkt(&out.msg[1], &x->auth_r);
    CHECK(x->r.state == HS_WAIT_AUTH);
    CHECK(feed(&x->i, &x->hello_r, &out, &code, &why) == 0);
    CHECK(out.n == 0);
    CHECK(x->i.state == HS_WAIT_AUTH);
}

static void test_complete(void)
{
    run_t *x = &run1;
    hs_out_t out;
    uint16_t code;
    const char *why;

    start(x, key_a, 32, key_a, 32);
    /* the initiator's HELLO says who it is */
    {
        wire_msg_t m;
        CHECK(wire_decode(0, x->hello_i.ppid, x->hello_i.bytes, x->hello_i.len, &m) == 0);
        CHECK(m.u.hello.version == WIRE_VERSION);
        CHECK(m.u.hello.flags == 0);
        CHECK(m.u.hello.flow_window == 65536);
        CHECK_STR(m.u.hello.name, "gw-a");
        CHECK(memcmp(m.u.hello.nonce, x->i.mine.nonce, WIRE_NONCE_LEN) == 0);
    }
    to_auth(x);
    CHECK(feed(&x->i, &x->auth_r, &out, &code, &why) == 0);
    CHECK(out.n == 1);
    CHECK(out.msg[0].type == WIRE_AUTH);
    to_pkt(&out.msg[0], &x->auth_i);
    CHECK(x->i.state == HS_WAIT_READY);
    /* the two proofs differ even over the same transcript */
    CHECK(memcmp(x->auth_i.bytes, x->auth_r.bytes, WIRE_PROOF_LEN) != 0);

    CHECK(feed(&x->r, &x->auth_i, &out, &code, &why) == 1);
    CHECK(out.n == 1);
    CHECK(out.msg[0].type == WIRE_READY);
    to_pkt(&out.msg[0], &x->ready);
    CHECK(x->ready.len == 1 && x->ready.bytes[0] == 0);
    CHECK(x->r.state == HS_DONE);

    CHECK(feed(&x->i, &x->ready, &out, &code, &why) == 1);
    CHECK(out.n == 0);
    CHECK(x->i.state == HS_DONE);

    /* what each side learned of the other */
    CHECK_STR(x->i.peer.name, "gw-b.example");
    CHECK(x->i.peer.flow_window == 262144);
    CHECK(x->i.peer.version == WIRE_VERSION);
    CHECK(memcmp(x->i.peer.nonce, x->r.mine.nonce, WIRE_NONCE_LEN) == 0);
    CHECK_STR(x->r.peer.name, "gw-a");
    CHECK(x->r.peer.flow_window == 65536);
    CHECK(x->r.peer.version == WIRE_VERSION);
    CHECK(memcmp(x->r.peer.nonce, x->i.mine.nonce, WIRE_NONCE_LEN) == 0);
    CHECK(memcmp(x->i.key, x->r.key, sizeof(x->i.key)) == 0);

    /* done is reported once: nothing further completes it again */
    handshake_t i2 = x->i, r2 = x->r;
    CHECK(feed(&i2, &x->ready, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_PROTOCOL);
    CHECK(feed(&r2, &x->auth_i, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_PROTOCOL);
    CHECK(out.n == 0);
}

/* The proofs are the documented construction, computed independently:
 * HMAC-SHA-256(K, label || SHA-256(HELLO_i || HELLO_r)) over the wire bytes. */
static void test_documented_proofs(void)
{
    const run_t *x = &run1;
    uint8_t t[crypto_hash_sha256_BYTES];
    uint8_t want[crypto_auth_hmacsha256_BYTES];
    crypto_hash_sha256_state h;
    crypto_auth_hmacsha256_state mac;

    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, x->hello_i.bytes, x->hello_i.len);
    crypto_hash_sha256_update(&h, x->hello_r.bytes, x->hello_r.len);
    crypto_hash_sha256_final(&h, t);

    crypto_auth_hmacsha256_init(&mac, x->r.key, sizeof(x->r.key));
    crypto_auth_hmacsha256_update(&mac, (const uint8_t *)"responder", 9);
    crypto_auth_hmacsha256_update(&mac, t, sizeof(t));
    crypto_auth_hmacsha256_final(&mac, want);
    CHECK(x->auth_r.len == WIRE_PROOF_LEN);
    CHECK(memcmp(want, x->auth_r.bytes, WIRE_PROOF_LEN) == 0);

    crypto_auth_hmacsha256_init(&mac, x->i.key, sizeof(x->i.key));
    crypto_auth_hmacsha256_update(&mac, (const uint8_t *)"initiator", 9);
    crypto_auth_hmacsha256_update(&mac, t, sizeof(t));
    crypto_auth_hmacsha256_final(&mac, want);
    CHECK(x->auth_i.len == WIRE_PROOF_LEN);
    CHECK(memcmp(want, x->auth_i.bytes, WIRE_PROOF_LEN) == 0);

    /* both sides stored the very bytes that went over the wire */
    CHECK(x->i.hello_i_len == x->hello_i.len && x->r.hello_i_len == x->hello_i.len);
    CHECK(memcmp(x->i.hello_i, x->hello_i.bytes, x->hello_i.len) == 0);
    CHECK(memcmp(x->r.hello_i, x->hello_i.bytes, x->hello_i.len) == 0);
    CHECK(x->i.hello_r_len == x->hello_r.len && x->r.hello_r_len == x->hello_r.len);
    CHECK(memcmp(x->i.hello_r, x->hello_r.bytes, x->hello_r.len) == 0);
    CHECK(memcmp(x->r.hello_r, x->hello_r.bytes, x->hello_r.len) == 0);
}

/* Two sides pumped against each other as the gateway would: a side that
 * fails sends ERROR with its code and goes quiet. */
typedef struct side {
    handshake_t hs;
    int done;
    int failed;
    uint16_t code;
    uint8_t psk[64];
    size_t psk_len;
} side_t;

typedef struct queue {
    pkt_t p[8];
    int n;
} queue_t;

static queue_t q_to_i, q_to_r;

static void push_out(const hs_out_t *out, queue_t *q)
{
    for (int k = 0; k < out->n; k++) {
        CHECK(q->n < 8);
        if (q->n < 8)
            to_pkt(&out->msg[k], &q->p[q->n++]);
    }
}

static void deliver(side_t *s, queue_t *in, queue_t *back)
{
    int n = in->n;

    in->n = 0;
    for (int k = 0; k < n; k++) {
        hs_out_t out;
        uint16_t code;
        const char *why;
        int rc;

        if (s->failed)
            continue;
        rc = feed(&s->hs, &in->p[k], &out, &code, &why);
        CHECK(rc == 1 || rc == 0 || rc == -1);
        if (rc == 1)
            s->done++;
        if (rc == -1) {
            s->failed = 1;
            s->code = code;
            CHECK(why != NULL && why[0] != '\0');
            CHECK(out.n == 0);
            if (back->n < 8)
                error_pkt(code, why, &back->p[back->n++]);
            continue;
        }
        push_out(&out, back);
    }
}

static void pump(side_t *i, side_t *r)
{
    hs_out_t out;

    memset(&q_to_i, 0, sizeof(q_to_i));
    memset(&q_to_r, 0, sizeof(q_to_r));
    i->done = r->done = i->failed = r->failed = 0;
    CHECK(handshake_init(&i->hs, 1, i->psk, i->psk_len, "init", 1000, &out) == 0);
    push_out(&out, &q_to_r);
    CHECK(handshake_init(&r->hs, 0, r->psk, r->psk_len, "resp", 2000, &out) == 0);
    CHECK(out.n == 0);
    for (int round = 0; round < 10 && (q_to_i.n || q_to_r.n); round++) {
        deliver(r, &q_to_r, &q_to_i);
        deliver(i, &q_to_i, &q_to_r);
    }
    CHECK(q_to_i.n == 0 && q_to_r.n == 0);
}

static side_t si, sr;

static void set_psk(side_t *s, const uint8_t *k, size_t len)
{
    memcpy(s->psk, k, len);
    s->psk_len = len;
}

static void test_pumped(void)
{
    /* same key */
    set_psk(&si, key_a, 32);
    set_psk(&sr, key_a, 32);
    pump(&si, &sr);
    CHECK(si.done == 1 && sr.done == 1);
    CHECK(!si.failed && !sr.failed);
    CHECK(si.hs.state == HS_DONE && sr.hs.state == HS_DONE);
    CHECK_STR(si.hs.peer.name, "resp");
    CHECK(si.hs.peer.flow_window == 2000);
    CHECK_STR(sr.hs.peer.name, "init");
    CHECK(sr.hs.peer.flow_window == 1000);

    /* a longer key works the same */
    set_psk(&si, key_a, 40);
    set_psk(&sr, key_a, 40);
    pump(&si, &sr);
    CHECK(si.done == 1 && sr.done == 1);

    /* different keys: the initiator refuses AUTH_r, the responder is told */
    static const struct {
        const uint8_t *a, *b;
        size_t alen, blen;
    } pairs[] = {
        {key_a, key_b, 40, 40}, /* last bytes differ */
        {key_a, key_a, 32, 33}, /* one is a prefix of the other */
        {key_b, key_a, 33, 40},
    };
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        set_psk(&si, pairs[k].a, pairs[k].alen);
        set_psk(&sr, pairs[k].b, pairs[k].blen);
        pump(&si, &sr);
        CHECK(si.failed && si.code == WIRE_E_AUTH);
        CHECK(si.hs.state == HS_FAILED);
        CHECK(si.done == 0);
        CHECK(sr.done == 0);
        CHECK(sr.hs.state != HS_DONE);
        CHECK(sr.failed && sr.code == WIRE_E_AUTH);
        CHECK(sr.hs.state == HS_FAILED);
    }
}

static void test_wrong_key_steps(void)
{
    run_t *x = &run2;
    hs_out_t out;
    uint16_t code;
    const char *why;

    start(x, key_a, 40, key_b, 40);
    to_auth(x);
    CHECK(feed(&x->i, &x->auth_r, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(why != NULL);
    CHECK(out.n == 0);
    CHECK(x->i.state == HS_FAILED);
    /* without the initiator's proof the responder waits, never done */
    CHECK(x->r.state == HS_WAIT_AUTH);
    /* and a forged proof does not get it there either */
    pkt_t forged;
    wire_msg_t m = {.type = WIRE_AUTH};
    randombytes_buf(m.u.proof, sizeof(m.u.proof));
    to_pkt(&m, &forged);
    handshake_t r = x->r;
    CHECK(feed(&r, &forged, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(out.n == 0);
    CHECK(r.state == HS_FAILED);
    /* nor the responder's own proof */
    r = x->r;
    CHECK(feed(&r, &x->auth_r, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
}

static void test_tampered_proofs(void)
{
    static const int bits[][2] = {{0, 0}, {0, 7}, {15, 3}, {31, 0}, {31, 7}};
    hs_out_t out;
    uint16_t code;
    const char *why;

    for (size_t k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
        pkt_t p;

        /* in AUTH_r, seen by the initiator */
        start(&run2, key_a, 32, key_a, 32);
        to_auth(&run2);
        p = run2.auth_r;
        p.bytes[bits[k][0]] ^= (uint8_t)(1u << bits[k][1]);
        CHECK(feed(&run2.i, &p, &out, &code, &why) == -1);
        CHECK(code == WIRE_E_AUTH);
        CHECK(out.n == 0);
        CHECK(run2.i.state == HS_FAILED);
        /* a failed handshake stays failed, even given the genuine proof */
        CHECK(feed(&run2.i, &run2.auth_r, &out, &code, &why) == -1);
        CHECK(out.n == 0);
        CHECK(run2.i.state == HS_FAILED);

        /* in AUTH_i, seen by the responder: no READY */
        start(&run2, key_a, 32, key_a, 32);
        to_auth(&run2);
        CHECK(feed(&run2.i, &run2.auth_r, &out, &code, &why) == 0);
        CHECK(out.n == 1);
        to_pkt(&out.msg[0], &run2.auth_i);
        p = run2.auth_i;
        p.bytes[bits[k][0]] ^= (uint8_t)(1u << bits[k][1]);
        CHECK(feed(&run2.r, &p, &out, &code, &why) == -1);
        CHECK(code == WIRE_E_AUTH);
        CHECK(out.n == 0);
        CHECK(run2.r.state == HS_FAILED);
        CHECK(feed(&run2.r, &run2.auth_i, &out, &code, &why) == -1);
        CHECK(run2.r.state == HS_FAILED);
    }
}

/* Changes a HELLO in transit, so that it still decodes. */
static void tamper_hello(pkt_t *p, int how)
{
    switch (how) {
    case 0: /* a nonce bit */
        p->bytes[4 + 17] ^= 0x10;
        break;
    case 1: /* the flow window */
        p->bytes[39] ^= 0x01;
        break;
    case 2: /* a character of the name */
        p->bytes[41] = p->bytes[41] == 'x' ? 'y' : 'x';
        break;
    case 3: /* the reserved flags */
        p->bytes[3] ^= 0x01;
        break;
    }
}

/* The transcript binds both HELLOs: change either in transit and the
 * proofs no longer match. */
static void test_tampered_hellos(void)
{
    hs_out_t out;
    uint16_t code;
    const char *why;

    for (int how = 0; how < 4; how++) {
        pkt_t p;

        /* HELLO_i changed on its way to the responder */
        start(&run2, key_a, 32, key_a, 32);
        p = run2.hello_i;
        tamper_hello(&p, how);
        CHECK(feed(&run2.r, &p, &out, &code, &why) == 0);
        CHECK(out.n == 2);
        to_pkt(&out.msg[0], &run2.hello_r);
        to_pkt(&out.msg[1], &run2.auth_r);
        CHECK(feed(&run2.i, &run2.hello_r, &out, &code, &why) == 0);
        CHECK(feed(&run2.i, &run2.auth_r, &out, &code, &why) == -1);
        CHECK(code == WIRE_E_AUTH);

        /* HELLO_r changed on its way to the initiator */
        start(&run2, key_a, 32, key_a, 32);
        CHECK(feed(&run2.r, &run2.hello_i, &out, &code, &why) == 0);
        CHECK(out.n == 2);
        to_pkt(&out.msg[0], &run2.hello_r);
        to_pkt(&out.msg[1], &run2.auth_r);
        p = run2.hello_r;
        tamper_hello(&p, how);
        CHECK(feed(&run2.i, &p, &out, &code, &why) == 0);
        CHECK(feed(&run2.i, &run2.auth_r, &out, &code, &why) == -1);
        CHECK(code == WIRE_E_AUTH);
        CHECK(run2.i.state == HS_FAILED);
    }
}

static void test_version(void)
{
    static const uint16_t versions[] = {0, WIRE_VERSION + 1, 0x0100, 0xffff};
    hs_out_t out;
    uint16_t code;
    const char *why;

    for (size_t k = 0; k < sizeof(versions) / sizeof(versions[0]); k++) {
        pkt_t p;

        /* to the responder */
        start(&run2, key_a, 32, key_a, 32);
        p = run2.hello_i;
        p.bytes[0] = (uint8_t)(versions[k] >> 8);
        p.bytes[1] = (uint8_t)versions[k];
        CHECK(feed(&run2.r, &p, &out, &code, &why) == -1);
        CHECK(code == WIRE_E_VERSION);
        CHECK(why != NULL);
        CHECK(out.n == 0);
        CHECK(run2.r.state == HS_FAILED);

        /* to the initiator */
        start(&run2, key_a, 32, key_a, 32);
        CHECK(feed(&run2.r, &run2.hello_i, &out, &code, &why) == 0);
        to_pkt(&out.msg[0], &p);
        p.bytes[0] = (uint8_t)(versions[k] >> 8);
        p.bytes[1] = (uint8_t)versions[k];
        CHECK(feed(&run2.i, &p, &out, &code, &why) == -1);
        CHECK(code == WIRE_E_VERSION);
        CHECK(out.n == 0);
        CHECK(run2.i.state == HS_FAILED);
    }
}

static void test_own_nonce(void)
{
    hs_out_t out;
    uint16_t code;
    const char *why;
    wire_msg_t m;
    pkt_t p;

    /* the initiator's HELLO reflected back at it */
    start(&run2, key_a, 32, key_a, 32);
    CHECK(feed(&run2.i, &run2.hello_i, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(run2.i.state == HS_FAILED);

    /* a HELLO to the responder carrying the responder's own nonce */
    start(&run2, key_a, 32, key_a, 32);
    CHECK(wire_decode(0, run2.hello_i.ppid, run2.hello_i.bytes, run2.hello_i.len, &m) == 0);
    memcpy(m.u.hello.nonce, run2.r.mine.nonce, WIRE_NONCE_LEN);
    to_pkt(&m, &p);
    CHECK(feed(&run2.r, &p, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(out.n == 0);
    CHECK(run2.r.state == HS_FAILED);

    /* a HELLO_r to the initiator carrying the initiator's own nonce */
    start(&run2, key_a, 32, key_a, 32);
    CHECK(feed(&run2.r, &run2.hello_i, &out, &code, &why) == 0);
    CHECK(out.n == 2);
    m = out.msg[0];
    memcpy(m.u.hello.nonce, run2.i.mine.nonce, WIRE_NONCE_LEN);
    to_pkt(&m, &p);
    CHECK(feed(&run2.i, &p, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(run2.i.state == HS_FAILED);
}

static void expect_protocol(handshake_t *hs, const pkt_t *p)
{
    handshake_t copy = *hs;
    hs_out_t out;
    uint16_t code;
    const char *why;

    CHECK(feed(&copy, p, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_PROTOCOL);
    CHECK(why != NULL);
    CHECK(out.n == 0);
    CHECK(copy.state == HS_FAILED);
}

static void test_out_of_order(void)
{
    run_t *x = &run1; /* the captured packets of a good run */
    run_t *y = &run2;
    hs_out_t out;
    uint16_t code;
    const char *why;

    start(y, key_a, 32, key_a, 32);
    /* AUTH first */
    expect_protocol(&y->r, &x->auth_i);
    expect_protocol(&y->i, &x->auth_r);
    /* READY first */
    expect_protocol(&y->r, &x->ready);
    expect_protocol(&y->i, &x->ready);

    to_auth(y);
    /* a second HELLO */
    expect_protocol(&y->r, &y->hello_i);
    expect_protocol(&y->r, &x->hello_i);
    expect_protocol(&y->i, &y->hello_r);
    /* READY to the responder, and to an initiator that has not yet
     * verified the responder */
    expect_protocol(&y->r, &x->ready);
    expect_protocol(&y->i, &x->ready);

    CHECK(feed(&y->i, &y->auth_r, &out, &code, &why) == 0);
    CHECK(y->i.state == HS_WAIT_READY);
    /* the proof again, or another HELLO, while waiting for READY */
    expect_protocol(&y->i, &y->auth_r);
    expect_protocol(&y->i, &y->hello_r);
}

static void test_peer_error(void)
{
    static const uint16_t codes[] = {WIRE_E_AUTH, WIRE_E_VERSION, WIRE_E_SHUTDOWN, 999};
    hs_out_t out;
    uint16_t code;
    const char *why;

    for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
        pkt_t e;

        error_pkt(codes[k], "going away", &e);
        start(&run2, key_a, 32, key_a, 32);
        handshake_t i = run2.i, r = run2.r;
        CHECK(feed(&i, &e, &out, &code, &why) == -1);
        CHECK(code == codes[k]);
        CHECK(why != NULL && why[0] != '\0');
        CHECK(out.n == 0);
        CHECK(i.state == HS_FAILED);
        CHECK(feed(&r, &e, &out, &code, &why) == -1);
        CHECK(code == codes[k]);
        CHECK(r.state == HS_FAILED);

        to_auth(&run2);
        r = run2.r;
        CHECK(feed(&r, &e, &out, &code, &why) == -1);
        CHECK(code == codes[k]);
        CHECK(r.state == HS_FAILED);
        CHECK(feed(&run2.i, &run2.auth_r, &out, &code, &why) == 0);
        CHECK(feed(&run2.i, &e, &out, &code, &why) == -1);
        CHECK(code == codes[k]);
        CHECK(run2.i.state == HS_FAILED);
    }
}

/* Packets captured from run1 replayed into fresh handshakes with the same
 * key: the new nonces make them worthless. */
static void test_replay(void)
{
    const run_t *x = &run1;
    hs_out_t out;
    uint16_t code;
    const char *why;

    /* to a fresh initiator: the old HELLO_r is accepted as a HELLO, the old
     * proof is not */
    start(&run2, key_a, 32, key_a, 32);
    CHECK(feed(&run2.i, &x->hello_r, &out, &code, &why) == 0);
    CHECK(feed(&run2.i, &x->auth_r, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(out.n == 0);
    CHECK(run2.i.state == HS_FAILED);

    /* to a fresh responder: the old HELLO_i gets a new HELLO_r, the old
     * AUTH_i does not prove anything */
    start(&run2, key_a, 32, key_a, 32);
    CHECK(feed(&run2.r, &x->hello_i, &out, &code, &why) == 0);
    CHECK(out.n == 2);
    CHECK(feed(&run2.r, &x->auth_i, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(out.n == 0);
    CHECK(run2.r.state == HS_FAILED);
}

static void test_reflection(void)
{
    hs_out_t out;
    uint16_t code;
    const char *why;

    /* the initiator's own AUTH back at it */
    start(&run2, key_a, 32, key_a, 32);
    to_auth(&run2);
    CHECK(feed(&run2.i, &run2.auth_r, &out, &code, &why) == 0);
    CHECK(out.n == 1);
    to_pkt(&out.msg[0], &run2.auth_i);
    CHECK(feed(&run2.i, &run2.auth_i, &out, &code, &why) == -1);
    CHECK(run2.i.state == HS_FAILED);
    CHECK(run2.i.state != HS_DONE);

    /* the responder's own AUTH back at it: the labels differ */
    start(&run2, key_a, 32, key_a, 32);
    to_auth(&run2);
    CHECK(feed(&run2.r, &run2.auth_r, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
    CHECK(out.n == 0);
    CHECK(run2.r.state == HS_FAILED);

    /* an initiator whose AUTH_r is really another initiator's AUTH_i over
     * the same transcript: refused */
    start(&run2, key_a, 32, key_a, 32);
    to_auth(&run2);
    handshake_t twin = run2.i;
    CHECK(feed(&twin, &run2.auth_r, &out, &code, &why) == 0);
    CHECK(out.n == 1);
    to_pkt(&out.msg[0], &run2.auth_i);
    CHECK(feed(&run2.i, &run2.auth_i, &out, &code, &why) == -1);
    CHECK(code == WIRE_E_AUTH);
}

static void test_nonces(void)
{
    enum { N = 16 };
    static handshake_t hs[N];
    static const uint8_t zero[WIRE_NONCE_LEN];
    hs_out_t out;

    for (int k = 0; k < N; k++) {
        CHECK(handshake_init(&hs[k], k & 1, key_a, 32, "gw", 100, &out) == 0);
        CHECK(memcmp(hs[k].mine.nonce, zero, WIRE_NONCE_LEN) != 0);
        if (k & 1) {
            CHECK(out.n == 1);
            CHECK(memcmp(out.msg[0].u.hello.nonce, hs[k].mine.nonce, WIRE_NONCE_LEN) == 0);
        }
    }
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++)
            CHECK(memcmp(hs[a].mine.nonce, hs[b].mine.nonce, WIRE_NONCE_LEN) != 0);
    /* and across the two runs above */
    CHECK(memcmp(run1.i.mine.nonce, run2.i.mine.nonce, WIRE_NONCE_LEN) != 0);
    CHECK(memcmp(run1.r.mine.nonce, run2.r.mine.nonce, WIRE_NONCE_LEN) != 0);
}

static void test_init_and_clear(void)
{
    static const uint8_t zero[32];
    handshake_t a, b;
    hs_out_t out;
    char longname[80];

    CHECK(handshake_init(&a, 1, key_a, 32, "", 100, &out) == -1);
    CHECK(out.n == 0);
    CHECK(handshake_init(&a, 1, key_a, 32, "a b", 100, &out) == -1);
    CHECK(out.n == 0);
    memset(longname, 'n', 64);
    longname[64] = '\0';
    CHECK(handshake_init(&a, 0, key_a, 32, longname, 100, &out) == -1);
    longname[63] = '\0';
    CHECK(handshake_init(&a, 1, key_a, 32, longname, 100, &out) == 0);
    CHECK(out.n == 1);
    CHECK_STR(a.mine.name, longname);
    CHECK(a.mine.flow_window == 100);
    CHECK(a.mine.version == WIRE_VERSION);

    /* the key is derived from the psk: same psk, same key; else not */
    CHECK(handshake_init(&a, 1, key_a, 32, "a", 1, &out) == 0);
    CHECK(handshake_init(&b, 0, key_a, 32, "b", 1, &out) == 0);
    CHECK(memcmp(a.key, b.key, 32) == 0);
    CHECK(memcmp(a.key, key_a, 32) != 0);
    CHECK(memcmp(a.key, zero, 32) != 0);
    CHECK(handshake_init(&b, 0, key_a, 33, "b", 1, &out) == 0);
    CHECK(memcmp(a.key, b.key, 32) != 0);
    CHECK(handshake_init(&b, 0, key_b, 32, "b", 1, &out) == 0);
    CHECK(memcmp(a.key, b.key, 32) == 0); /* key_a and key_b share 32 bytes */

    handshake_clear(&a);
    CHECK(memcmp(a.key, zero, 32) == 0);
}

int main(void)
{
    CHECK(sodium_init() >= 0);
    test_complete();
    test_documented_proofs();
    test_pumped();
    test_wrong_key_steps();
    test_tampered_proofs();
    test_tampered_hellos();
    test_version();
    test_own_nonce();
    test_out_of_order();
    test_peer_error();
    test_replay();
    test_reflection();
    test_nonces();
    test_init_and_clear();
    return check_status("handshake");
}
