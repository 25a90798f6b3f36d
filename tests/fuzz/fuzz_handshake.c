/* libFuzzer target for the handshake (src/handshake.c), the first thing a
 * peer's messages reach.
 *
 * Two real handshakes run, an initiator and a responder, and the input
 * plays the network between them, an attacker that sees every message:
 *
 *   mode u8 | ops...
 *
 *   mode bit 0: the two gateways hold different keys
 *   mode bit 1: both draw the same nonce
 *   op % 8:  0 / 1  deliver the next message to the responder / initiator
 *            2 / 3  drop it
 *            4 / 5  replay message k (next byte) of everything sent so far,
 *                   to the responder / initiator
 *            6      inject: target u8 | type u8 | len u8 | len bytes,
 *                   through wire_decode on stream 0 like a received message
 *            7      tamper: direction u8 | position u8 | xor u8: the next
 *                   message in that direction, changed on the wire
 *
 * A side that is done is fed no more, as assoc.c does; a failed one still is,
 * and must stay failed. Then:
 * - a side may reach HS_DONE only if both hold the same key, the other side
 *   has sent its own proof, and both saw the very same two HELLOs (so an
 *   attacker who changed, replayed or reflected anything is always caught);
 * - the return value says what the state says (1 = done, -1 = failed with a
 *   code and a reason);
 * - everything a side sends encodes and decodes on stream 0;
 * - with honest delivery alone (any interleaving, nothing dropped), once
 *   everything in flight has been delivered both sides are done; or, with
 *   different keys, the initiator has failed on the responder's proof and
 *   the responder is not done; or, with one nonce, the responder has
 *   refused the initiator's HELLO.
 *
 * Nonces come from a deterministic generator set with
 * randombytes_set_implementation, so that every input replays the same. */
#include "handshake.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define QUEUE_MAX   8  /* messages in flight per direction */
#define HISTORY_MAX 16 /* messages kept for replays */

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

typedef struct queue {
    wire_msg_t msg[QUEUE_MAX];
    int n;
} queue_t;

typedef struct side {
    handshake_t hs;
    queue_t in;    /* sent to this side, not yet delivered */
    int sent_auth; /* this side has sent its proof */
} side_t;

typedef struct world {
    side_t side[2]; /* 0: responder, 1: initiator */
    wire_msg_t history[HISTORY_MAX];
    int n_history;
    int same_key;
    int honest; /* only in-order deliveries so far */
} world_t;

static void fail_if(int cond)
{
    if (cond)
        abort();
}

/* Both sides' transcripts: the same two encoded HELLOs. */
static int same_transcript(const handshake_t *a, const handshake_t *b)
{
    return a->hello_i_len > 0 && a->hello_r_len > 0 && a->hello_i_len == b->hello_i_len &&
           a->hello_r_len == b->hello_r_len &&
           memcmp(a->hello_i, b->hello_i, a->hello_i_len) == 0 &&
           memcmp(a->hello_r, b->hello_r, a->hello_r_len) == 0;
}

/* Everything a side sends must be valid on stream 0. */
static void check_sendable(const wire_msg_t *m)
{
    static uint8_t buf[WIRE_MSG_MAX];
    wire_msg_t back;
    ssize_t n = wire_encode(m, buf, sizeof(buf));

    fail_if(n <= 0);
    fail_if(wire_decode(WIRE_CONTROL_SID, wire_ppid(m->type), buf, (size_t)n, &back) != 0);
}

static void send_out(world_t *w, int from, const hs_out_t *out)
{
    fail_if(out->n < 0 || out->n > 2);
    for (int i = 0; i < out->n; i++) {
        queue_t *q = &w->side[!from].in;

        check_sendable(&out->msg[i]);
        if (out->msg[i].type == WIRE_AUTH)
            w->side[from].sent_auth = 1;
        if (q->n < QUEUE_MAX)
            q->msg[q->n++] = out->msg[i];
        if (w->n_history < HISTORY_MAX)
            w->history[w->n_history++] = out->msg[i];
    }
}

