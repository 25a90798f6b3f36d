/* libFuzzer target for the handshake (src/handshake.c), the first thing a
 * peer's messages reach.
 *
 * Two real handshakes run, an initiator and a responder, each with the
 * sealing (seal.h) it sets up from its handshake's keys, as assoc.c does:
 * HELLOs go in clear, AUTH and READY sealed. The input plays the network
 * between them, an attacker that sees every message's bytes:
 *
 *   mode u8 | ops...
 *
 *   mode bit 0: the two gateways hold different keys
 *   mode bit 1: both draw the same random bytes (the same ephemerals)
 *   mode bit 2: the responder has encryption = off, the initiator on
 *   op % 8:  0 / 1  deliver the next message to the responder / initiator
 *            2 / 3  drop it
 *            4 / 5  replay message k (next byte) of everything sent so far,
 *                   either way, to the responder / initiator
 *            6      inject: target u8 | type u8 | len u8 | len bytes; the
 *                   type's top bit makes the PPID a sealed one
 *            7      tamper: direction u8 | position u8 | xor u8: the next
 *                   message in that direction, changed on the wire
 *
 * A side receives as assoc.c does: a sealed message must open with its keys
 * and a clear one is only taken before the keys, or as an ERROR; otherwise
 * (and on a message that does not decode) the association goes and the
 * side takes nothing more. A side that is done is fed no more; a failed one
 * still is, and must stay failed. Then:
 * - a side reaches HS_DONE only if both hold the same key file, agree on
 *   encryption, hold the very same keys and handshake hash, and the other
 *   side has sent its proof (AUTH, or READY), so an attacker who changed,
 *   replayed, reflected or forged anything is always caught;
 * - keys, once a side has them, never change;
 * - the return value says what the state says (1 = done, -1 = failed with a
 *   code and a reason); AUTH and READY are only ever sent with keys;
 * - everything a side sends encodes and decodes on stream 0;
 * - with honest delivery alone (any interleaving, nothing dropped), once
 *   everything in flight has been delivered both sides are done; or, with
 *   different keys or encryption settings, the responder has refused the
 *   initiator's HELLO and the initiator is not done.
 *
 * Random bytes come from a deterministic generator set with
 * randombytes_set_implementation, so that every input replays the same. */
#include "handshake.h"
#include "seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define QUEUE_MAX   8  /* messages in flight per direction */
#define HISTORY_MAX 16 /* messages kept for replays */
#define PKT_MAX     512

/* The deterministic generator: a counter, or the same bytes every time. */
static struct {
    uint32_t counter;
    int repeat;
} rng;

static void rng_buf(void *const buf, const size_t size)
{
    uint8_t *p = buf;

    if (!rng.repeat)
        rng.counter++;
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(rng.counter * 131u + i * 7u);
}

static uint32_t rng_random(void)
{
    uint32_t v;

    rng_buf(&v, sizeof(v));
    return v;
}

static const char *rng_name(void)
{
    return "fuzz";
}

static randombytes_implementation rng_impl = {
    .implementation_name = rng_name,
    .random = rng_random,
    .buf = rng_buf,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (randombytes_set_implementation(&rng_impl) != 0 || sodium_init() < 0)
        abort();
    return 0;
}

typedef struct pkt {
    uint32_t ppid;
    size_t len;
    uint8_t bytes[PKT_MAX];
} pkt_t;

typedef struct queue {
    pkt_t pkt[QUEUE_MAX];
    int n;
} queue_t;

typedef struct side {
    handshake_t hs;
    seal_t seal;
    int keyed;         /* seal holds the handshake's keys */
    noise_keys_t keys; /* a copy, to compare */
    int gone;          /* the association went: nothing more is taken */
    queue_t in;        /* sent to this side, not yet delivered */
    int sent_proof;    /* this side has sent AUTH (initiator) or READY */
} side_t;

typedef struct world {
    side_t side[2]; /* 0: responder, 1: initiator */
    pkt_t history[HISTORY_MAX];
    int n_history;
    int same_key;
    int same_flags;
    int honest; /* only in-order deliveries so far */
} world_t;

static void fail_if(int cond)
{
    if (cond)
        abort();
}

