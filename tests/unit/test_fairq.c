/* The flow scheduler: order within a flow, an idle flow overtaking busy
 * ones, even shares between busy flows, and dropping a flow's queue, or
 * its data alone. */
#include "fairq.h"
#include "check.h"

#include <stdlib.h>

#define QUANTUM 1000

static outmsg_t *msg(uint16_t sid, uint32_t len)
{
    outmsg_t *m = calloc(1, sizeof(*m) + len);

    m->sid = sid;
    m->len = len;
    return m;
}

/* Sends the next message as a full socket would after a refusal: it must
 * still be first. Returns its stream, or 0 when nothing is queued. */
static uint16_t send_next(fairq_t *s)
{
    msgq_t *q = fairq_next(s);
    outmsg_t *m;
    uint16_t sid;

    if (!q)
        return 0;
    CHECK(fairq_next(s) == q);
    m = fairq_pop(s, q);
    sid = m->sid;
    free(m);
    return sid;
}

/* Sends until `total` bytes went, adding stream 1's to *one and the rest
 * to *other. */
static void send_shares(fairq_t *s, size_t total, size_t *one, size_t *other)
{
    while (*one + *other < total) {
        outmsg_t *m = fairq_pop(s, fairq_next(s));

        *(m->sid == 1 ? one : other) += m->len;
        free(m);
    }
}

static void test_order_within_a_flow(void)
{
    fairq_t s;
    msgq_t q;

    fairq_init(&s, QUANTUM);
    msgq_init(&q);
    for (uint16_t i = 1; i <= 5; i++)
        fairq_push(&s, &q, msg(i, 600));
    CHECK(s.bytes == 3000 && q.bytes == 3000);
    for (uint16_t i = 1; i <= 5; i++)
        CHECK(send_next(&s) == i);
    CHECK(send_next(&s) == 0);
    CHECK(s.bytes == 0 && q.bytes == 0);
    CHECK(list_empty(&q.node));
}

/* Two bulk flows have many messages queued; a third flow's one small
 * message goes out next, not after a round of theirs. */
static void test_idle_flow_goes_first(void)
{
    fairq_t s;
    msgq_t bulk1, bulk2, quiet;

    fairq_init(&s, QUANTUM);
    msgq_init(&bulk1);
    msgq_init(&bulk2);
    msgq_init(&quiet);
    for (int i = 0; i < 10; i++) {
        fairq_push(&s, &bulk1, msg(1, QUANTUM));
        fairq_push(&s, &bulk2, msg(2, QUANTUM));
    }
    for (int i = 0; i < 4; i++)
        send_next(&s);
    fairq_push(&s, &quiet, msg(3, 100));
    CHECK(send_next(&s) == 3);
    /* again after it went idle */
    send_next(&s);
    fairq_push(&s, &quiet, msg(3, 100));
    CHECK(send_next(&s) == 3);
    fairq_drop(&s, &bulk1);
    fairq_drop(&s, &bulk2);
    CHECK(s.bytes == 0);
    CHECK(fairq_next(&s) == NULL);
}

/* A flow that stays busy loses its head start after one quantum. */
/* fairq_fresh names the queue fairq_next would serve first when it is a
 * fresh one, and changes nothing. */
static void test_fresh_peek(void)
{
    fairq_t s;
    msgq_t bulk, quiet;

    fairq_init(&s, QUANTUM);
    msgq_init(&bulk);
    msgq_init(&quiet);
    CHECK(fairq_fresh(&s) == NULL);
    fairq_push(&s, &bulk, msg(1, 900));
    fairq_push(&s, &bulk, msg(1, 900));
    CHECK(fairq_fresh(&s) == &bulk);
    CHECK(send_next(&s) == 1); /* its credit no longer covers the second */
    CHECK(fairq_fresh(&s) == NULL && fairq_fresh(&s) == NULL);
    CHECK(bulk.fresh); /* looking moved nothing */
    CHECK(fairq_next(&s) == &bulk && !bulk.fresh && fairq_fresh(&s) == NULL);
    fairq_push(&s, &quiet, msg(2, 100));
    CHECK(fairq_fresh(&s) == &quiet);
    CHECK(send_next(&s) == 2); /* and fairq_next agrees */
    CHECK(fairq_fresh(&s) == NULL);
    CHECK(send_next(&s) == 1 && send_next(&s) == 0);
    /* A fresh queue whose first message is beyond one quantum is not ready. */
    fairq_push(&s, &quiet, msg(2, QUANTUM + 1));
    CHECK(fairq_fresh(&s) == NULL);
    fairq_drop(&s, &quiet);
    fairq_drop(&s, &bulk);
}