static void feed(world_t *w, int to, const wire_msg_t *m)
{
    side_t *s = &w->side[to];
    const side_t *other = &w->side[!to];
    hs_out_t out = {0};
    uint16_t code = 0;
    const char *why = NULL;
    int r, was_failed;

    if (s->hs.state == HS_DONE)
        return;
    was_failed = s->hs.state == HS_FAILED;
    r = handshake_input(&s->hs, m, &out, &code, &why);
    fail_if(was_failed && r != -1);
    fail_if(r < -1 || r > 1);
    fail_if((r == 1) != (s->hs.state == HS_DONE));
    fail_if((r == -1) != (s->hs.state == HS_FAILED));
    if (r == -1)
        fail_if(code == 0 || why == NULL || why[0] == '\0');
    if (r == 1)
        fail_if(!w->same_key || !other->sent_auth || !same_transcript(&s->hs, &other->hs));
    send_out(w, to, &out);
}

static int queue_pop(queue_t *q, wire_msg_t *m)
{
    if (q->n == 0)
        return 0;
    *m = q->msg[0];
    memmove(q->msg, q->msg + 1, (size_t)--q->n * sizeof(q->msg[0]));
    return 1;
}

/* Reads an injected message: target u8 | type u8 | len u8 | bytes. */
static size_t op_inject(world_t *w, const uint8_t *p, size_t left)
{
    wire_msg_t m;
    size_t len;

    if (left < 3)
        return left;
    len = p[2] < left - 3 ? p[2] : left - 3;
    if (wire_decode(WIRE_CONTROL_SID, WIRE_PPID_BASE + p[1] % 8u, p + 3, len, &m) == 0)
        feed(w, p[0] & 1, &m);
    return 3 + len;
}

/* Changes one byte of the next message in one direction, on the wire. */
static size_t op_tamper(world_t *w, const uint8_t *p, size_t left)
{
    static uint8_t buf[WIRE_MSG_MAX];
    wire_msg_t m, changed;
    int to;
    ssize_t n;

    if (left < 3)
        return left;
    to = p[0] & 1;
    if (queue_pop(&w->side[to].in, &m) && (n = wire_encode(&m, buf, sizeof(buf))) > 0) {
        buf[p[1] % (size_t)n] ^= p[2];
        if (wire_decode(WIRE_CONTROL_SID, wire_ppid(m.type), buf, (size_t)n, &changed) == 0)
            feed(w, to, &changed);
    }
    return 3;
}

static size_t op_run(world_t *w, const uint8_t *p, size_t left)
{
    uint8_t op = p[0] % 8;
    wire_msg_t m;

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
    const handshake_t *r = &w->side[0].hs, *i = &w->side[1].hs;
    wire_msg_t m;

    for (int moved = 1; moved;) {
        moved = 0;
        for (int s = 0; s < 2; s++) {
            if (queue_pop(&w->side[s].in, &m)) {
                feed(w, s, &m);
                moved = 1;
            }
        }
    }
    if (rng.repeat)
        fail_if(r->state != HS_FAILED);
    else if (!w->same_key)
        fail_if(i->state != HS_FAILED || r->state == HS_DONE);
    else
        fail_if(r->state != HS_DONE || i->state != HS_DONE);
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
    w->honest = 1;
    rng.counter = 0;
    rng.repeat = !!(mode & 2);
    fail_if(handshake_init(&w->side[0].hs, 0, w->same_key ? key : other, sizeof(key), "site-b",
                           65536, &out) != 0 ||
            out.n != 0);
    fail_if(handshake_init(&w->side[1].hs, 1, key, sizeof(key), "site-a", 1048576, &out) != 0 ||
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
    handshake_clear(&w.side[0].hs);
    handshake_clear(&w.side[1].hs);
    return 0;
}
