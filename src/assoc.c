/* One association to a peer gateway (see assoc.h). */
#include "assoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/sctp.h>
#include <sodium.h>
#include "flow.h"

#define REKEY_GRACE_MS     10000        /* a rekey's bound beyond outage_ms */
#define STALL_CHECK_MS     1000         /* how often stalled flows' sockets are asked (flow.h) */
#define WARM_LATE_MS       1000         /* a warm tick this late: this gateway did not run */
#define ASSOC_STARVED_MS   10           /* retry while SCTP's memory is short (assoc_on_writable) */
#define ASSOC_DIAL_LOOK_MS 100          /* while dialling: did the peer answer? (assoc_dial_look) */
#define TELL_ROOM          (256 * 1024) /* send buffer added for a last ERROR (assoc_tell) */
#define FAILED_READS_MAX   64    /* reads of what a failed socket still holds (assoc_on_failed) */
#define PEER_QUIET_MS      10000 /* peer ERRORs or ignored messages this far apart: two episodes */
#define READ_BUDGET        256   /* messages per readiness callback */
/* Bytes read from the socket per readiness callback, and of them handled
 * there (opened, written to TCP): a loop turn that spent longer handling
 * would hold every other flow's reads and writes back. Reading is cheap
 * next to opening, so large sealed messages go to the inbox, which hands
 * on INBOX_TURN_BYTES of them a loop turn; a message of at most
 * INBOX_SMALL bytes is handled as it is read unless its stream has
 * messages waiting (inbox.h). While INBOX_MAX bytes wait, the socket is
 * not read: the kernel's receive window then holds the peer back. Reading
 * less a callback leaves a small message in the kernel's one line behind
 * what was not read: 256 and 128 KiB lengthened W5b's tail, more than the
 * other flows' sockets served sooner gave back (tests/bench/README.md). */
#define READ_BYTES       (1024u * 1024u)
#define READ_HANDLED     (128u * 1024u)
#define INBOX_TURN_BYTES (128u * 1024u)
#define INBOX_SMALL      512u
#define INBOX_MAX        (8u * 1024u * 1024u)
/* A flow reads from TCP while its queue holds less than this many messages
 * (back-pressure per flow: a bulk flow stops, the others go on). */
#define FLOW_QUEUE_MSGS 1u
/* Bytes of the flows' queues handed to the kernel per loop turn: a message
 * goes at once while the turn has budget left, the rest waits for the next
 * turn, served fairly. A turn that reads and sends more keeps every flow's
 * next read waiting longer: with four bulk flows reading 64 KiB at a time
 * and sending all they read, a turn took long enough to hold an interactive
 * flow's request back by a quarter of a second. Turns of 64 or 32 KiB (this
 * and INBOX_TURN_BYTES) shortened that wait on a CPU-bound bed but
 * lengthened paced flows' gaps around a link cut (tests/bench/README.md). */
#define FLUSH_BYTES (128u * 1024u)
/* Small messages handed over in one go share packets: each but the last
 * goes with MSG_MORE, which has the kernel hold it until a send without it
 * or a packet's worth (net/sctp/output.c); 10,000 flows closing together
 * otherwise cost a packet per message. A run stays well inside the send
 * buffer (a small chunk takes about 1 KiB of it), so held chunks alone never
 * fill it: a send refused after a held one waits only for acknowledgements
 * of what is in flight, and its retry ends the run. */
#define BUNDLE_MSG_MAX    512u  /* bytes: a larger message is not held */
#define BUNDLE_CHUNK_COST 2048u /* send buffer counted per held message */
/* The kernel's share and the flows' message size (assoc_pace, pace.h) are
 * decided every SNDBUF_TICK_MS while data flows. */
#define SNDBUF_TICK_MS 20u
_Static_assert(WIRE_SEAL_MAX <= PACE_MSG_OVERHEAD, "pace's floor must take a sealed message");
/* Without I-DATA, DATA messages are kept to 8 KiB, well under the
 * protocol's 64 KiB: the kernel then neither switches streams inside a
 * message when sending nor delivers another stream's message while one is
 * partly reassembled, so under loss a bulk flow's large messages would hold
 * an interactive flow back for seconds (benchmark W5: 31x its p99 alone at
 * 64 KiB, 1.1x at 8). With I-DATA it does both, and 64 KiB messages cost
 * the kernel less per byte (benchmark W1: +30%). */
#define MSG_MAX_CLASSIC 8192u
/* Bytes of partly delivered messages we hold for the kernel's partial
 * delivery, which it only starts under receive-buffer pressure. */
#define PARTS_MAX (16u * 1024u * 1024u)
/* Until the peer has proven the key it may only send the handshake's
 * messages (the largest, an ERROR, is 258 bytes), so an unproven peer gets
 * a receive buffer this small and no stream table: anyone who can reach the
 * port can open associations, and each must cost little until it proves
 * the key (assoc_ready then sizes both). The room beyond 258 bytes is for
 * the kernel's notifications, which may quote a peer's chunk. */
#define HS_MSG_MAX 4096u

/* How an association ends: an ABORT when the peer is gone or stuck, a
 * graceful close otherwise, preceded by an ERROR when this end gives up so
 * the peer can log why (TELL), or after the peer's ERROR (TOLD: it stopped
 * reading there). Only a graceful shutdown (CLOSE) delivers all that the
 * kernel holds. */
typedef enum { END_ABORT, END_CLOSE, END_TELL, END_TOLD } assoc_end_t;

static void assoc_teardown(assoc_t *a, uint16_t code, const char *why, assoc_end_t how);
static void assoc_rekey_check(assoc_t *a);
static void assoc_inbox_run(assoc_t *a, size_t budget);

