/* Messages waiting to be handled (see inbox.h). */
#include "inbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void inbox_init(inbox_t *b)
{
    memset(b, 0, sizeof(*b));
    msgq_init(&b->q);
}

int inbox_streams(inbox_t *b, unsigned n)
{
    uint32_t *w;

    if (n <= b->nstreams)
        return 0;
    if (!(w = realloc(b->waiting, n * sizeof(*w))))
        return -ENOMEM;
    memset(w + b->nstreams, 0, (n - b->nstreams) * sizeof(*w));
    b->waiting = w;
    b->nstreams = n;
    return 0;
}

int inbox_waits(const inbox_t *b, uint16_t sid)
{
    return sid < b->nstreams && b->waiting[sid] > 0;
}

int inbox_empty(const inbox_t *b)
{
    return b->q.head == NULL;
}

int inbox_push(inbox_t *b, const sock_rcv_t *info, const uint8_t *data, size_t len)
{
    outmsg_t *m;

    if (info->sid >= b->nstreams || len > UINT32_MAX || !(m = calloc(1, sizeof(*m) + len)))
        return -ENOMEM;
    m->sid = info->sid;
    m->ppid = info->ppid;
    m->len = (uint32_t)len;
    memcpy(m->data, data, len);
    msgq_push(&b->q, m);
    b->bytes += sizeof(*m) + len;
    b->waiting[m->sid]++;
    return 0;
}

outmsg_t *inbox_pop(inbox_t *b)
{
    outmsg_t *m = msgq_pop(&b->q);

    if (m) {
        b->bytes -= sizeof(*m) + m->len;
        b->waiting[m->sid]--;
    }
    return m;
}

void inbox_free(inbox_t *b)
{
    outmsg_t *m;

    while ((m = inbox_pop(b)) != NULL)
        free(m);
    free(b->waiting);
    inbox_init(b);
}
