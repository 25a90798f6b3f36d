/* Stream allocation (see streams.h). */
#include "streams.h"

#include <errno.h>
#include <stdlib.h>

/* Our half as a dense index: odd half 1,3,5.. -> 0,1,2..; even 2,4,.. -> 0,1,.. */
static unsigned sid_index(const streams_t *s, uint16_t sid)
{
    return s->odd ? (sid - 1u) / 2u : sid / 2u - 1u;
}

static uint16_t index_sid(const streams_t *s, unsigned i)
{
    return (uint16_t)(s->odd ? 2u * i + 1u : 2u * i + 2u);
}

int streams_init(streams_t *s, unsigned nstreams, int odd, unsigned limit)
{
    unsigned half;

    s->ring = NULL;
    s->used = NULL;
    if (nstreams < 2 || nstreams > 65535)
        return -EINVAL;
    s->odd = odd;
    s->nstreams = nstreams;
    /* sids 1..nstreams-1: odd ones are ceil((n-1)/2), even ones floor. */
    half = odd ? nstreams / 2u : (nstreams - 1u) / 2u;
    s->cap = half < limit ? half : limit;
    s->head = 0;
    s->count = s->cap;
    if (s->cap == 0)
        return 0;
    s->ring = malloc(s->cap * sizeof(*s->ring));
    s->used = calloc(half, 1);
    if (!s->ring || !s->used) {
        streams_free_all(s);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < s->cap; i++)
        s->ring[i] = index_sid(s, i);
    return 0;
}

void streams_free_all(streams_t *s)
{
    free(s->ring);
    free(s->used);
    s->ring = NULL;
    s->used = NULL;
    s->cap = s->count = 0;
}

int streams_alloc(streams_t *s)
{
    uint16_t sid;

    if (s->count == 0)
        return -ENOSPC;
    sid = s->ring[s->head];
    s->head = (s->head + 1) % s->cap;
    s->count--;
    s->used[sid_index(s, sid)] = 1;
    return sid;
}

int streams_is_ours(const streams_t *s, uint16_t sid)
{
    return sid != 0 && sid < s->nstreams && (sid & 1u) == (s->odd ? 1u : 0u);
}

int streams_release(streams_t *s, uint16_t sid)
{
    unsigned i;

    if (!streams_is_ours(s, sid) || !s->used)
        return -EINVAL;
    i = sid_index(s, sid);
    if (!s->used[i])
        return -EINVAL;
    s->used[i] = 0;
    s->ring[(s->head + s->count) % s->cap] = sid;
    s->count++;
    return 0;
}

unsigned streams_available(const streams_t *s)
{
    return s->count;
}
