/* How much of an association's traffic the kernel may hold: the send
 * buffer's size, from what the socket reports. Pure arithmetic, so it is
 * unit-tested alone; assoc.c feeds it and applies SO_SNDBUF.
 *
 * Every byte in the socket, unsent or in flight, and every byte the peer
 * has received but not yet read, is a byte a quiet flow's next message
 * waits behind: they leave in the order they came. The flows' own queues,
 * served fairly, are where waiting should happen. So:
 *   - the buffer grows (+1/4 a tick) while the socket was full and the
 *     kernel had at most a message unsent: the buffer held sending back;
 *   - it shrinks (-1/8) while more than four messages wait unsent: the
 *     congestion or receive window is the limit, the rest only waits;
 *   - it never passes twice what the association delivered at its best
 *     recently over the least round trip seen plus PACE_SLACK_MS (a
 *     bandwidth-delay product with room to grow), less what the peer holds
 *     unread: on a lossless path the congestion window grows without end,
 *     and without this bound the queue moves into the network and the
 *     peer's socket. With no round trip measured yet there is no bound. */
#ifndef SCTPGW_PACE_H
#define SCTPGW_PACE_H

#include <stdint.h>

#define PACE_SLACK_MS    15u    /* loop turns and SACKs of a busy host, on top of the round trip */
#define PACE_RTT_KEEP_MS 10000u /* a least round trip older than this gives way */

typedef struct pace {
    unsigned low, high; /* bounds of the buffer, bytes */
    unsigned msg_max;   /* the association's largest message */
    unsigned sndbuf;    /* the buffer as last decided */
    uint64_t rate;      /* bytes per second handed over, at best recently */
    uint32_t rtt_ms;    /* least round trip seen; 0 until measured */
    uint64_t rtt_at;    /* loop time it was taken */
    uint32_t rwnd_max;  /* largest receive window the peer advertised */
} pace_t;

/* What one tick saw. */
typedef struct pace_tick {
    uint64_t elapsed_ms; /* since the previous tick */
    uint64_t sent;       /* bytes handed to the kernel since then */
    unsigned pending;    /* bytes waiting unsent in the kernel */
    uint32_t rwnd;       /* the peer's receive window now */
    int hit;             /* the socket refused a message since then */
} pace_tick_t;

void pace_init(pace_t *p, unsigned low, unsigned high, unsigned msg_max);

/* A round-trip sample taken at loop time now_ms. */
void pace_rtt(pace_t *p, uint64_t now_ms, uint32_t rtt_ms);

/* Returns the buffer's new size (also kept in p->sndbuf). */
unsigned pace_tick(pace_t *p, const pace_tick_t *t);

#endif