static void test_fresh_flow_gets_one_quantum(void)
{
    fairq_t s;
    msgq_t old, burst;
    int from_burst = 0;

    fairq_init(&s, QUANTUM);
    msgq_init(&old);
    msgq_init(&burst);
    for (int i = 0; i < 8; i++)
        fairq_push(&s, &old, msg(1, QUANTUM));
    send_next(&s); /* old is now busy */
    for (int i = 0; i < 8; i++)
        fairq_push(&s, &burst, msg(2, 500));
    /* burst's first quantum (2 messages) first, then the two alternate */
    CHECK(send_next(&s) == 2);
    CHECK(send_next(&s) == 2);
    for (int i = 0; i < 4; i++)
        from_burst += send_next(&s) == 2;
    CHECK(from_burst == 2);
    fairq_drop(&s, &old);
    fairq_drop(&s, &burst);
}

/* Bulk flows that hold one message at a time (they read again as soon as
 * it leaves) empty on every send; a flow with a backlog of small messages
 * still gets its share beside them, not only once they stop. */
static void test_backlog_beside_refilling_flows(void)
{
    fairq_t s;
    msgq_t bulk[4], paced;
    int paced_sent = 0, sends = 0;

    fairq_init(&s, QUANTUM);
    for (int i = 0; i < 4; i++) {
        msgq_init(&bulk[i]);
        fairq_push(&s, &bulk[i], msg((uint16_t)(10 + i), QUANTUM));
    }
    msgq_init(&paced);
    for (int i = 0; i < 30; i++)
        fairq_push(&s, &paced, msg(1, 100));
    while (paced_sent < 30 && sends < 1000) {
        msgq_t *q = fairq_next(&s);
        outmsg_t *m = fairq_pop(&s, q);

        sends++;
        if (m->sid == 1)
            paced_sent++;
        else /* the bulk flow reads its next message at once */
            fairq_push(&s, q, msg(m->sid, QUANTUM));
        free(m);
    }
    /* 3 quanta of paced bytes, each round one of theirs and 4 bulk
     * messages: all of it within 3 rounds and a few sends. */
    CHECK(paced_sent == 30);
    CHECK(sends <= 30 + 4 * 4);
    for (int i = 0; i < 4; i++)
        fairq_drop(&s, &bulk[i]);
    fairq_drop(&s, &paced);
    CHECK(s.bytes == 0 && fairq_next(&s) == NULL);
}

/* Busy flows with different message sizes get equal bytes per round. */
static void test_even_shares(void)
{
    fairq_t s;
    msgq_t big, small;
    size_t sent_big = 0, sent_small = 0;

    fairq_init(&s, QUANTUM);
    msgq_init(&big);
    msgq_init(&small);
    for (int i = 0; i < 50; i++)
        fairq_push(&s, &big, msg(1, 1000));
    for (int i = 0; i < 500; i++)
        fairq_push(&s, &small, msg(2, 100));
    send_shares(&s, 20000, &sent_big, &sent_small);
    CHECK(sent_big >= 9000 && sent_big <= 11000);
    CHECK(sent_small >= 9000 && sent_small <= 11000);
    fairq_drop(&s, &big);
    fairq_drop(&s, &small);
    CHECK(s.bytes == 0);
}

/* The quantum shrinks below messages already queued (pace.h): they still
 * go, in order, once their queue has saved up for them, with even shares;
 * `active` counts the queues holding a message throughout. */