/* Once a side has keys, take them into its seal; they never change. */
static void take_keys(side_t *s)
{
    if (!s->hs.keys_ready)
        return;
    if (s->keyed) {
        fail_if(memcmp(&s->keys, &s->hs.keys, sizeof(s->keys)) != 0);
        return;
    }
    fail_if(seal_init(&s->seal, s->hs.initiator, &s->hs.keys, 0) != 0);
    s->keys = s->hs.keys;
    s->keyed = 1;
}

/* Encodes (and for AUTH and READY seals) what a side sends; it must be valid
 * on stream 0. */
static void to_pkt(side_t *s, const wire_msg_t *m, pkt_t *p)
{
    wire_msg_t back;
    ssize_t n = wire_encode(m, p->bytes, sizeof(p->bytes) - SEAL_OVERHEAD);

    fail_if(n <= 0);
    fail_if(wire_decode(WIRE_CONTROL_SID, wire_ppid(m->type), p->bytes, (size_t)n, &back) != 0);
    p->len = (size_t)n;
    p->ppid = wire_ppid(m->type);
    if (m->type == WIRE_AUTH || m->type == WIRE_READY) {
        fail_if(!s->keyed);
        p->len = seal_msg(&s->seal, WIRE_CONTROL_SID, m->type, p->bytes, p->len, &p->ppid);
        fail_if(p->len != (size_t)n + SEAL_OVERHEAD);
    }
}

static void send_out(world_t *w, int from, const hs_out_t *out)
{
    side_t *s = &w->side[from];

    fail_if(out->n < 0 || out->n > 2);
    for (int i = 0; i < out->n; i++) {
        queue_t *q = &w->side[!from].in;
        pkt_t p;

        to_pkt(s, &out->msg[i], &p);
        if (out->msg[i].type == (s->hs.initiator ? WIRE_AUTH : WIRE_READY))
            s->sent_proof = 1;
        if (q->n < QUEUE_MAX)
            q->pkt[q->n++] = p;
        if (w->n_history < HISTORY_MAX)
            w->history[w->n_history++] = p;
    }
}

/* What assoc.c takes in clear: anything before the keys, then only ERROR. */
static int clear_ok(const side_t *s, uint32_t ppid)
{
    return !s->keyed || ppid == wire_ppid(WIRE_ERROR);
}

static void feed(world_t *w, int to, const pkt_t *in)
{
    side_t *s = &w->side[to];
    const side_t *other = &w->side[!to];
    pkt_t p = *in;
    hs_out_t out = {0};
    uint16_t code = 0;
    const char *why = NULL;
    wire_msg_t m;
    int r, was_failed;

    if (s->hs.state == HS_DONE || s->gone)
        return;
    if (seal_is_sealed(p.ppid)) {
        wire_type_t type;

        if (!s->keyed || seal_open(&s->seal, WIRE_CONTROL_SID, p.ppid, p.bytes, p.len, &type,
                                   &p.len) != SEAL_OK) {
            s->gone = 1;
            return;
        }
        p.ppid = wire_ppid(type);
    } else if (!clear_ok(s, p.ppid)) {
        s->gone = 1;
        return;
    }
    if (wire_decode(WIRE_CONTROL_SID, p.ppid, p.len ? p.bytes : NULL, p.len, &m) != 0) {
        s->gone = 1;
        return;
    }
    was_failed = s->hs.state == HS_FAILED;
    r = handshake_input(&s->hs, &m, &out, &code, &why);
    fail_if(was_failed && r != -1);
    fail_if(r < -1 || r > 1);
    fail_if((r == 1) != (s->hs.state == HS_DONE));
    fail_if((r == -1) != (s->hs.state == HS_FAILED));
    if (r == -1)
        fail_if(code == 0 || why == NULL || why[0] == '\0' || out.n != 0);
    take_keys(s);
    if (r == 1)
        fail_if(!w->same_key || !w->same_flags || !other->sent_proof || !s->keyed ||
                !other->keyed || memcmp(&s->keys, &other->keys, sizeof(s->keys)) != 0);
    send_out(w, to, &out);
}

static int queue_pop(queue_t *q, pkt_t *p)
{
    if (q->n == 0)
        return 0;
    *p = q->pkt[0];
    memmove(q->pkt, q->pkt + 1, (size_t)--q->n * sizeof(q->pkt[0]));
    return 1;
}

