/* Message reassembly (see reasm.h). */
#include "reasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int reasm_init(reasm_t *r, size_t max, size_t held_max)
{
    memset(r, 0, sizeof(*r));
    r->cap = max + 1;
    r->held_max = held_max;
    r->buf = malloc(r->cap);
    return r->buf ? 0 : -ENOMEM;
}

void reasm_free(reasm_t *r)
{
    for (size_t i = 0; i < r->nparts; i++)
        free(r->parts[i].buf);
    free(r->parts);
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

int reasm_grow(reasm_t *r, size_t max, size_t held_max)
{
    uint8_t *b;

    if (max + 1 > r->cap) {
        if (!(b = realloc(r->buf, max + 1)))
            return -ENOMEM;
        r->buf = b;
        r->cap = max + 1;
    }
    if (held_max > r->held_max)
        r->held_max = held_max;
    return 0;
}

uint8_t *reasm_room(const reasm_t *r, size_t *room)
{
    *room = r->cap;
    return r->buf;
}

/* Notifications and each stream's messages are gathered apart. */
static int same_source(const sock_rcv_t *a, const sock_rcv_t *b)
{
    return a->sid == b->sid && a->notification == b->notification;
}

static reasm_part_t *part_find(reasm_t *r, const sock_rcv_t *info)
{
    for (size_t i = 0; i < r->nparts; i++)
        if (same_source(&r->parts[i].first, info))
            return &r->parts[i];
    return NULL;
}

static reasm_part_t *part_new(reasm_t *r, const sock_rcv_t *info)
{
    if (r->nparts == r->parts_cap) {
        size_t ncap = r->parts_cap ? r->parts_cap * 2 : 4;
        reasm_part_t *p = realloc(r->parts, ncap * sizeof(*p));

        if (!p)
            return NULL;
        r->parts = p;
        r->parts_cap = ncap;
    }
    r->parts[r->nparts] = (reasm_part_t){.first = *info};
    return &r->parts[r->nparts++];
}

/* Appends n bytes from the read buffer to p, growing its buffer by halves. */
static int part_append(reasm_t *r, reasm_part_t *p, size_t n)
{
    size_t need = p->len + n;

    /* A full cap means the message is longer than any we accept: the extra
     * byte of cap tells this from an exact fit. */
    if (need >= r->cap)
        return -EMSGSIZE;
    if (r->held + n > r->held_max)
        return -ENOBUFS;
    if (need > p->cap) {
        size_t ncap = p->cap + p->cap / 2;
        uint8_t *b;

        ncap = ncap < need ? need : ncap > r->cap ? r->cap : ncap;
        if (!(b = realloc(p->buf, ncap)))
            return -ENOMEM;
        p->buf = b;
        p->cap = ncap;
    }
    memcpy(p->buf + p->len, r->buf, n);
    p->len = need;
    r->held += n;
    return 0;
}

int reasm_add(reasm_t *r, size_t n, const sock_rcv_t *info)
{
    reasm_part_t *p = part_find(r, info);
    int e;

    if (!p) {
        if (n >= r->cap)
            return -EMSGSIZE;
        if (info->eor) {
            r->msg = r->buf;
            r->len = n;
            r->first = *info;
            r->done_part = 0;
            return 1;
        }
        if (!(p = part_new(r, info)))
            return -ENOMEM;
    }
    if ((e = part_append(r, p, n)) < 0)
        return e;
    if (!info->eor)
        return 0;
    r->msg = p->buf;
    r->len = p->len;
    r->first = p->first;
    r->done_part = (size_t)(p - r->parts) + 1;
    return 1;
}

void reasm_done(reasm_t *r)
{
    if (r->done_part) {
        reasm_part_t *p = &r->parts[r->done_part - 1];

        r->held -= p->len;
        free(p->buf);
        *p = r->parts[--r->nparts];
    }
    r->msg = NULL;
    r->len = 0;
    r->done_part = 0;
}