static void assoc_log(const assoc_t *a, log_level_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void assoc_log(const assoc_t *a, log_level_t lvl, const char *fmt, ...)
{
    char prefix[WIRE_NAME_MAX + 64];
    va_list ap;

    if (!log_enabled(&a->gw->log, lvl))
        return;
    snprintf(prefix, sizeof(prefix), "assoc %llu%s%s: ", (unsigned long long)a->id,
             a->peer_name[0] ? " peer " : "", a->peer_name);
    va_start(ap, fmt);
    log_vwrite(&a->gw->log, lvl, "assoc", prefix, fmt, ap);
    va_end(ap);
}

static void on_handle_closed(uv_handle_t *h)
{
    assoc_t *a = h->data;

    if (--a->handles > 0)
        return;
    streams_free_all(&a->streams);
    free(a->flows);
    reasm_free(&a->rx);
    free(a);
}

static void on_poll(uv_poll_t *p, int status, int events);

static int assoc_queued(const assoc_t *a)
{
    return a->next || a->urgent.head || a->fairq.bytes;
}

static void assoc_arm(assoc_t *a)
{
    int want = UV_READABLE;

    if (a->state == ASSOC_CLOSED)
        return;
    if ((a->kernel_full && assoc_queued(a) && !uv_is_active((uv_handle_t *)&a->starved)) ||
        a->state == ASSOC_CONNECTING)
        want |= UV_WRITABLE;
    if (want == a->poll_events)
        return;
    a->poll_events = want;
    uv_poll_start(&a->poll, want, on_poll);
}

/* ---- sending -------------------------------------------------------- */

static void on_dead(uv_timer_t *t)
{
    assoc_t *a = t->data;
    char why[96];

    if (a->dead == ERANGE)
        snprintf(why, sizeof(why), "a stream used up its 2^48 message counters");
    else if (a->dead == ENOMEM)
        snprintf(why, sizeof(why), "out of memory for a message to send");
    else
        snprintf(why, sizeof(why), "the kernel refused a send: %s", strerror(a->dead));
    /* What the peer sent before is whole and acknowledged: its flows get
     * it, and one whose last bytes and FIN are there finishes. */
    assoc_inbox_run(a, SIZE_MAX);
    if (a->state != ASSOC_CLOSED)
        assoc_teardown(a, WIRE_E_LOST, why, END_ABORT);
}

/* A send failed for good. Flows may be deep in a callback, so the teardown
 * waits for the next loop iteration. */
static void assoc_mark_dead(assoc_t *a, int err)
{
    if (a->dead)
        return;
    a->dead = -err;
    uv_timer_start(&a->reap, on_dead, 0, 0);
}

/* Every SNDBUF_TICK_MS while data flows: the kernel's share, sized by
 * pace.c from what the socket reports. */
static void assoc_pace(assoc_t *a)
{
    uint64_t now = uv_now(a->gw->loop);
    pace_tick_t t = {.elapsed_ms = now - a->paced_at,
                     .sent = a->sent_since,
                     .hit = a->sndbuf_hit,
                     .contended = a->contended};
    unsigned before = a->pace.sndbuf;

    if (t.elapsed_ms < SNDBUF_TICK_MS || sock_peer_rwnd(a->fd, &t.rwnd) < 0)
        return;
    a->paced_at = now;
    a->sent_since = 0;
    a->sndbuf_hit = a->contended = 0;
    if (pace_tick(&a->pace, &t) != before && sock_set_sndbuf(a->fd, a->pace.sndbuf) < 0)
        a->pace.sndbuf = before;
    a->fairq.quantum = a->pace.msg;
}

/* The dialling end's preferred path as the config has it now: a reload
 * during the dial (which put the primary of its time first) may have
 * changed or removed it. Without primary the kernel's default is remote's
 * first, and a remote list changed meanwhile may not hold it: no word. */
static void assoc_prefer(assoc_t *a, const config_t *cfg)
{
    const addr_t *primary = config_primary(cfg);
    int r;

    if (a->initiator && primary && (r = sock_set_primary(a->fd, primary)) < 0 && cfg->has_primary)
        assoc_log(a, LOG_WARN, "cannot set the primary path: %s", strerror(-r));
}

/* A flow's queue went below its limit, or empty. */
static void assoc_on_flow_sent(assoc_t *a, msgq_t *q)
{
    if (assoc_has_room(a, q))
        flow_on_sent(container_of(q, flow_t, sendq));
}

/* Seals m with the next counter of its stream. A message is sealed once,
 * at the moment it leaves its queue, so counters follow the order messages
 * reach the kernel. */
static int assoc_seal(assoc_t *a, outmsg_t *m)
{
    size_t n;

    if (m->seal != OUTMSG_SEAL)
        return 0;
    n = seal_msg(&a->seal, m->sid, (wire_type_t)(m->ppid - WIRE_PPID_BASE), m->data, m->len,
                 &m->ppid);
    if (n == 0)
        return -ERANGE;
    m->len = (uint32_t)n;
    m->seal = OUTMSG_SEALED;
    return 0;
}

/* A small message of a flow that was idle goes even when the turn's budget
 * is spent: it would otherwise wait a whole loop turn of bulk sealing (10
 * to 20 ms on the bed) for a turn where it goes first anyway. Only a flow's
 * first message after idling does, so a flow cannot live on it. With this
 * bound and INBOX_SMALL at 4 KiB, flows of 1 KiB messages saw longer gaps
 * around a link cut, not shorter (tests/bench/README.md). */
static msgq_t *assoc_fresh_small(const assoc_t *a)
{
    msgq_t *q = fairq_fresh(&a->fairq);

    return q && q->head->len <= BUNDLE_MSG_MAX ? q : NULL;
}

/* The message to hand the kernel next: the one the kernel refused last
 * time (sealed already, so it goes as it is), else the urgent queue's
 * first, else (with `budget` > 0) the next flow's in fair order, else a
 * fresh flow's small one. A flow whose message leaves its queue may read
 * more, or close, from here. */
static outmsg_t *assoc_next(assoc_t *a, size_t *budget)
{
    msgq_t *q;
    outmsg_t *m;

    if (a->next)
        return a->next;
    if (a->urgent.head)
        q = &a->urgent;
    else if (a->telling)
        return NULL; /* the peer stops reading at the ERROR */
    else
        q = *budget ? fairq_next(&a->fairq) : assoc_fresh_small(a);
    if (!q)
        return NULL;
    if (q == &a->urgent) {
        m = msgq_pop(q);
    } else {
        m = fairq_pop(&a->fairq, q);
        *budget = m->len < *budget ? *budget - m->len : 0;
        a->turn_bytes += m->len;
    }
    a->next = m;
    a->next_flow = q != &a->urgent;
    if (assoc_seal(a, m) < 0)
        return NULL;
    if (q != &a->urgent)
        assoc_on_flow_sent(a, q);
    return a->next;
}

/* Whether m goes with MSG_MORE (BUNDLE_MSG_MAX): it is small, within the
 * run's bound, and the message this flush sends next is small too (budget
 * is what is left after m). A run ends with its last small message, sent
 * without the flag, so a quiet flow's message never waits behind a bulk
 * one the socket might refuse. fairq_next only looks: its queue stays
 * first until popped. */
static unsigned assoc_bundle(assoc_t *a, const outmsg_t *m, size_t budget)
{
    const msgq_t *q;
    const outmsg_t *next;

    if (m->len > BUNDLE_MSG_MAX || (a->bundled + 1) * BUNDLE_CHUNK_COST > a->pace.sndbuf)
        return 0;
    if (a->urgent.head)
        q = &a->urgent;
    else
        q = budget ? fairq_next(&a->fairq) : assoc_fresh_small(a);
    next = q ? q->head : NULL;
    return next && next->len <= BUNDLE_MSG_MAX ? SOCK_MORE : 0;
}

/* Whether a send that failed with r only found the association closing:
 * once a SHUTDOWN is under way (ours, or the peer's, after which the
 * kernel takes no more data), a message it refuses is dropped rather than
 * the association aborted, which would cost the peer its clean end. Flows
 * still open end with the association. ESHUTDOWN is the kernel's word for
 * the peer's SHUTDOWN, and EPIPE for an association already gone (the
 * peer's SHUTDOWN complete, or its ABORT), either of which can come before
 * the receive side has been read: the end then comes from there, after
 * everything the peer sent before it, its last word (an ERROR: why it gave
 * up) included. ECONNRESET (the peer's ABORT) and ETIMEDOUT (the peer
 * lost) are the socket's error, which a send may report before any read:
 * the notification of the end waits behind the peer's last messages. A
 * gateway that ran again after a pause (SIGSTOP) otherwise said only that
 * the kernel refused a send, and dropped what the peer had sent last. */
static int assoc_closing_refused(int r)
{
    return r == -ESHUTDOWN || r == -EPIPE || r == -ECONNRESET || r == -ETIMEDOUT;
}

/* Whether a send that failed with r may go later, the message kept: the
 * socket's buffer is full (EAGAIN), or the kernel is short of memory for
 * the message's chunks (ENOMEM, ENOBUFS: nothing was sent, and a shortage
 * passes). Ending the association for it would reset every flow. */
static int assoc_send_later(int r)
{
    return r == -EAGAIN || r == -ENOMEM || r == -ENOBUFS;
}

/* Counts m as handed to the kernel (r >= 0) or refused by an association
 * that is ending; a flow's own DATA or FIN marks the flow (assoc_flow_lost). */
static void assoc_count_sent(assoc_t *a, const outmsg_t *m, int r)
{
    flow_t *own = a->next_flow && a->flows ? a->flows[m->sid] : NULL;

    if (r >= 0)
        a->sent_seq++;
    if (own)
        own->sent_seq = r >= 0 ? a->sent_seq : UINT64_MAX;
}

/* Hands the kernel what it takes: see assoc_next for the order. */
static void assoc_flush(assoc_t *a, size_t budget)
{
    outmsg_t *m;
    unsigned more;
    int r;

    while (a->state != ASSOC_CLOSED && !a->dead && !a->kernel_full) {
        if (!(m = assoc_next(a, &budget))) {
            if (a->next)
                assoc_mark_dead(a, -ERANGE); /* no counter left to seal it */
            break;
        }
        if (a->state == ASSOC_CLOSED || a->dead || a->kernel_full || m != a->next)
            continue; /* a flow told of room sent or closed meanwhile */
        more = assoc_bundle(a, m, budget);
        r = sock_send(a->fd, m->sid, m->ppid, m->flags | more, m->data, m->len);
        if (assoc_send_later(r)) {
            a->kernel_full = a->sndbuf_hit = 1;
            a->contended |= a->fairq.active > 1;
            break;
        }
        if (r < 0 && !assoc_closing_refused(r)) {
            assoc_mark_dead(a, r);
            return;
        }
        a->next = NULL;
        assoc_count_sent(a, m, r);
        if (r < 0) {
            free(m);
            continue;
        }
        a->bundled = more ? a->bundled + 1 : 0;
        a->last_send = uv_now(a->gw->loop);
        a->sent_since += m->len;
        free(m);
    }
    if (a->state == ASSOC_SHUTDOWN && !assoc_queued(a))
        shutdown(a->fd, SHUT_WR);
    assoc_arm(a);
}

/* Once per loop turn, after every flow had its chance to read: a new turn's
 * budget, and what waits goes to the kernel, fairly. The idle handle keeps
 * the loop from sleeping while there is more to send. */
static void on_flush(uv_idle_t *h)
{
    assoc_t *a = h->data;

    if (a->state == ASSOC_CLOSED)
        return;
    a->turn_bytes = 0;
    if (a->state != ASSOC_CONNECTING)
        assoc_pace(a);
    assoc_flush(a, FLUSH_BYTES);
    if (a->state == ASSOC_CLOSED || a->kernel_full || !a->fairq.bytes)
        uv_idle_stop(h);
}

/* Sends what this turn's budget allows now; the next turn sees to the
 * rest (and resets the budget). */
static void assoc_flush_turn(assoc_t *a)
{
    if (!a->kernel_full)
        assoc_flush(a, a->turn_bytes < FLUSH_BYTES ? FLUSH_BYTES - a->turn_bytes : 0);
    if (a->turn_bytes || (!a->kernel_full && a->fairq.bytes))
        uv_idle_start(&a->flusher, on_flush);
}

/* Decided when a message is queued: whether it leaves sealed. Everything
 * after the HELLOs is, but with encryption = off only the handshake's own
 * AUTH and READY (a message queued before READY may leave after it). */
static int assoc_seals(const assoc_t *a, wire_type_t type)
{
    if (!a->keyed || type == WIRE_HELLO)
        return 0;
    return a->gw->cfg->encryption || type == WIRE_AUTH || type == WIRE_READY;
}

outmsg_t *assoc_data_alloc(size_t cap)
{
    return malloc(sizeof(outmsg_t) + cap + WIRE_SEAL_MAX);
}

int assoc_has_room(const assoc_t *a, const msgq_t *q)
{
    return q->bytes < FLOW_QUEUE_MSGS * a->msg_max;
}

/* Queues m (owned) on a flow's queue q, sent now if this loop turn's budget
 * allows and fairly on a later turn otherwise, or on the urgent queue (q
 * NULL), sent now. */
static void assoc_submit(assoc_t *a, msgq_t *q, outmsg_t *m)
{
    if (a->state == ASSOC_CLOSED || a->dead) {
        if (q) /* a flow's DATA or FIN, never to leave (assoc_flow_lost) */
            container_of(q, flow_t, sendq)->sent_seq = UINT64_MAX;
        free(m);
        return;
    }
    m->seal = assoc_seals(a, (wire_type_t)(m->ppid - WIRE_PPID_BASE)) ? OUTMSG_SEAL : 0;
    if (q) {
        fairq_push(&a->fairq, q, m);
        assoc_flush_turn(a);
        return;
    }
    msgq_push(&a->urgent, m);
    assoc_flush(a, 0);
}

void assoc_send_data(assoc_t *a, msgq_t *q, uint16_t sid, outmsg_t *m, uint32_t len)
{
    m->sid = sid;
    m->flags = 0;
    m->ppid = wire_ppid(WIRE_DATA);
    m->len = len;
    assoc_submit(a, q, m);
}

static void assoc_send_flagged(assoc_t *a, msgq_t *q, uint16_t sid, const wire_msg_t *msg,
                               unsigned flags)
{
    uint8_t buf[WIRE_HDR_MAX + WIRE_TEXT_MAX + 8];
    ssize_t n = wire_encode(msg, buf, sizeof(buf));
    outmsg_t *m;

    if (n < 0) {
        assoc_log(a, LOG_ERROR, "cannot encode %s", wire_type_name(msg->type));
        return;
    }
    m = assoc_data_alloc((size_t)n);
    if (!m) {
        assoc_mark_dead(a, -ENOMEM);
        return;
    }
    memcpy(m->data, buf, (size_t)n);
    m->sid = sid;
    m->flags = (uint16_t)flags;
    m->ppid = wire_ppid(msg->type);
    m->len = (uint32_t)n;
    assoc_submit(a, q, m);
}

void assoc_send_msg(assoc_t *a, const wire_msg_t *msg)
{
    assoc_send_flagged(a, NULL, WIRE_CONTROL_SID, msg, 0);
}

/* A grant for a stream whose last WINDOW still waits in the urgent queue
 * (not sealed yet) is added to that one. A peer that stops reading its
 * socket while its flows' back ends here consume what it sent would
 * otherwise have a WINDOW queued per quarter window, for as long as the
 * association lasts; now one per flow. Returns 1 if merged. */
static int assoc_merge_window(assoc_t *a, uint16_t sid, uint32_t grant)
{
    wire_msg_t w;

    for (outmsg_t *m = a->urgent.head; m; m = m->next) {
        if (m->sid != sid || m->ppid != wire_ppid(WIRE_WINDOW) || m->seal == OUTMSG_SEALED)
            continue;
        if (wire_decode(sid, m->ppid, m->data, m->len, &w) < 0 || w.type != WIRE_WINDOW ||
            w.u.window > UINT32_MAX - grant)
            return 0;
        w.u.window += grant;
        return wire_encode(&w, m->data, m->len) == (ssize_t)m->len;
    }
    return 0;
}

/* A WINDOW may overtake the flow's own queued messages: it travels on the
 * same stream, but only ever between the flow's OPEN (sent before any
 * credit came back) and its final word, which both stay in order. */
void assoc_send_flow_msg(assoc_t *a, msgq_t *q, uint16_t sid, const wire_msg_t *msg)
{
    if (msg->type == WIRE_WINDOW && assoc_merge_window(a, sid, msg->u.window))
        return;
    assoc_send_flagged(a, msg->type == WIRE_WINDOW ? NULL : q, sid, msg, 0);
}

void assoc_discard_data(assoc_t *a, msgq_t *q)
{
    fairq_discard(&a->fairq, q, wire_ppid(WIRE_DATA));
    fairq_discard(&a->fairq, q, wire_ppid(WIRE_FIN));
}

/* ---- flows ---------------------------------------------------------- */

int assoc_add_flow(assoc_t *a, flow_t *f)
{
    int sid;

    if (a->state != ASSOC_READY || a->n_flows >= a->gw->cfg->max_flows)
        return -ENOSPC;
    sid = streams_alloc(&a->streams);
    if (sid < 0)
        return sid;
    f->sid = (uint16_t)sid;
    a->flows[sid] = f;
    a->n_flows++;
    a->flows_opened++;
    return 0;
}

void assoc_remove_flow(assoc_t *a, flow_t *f)
{
    fairq_drop(&a->fairq, &f->sendq); /* empty, but perhaps still scheduled */
    if (a->flows[f->sid] != f)
        return;
    a->flows[f->sid] = NULL;
    a->n_flows--;
    a->n_ending -= f->ending;
    a->n_closed -= f->closed_in;
    a->done_out += f->bytes_up;
    a->done_in += f->bytes_down;
    if (streams_is_ours(&a->streams, f->sid))
        streams_release(&a->streams, f->sid);
}

/* ---- establishment and handshake ------------------------------------ */

static void on_deadline(uv_timer_t *t);

/* Milliseconds from now to loop time `at`, 0 once it is past. */
static uint64_t assoc_until(const assoc_t *a, uint64_t at)
{
    uint64_t now = uv_now(a->gw->loop);

    return at > now ? at - now : 0;
}

/* While dialling, the deadline's timer also looks every ASSOC_DIAL_LOOK_MS
 * at whether the peer answered the INIT. Returns 1 when the deadline is
 * still ahead (the timer set again). */
static int assoc_dial_look(assoc_t *a)
{
    uint64_t left = assoc_until(a, a->deadline);

    if (!a->answered && a->gw->cfg->encryption && sock_cookie_echoed(a->fd) == 1)
        a->answered = 1;
    if (!left)
        return 0;
    uv_timer_start(&a->timer, on_deadline, left < ASSOC_DIAL_LOOK_MS ? left : ASSOC_DIAL_LOOK_MS,
                   0);
    return 1;
}

/* Whether a dial failed for the key: a peer that answers the INIT but
 * lets the COOKIE-ECHO go unanswered until the dial times out drops its
 * AUTH (asked for where net.sctp.auth_enable is 1:
 * gateway_check_cookie_auth). It holds another key file, and never hears
 * of this end at all (no association comes up at its kernel), so this end
 * counts the failure and says it. One that answers with an ABORT (its
 * accept queue full, its listener gone) refused for another reason. */
static int assoc_dial_keyless(const assoc_t *a, int err)
{
    return a->answered && a->gw->cfg->encryption && err == -ETIMEDOUT;
}

/* A failed dial's end: `err` (-errno) and `why`, unless it failed for the
 * key (WIRE_E_AUTH, counted as a handshake failure: assoc_teardown). */
static void assoc_dial_failed(assoc_t *a, int err, const char *why)
{
    if (assoc_dial_keyless(a, err))
        assoc_teardown(a, WIRE_E_AUTH,
                       "the peer answered the INIT but never took this end's COOKIE-ECHO: with "
                       "encryption on, that is what a different psk_file looks like (SCTP-AUTH "
                       "drops it)",
                       END_ABORT);
    else
        assoc_teardown(a, WIRE_E_LOST, why, END_ABORT);
}

static void on_deadline(uv_timer_t *t)
{
    assoc_t *a = t->data;
    uint64_t stall = gateway_stall(a->gw), left;

    /* This gateway did not run for `stall` ms: the deadline moves on by as
     * much, and the peer's answer, if it came meanwhile, is read before the
     * deadline is judged again (a timer due now would run before the
     * reads). */
    if (stall) {
        a->deadline += stall;
        left = assoc_until(a, a->deadline);
        uv_timer_start(&a->timer, on_deadline, left ? left : 1, 0);
        return;
    }
    if (a->state == ASSOC_CONNECTING && assoc_dial_look(a))
        return;
    if (a->state == ASSOC_SHUTDOWN)
        assoc_teardown(a, WIRE_E_SHUTDOWN, "graceful shutdown timed out", END_ABORT);
    else if (a->state == ASSOC_CONNECTING)
        assoc_dial_failed(a, -ETIMEDOUT, "connect timed out");
    else if (!a->heard && a->gw->cfg->encryption)
        /* SCTP-AUTH keys come from the key file: the kernel drops every
         * chunk of a peer with another one, so a wrong key is silence. */
        assoc_teardown(a, WIRE_E_AUTH,
                       "handshake timed out without a word from the peer: with encryption on, "
                       "that is what a different psk_file looks like (SCTP-AUTH drops its chunks)",
                       END_ABORT);
    else
        assoc_teardown(a, WIRE_E_LOST, "handshake timed out", END_ABORT);
}

static void assoc_send_hs(assoc_t *a, const hs_out_t *out)
{
    for (int i = 0; i < out->n; i++)
        assoc_send_msg(a, &out->msg[i]);
}

/* The negotiated stream count, known once the association is established. */
static int assoc_count_streams(assoc_t *a)
{
    unsigned in = 0, out = 0;
    int r = sock_streams(a->fd, &in, &out);

    if (r < 0)
        return r;
    a->nstreams = in < out ? in : out;
    return a->nstreams < 2 ? -EPROTO : 0;
}

/* Full-size buffers and the stream table, once the peer proved the key. */
static int assoc_setup_streams(assoc_t *a)
{
    int r = reasm_grow(&a->rx, WIRE_MSG_MAX, PARTS_MAX);

    if (r < 0)
        return r;
    a->flows = calloc(a->nstreams, sizeof(*a->flows));
    if (!a->flows)
        return -ENOMEM;
    if (a->gw->cfg->encryption && (r = seal_streams(&a->seal, a->nstreams)) < 0)
        return r;
    if ((r = inbox_streams(&a->inbox, a->nstreams)) < 0)
        return r;
    return streams_init(&a->streams, a->nstreams, a->initiator, a->gw->cfg->max_flows);
}

static void assoc_established(assoc_t *a)
{
    const config_t *cfg = a->gw->cfg;
    hs_out_t out;
    const char *what = "";
    int r, kept;

    a->state = ASSOC_HANDSHAKE;
    a->since = uv_now(a->gw->loop);
    /* The association copied its socket's timers as it began: a dial's
     * socket took those of its day, and an association the kernel set up
     * on the listener may have waited to be accepted. A reload meanwhile
     * reached only the sockets' defaults (the kernel has no association to
     * set until there is one), so the association gets the current ones. */
    if ((r = sock_retune(a->fd, &a->gw->tune, &kept, &what)) < 0)
        assoc_log(a, LOG_WARN, "cannot tune its timers (%s: %s)", what, strerror(-r));
    a->msg_max = sock_interleaving(a->fd) == 1 ? WIRE_DATA_MAX : MSG_MAX_CLASSIC;
    pace_init(&a->pace, a->gw->cfg->sock_buffer, MSG_MAX_CLASSIC, a->msg_max);
    a->fairq.quantum = a->pace.msg;
    if ((r = sock_set_sndbuf(a->fd, a->pace.sndbuf)) < 0)
        assoc_log(a, LOG_WARN, "cannot size the send buffer: %s", strerror(-r));
    r = assoc_count_streams(a);
    if (r < 0) {
        assoc_teardown(a, WIRE_E_INTERNAL, strerror(-r), END_ABORT);
        return;
    }
    path_start(a);
    assoc_prefer(a, cfg);
    path_keep(a);
    /* Worded for both ends: the peer logs it after "peer gave up". */
    if (cfg->encryption && (r = sock_peer_auth(a->fd)) != 1) {
        assoc_close(a, WIRE_E_MISMATCH,
                    r < 0 ? "cannot read the peer's SCTP-AUTH"
                          : "SCTP-AUTH on every chunk is needed by the end with encryption = on "
                            "and not done by the other (encryption = off there?)");
        return;
    }
    /* An accepted socket's endpoint keeps the null key 0: without SCTP-AUTH
     * there, no restart of this association can be authenticated. */
    if (cfg->encryption && !a->initiator && (r = sock_auth_off(a->fd)) < 0)
        assoc_log(a, LOG_WARN, "cannot close this association to forged restarts: %s",
                  strerror(-r));
    /* The peer grants itself this much per flow for the association's
     * whole life: a reload that changes flow_window reaches new ones only. */
    a->flow_window = cfg->flow_window;
    if (handshake_init(&a->hs, a->initiator, cfg->psk, cfg->psk_len, cfg->name, a->flow_window,
                       cfg->encryption ? WIRE_F_SEALED : 0, &out) < 0) {
        assoc_teardown(a, WIRE_E_INTERNAL, "the crypto library failed to start", END_ABORT);
        return;
    }
    assoc_log(a, LOG_DEBUG, "established, %u streams; proving keys", a->nstreams);
    assoc_send_hs(a, &out);
    assoc_arm(a);
}

/* No packet in IP fragments (sctp_sock.c): at READY, then with every stall
 * check, as the path MTU may change. */
static void assoc_keep_bundle_room(assoc_t *a)
{
    const char *what = "";
    int r;

    if (a->state != ASSOC_READY) /* the kernel may have freed it already */
        return;
    r = sock_keep_bundle_room(a->fd, &what);
    /* EINVAL: the kernel freed the association (a peer's ABORT), and its
     * end waits behind the messages still to be read: nothing to warn of. */
    if (r == -EINVAL)
        return;
    if (r < 0 && !a->told_maxseg) {
        a->told_maxseg = 1;
        assoc_log(a, LOG_WARN, "cannot keep room for SACKs in DATA chunks (%s: %s)", what,
                  strerror(-r));
    }
}

/* Flows that do not read their TCP end learn of its reset here (flow.h),
 * on the association's own timer: a stall can last while nothing moves. */
static void assoc_check_stalled(assoc_t *a)
{
    uint64_t now = uv_now(a->gw->loop);

    if (now - a->stalls_at < STALL_CHECK_MS)
        return;
    a->stalls_at = now;
    assoc_keep_bundle_room(a);
    for (unsigned sid = 1; a->flows && sid < a->nstreams; sid++)
        if (a->flows[sid])
            flow_check_stalled(a->flows[sid]);
}

/* Loop time t (0: never) moved on by `late`, but not past now. */
static uint64_t assoc_later(uint64_t t, uint64_t late, uint64_t now)
{
    return !t ? 0 : t + late < now ? t + late : now;
}

/* A warm tick WARM_LATE_MS late or more: this gateway did not run
 * meanwhile (stopped, or its loop held up), and that time is not the
 * peer's. What judges the peer starts again where it stood: the rekey's
 * bounds (assoc_rekey_stuck), and the silence after which a new
 * association under the peer's name replaces this one (gateway.c). So a
 * gateway running again first reads what the peer said meanwhile (why it
 * gave up, say): its timers run before its reads, and it ended the
 * association for a rekey it had not yet read the end of, the peer's
 * reason unread behind a full socket. */
static void assoc_warm_late(assoc_t *a, uint64_t now, uint64_t every)
{
    uint64_t late = a->warm_at && now - a->warm_at > every ? now - a->warm_at - every : 0;

    a->warm_at = now;
    if (late < WARM_LATE_MS)
        return;
    a->rekey_started = assoc_later(a->rekey_started, late, now);
    a->old_keys_since = assoc_later(a->old_keys_since, late, now);
    a->heard_at = assoc_later(a->heard_at, late, now);
    a->dry_at = assoc_later(a->dry_at, late, now);
}

/* The KEEP's SENDER_DRY measures a round trip only if no other can come
 * first: nothing is in flight (no event to come for earlier data) and
 * nothing waits to be read (no earlier event read late: the sample would
 * be about 0 and pin the least round trip there, pace_bound). */
static int assoc_quiet(assoc_t *a)
{
    return sock_unacked(a->fd) == 0 && sock_unread(a->fd) == 0;
}

/* The kernel halves an idle path's congestion window, and lowers its
 * slow-start threshold to match, each heartbeat interval (RFC 4960 7.2.1):
 * with the short intervals fast failover needs (125 ms for failover_ms =
 * 500) a second of quiet leaves 4 packets and linear growth, and a 1 MB
 * reply after a pause took twice as long as on a fresh association. A
 * one-byte KEEP every half interval keeps the primary path from counting
 * as idle: a few small packets a second, and a dead primary is then found
 * by a retransmission timeout, sooner than by heartbeats. The peer is asked
 * to acknowledge at once: a lone KEEP would otherwise wait out its SACK
 * delay, and the round trip measured on it would be that much too long. */
static void on_warm(uv_timer_t *t)
{
    assoc_t *a = t->data;
    wire_msg_t keep = {.type = WIRE_KEEP};

    assoc_warm_late(a, uv_now(a->gw->loop), uv_timer_get_repeat(t));
    assoc_rekey_check(a);
    assoc_check_stalled(a);
    path_keep(a);
    path_check_rtt(a);
    if (a->state != ASSOC_READY || assoc_queued(a))
        return;
    if (uv_now(a->gw->loop) - a->last_send < uv_timer_get_repeat(t))
        return;
    a->probe_at = assoc_quiet(a) ? uv_now(a->gw->loop) : 0;
    assoc_send_flagged(a, NULL, WIRE_CONTROL_SID, &keep, SOCK_SACK_NOW);
}

/* The warm timer, (re)started: its next tick is `every` from now. */
static void assoc_warm_start(assoc_t *a, uint64_t every)
{
    a->warm_at = uv_now(a->gw->loop);
    uv_timer_start(&a->warm, on_warm, every, every); /* tune: every >= 10 ms */
}

/* The responder opens flows only once the initiator holds READY: an OPEN
 * goes on its flow's own stream and would overtake a READY lost on stream
 * 0, which the initiator would take for a protocol error and close the
 * association. The initiator may open flows at once. */
static void assoc_allow_flows(assoc_t *a, const char *how)
{
    a->flows_ok = 1;
    if (!a->initiator)
        assoc_log(a, LOG_DEBUG, "flows may open: %s", how);
}

/* A SENDER_DRY event: with nothing unacknowledged left, READY included,
 * the initiator holds it (an event read late, from before READY, finds
 * READY still in flight and changes nothing). With nothing in flight now,
 * all that was sent is acknowledged; otherwise the event came after the
 * last read that found nothing waiting, so at least what was sent before
 * that read is. */
static void assoc_on_dry(assoc_t *a)
{
    int dry = sock_unacked(a->fd) == 0;

    a->dry_at = uv_now(a->gw->loop);
    a->dry_seq = dry ? a->sent_seq : a->empty_seq > a->dry_seq ? a->empty_seq : a->dry_seq;
    if (a->state == ASSOC_READY && !a->flows_ok && dry)
        assoc_allow_flows(a, "READY was acknowledged");
}

/* Called while the message that proved the key is being dispatched: the
 * read buffer it sits in may move (reasm_grow), so nothing after this looks
 * at that message again. */
static void assoc_ready(assoc_t *a)
{
    uint64_t every = a->gw->tune.hb_interval / 2;
    char paths[256];
    int r;

    a->proved = 1; /* what fails from here on is this gateway's, not the handshake's */
    snprintf(a->peer_name, sizeof(a->peer_name), "%s", a->hs.peer.name);
    if ((r = assoc_setup_streams(a)) < 0) {
        char why[96];

        snprintf(why, sizeof(why), "cannot set up the association's tables: %s", strerror(-r));
        assoc_close(a, WIRE_E_INTERNAL, why);
        return;
    }
    a->state = ASSOC_READY;
    a->since = a->ready_at = uv_now(a->gw->loop);
    a->flows_ok = a->initiator;
    uv_timer_stop(&a->timer);
    a->peer_window = a->hs.peer.flow_window;
    handshake_clear(&a->hs);
    a->last_send = a->rekeyed_at = uv_now(a->gw->loop);
    assoc_keep_bundle_room(a);
    assoc_warm_start(a, every);
    assoc_log(a, LOG_INFO, "up: peer proved the key; %s; %u streams; %s; paths %s",
              a->gw->cfg->encryption ? "encrypted (Noise_NNpsk0_25519_ChaChaPoly_SHA256, "
                                       "SCTP-AUTH HMAC-SHA-256)"
                                     : "NOT encrypted (encryption = off)",
              a->nstreams,
              a->msg_max == WIRE_DATA_MAX ? "I-DATA, messages up to 64 KiB"
                                          : "no I-DATA, messages up to 8 KiB",
              path_describe(a, paths, sizeof(paths)));
    gateway_on_assoc_ready(a->gw, a);
}

/* The handshake's keys go to the seal as soon as it has them. */
static int assoc_take_keys(assoc_t *a)
{
    int r;

    if (!a->hs.keys_ready || a->keyed)
        return 0;
    r = seal_init(&a->seal, a->initiator, &a->hs.keys, 0);
    sodium_memzero(&a->hs.keys, sizeof(a->hs.keys));
    if (r < 0) {
        assoc_close(a, WIRE_E_INTERNAL, strerror(-r));
        return r;
    }
    a->keyed = 1;
    return 0;
}

/* How long `busy` has lasted, from *since (set the first time it is seen). */
static uint64_t assoc_lasted(uint64_t *since, int busy, uint64_t now)
{
    if (!busy)
        *since = 0;
    else if (!*since)
        *since = now;
    return busy ? now - *since : 0;
}

/* Every step of a rekey, at either end, and the last messages under the
 * peer's old keys wait only for messages in flight, which an association
 * that is still up delivers within outage_ms. A peer that lets either wait
 * longer (broken, or holding the key and misusing it) would stop rekeys
 * and keep old keys for good: the association ends, saying which. */
static int assoc_rekey_stuck(assoc_t *a, uint64_t now)
{
    uint64_t bound = a->gw->cfg->outage_ms + REKEY_GRACE_MS, announced = 0, opened = 0;
    int old = seal_old_waits(&a->seal, &announced, &opened);
    char why[160];

    if (assoc_lasted(&a->rekey_started, a->seal.phase != SEAL_IDLE, now) > bound) {
        assoc_close(a, WIRE_E_PROTOCOL, "rekey: the peer did not complete it in time");
        return 1;
    }
    if (assoc_lasted(&a->old_keys_since, old, now) <= bound)
        return 0;
    snprintf(why, sizeof(why),
             "rekey: the peer announced %llu messages under its old keys, %llu came in %llu ms",
             (unsigned long long)announced, (unsigned long long)opened,
             (unsigned long long)(now - a->old_keys_since));
    assoc_close(a, WIRE_E_PROTOCOL, why);
    return 1;
}

/* Fresh keys every rekey_s, or sooner after SEAL_REKEY_BYTES: started by
 * the initiator from the warm timer, so at most a few hundred ms late; at
 * both ends the same timer holds the peer to assoc_rekey_stuck's bounds. */
static void assoc_rekey_check(assoc_t *a)
{
    wire_msg_t out;
    uint64_t now = uv_now(a->gw->loop);

    if (!a->keyed || !a->gw->cfg->encryption || a->state != ASSOC_READY ||
        assoc_rekey_stuck(a, now) || !a->initiator)
        return;
    if (now - a->rekeyed_at < a->gw->cfg->rekey_s * 1000ull && !seal_rekey_due(&a->seal))
        return;
    if (seal_rekey_start(&a->seal, &out)) {
        a->rekey_started = now;
        assoc_send_msg(a, &out);
    }
}

static void assoc_on_rekey(assoc_t *a, const wire_msg_t *m)
{
    wire_msg_t out;
    uint64_t before = a->seal.rekeys;
    int r = a->gw->cfg->encryption ? seal_on_control(&a->seal, m, &out) : -1;

    if (r < 0) {
        assoc_close(a, WIRE_E_PROTOCOL, "rekey: a REKEY or SWITCH out of turn, or a bad key");
        return;
    }
    if (r == 1)
        assoc_send_msg(a, &out);
    if (a->seal.rekeys != before) {
        a->rekeyed_at = uv_now(a->gw->loop);
        assoc_log(a, LOG_INFO, "fresh keys (rekey %llu)", (unsigned long long)a->seal.rekeys);
    }
}

static void assoc_on_control(assoc_t *a, const wire_msg_t *m)
{
    hs_out_t out;
    uint16_t code = 0;
    const char *why = NULL;
    char buf[WIRE_TEXT_MAX + 64];
    int r;

    if (a->state == ASSOC_HANDSHAKE) {
        r = handshake_input(&a->hs, m, &out, &code, &why);
        if (r >= 0 && assoc_take_keys(a) < 0)
            return;
        if (r == 1 && !a->initiator &&
            (a->name_refused = gateway_name_taken(a->gw, a, a->hs.peer.name, buf, sizeof(buf)))) {
            assoc_close(a, WIRE_E_MISMATCH, buf);
            return;
        }
        assoc_send_hs(a, &out);
        if (r == 1)
            assoc_ready(a);
        if (r >= 0)
            return;
        /* An ERROR says why the peer gave up (below); anything else out of
         * turn (a KEEP, a REKEY) ends the handshake now, not at its
         * deadline. */
        if (m->type != WIRE_ERROR) {
            assoc_close(a, code, why);
            return;
        }
    }
    if (m->type == WIRE_KEEP)
        return;
    if (m->type == WIRE_REKEY || m->type == WIRE_SWITCH) {
        assoc_on_rekey(a, m);
        return;
    }
    if (m->type == WIRE_ERROR) {
        code = m->u.reason.code ? m->u.reason.code : WIRE_E_PROTOCOL;
        snprintf(buf, sizeof(buf), "peer gave up: %s%s%s", wire_code_name(m->u.reason.code),
                 m->u.reason.text[0] ? ": " : "", m->u.reason.text);
        /* Stream 0 never waits in the inbox: what the peer sent before its
         * ERROR is handled first, as it was sent, so that a flow whose last
         * bytes and FIN are there finishes instead of being reset. */
        assoc_inbox_run(a, SIZE_MAX);
        /* A peer giving up with OK would be logged as a clean end. */
        assoc_teardown(a, code, buf, END_TOLD);
        return;
    }
    assoc_log(a, assoc_ignored_level(a), "unexpected %s on stream 0; ignored",
              wire_type_name(m->type));
}

/* ---- receiving ------------------------------------------------------ */

static void assoc_on_flow_msg(assoc_t *a, uint16_t sid, const wire_msg_t *m)
{
    flow_t *f;
    char why[128];

    if (a->state != ASSOC_READY && a->state != ASSOC_SHUTDOWN) {
        assoc_close(a, WIRE_E_PROTOCOL, "flow message before the handshake completed");
        return;
    }
    f = sid < a->nstreams ? a->flows[sid] : NULL;
    if (m->type == WIRE_OPEN && !f && sid < a->nstreams && !streams_is_ours(&a->streams, sid)) {
        flow_open_inbound(a, sid, m->u.service);
        return;
    }
    if (f && m->type != WIRE_OPEN) {
        flow_on_message(f, m);
        return;
    }
    /* The two ends disagree about this stream; carrying on could hand one
     * flow's bytes to another, so the association goes. */
    snprintf(why, sizeof(why), "protocol error: %s on stream %u %s", wire_type_name(m->type), sid,
             f ? "which carries a flow" : "which has no flow");
    assoc_close(a, WIRE_E_PROTOCOL, why);
}

/* A malformed message on a flow's stream costs that flow alone, unless the
 * ends may disagree about the stream: a RESULT too short to say whether it
 * ended the flow, or an OPEN on a stream that carries one. */
static void assoc_on_malformed(assoc_t *a, const sock_rcv_t *info, const uint8_t *buf, size_t len)
{
    char why[128];
    flow_t *f = info->sid && info->sid < a->nstreams && a->flows ? a->flows[info->sid] : NULL;
    int final = wire_ends_flow(info->ppid, buf, len, f ? f->opener : 1);

    snprintf(why, sizeof(why), "malformed message (ppid 0x%08x, %zu bytes) on stream %u",
             info->ppid, len, info->sid);
    if (f && (a->state == ASSOC_READY || a->state == ASSOC_SHUTDOWN) && final >= 0)
        flow_on_malformed(f, final, why);
    else
        assoc_close(a, WIRE_E_PROTOCOL, why);
}

/* What ended the association: the notification carries the causes of
 * the peer's ABORT, when it had any, and a cause code; the socket's error
 * (still unread here) tells a peer's ABORT without causes (ECONNRESET) and
 * an abort by this end's kernel (ECONNABORTED: the peer broke SCTP, say)
 * from a peer that went silent (ETIMEDOUT). */
static void assoc_on_lost(assoc_t *a, const struct sctp_assoc_change *ac)
{
    char why[128];
    unsigned cause = ntohs(ac->sac_error); /* as the ABORT chunk carried it */
    int err = sock_error(a->fd);

    /* A send that met the end first took the socket's error with it. */
    if (!err && a->dead)
        err = -a->dead;
    if (ac->sac_length > sizeof(*ac) && cause)
        snprintf(why, sizeof(why), "the peer aborted the association (cause %u, %s)", cause,
                 sock_cause_name(cause));
    else if (ac->sac_length > sizeof(*ac) || err == -ECONNRESET)
        snprintf(why, sizeof(why), "the peer aborted the association");
    else if (cause)
        snprintf(why, sizeof(why), "this end's kernel aborted the association (cause %u, %s)",
                 cause, sock_cause_name(cause));
    else if (err == -ECONNABORTED)
        snprintf(why, sizeof(why), "this end's kernel aborted the association");
    else
        snprintf(why, sizeof(why), "communication lost (peer unreachable)");
    assoc_teardown(a, WIRE_E_LOST, why, END_ABORT);
}

static void assoc_on_assoc_change(assoc_t *a, const struct sctp_assoc_change *ac)
{
    switch (ac->sac_state) {
    case SCTP_COMM_LOST:
        assoc_on_lost(a, ac);
        break;
    case SCTP_RESTART:
        assoc_teardown(a, WIRE_E_LOST, "peer restarted", END_ABORT);
        break;
    case SCTP_SHUTDOWN_COMP:
        assoc_teardown(a, WIRE_E_SHUTDOWN, "shut down", END_CLOSE);
        break;
    case SCTP_CANT_STR_ASSOC:
        assoc_dial_failed(a, sock_error(a->fd), "cannot start the association");
        break;
    default:
        break;
    }
}

/* An episode of the peer's is over: how many, over how long, as "the peer
 * VERB N WHAT in T ms". */
static void assoc_episode_end(assoc_t *a, episode_t *e, const char *verb, const char *what)
{
    uint64_t ms;
    unsigned long n;

    if (episode_end(e, e->last_ms, &ms, &n) && n > 1)
        assoc_log(a, LOG_INFO, "the peer %s %lu %s in %llu ms", verb, n, what,
                  (unsigned long long)ms);
}

static void assoc_peer_errors_end(assoc_t *a)
{
    assoc_episode_end(a, &a->peer_errors, "reported", "SCTP errors");
}

static void assoc_ignored_end(assoc_t *a)
{
    assoc_episode_end(a, &a->ignored, "sent", "messages out of turn (ignored)");
}

/* A peer that repeats a message out of turn (a keyed peer's bug, or in
 * clear a forger on a link) costs two lines, not one a message. */
int assoc_ignored_level(assoc_t *a)
{
    uint64_t now = uv_now(a->gw->loop);

    if (episode_quiet(&a->ignored, now, PEER_QUIET_MS))
        assoc_ignored_end(a);
    return episode_hit(&a->ignored, "", now) ? LOG_WARN : LOG_DEBUG;
}

/* An ERROR chunk from the peer's kernel: the first of an episode is a
 * warning, the rest debug lines and a count when it ends. Thousands of
 * them (a broken peer, or in clear a forger on a link) make two lines. */
static void assoc_on_peer_error(assoc_t *a, const struct sctp_remote_error *e)
{
    uint64_t now = uv_now(a->gw->loop);
    unsigned cause = ntohs(e->sre_error); /* as the ERROR chunk carried it */

    if (episode_quiet(&a->peer_errors, now, PEER_QUIET_MS))
        assoc_peer_errors_end(a);
    assoc_log(a, episode_hit(&a->peer_errors, "", now) ? LOG_WARN : LOG_DEBUG,
              "the peer reported an SCTP error: cause %u (%s)", cause, sock_cause_name(cause));
}

static void assoc_on_notification(assoc_t *a, const uint8_t *buf, size_t len)
{
    const union sctp_notification *n = (const void *)buf;

    if (len < sizeof(n->sn_header))
        return;
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        if (len >= sizeof(n->sn_assoc_change))
            assoc_on_assoc_change(a, &n->sn_assoc_change);
        break;
    case SCTP_PEER_ADDR_CHANGE:
        path_on_change(a, buf, len);
        break;
    case SCTP_REMOTE_ERROR:
        if (len >= sizeof(n->sn_remote_error))
            assoc_on_peer_error(a, &n->sn_remote_error);
        break;
    case SCTP_SHUTDOWN_EVENT:
        /* No new flow goes on it, and what the kernel no longer takes is
         * dropped (assoc_closing_refused) until the peer's end arrives. */
        assoc_log(a, LOG_INFO, "peer is shutting the association down");
        if (a->state == ASSOC_READY)
            assoc_shutdown(a);
        break;
    case SCTP_SENDER_DRY_EVENT:
        assoc_on_dry(a);
        /* A KEEP sent while idle has been acknowledged: a round trip. */
        if (a->probe_at) {
            uint32_t least = a->pace.rtt_ms;
            pace_rtt(&a->pace, uv_now(a->gw->loop), (uint32_t)(uv_now(a->gw->loop) - a->probe_at));
            if (a->pace.rtt_ms != least)
                assoc_log(a, LOG_DEBUG, "least round trip now %u ms", a->pace.rtt_ms);
        }
        a->probe_at = 0;
        break;
    default:
        break;
    }
}

