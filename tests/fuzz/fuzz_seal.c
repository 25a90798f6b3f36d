/* libFuzzer target for sealed messages and rekeying (src/seal.c), which
 * every message after the handshake goes through.
 *
 * A sender and a receiver seal_t run from one handshake's fixed keys. The
 * input plays the network from the sender to the receiver, an attacker who
 * sees every sealed message but holds no key; the way back carries only
 * the rekey messages, honestly and in order:
 *
 *   mode u8 | ops...
 *
 *   mode bit 0: the sender is the association's initiator
 *   op % 8:  0  the sender seals: stream u8 | type u8 | len u8, the payload
 *               being bytes of the input (stream 0 also carries data)
 *            1  deliver the first message in flight on stream u8
 *            2  deliver the next message of the way back
 *            3  the initiator starts a rekey (when seal_rekey_start lets it)
 *               (ops 3 and 7 start or feed REKEYS_MAX rekeys at most)
 *            4  mutate: stream u8 | how u8 | arg u8: the first message in
 *               flight on that stream, changed (a bit flipped, cut, grown,
 *               another PPID, another stream), delivered in its stead
 *            5  inject: stream u8 | epoch u8 | len u8 | len bytes
 *            6  replay message k (u8) of the last few delivered, on its
 *               stream or (bit 7) on the next one
 *            7  feed the receiver's seal_on_control a REKEY (key: 32
 *               bytes, or all zeros) or a SWITCH (count u8) directly, as
 *               a peer holding the key could
 *
 * The receiver runs as assoc.c runs it: an opened REKEY or SWITCH goes to
 * seal_on_control and its answer on the way back; after every opened
 * message seal_pending may answer a waiting offer. Invariants:
 * - a message that opens is byte for byte (stream, PPID, bytes) the
 *   genuine one the sender sealed at that position of its stream, and
 *   opens to the very type and payload sealed: no forgery gets through;
 * - a message that fails to open leaves the receiver's state unchanged
 *   (keys, counters, rekey state), so the genuine next message opens;
 * - every genuine message delivered in order opens, every genuine REKEY
 *   and SWITCH is accepted and every rekey completes, until a control
 *   message fed directly (op 7) has been accepted: then only the first
 *   invariant is checked. One refused (-1) ends the input, as the
 *   association would end.
 *
 * Ephemeral keys come from a deterministic generator, so that every input
 * replays the same. */
#include "seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define STREAMS     4
#define QUEUE_MAX   12 /* messages in flight per stream */
#define LEN_MAX     255
#define HISTORY_MAX 8
/* Rekeys per input, started (op 3) or fed (op 7): each costs up to four
 * X25519 operations, which took most of the time with 1 KiB inputs, and a
 * few already reach every state of the rekey (seal.h). */
#define REKEYS_MAX 6

static uint32_t rng_counter;

