/* The inbox: order, per-stream counts, growth, bounds, freeing. */
#include "inbox.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static sock_rcv_t rcv(uint16_t sid, uint32_t ppid)
{
    sock_rcv_t i = {.sid = sid, .ppid = ppid, .eor = 1};
    return i;
}

static void test_order_and_counts(void)
{
    inbox_t b;
    sock_rcv_t i;
    outmsg_t *m;

    inbox_init(&b);
    CHECK(!inbox_waits(&b, 1) && inbox_empty(&b));
    CHECK(inbox_pop(&b) == NULL);
    CHECK(inbox_streams(&b, 4) == 0);
    i = rcv(1, 7);
    CHECK(inbox_push(&b, &i, (const uint8_t *)"aaaa", 4) == 0);
    i = rcv(3, 8);
    CHECK(inbox_push(&b, &i, (const uint8_t *)"bb", 2) == 0);
    i = rcv(1, 9);
    CHECK(inbox_push(&b, &i, (const uint8_t *)"c", 1) == 0);
    CHECK(b.bytes == 7 + 3 * sizeof(outmsg_t) && !inbox_empty(&b));
    CHECK(inbox_waits(&b, 1) && inbox_waits(&b, 3) && !inbox_waits(&b, 2));
    CHECK(!inbox_waits(&b, 4) && !inbox_waits(&b, 65535)); /* beyond the count */

    m = inbox_pop(&b);
    CHECK(m && m->sid == 1 && m->ppid == 7 && m->len == 4 && !memcmp(m->data, "aaaa", 4));
    CHECK(inbox_waits(&b, 1)); /* its second message still waits */
    free(m);
    m = inbox_pop(&b);
    CHECK(m && m->sid == 3 && m->len == 2 && !memcmp(m->data, "bb", 2));
    CHECK(!inbox_waits(&b, 3));
    free(m);
    m = inbox_pop(&b);
    CHECK(m && m->sid == 1 && m->ppid == 9 && m->len == 1);
    free(m);
    CHECK(!inbox_waits(&b, 1) && b.bytes == 0 && inbox_empty(&b) && inbox_pop(&b) == NULL);

    /* Empty again, it queues as when new. */
    i = rcv(2, 1);
    CHECK(inbox_push(&b, &i, (const uint8_t *)"d", 1) == 0);
    m = inbox_pop(&b);
    CHECK(m && m->sid == 2);
    free(m);
    inbox_free(&b);
}

static void test_streams_grow(void)
{
    inbox_t b;
    sock_rcv_t i = rcv(5, 0);
    uint8_t byte = 0;

    inbox_init(&b);
    CHECK(inbox_push(&b, &i, &byte, 1) == -ENOMEM); /* no counts yet */
    CHECK(inbox_streams(&b, 2) == 0);
    i = rcv(1, 0);
    CHECK(inbox_push(&b, &i, &byte, 1) == 0);
    CHECK(inbox_streams(&b, 1) == 0 && b.nstreams == 2); /* never lowered */
    CHECK(inbox_streams(&b, 65535) == 0);
    CHECK(inbox_waits(&b, 1) && !inbox_waits(&b, 65534)); /* kept, and new ones zero */
    i = rcv(65534, 0);
    CHECK(inbox_push(&b, &i, &byte, 0) == 0); /* an empty message counts too */
    CHECK(inbox_waits(&b, 65534) && b.bytes == 1 + 2 * sizeof(outmsg_t));
    inbox_free(&b); /* frees what still waits (the sanitizers check) */
    CHECK(inbox_empty(&b) && b.nstreams == 0 && b.bytes == 0);
    inbox_free(&b); /* twice is harmless */
}

static void test_many(void)
{
    inbox_t b;
    sock_rcv_t i;
    outmsg_t *m;
    uint8_t buf[300];
    size_t total = 0, seen = 0;
    int in_order = 1;

    inbox_init(&b);
    CHECK(inbox_streams(&b, 8) == 0);
    for (unsigned n = 0; n < 2000; n++) {
        i = rcv((uint16_t)(n % 8), n);
        memset(buf, (int)n, sizeof(buf));
        CHECK(inbox_push(&b, &i, buf, n % sizeof(buf)) == 0);
        total += n % sizeof(buf) + sizeof(outmsg_t);
    }
    CHECK(b.bytes == total);
    for (unsigned n = 0; (m = inbox_pop(&b)) != NULL; n++) {
        in_order &= m->ppid == n && m->len == n % sizeof(buf) &&
                    (m->len == 0 || m->data[m->len - 1] == (uint8_t)n);
        seen += m->len + sizeof(outmsg_t);
        free(m);
    }
    CHECK(in_order && seen == total && b.bytes == 0);
    for (uint16_t s = 0; s < 8; s++)
        CHECK(!inbox_waits(&b, s));
    inbox_free(&b);
}

int main(void)
{
    test_order_and_counts();
    test_streams_grow();
    test_many();
    return check_status("inbox");
}