/* Whether a message in clear is acceptable now: before the keys, an
 * ERROR during the handshake (a peer that could not open our HELLO has no
 * keys), or anything after READY with encryption = off. */
static int assoc_clear_ok(const assoc_t *a, uint32_t ppid)
{
    if (!a->keyed)
        return 1;
    if (a->state == ASSOC_HANDSHAKE)
        return ppid == wire_ppid(WIRE_ERROR);
    return !a->gw->cfg->encryption;
}

/* Opens a sealed message in place (or checks that a clear one may be in
 * clear). A message that fails to open ends the association: its flows
 * are reset, and the peer is told why. */
static int assoc_unseal(assoc_t *a, sock_rcv_t *info, uint8_t *buf, size_t *len)
{
    char why[192];
    wire_type_t type;
    seal_err_t e;

    if (!seal_is_sealed(info->ppid)) {
        if (assoc_clear_ok(a, info->ppid))
            return 0;
        snprintf(why, sizeof(why), "an unsealed message (ppid 0x%08x) on stream %u", info->ppid,
                 info->sid);
        assoc_close(a, WIRE_E_SEAL, why);
        return -1;
    }
    if (!a->keyed) {
        snprintf(why, sizeof(why), "a sealed message on stream %u before the handshake gave keys",
                 info->sid);
        assoc_close(a, WIRE_E_SEAL, why);
        return -1;
    }
    e = seal_open(&a->seal, info->sid, info->ppid, buf, *len, &type, len);
    if (e == SEAL_OK) {
        info->ppid = wire_ppid(type);
        return 0;
    }
    snprintf(why, sizeof(why), "a message on stream %u failed to open: %s", info->sid,
             seal_err_name(e));
    assoc_close(a, WIRE_E_SEAL, why);
    return -1;
}

