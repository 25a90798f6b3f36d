/* Sizing the kernel's share of an association (see pace.h). */
#include "pace.h"

/* A few of the messages flows send now, fewer while they contend, and
 * never less than the kernel needs to take the largest (pace.h). */
static unsigned pace_floor(const pace_t *p)
{
    unsigned need = (p->msg_max + PACE_MSG_OVERHEAD + 1) / 2;
    unsigned msgs = p->contended ? PACE_FLOOR_CONTENDED : PACE_FLOOR_MSGS;

    return msgs * p->msg > need ? msgs * p->msg : need;
}

void pace_init(pace_t *p, unsigned high, unsigned msg_min, unsigned msg_max)
{
    p->msg_min = msg_min < msg_max ? msg_min : msg_max;
    p->msg_max = msg_max;
    p->msg = msg_max;
    p->contended = 0;
    p->low = pace_floor(p);
    p->high = high > p->low ? high : p->low;
    p->sndbuf = p->low;
    p->rate = 0;
    p->rtt_ms = 0;
    p->rtt_at = 0;
    p->rwnd_max = 0;
}

void pace_rtt(pace_t *p, uint64_t now_ms, uint32_t rtt_ms)
{
    if (rtt_ms == 0)
        rtt_ms = 1; /* within the loop clock's millisecond */
    if (!p->rtt_ms || rtt_ms <= p->rtt_ms || now_ms - p->rtt_at > PACE_RTT_KEEP_MS) {
        p->rtt_ms = rtt_ms;
        p->rtt_at = now_ms;
    }
}

/* Twice the delivery rate over the round trip, less what is in flight or
 * held by the peer. */
static uint64_t pace_bound(const pace_t *p, uint32_t rwnd)
{
    uint64_t held = p->rwnd_max > rwnd ? p->rwnd_max - rwnd : 0;
    uint64_t bdp = 2 * p->rate * (p->rtt_ms + PACE_SLACK_MS) / 1000;

    return bdp > held ? bdp - held : 0;
}

/* The flows' message size for the next tick (pace.h). */
static unsigned pace_msg(const pace_t *p, const pace_tick_t *t)
{
    uint64_t m = p->msg + p->msg / 4;

    if (t->contended && p->rate)
        m = p->rate * PACE_MSG_MS / 1000;
    if (m < p->msg_min)
        m = p->msg_min;
    return m < p->msg_max ? (unsigned)m : p->msg_max;
}

unsigned pace_tick(pace_t *p, const pace_tick_t *t)
{
    uint64_t want = p->sndbuf;
    uint64_t sample = t->elapsed_ms ? t->sent * 1000 / t->elapsed_ms : 0;

    p->rate = sample > p->rate - p->rate / 8 ? sample : p->rate - p->rate / 8;
    if (t->rwnd > p->rwnd_max)
        p->rwnd_max = t->rwnd;
    p->msg = pace_msg(p, t);
    p->contended = t->contended;
    p->low = pace_floor(p);
    if (t->hit)
        want += want / 4;
    if (p->rtt_ms && p->rate) {
        uint64_t bound = pace_bound(p, t->rwnd);
        if (want > bound)
            want = bound;
    }
    if (want < p->low)
        want = p->low;
    if (want > p->high)
        want = p->high;
    p->sndbuf = (unsigned)want;
    return p->sndbuf;
}
