/* Stream allocation for one association: each end opens flows only on its
 * own half of the streams (the connecting end on odd numbers, the listening
 * end on even ones, stream 0 being control), so both can open flows at once
 * without ever picking the same stream. Freed streams go to the back of a
 * FIFO so a stream rests as long as possible before it carries a new flow. */
#ifndef SCTPGW_STREAMS_H
#define SCTPGW_STREAMS_H

#include <stdint.h>

typedef struct streams {
    uint16_t *ring;    /* free stream numbers, FIFO */
    unsigned cap;      /* slots in ring = streams of our half */
    unsigned head;     /* next to hand out */
    unsigned count;    /* free streams in ring */
    unsigned nstreams; /* negotiated streams: usable sids are 1..nstreams-1 */
    int odd;           /* 1: our half is the odd sids */
    uint8_t *used;     /* per sid of our half: 1 while allocated */
} streams_t;

/* Sets up our half of `nstreams` negotiated streams (2..65535), at most
 * `limit` of them. Returns 0 or -ENOMEM / -EINVAL. */
int streams_init(streams_t *s, unsigned nstreams, int odd, unsigned limit);
void streams_free_all(streams_t *s);

/* Hands out a free stream of our half, or -ENOSPC. */
int streams_alloc(streams_t *s);

/* Gives a stream back; -EINVAL if it is not ours or not allocated. */
int streams_release(streams_t *s, uint16_t sid);

/* Whether sid belongs to our half (so the peer may not OPEN on it). */
int streams_is_ours(const streams_t *s, uint16_t sid);

/* Free streams left. */
unsigned streams_available(const streams_t *s);

#endif