static void assoc_dispatch(assoc_t *a, sock_rcv_t *info, uint8_t *buf, size_t len)
{
    wire_msg_t m, out;

    if (info->notification) {
        assoc_on_notification(a, buf, len);
        return;
    }
    a->heard = 1;
    a->heard_at = uv_now(a->gw->loop);
    /* Before the proof only stream 0 has a seal counter, so a flow message
     * would fail to open as "on a stream beyond the association's", which
     * misleads whoever reads the log: said for what it is, sealed or not. */
    if (a->state == ASSOC_HANDSHAKE && info->sid != WIRE_CONTROL_SID) {
        assoc_close(a, WIRE_E_PROTOCOL, "flow message before the handshake completed");
        return;
    }
    if (assoc_unseal(a, info, buf, &len) < 0)
        return;
    if (a->seal.offer_waits && seal_pending(&a->seal, &out) == 1)
        assoc_send_msg(a, &out);
    if (wire_decode(info->sid, info->ppid, buf, len, &m) < 0) {
        assoc_on_malformed(a, info, buf, len);
        return;
    }
    /* The initiator sends nothing between its proof and READY's arrival:
     * whatever else it sends shows that it holds READY. */
    if (a->state == ASSOC_READY && !a->flows_ok)
        assoc_allow_flows(a, "the peer spoke after READY");
    if (info->sid == WIRE_CONTROL_SID)
        assoc_on_control(a, &m);
    else
        assoc_on_flow_msg(a, info->sid, &m);
}

