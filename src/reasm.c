/* Message reassembly (see reasm.h). */
#include "reasm.h"

#include <errno.h>
#include <stdlib.h>

int reasm_init(reasm_t *r, size_t max)
{
    r->cap = max + 1;
    r->len = 0;
    r->buf = malloc(r->cap);
    return r->buf ? 0 : -ENOMEM;
}

void reasm_free(reasm_t *r)
{
    free(r->buf);
    r->buf = NULL;
}

uint8_t *reasm_room(const reasm_t *r, size_t *room)
{
    *room = r->cap - r->len;
    return r->buf + r->len;
}

int reasm_add(reasm_t *r, size_t n, const sock_rcv_t *info)
{
    if (r->len == 0)
        r->first = *info;
    else if (info->sid != r->first.sid || info->notification != r->first.notification)
        return -EPROTO;
    r->len += n;
    /* A full buffer means the message is longer than any we accept: the
     * extra byte of cap tells this from an exact fit. */
    if (r->len >= r->cap)
        return -EMSGSIZE;
    return info->eor ? 1 : 0;
}

void reasm_done(reasm_t *r)
{
    r->len = 0;
}
