/* Messages waiting to be handled (see inbox.h). */
#include "inbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void inbox_init(inbox_t *b)
{
    memset(b, 0, sizeof(*b));
    b->tail = &b->head;
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

int inbox_push(inbox_t *b, const sock_rcv_t *info, const uint8_t *data, size_t len)
{
    inmsg_t *m;

    if (info->sid >= b->nstreams || !(m = malloc(sizeof(*m) + len)))
        return -ENOMEM;
    m->next = NULL;
    m->info = *info;
    m->len = len;
    memcpy(m->data, data, len);
    *b->tail = m;
    b->tail = &m->next;
    b->bytes += sizeof(*m) + len;
    b->waiting[info->sid]++;
    return 0;
}

inmsg_t *inbox_pop(inbox_t *b)
{
    inmsg_t *m = b->head;

    if (!m)
        return NULL;
    if (!(b->head = m->next))
        b->tail = &b->head;
    b->bytes -= sizeof(*m) + m->len;
    b->waiting[m->info.sid]--;
    m->next = NULL;
    return m;
}

void inbox_free(inbox_t *b)
{
    inmsg_t *m;

    while ((m = inbox_pop(b)) != NULL)
        free(m);
    free(b->waiting);
    inbox_init(b);
}