static const char *assoc_reasm_why(const assoc_t *a, int r, const sock_rcv_t *info, char *buf,
                                   size_t len)
{
    switch (r) {
    case -EMSGSIZE:
        snprintf(buf, len, "message on stream %u larger than %zu bytes%s", (unsigned)info->sid,
                 a->rx.cap - 1, a->state == ASSOC_READY ? "" : " (the key is not proven yet)");
        return buf;
    case -ENOBUFS:
        return "partly delivered messages exceed their bound";
    default:
        return "out of memory for partly delivered messages";
    }
}

/* Handles the inbox's messages, oldest first, until `budget` bytes of them
 * are spent. */
static void assoc_inbox_run(assoc_t *a, size_t budget)
{
    outmsg_t *m;

    while (budget && a->state != ASSOC_CLOSED && (m = inbox_pop(&a->inbox)) != NULL) {
        sock_rcv_t info = {.sid = m->sid, .ppid = m->ppid, .eor = 1};

        budget = m->len < budget ? budget - m->len : 0;
        a->inbox_turn += m->len;
        assoc_dispatch(a, &info, m->data, m->len);
        free(m);
    }
}

/* Once per loop turn while messages wait: a new turn's budget. */
static void on_inbox(uv_idle_t *h)
{
    assoc_t *a = h->data;

    a->inbox_turn = 0;
    assoc_inbox_run(a, INBOX_TURN_BYTES);
    if (a->state == ASSOC_CLOSED || inbox_empty(&a->inbox)) {
        a->inbox_turn = 0;
        uv_idle_stop(h);
    }
}