static void rng_buf(void *const buf, const size_t size)
{
    uint8_t *p = buf;

    rng_counter++;
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(rng_counter * 131u + i * 7u);
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

static void fail_if(int cond)
{
    if (cond)
        abort();
}

/* A sealed message and what it holds. */
typedef struct msg {
    uint16_t sid;
    uint32_t ppid;
    size_t len;
    uint8_t b[LEN_MAX + SEAL_OVERHEAD + 1];
    wire_type_t type;
    size_t plen;
    uint8_t plain[LEN_MAX];
} msg_t;

typedef struct queue {
    msg_t m[QUEUE_MAX];
    int head, n;
} queue_t;

typedef struct world {
    seal_t tx, rx;           /* the sender, the receiver */
    queue_t fwd[STREAMS];    /* in flight to the receiver, per stream */
    queue_t back;            /* the receiver's rekey messages, to the sender */
    msg_t hist[HISTORY_MAX]; /* delivered to the receiver */
    int n_hist;
    int rekeys;  /* started or fed, up to REKEYS_MAX */
    int tainted; /* a control message fed directly was accepted */
    int over;    /* a refusal: the association would be gone */
} world_t;

typedef struct input {
    const uint8_t *p;
    size_t left;
} input_t;

static uint8_t get(input_t *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static msg_t *q_head(queue_t *q)
{
    return q->n ? &q->m[q->head] : NULL;
}

static void q_pop(queue_t *q)
{
    q->head = (q->head + 1) % QUEUE_MAX;
    q->n--;
}

static msg_t *q_push(queue_t *q)
{
    msg_t *m;

    fail_if(q->n == QUEUE_MAX);
    m = &q->m[(q->head + q->n) % QUEUE_MAX];
    q->n++;
    return m;
}

/* Seals type and payload on sid into m. */
static void seal_into(seal_t *s, uint16_t sid, wire_type_t type, const uint8_t *p, size_t len,
                      msg_t *m)
{
    m->sid = sid;
    m->type = type;
    m->plen = len;
    memcpy(m->plain, p, len);
    memcpy(m->b, p, len);
    m->len = seal_msg(s, sid, type, m->b, len, &m->ppid);
    fail_if(m->len != len + SEAL_OVERHEAD || !seal_is_sealed(m->ppid));
}

/* A rekey message from s: on stream 0 of its way. */
static void emit(world_t *w, seal_t *s, const wire_msg_t *out)
{
    uint8_t enc[64];
    ssize_t n = wire_encode(out, enc, sizeof(enc));
    queue_t *q = s == &w->tx ? &w->fwd[0] : &w->back;

    fail_if(n <= 0 || (out->type != WIRE_REKEY && out->type != WIRE_SWITCH));
    seal_into(s, WIRE_CONTROL_SID, out->type, enc, (size_t)n, q_push(q));
}

/* What a side does with a message it opened, as assoc.c does. */
static void on_opened(world_t *w, seal_t *s, const uint8_t *buf, size_t plen, wire_type_t type)
{
    wire_msg_t m, out;
    int r;

    if (type == WIRE_REKEY || type == WIRE_SWITCH) {
        fail_if(wire_decode(WIRE_CONTROL_SID, wire_ppid(type), buf, plen, &m) != 0);
        r = seal_on_control(s, &m, &out);
        fail_if(r < 0 && !w->tainted);
        if (r < 0) {
            w->over = 1;
            return;
        }
        if (r == 1)
            emit(w, s, &out);
    }
    if (s->offer_waits && seal_pending(s, &out) == 1)
        emit(w, s, &out);
}

/* The receiver's state, to compare across a failed open. */
typedef struct snap {
    seal_t s;
    uint64_t ctr[STREAMS];
} snap_t;

static void snap_take(const seal_t *s, snap_t *sn)
{
    memcpy(&sn->s, s, sizeof(*s)); /* padding too, for the memcmp */
    memcpy(sn->ctr, s->rx_ctr, sizeof(sn->ctr));
}

static void snap_same(const seal_t *s, const snap_t *sn)
{
    fail_if(memcmp(&sn->s, s, sizeof(*s)) != 0);
    fail_if(memcmp(sn->ctr, s->rx_ctr, sizeof(sn->ctr)) != 0);
}

/* The receiver gets `cand` on its stream: it must open exactly when it is
 * the genuine first message in flight there (then it is taken out), and
 * a failure must change nothing. */
static void deliver(world_t *w, const msg_t *cand)
{
    static uint8_t buf[LEN_MAX + SEAL_OVERHEAD + 1];
    msg_t *want = cand->sid < STREAMS ? q_head(&w->fwd[cand->sid]) : NULL;
    wire_type_t type;
    size_t plen;
    snap_t before;
    seal_err_t e;

    snap_take(&w->rx, &before);
    memcpy(buf, cand->b, cand->len);
    e = seal_open(&w->rx, cand->sid, cand->ppid, buf, cand->len, &type, &plen);
    if (e != SEAL_OK) {
        snap_same(&w->rx, &before);
        fail_if(!w->tainted && want && cand == want); /* the genuine one */
        return;
    }
    fail_if(!want || cand->ppid != want->ppid || cand->len != want->len ||
            memcmp(cand->b, want->b, want->len) != 0);
    fail_if(type != want->type || plen != want->plen || memcmp(buf, want->plain, plen) != 0);
    w->hist[w->n_hist++ % HISTORY_MAX] = *want;
    q_pop(&w->fwd[cand->sid]);
    on_opened(w, &w->rx, buf, plen, type);
}

/* The sender gets the receiver's next rekey message, honestly. */
static void deliver_back(world_t *w)
{
    static uint8_t buf[LEN_MAX + SEAL_OVERHEAD + 1];
    msg_t *m = q_head(&w->back);
    wire_type_t type;
    size_t plen;
    seal_err_t e;

    if (!m)
        return;
    memcpy(buf, m->b, m->len);
    e = seal_open(&w->tx, m->sid, m->ppid, buf, m->len, &type, &plen);
    q_pop(&w->back);
    if (e != SEAL_OK) {
        /* Only keys taken from a fed REKEY part the two sides. */
        fail_if(!w->tainted);
        w->over = 1;
        return;
    }
    fail_if(type != m->type || plen != m->plen || memcmp(buf, m->plain, plen) != 0);
    on_opened(w, &w->tx, buf, plen, type);
}

static void op_seal(world_t *w, input_t *in)
{
    static const wire_type_t types[] = {WIRE_KEEP,  WIRE_OPEN, WIRE_RESULT, WIRE_DATA,
                                        WIRE_FIN,   WIRE_RST,  WIRE_WINDOW, WIRE_CLOSE,
                                        WIRE_ERROR, WIRE_AUTH, WIRE_READY};
    uint16_t sid = get(in) % STREAMS;
    wire_type_t type = types[get(in) % (sizeof(types) / sizeof(types[0]))];
    size_t len = get(in);
    uint8_t p[LEN_MAX];

    /* Room kept on stream 0 for the rekey messages. */
    if (w->fwd[sid].n >= QUEUE_MAX - 4)
        return;
    for (size_t k = 0; k < len; k++)
        p[k] = get(in);
    seal_into(&w->tx, sid, type, p, len, q_push(&w->fwd[sid]));
}

static void op_mutate(world_t *w, input_t *in)
{
    static msg_t m;
    uint8_t sid = get(in) % STREAMS, how = get(in), arg = get(in);
    msg_t *head = q_head(&w->fwd[sid]);

    if (!head)
        return;
    m = *head;
    switch (how % 6) {
    case 0:
        m.b[arg % m.len] ^= (uint8_t)(1u << (how >> 5));
        break;
    case 1:
        m.len = arg % m.len;
        break;
    case 2:
        m.b[m.len++] = arg;
        break;
    case 3:
        m.ppid ^= 1u << (arg % 32);
        break;
    case 4:
        m.ppid = WIRE_PPID_SEALED + arg;
        break;
    default:
        m.sid = (uint16_t)((sid + 1 + arg % (STREAMS + 1)) % (STREAMS + 2));
        break;
    }
    deliver(w, &m);
}

static void op_inject(world_t *w, input_t *in)
{
    static msg_t m;

    m.sid = get(in) % (STREAMS + 1);
    m.ppid = WIRE_PPID_SEALED + get(in);
    m.len = get(in);
    for (size_t k = 0; k < m.len; k++)
        m.b[k] = get(in);
    deliver(w, &m);
}

static void op_replay(world_t *w, input_t *in)
{
    static msg_t m;
    uint8_t k = get(in);
    int n = w->n_hist < HISTORY_MAX ? w->n_hist : HISTORY_MAX;

    if (!n)
        return;
    m = w->hist[(k & 0x7f) % n];
    if (k & 0x80)
        m.sid = (uint16_t)((m.sid + 1) % STREAMS);
    deliver(w, &m);
}

static void op_control(world_t *w, input_t *in)
{
    wire_msg_t m = {.type = WIRE_REKEY}, out;
    uint8_t how = get(in);
    int r;

    if (w->rekeys >= REKEYS_MAX)
        return;
    w->rekeys++;
    if (how & 1) {
        m = (wire_msg_t){.type = WIRE_SWITCH, .u.count = get(in)};
    } else if (how & 2) {
        for (size_t k = 0; k < WIRE_KEY_LEN; k++)
            m.u.key[k] = get(in);
    }
    r = seal_on_control(&w->rx, &m, &out);
    if (r < 0) {
        w->over = 1;
        return;
    }
    w->tainted = 1;
    if (r == 1)
        emit(w, &w->rx, &out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static world_t w;
    noise_keys_t k;
    input_t in = {data, size};
    int initiator;
    wire_msg_t out;

    if (size < 1)
        return 0;
    rng_counter = 0;
    memset(&w, 0, sizeof(w));
    memset(k.i2r, 0x11, sizeof(k.i2r));
    memset(k.r2i, 0x22, sizeof(k.r2i));
    memset(k.ck, 0x33, sizeof(k.ck));
    memset(k.h, 0x44, sizeof(k.h));
    initiator = get(&in) & 1;
    if (seal_init(&w.tx, initiator, &k, 0) != 0 || seal_init(&w.rx, !initiator, &k, 0) != 0 ||
        seal_streams(&w.tx, STREAMS) != 0 || seal_streams(&w.rx, STREAMS) != 0)
        abort();
    while (in.left && !w.over) {
        switch (get(&in) % 8) {
        case 0:
            op_seal(&w, &in);
            break;
        case 1: {
            msg_t *m = q_head(&w.fwd[get(&in) % STREAMS]);

            if (m)
                deliver(&w, m);
            break;
        }
        case 2:
            deliver_back(&w);
            break;
        case 3:
            if (w.rekeys < REKEYS_MAX && w.fwd[0].n < QUEUE_MAX - 2 &&
                seal_rekey_start(initiator ? &w.tx : &w.rx, &out)) {
                w.rekeys++;
                emit(&w, initiator ? &w.tx : &w.rx, &out);
            }
            break;
        case 4:
            op_mutate(&w, &in);
            break;
        case 5:
            op_inject(&w, &in);
            break;
        case 6:
            op_replay(&w, &in);
            break;
        default:
            op_control(&w, &in);
            break;
        }
    }
    /* Honest to the end: everything still in flight opens, in order. */
    for (int round = 0; !w.tainted && !w.over && round < 16; round++) {
        for (int s = 0; s < STREAMS && !w.over; s++)
            while (q_head(&w.fwd[s]) && !w.over)
                deliver(&w, q_head(&w.fwd[s]));
        deliver_back(&w);
    }
    fail_if(!w.tainted && !w.over && (w.tx.phase != SEAL_IDLE || w.rx.phase != SEAL_IDLE));
    seal_free(&w.tx);
    seal_free(&w.rx);
    return 0;
}