/* Reads an injected message: target u8 | type u8 | len u8 | bytes. */
static size_t op_inject(world_t *w, const uint8_t *p, size_t left)
{
    pkt_t m;
    size_t len;

    if (left < 3)
        return left;
    len = p[2] < left - 3 ? p[2] : left - 3;
    m.ppid = p[1] & 0x80 ? WIRE_PPID_SEALED + p[1] % 4u : WIRE_PPID_BASE + p[1] % 8u;
    m.len = len;
    memcpy(m.bytes, p + 3, len);
    feed(w, p[0] & 1, &m);
    return 3 + len;
}

/* Changes one byte of the next message in one direction, on the wire. */
static size_t op_tamper(world_t *w, const uint8_t *p, size_t left)
{
    pkt_t m;
    int to;

    if (left < 3)
        return left;
    to = p[0] & 1;
    if (queue_pop(&w->side[to].in, &m) && m.len > 0) {
        m.bytes[p[1] % m.len] ^= p[2];
        feed(w, to, &m);
    }
    return 3;
}

static size_t op_run(world_t *w, const uint8_t *p, size_t left)
{
    uint8_t op = p[0] % 8;
    pkt_t m;

    if (op > 1)
        w->honest = 0;
    switch (op) {
    case 0:
    case 1:
        if (queue_pop(&w->side[op].in, &m))
            feed(w, op, &m);
        return 1;
    case 2:
    case 3:
        queue_pop(&w->side[op - 2].in, &m);
        return 1;
    case 4:
    case 5:
        if (left >= 2 && w->n_history > 0)
            feed(w, op - 4, &w->history[p[1] % w->n_history]);
        return left >= 2 ? 2 : 1;
    case 6:
        return 1 + op_inject(w, p + 1, left - 1);
    default:
        return 1 + op_tamper(w, p + 1, left - 1);
    }
}

/* After in-order delivery of everything in flight, each side is where the
 * protocol says it must be. */
static void check_honest(world_t *w)
{
    const side_t *r = &w->side[0], *i = &w->side[1];
    pkt_t m;

    for (int moved = 1; moved;) {
        moved = 0;
        for (int s = 0; s < 2; s++) {
            if (queue_pop(&w->side[s].in, &m)) {
                feed(w, s, &m);
                moved = 1;
            }
        }
    }
    fail_if(r->gone || i->gone);
    if (!w->same_key || !w->same_flags)
        fail_if(r->hs.state != HS_FAILED || r->hs.keys_ready || i->hs.state == HS_DONE);
    else
        fail_if(r->hs.state != HS_DONE || i->hs.state != HS_DONE);
}

static void side_free(side_t *s)
{
    handshake_clear(&s->hs);
    if (s->keyed)
        seal_free(&s->seal);
    s->keyed = 0;
}

static void start(world_t *w, int mode)
{
    static const uint8_t key[48] = "a key file of forty-eight bytes for both ends..";
    uint8_t other[48];
    hs_out_t out;

    memcpy(other, key, sizeof(key));
    other[17] ^= 1;
    memset(w, 0, sizeof(*w));
    w->same_key = !(mode & 1);
    w->same_flags = !(mode & 4);
    w->honest = 1;
    rng.counter = 0;
    rng.repeat = !!(mode & 2);
    fail_if(handshake_init(&w->side[0].hs, 0, w->same_key ? key : other, sizeof(key), "site-b",
                           65536, w->same_flags ? WIRE_F_SEALED : 0, &out) != 0 ||
            out.n != 0);
    fail_if(handshake_init(&w->side[1].hs, 1, key, sizeof(key), "site-a", 1048576, WIRE_F_SEALED,
                           &out) != 0 ||
            out.n != 1 || out.msg[0].type != WIRE_HELLO);
    send_out(w, 1, &out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static world_t w;
    size_t i = 1;

    if (size < 1)
        return 0;
    start(&w, data[0]);
    while (i < size)
        i += op_run(&w, data + i, size - i);
    if (w.honest)
        check_honest(&w);
    side_free(&w.side[0]);
    side_free(&w.side[1]);
    return 0;
}