/* Whether a message waits in the inbox rather than being handled now: a
 * large sealed one on a flow's stream, or any behind its stream's (inbox.h).
 * The streams are counted from READY on. A message in clear costs about as
 * much to handle as to copy, and with encryption = off waiting here only
 * added to W5b's tail (p99 beside bulk 97-124 ms against 86-107). */
static int assoc_defers(const assoc_t *a, const sock_rcv_t *info, size_t len)
{
    if (info->notification || info->sid >= a->inbox.nstreams)
        return 0;
    if (inbox_waits(&a->inbox, info->sid))
        return 1;
    return len > INBOX_SMALL && info->sid != WIRE_CONTROL_SID && a->state == ASSOC_READY &&
           seal_is_sealed(info->ppid);
}

/* Whether a notification ends the association: what came before it is
 * handled first, as the peer sent it before it went. */
static int assoc_notice_ends(const sock_rcv_t *info, const uint8_t *buf, size_t len)
{
    const union sctp_notification *n = (const void *)buf;

    return info->notification && len >= sizeof(n->sn_header) &&
           n->sn_header.sn_type == SCTP_ASSOC_CHANGE;
}

/* A whole message read: handled now (returns its length) or queued in the
 * inbox (returns 0). */
static size_t assoc_take(assoc_t *a, sock_rcv_t *info, uint8_t *buf, size_t len)
{
    if (assoc_defers(a, info, len)) {
        a->heard = 1;
        a->heard_at = uv_now(a->gw->loop);
        if (inbox_push(&a->inbox, info, buf, len) < 0)
            assoc_close(a, WIRE_E_INTERNAL, "out of memory for messages read");
        return 0;
    }
    if (assoc_notice_ends(info, buf, len))
        assoc_inbox_run(a, SIZE_MAX);
    if (a->state != ASSOC_CLOSED)
        assoc_dispatch(a, info, buf, len);
    return len;
}

