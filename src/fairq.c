/* Deficit round robin over flow queues (see fairq.h). */
#include "fairq.h"

#include <stdlib.h>

void fairq_init(fairq_t *s, uint32_t quantum)
{
    list_init(&s->fresh);
    list_init(&s->busy);
    s->quantum = quantum;
    s->bytes = 0;
    s->active = 0;
}

void msgq_init(msgq_t *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->bytes = 0;
    q->credit = 0;
    q->fresh = 0;
    list_init(&q->node);
}

void msgq_push(msgq_t *q, outmsg_t *m)
{
    m->next = NULL;
    *q->tail = m;
    q->tail = &m->next;
    q->bytes += m->len;
}

outmsg_t *msgq_pop(msgq_t *q)
{
    outmsg_t *m = q->head;

    if (!m)
        return NULL;
    q->head = m->next;
    if (!q->head)
        q->tail = &q->head;
    q->bytes -= m->len;
    m->next = NULL;
    return m;
}

void fairq_push(fairq_t *s, msgq_t *q, outmsg_t *m)
{
    if (list_empty(&q->node)) {
        q->credit = s->quantum;
        q->fresh = 1;
        list_push(&s->fresh, &q->node);
    }
    if (!q->head)
        s->active++;
    msgq_push(q, m);
    s->bytes += m->len;
}

/* A queue out of credit gets the next round's quantum and goes to the back
 * of the busy list; an emptied one found there has gone idle and leaves.
 * Every pass finds a message to send, moves a queue out, or adds a quantum
 * to a queue's credit, so it ends: a message queued before the quantum
 * shrank goes once its queue has saved up for it over a few rounds. */
msgq_t *fairq_next(fairq_t *s)
{
    for (;;) {
        list_t *l = !list_empty(&s->fresh) ? &s->fresh : &s->busy;
        msgq_t *q;

        if (list_empty(l))
            return NULL;
        q = container_of(l->next, msgq_t, node);
        if (!q->head) {
            list_remove(&q->node);
            q->credit = 0;
            continue;
        }
        if (q->head->len <= q->credit)
            return q;
        q->credit += s->quantum;
        q->fresh = 0;
        list_remove(&q->node);
        list_push(&s->busy, &q->node);
    }
}

msgq_t *fairq_fresh(const fairq_t *s)
{
    msgq_t *q;

    if (list_empty(&s->fresh))
        return NULL;
    q = container_of(s->fresh.next, msgq_t, node);
    return q->head && q->head->len <= q->credit ? q : NULL;
}

/* A fresh queue that empties goes to the back of the busy list rather than
 * out: a bulk flow that holds one message at a time empties on every send,
 * and would otherwise come back fresh each time and keep a flow with a few
 * messages waiting in the busy list for as long as it runs (fq_codel does
 * the same with its new flows). */
outmsg_t *fairq_pop(fairq_t *s, msgq_t *q)
{
    outmsg_t *m = msgq_pop(q);

    if (!m)
        return NULL;
    s->bytes -= m->len;
    q->credit = m->len < q->credit ? q->credit - m->len : 0;
    if (!q->head)
        s->active--;
    if (!q->head && q->fresh) {
        q->fresh = 0;
        list_remove(&q->node);
        list_push(&s->busy, &q->node);
    }
    return m;
}

/* Takes q out of the rotation: what it queues next goes fresh. */
static void fairq_unschedule(msgq_t *q)
{
    q->credit = 0;
    q->fresh = 0;
    list_remove(&q->node);
}

void fairq_drop(fairq_t *s, msgq_t *q)
{
    outmsg_t *m;

    if (q->head)
        s->active--;
    while ((m = msgq_pop(q)) != NULL) {
        s->bytes -= m->len;
        free(m);
    }
    fairq_unschedule(q);
}

size_t fairq_discard(fairq_t *s, msgq_t *q, uint32_t ppid)
{
    outmsg_t **at = &q->head, *m;
    size_t freed = 0;
    int had = q->head != NULL;

    q->tail = &q->head;
    while ((m = *at) != NULL) {
        if (m->ppid != ppid) {
            q->tail = &m->next;
            at = &m->next;
            continue;
        }
        *at = m->next;
        freed += m->len;
        free(m);
    }
    q->bytes -= freed;
    s->bytes -= freed;
    if (had && !q->head)
        s->active--;
    if (!q->head)
        fairq_unschedule(q);
    return freed;
}