static void test_quantum_below_messages(void)
{
    fairq_t s;
    msgq_t a, b;
    size_t sent_a = 0, sent_b = 0;

    fairq_init(&s, QUANTUM);
    msgq_init(&a);
    msgq_init(&b);
    CHECK(s.active == 0);
    for (int i = 0; i < 20; i++)
        fairq_push(&s, &a, msg(1, 4 * QUANTUM));
    CHECK(s.active == 1);
    for (int i = 0; i < 80; i++)
        fairq_push(&s, &b, msg(2, QUANTUM));
    CHECK(s.active == 2);
    send_shares(&s, 40 * QUANTUM, &sent_a, &sent_b);
    CHECK(sent_a >= 16 * QUANTUM && sent_a <= 24 * QUANTUM);
    CHECK(s.active == 2);
    fairq_drop(&s, &a);
    CHECK(s.active == 1);
    while (send_next(&s))
        ;
    CHECK(s.active == 0 && s.bytes == 0);
    fairq_drop(&s, &b);
    CHECK(s.active == 0);
}

static void test_urgent_queue(void)
{
    msgq_t q;
    outmsg_t *m;

    msgq_init(&q);
    CHECK(msgq_pop(&q) == NULL);
    msgq_push(&q, msg(0, 10));
    msgq_push(&q, msg(4, 20));
    CHECK(q.bytes == 30);
    m = msgq_pop(&q);
    CHECK(m->sid == 0);
    free(m);
    m = msgq_pop(&q);
    CHECK(m->sid == 4);
    free(m);
    CHECK(q.head == NULL && q.bytes == 0);
    /* usable again after it emptied */
    msgq_push(&q, msg(5, 1));
    m = msgq_pop(&q);
    CHECK(m && m->sid == 5);
    free(m);
}

static outmsg_t *typed(uint16_t sid, uint32_t len, uint32_t ppid)
{
    outmsg_t *m = msg(sid, len);

    m->ppid = ppid;
    return m;
}

/* A flow that resets drops its queued data and keeps its other messages in
 * order; emptied, its last word goes ahead of the busy flows. */
static void test_discard_data(void)
{
    enum { OPEN = 1, DATA = 2, RST = 3 };
    fairq_t s;
    msgq_t q, bulk;
    outmsg_t *m;

    fairq_init(&s, QUANTUM);
    msgq_init(&q);
    msgq_init(&bulk);
    fairq_push(&s, &q, typed(7, 10, OPEN));
    for (int i = 0; i < 3; i++)
        fairq_push(&s, &q, typed(7, 900, DATA));
    fairq_push(&s, &q, typed(7, 20, RST));
    fairq_push(&s, &bulk, typed(9, QUANTUM, DATA));
    CHECK(fairq_discard(&s, &q, DATA) == 2700);
    CHECK(q.bytes == 30 && s.bytes == 30 + QUANTUM && s.active == 2);
    CHECK(fairq_discard(&s, &q, DATA) == 0);
    m = fairq_pop(&s, fairq_next(&s));
    CHECK(m->ppid == OPEN);
    free(m);
    m = fairq_pop(&s, fairq_next(&s));
    CHECK(m->ppid == RST && q.head == NULL && q.tail == &q.head);
    free(m);
    CHECK(send_next(&s) == 9);

    /* Several busy flows; one of them resets with nothing but data queued. */
    for (int i = 0; i < 4; i++) {
        fairq_push(&s, &bulk, typed(9, QUANTUM, DATA));
        fairq_push(&s, &q, typed(7, QUANTUM, DATA));
    }
    send_next(&s);
    send_next(&s);
    CHECK(fairq_discard(&s, &q, DATA) > 0);
    CHECK(q.head == NULL && s.bytes == bulk.bytes && s.active == 1);
    fairq_push(&s, &q, typed(7, 20, RST));
    CHECK(send_next(&s) == 7); /* fresh again: ahead of the busy flow */
    fairq_drop(&s, &bulk);
    CHECK(s.bytes == 0 && s.active == 0 && fairq_next(&s) == NULL);
}

int main(void)
{
    test_fresh_peek();
    test_order_within_a_flow();
    test_idle_flow_goes_first();
    test_fresh_flow_gets_one_quantum();
    test_even_shares();
    test_backlog_beside_refilling_flows();
    test_quantum_below_messages();
    test_urgent_queue();
    test_discard_data();
    return check_status("test_fairq");
}