static void assoc_read_some(assoc_t *a)
{
    char why[128];
    sock_rcv_t info;
    uint8_t *at;
    size_t room, bytes = 0, handled = 0;
    ssize_t n;
    int r;

    for (int i = 0; i < READ_BUDGET && bytes < READ_BYTES && handled < READ_HANDLED &&
                    a->inbox.bytes < INBOX_MAX && a->state != ASSOC_CLOSED;
         i++) {
        at = reasm_room(&a->rx, &room);
        n = sock_recv(a->fd, at, room, &info);
        if (n == -EAGAIN) {
            /* While a message is partly read the kernel may park
             * notifications aside (its partial delivery): then nothing
             * proves none waits. */
            if (a->rx.held == 0)
                a->empty_seq = a->sent_seq;
            return;
        }
        if (n == 0) {
            assoc_inbox_run(a, SIZE_MAX); /* everything the peer sent before */
            if (a->state != ASSOC_CLOSED)
                assoc_teardown(a, WIRE_E_SHUTDOWN, "peer shut the association down", END_CLOSE);
            return;
        }
        if (n < 0) {
            assoc_inbox_run(a, SIZE_MAX);
            if (a->state != ASSOC_CLOSED)
                assoc_teardown(a, WIRE_E_LOST, strerror((int)-n), END_ABORT);
            return;
        }
        bytes += (size_t)n;
        r = reasm_add(&a->rx, (size_t)n, &info);
        if (r < 0) {
            /* Our own want of memory is no fault of the peer's. */
            assoc_close(a, r == -EMSGSIZE || r == -ENOBUFS ? WIRE_E_PROTOCOL : WIRE_E_INTERNAL,
                        assoc_reasm_why(a, r, &info, why, sizeof(why)));
            return;
        }
        if (r == 0 && !a->told_pieces) {
            a->told_pieces = 1;
            assoc_log(a, LOG_DEBUG, "the kernel delivers messages in pieces (stream %u)",
                      (unsigned)info.sid);
        }
        if (r == 1) {
            handled += assoc_take(a, &a->rx.first, a->rx.msg, a->rx.len);
            reasm_done(&a->rx);
        }
    }
}

/* Reads whole messages (pieces are joined: partial delivery) and takes
 * them, a bounded amount per callback (READ_BUDGET, READ_BYTES,
 * READ_HANDLED, INBOX_MAX), then hands on what this turn's budget allows
 * of the inbox. */
static void assoc_read(assoc_t *a)
{
    assoc_read_some(a);
    if (a->state == ASSOC_CLOSED || inbox_empty(&a->inbox))
        return;
    if (a->inbox_turn < INBOX_TURN_BYTES)
        assoc_inbox_run(a, INBOX_TURN_BYTES - a->inbox_turn);
    if (a->state != ASSOC_CLOSED && !inbox_empty(&a->inbox))
        uv_idle_start(&a->opener, on_inbox);
}

static void on_starved(uv_timer_t *t);

/* The socket has room. If it still refuses the first message, what is
 * short is the kernel's memory (SCTP's, net.sctp.sctp_mem, or the host's),
 * not the socket's buffer: the socket stays writable, so waiting for that
 * would spin the loop for as long as the shortage lasts. It is tried again
 * every ASSOC_STARVED_MS instead; said once per episode (one with no
 * refusal for a second ends). */
static void assoc_on_writable(assoc_t *a)
{
    uint64_t sent = a->sent_since, now = uv_now(a->gw->loop);

    a->kernel_full = 0;
    assoc_flush(a, 0);
    if (a->state == ASSOC_CLOSED)
        return;
    if (a->kernel_full && a->sent_since == sent) {
        if (!a->starved_at || now - a->starved_at > 1000)
            assoc_log(a, LOG_WARN,
                      "the kernel has no memory for SCTP sends (net.sctp.sctp_mem, or the "
                      "host's): trying again every %u ms",
                      ASSOC_STARVED_MS);
        a->starved_at = now;
        uv_timer_start(&a->starved, on_starved, ASSOC_STARVED_MS, 0);
        assoc_arm(a);
        return;
    }
    assoc_flush_turn(a);
}

static void on_starved(uv_timer_t *t)
{
    assoc_t *a = t->data;

    if (a->state != ASSOC_CLOSED)
        assoc_on_writable(a);
}

/* The socket reports an error (libuv says EBADF for POLLERR, whatever else
 * is ready, and stops the handle): a refused INIT, the peer's ABORT, the
 * association lost. Once it was up, what the peer sent before the end is
 * still queued ahead of the error, acknowledged to the peer: it goes to
 * its flows, and the notification after it says how the association
 * ended (assoc_notice_ends). The socket's own error only when nothing
 * says more. */
static void assoc_on_failed(assoc_t *a, int status)
{
    int r;

    for (int i = 0;
         i < FAILED_READS_MAX && a->state != ASSOC_CONNECTING && a->state != ASSOC_CLOSED; i++) {
        assoc_read_some(a);
        if (a->state != ASSOC_CLOSED)
            assoc_inbox_run(a, SIZE_MAX);
    }
    if (a->state == ASSOC_CLOSED)
        return;
    r = sock_error(a->fd);
    if (a->state == ASSOC_CONNECTING)
        assoc_dial_failed(a, r, r < 0 ? strerror(-r) : uv_strerror(status));
    else
        assoc_teardown(a, WIRE_E_LOST, r < 0 ? strerror(-r) : uv_strerror(status), END_ABORT);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    assoc_t *a = p->data;
    int r;

    if (status < 0) {
        assoc_on_failed(a, status);
        return;
    }
    if (a->state == ASSOC_CONNECTING) {
        if (!(events & UV_WRITABLE))
            return;
        if ((r = sock_error(a->fd)) < 0) {
            assoc_dial_failed(a, r, strerror(-r));
            return;
        }
        /* No more looks (assoc_dial_look): the deadline is the handshake's. */
        uv_timer_start(&a->timer, on_deadline, assoc_until(a, a->deadline), 0);
        assoc_established(a);
    }
    if ((events & UV_WRITABLE) && a->state != ASSOC_CLOSED)
        assoc_on_writable(a);
    if ((events & UV_READABLE) && a->state != ASSOC_CLOSED)
        assoc_read(a);
}

/* ---- life cycle ------------------------------------------------------ */

assoc_t *assoc_new(gateway_t *gw, int fd, int initiator)
{
    assoc_t *a = calloc(1, sizeof(*a));

    if (!a || reasm_init(&a->rx, HS_MSG_MAX, HS_MSG_MAX) < 0 ||
        uv_poll_init_socket(gw->loop, &a->poll, fd) < 0) {
        log_error(&gw->log, "assoc", "cannot set up an association: out of memory");
        if (a)
            reasm_free(&a->rx);
        free(a);
        close(fd);
        return NULL;
    }
    a->gw = gw;
    a->id = ++gw->next_assoc_id;
    a->fd = fd;
    a->initiator = initiator;
    a->state = initiator ? ASSOC_CONNECTING : ASSOC_HANDSHAKE;
    a->since = uv_now(gw->loop);
    msgq_init(&a->urgent);
    fairq_init(&a->fairq, WIRE_MSG_MAX);
    a->poll.data = a;
    a->handles = 1;
    uv_timer_init(gw->loop, &a->timer);
    a->timer.data = a;
    a->handles++;
    uv_timer_init(gw->loop, &a->reap);
    a->reap.data = a;
    a->handles++;
    uv_timer_init(gw->loop, &a->warm);
    a->warm.data = a;
    a->handles++;
    uv_timer_init(gw->loop, &a->starved);
    a->starved.data = a;
    a->handles++;
    uv_idle_init(gw->loop, &a->flusher);
    a->flusher.data = a;
    a->handles++;
    uv_idle_init(gw->loop, &a->opener);
    a->opener.data = a;
    a->handles++;
    inbox_init(&a->inbox);
    path_init(a);
    list_push(&gw->assocs, &a->node);
    gw->n_assocs++;
    if (!initiator)
        gw->n_unproven++; /* until gateway_on_assoc_ready or _gone */
    a->deadline = uv_now(gw->loop) + gw->tune.handshake_ms;
    uv_timer_start(&a->timer, on_deadline,
                   initiator && gw->tune.handshake_ms > ASSOC_DIAL_LOOK_MS ? ASSOC_DIAL_LOOK_MS
                                                                           : gw->tune.handshake_ms,
                   0);
    if (initiator)
        assoc_arm(a);
    else
        assoc_established(a);
    return a;
}

static void assoc_free_queue(assoc_t *a)
{
    outmsg_t *m;

    free(a->next);
    a->next = NULL;
    while ((m = msgq_pop(&a->urgent)) != NULL)
        free(m);
}

/* Whether some of f's own DATA or FIN never reached the peer: taken from
 * its queue but refused by a full socket or by the association ending,
 * or, unless the end is graceful (`unsure`), handed to the kernel after
 * the last point all was acknowledged. A WINDOW (urgent, with the flow's
 * sid) is not the endpoint's. */
static int assoc_flow_lost(const assoc_t *a, const flow_t *f, int unsure)
{
    if ((a->next && a->next_flow && a->next->sid == f->sid) || f->sent_seq == UINT64_MAX)
        return 1;
    return unsure && f->sent_seq > a->dry_seq;
}

/* Resets every flow on the association; returns how many were still open
 * (the others, ended already, waited only for the peer's last word). */
static size_t assoc_detach_flows(assoc_t *a, const char *why, int unsure)
{
    size_t count = 0;

    for (unsigned sid = 1; a->flows && sid < a->nstreams; sid++) {
        flow_t *f = a->flows[sid];
        if (!f)
            continue;
        a->flows[sid] = NULL;
        count += (size_t)flow_detach(f, assoc_flow_lost(a, f, unsure), why);
    }
    a->n_flows = a->n_ending = a->n_closed = 0;
    return count;
}

/* Our dial, not yet carrying flows: its end is a failed dial. */
static int assoc_dialing(const assoc_t *a)
{
    return a->initiator && (a->state == ASSOC_CONNECTING || a->state == ASSOC_HANDSHAKE);
}

/* Failed dials in a row are logged when gateway_dial_news says so, the
 * others at debug, as are the ends of unproven peers after the first of a
 * minute (gateway_unproven_level) and the refusals of a name in use after
 * the first of an episode. */
static log_level_t assoc_close_level(const assoc_t *a, uint16_t code, const char *why, char *streak,
                                     size_t len)
{
    const char *last = a->gw->dial_fail_why;

    unsigned n = a->gw->dial_failures + 1;
    log_level_t level = code == WIRE_OK || code == WIRE_E_SHUTDOWN ? LOG_INFO : LOG_WARN;

    streak[0] = '\0';
    if (a->name_refused)
        return a->name_refused == 1 ? LOG_WARN : LOG_DEBUG;
    /* One that proved the key and failed on our side (its tables) is no
     * outsider: its end is news. */
    if (a->state == ASSOC_HANDSHAKE && !a->initiator && !a->proved)
        return gateway_unproven_level(a->gw, level);
    if (!assoc_dialing(a))
        return level;
    /* A dial the gateway's own stop ends did not fail. */
    if (a->gw->state != GW_RUNNING)
        return LOG_INFO;
    if (n > 1)
        snprintf(streak, len, " (failed dial %u in a row)", n);
    /* A new reason is news, however long the streak: a peer refusing
     * where it timed out is down in another way. */
    if (code != a->gw->dial_fail_code || strncmp(why, last, sizeof(a->gw->dial_fail_why) - 1))
        return LOG_WARN;
    return gateway_dial_news(a->gw) ? LOG_WARN : LOG_DEBUG;
}

/* A socket whose last ERROR may still wait for room in the congestion
 * window is shut down for sending, not closed: the kernel sends SHUTDOWN
 * once the ERROR is acknowledged, and from then on the peer's kernel takes
 * no new message from its program. What the peer sent before is read and
 * dropped as it comes, until the association ends: a close() with a
 * message unread, even one landing just after the last read, would make
 * the kernel ABORT and throw the ERROR away (sock_close), and the peer
 * would see an abort with no reason. A peer that never completes the
 * shutdown (one that stops reading) is closed at ASSOC_TELL_LINGER_MS.
 * The association is gone from the gateway already. At most
 * ASSOC_CLOSERS_MAX wait at once, within the descriptors the gateway keeps
 * for itself: a flood of peers told off closes at once. */
typedef struct closer {
    uv_timer_t timer;
    int fd;
    uint64_t until;
    gateway_t *gw;
} closer_t;

static void on_closer_done(uv_handle_t *h)
{
    free(container_of((uv_timer_t *)h, closer_t, timer));
}

static void on_closer(uv_timer_t *t)
{
    closer_t *c = container_of(t, closer_t, timer);
    int ended = sock_drain(c->fd);

    if (!ended && uv_now(t->loop) < c->until)
        return;
    if (!ended)
        log_debug(&c->gw->log, "assoc", "a peer told why did not end the association in %d ms",
                  ASSOC_TELL_LINGER_MS);
    sock_close(c->fd);
    c->gw->n_closers--;
    uv_close((uv_handle_t *)t, on_closer_done);
}

static void assoc_close_later(gateway_t *gw, int fd)
{
    closer_t *c = gw->n_closers < ASSOC_CLOSERS_MAX ? malloc(sizeof(*c)) : NULL;

    shutdown(fd, SHUT_WR);
    if (!c) {
        sock_close(fd);
        return;
    }
    c->fd = fd;
    c->gw = gw;
    c->until = uv_now(gw->loop) + ASSOC_TELL_LINGER_MS;
    gw->n_closers++;
    uv_timer_init(gw->loop, &c->timer);
    uv_timer_start(&c->timer, on_closer, 0, ASSOC_TELL_DRAIN_MS);
}

/* The last word: the peer learns why, whatever the load. Under load the
 * socket may be full (a peer that stops reading fills it), and everything
 * queued goes with the association anyway, so the ERROR goes now, after
 * the message already taken and sealed (the peer opens a stream's
 * messages in order), with the send buffer raised to take both: the
 * kernel takes a message whenever the buffer has any room, and the
 * graceful close delivers it once the peer reads again. */
static void assoc_tell(assoc_t *a, uint16_t code, const char *reason)
{
    wire_msg_t err = {.type = WIRE_ERROR};

    err.u.reason.code = code;
    snprintf(err.u.reason.text, sizeof(err.u.reason.text), "%.255s", reason);
    a->telling = 1;
    assoc_send_msg(a, &err);
    (void)sock_set_sndbuf(a->fd, a->pace.sndbuf + TELL_ROOM + (a->next ? 2 * a->next->len : 0));
    a->kernel_full = 0;
    assoc_flush(a, 0);
}

static void assoc_teardown(assoc_t *a, uint16_t code, const char *why, assoc_end_t how)
{
    int was_ready = a->state == ASSOC_READY || a->state == ASSOC_SHUTDOWN;
    char reason[WIRE_TEXT_MAX + 64], streak[40];
    log_level_t level = assoc_close_level(a, code, why, streak, sizeof(streak));
    size_t flows;
    int told;

    if (a->state == ASSOC_CLOSED)
        return;
    /* A peer that never proved the key, unless this gateway is stopping:
     * the count status shows for wrong keys, floods and lost handshakes.
     * One refused for its name proved it, as did the responder whose
     * HELLO gave an initiator its keys. */
    if (a->gw->state == GW_RUNNING && ((a->state == ASSOC_HANDSHAKE && !a->proved &&
                                        !a->name_refused && !(a->initiator && a->keyed)) ||
                                       (a->state == ASSOC_CONNECTING && code == WIRE_E_AUTH)))
        a->gw->handshake_failures++;
    if (assoc_dialing(a) && a->gw->state == GW_RUNNING) {
        a->gw->dial_fail_code = code;
        snprintf(a->gw->dial_fail_why, sizeof(a->gw->dial_fail_why), "%s", why);
    }
    snprintf(reason, sizeof(reason), "%s", why);
    told = how == END_TELL && !a->dead && a->state != ASSOC_CONNECTING;
    if (told)
        assoc_tell(a, code, reason);
    a->state = ASSOC_CLOSED;
    assoc_peer_errors_end(a);
    assoc_ignored_end(a);
    flows = assoc_detach_flows(a, reason, how != END_CLOSE);
    assoc_log(a, level, "closed: %s; %zu flow%s reset%s", reason, flows, flows == 1 ? "" : "s",
              streak);
    assoc_free_queue(a);
    inbox_free(&a->inbox);
    uv_poll_stop(&a->poll);
    if (how == END_ABORT)
        sock_abort(a->fd);
    else if (told)
        assoc_close_later(a->gw, a->fd);
    else
        sock_close(a->fd);
    a->fd = -1;
    handshake_clear(&a->hs);
    seal_free(&a->seal);
    a->keyed = 0;
    list_remove(&a->node);
    a->gw->n_assocs--;
    uv_close((uv_handle_t *)&a->poll, on_handle_closed);
    uv_close((uv_handle_t *)&a->timer, on_handle_closed);
    uv_close((uv_handle_t *)&a->reap, on_handle_closed);
    uv_close((uv_handle_t *)&a->warm, on_handle_closed);
    uv_close((uv_handle_t *)&a->starved, on_handle_closed);
    uv_close((uv_handle_t *)&a->flusher, on_handle_closed);
    uv_close((uv_handle_t *)&a->opener, on_handle_closed);
    uv_close((uv_handle_t *)&a->paths.outage, on_handle_closed);
    gateway_on_assoc_gone(a->gw, a, was_ready);
}

void assoc_close(assoc_t *a, uint16_t code, const char *why)
{
    assoc_teardown(a, code, why, END_TELL);
}

void assoc_abort(assoc_t *a, uint16_t code, const char *why)
{
    assoc_teardown(a, code, why, END_ABORT);
}

void assoc_shutdown(assoc_t *a)
{
    if (a->state == ASSOC_CLOSED || a->state == ASSOC_SHUTDOWN)
        return;
    if (a->state != ASSOC_READY) {
        assoc_teardown(a, WIRE_E_SHUTDOWN, "gateway stopping", END_ABORT);
        return;
    }
    a->state = ASSOC_SHUTDOWN;
    a->since = uv_now(a->gw->loop);
    a->deadline = a->since + a->gw->tune.shutdown_ms;
    uv_timer_start(&a->timer, on_deadline, a->gw->tune.shutdown_ms, 0);
    assoc_flush(a, 0);
    assoc_flush_turn(a);
}

int assoc_retune(assoc_t *a, unsigned *limit_kept)
{
    uint64_t every = a->gw->tune.hb_interval / 2;
    const char *what = "";
    int r, kept;

    *limit_kept = 0;
    if (a->state == ASSOC_CLOSED || a->fd < 0)
        return 0;
    if ((r = sock_retune(a->fd, &a->gw->tune, &kept, &what)) < 0) {
        assoc_log(a, LOG_WARN, "cannot re-tune (%s: %s); it keeps its timers", what, strerror(-r));
        return r;
    }
    if (kept && (r = sock_max_retrans(a->fd)) > 0)
        *limit_kept = (unsigned)r;
    path_keep_reset(a); /* the kernel's intervals were set for every path */
    /* The warm-up keeps pace with the new heartbeat (tune: every >= 10 ms). */
    if (a->state == ASSOC_READY)
        assoc_warm_start(a, every);
    assoc_log(a, LOG_DEBUG, "re-tuned: rto %u..%u ms, heartbeat %u ms", a->gw->tune.rto_min,
              a->gw->tune.rto_max, a->gw->tune.hb_interval);
    return 0;
}

void assoc_set_primary(assoc_t *a, const addr_t *peer)
{
    char buf[ADDR_STRLEN];
    int r;

    if (a->state != ASSOC_READY && a->state != ASSOC_HANDSHAKE)
        return;
    if ((r = sock_set_primary(a->fd, peer)) < 0)
        assoc_log(a, LOG_WARN, "cannot set the primary path to %s: %s",
                  addr_format(peer, buf, sizeof(buf)), strerror(-r));
    else
        assoc_log(a, LOG_INFO, "primary path now %s", addr_format(peer, buf, sizeof(buf)));
}

void assoc_stats_read(assoc_t *a)
{
    uint64_t max_rto = a->stats.max_rto_ms;

    if (a->fd < 0 || a->state == ASSOC_CONNECTING ||
        sock_assoc_stats(a->fd, a->gw->tick_hz, &a->stats) < 0)
        return;
    if (a->stats.max_rto_ms < max_rto)
        a->stats.max_rto_ms = max_rto;
}
