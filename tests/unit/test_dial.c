/* Tests for src/dial.c on a real loop, natively and without any network:
 * "localhost" comes from the hosts file. What matters most is the owner
 * leaving while the lookup runs: no callback after dial_abort, no leak and
 * no use after free (run under the sanitizer build to see the last two),
 * also when dials share a lookup. */
#include "dial.h"
#include "check.h"

#include <errno.h>
#include <string.h>

static dial_lookups_t lookups;

typedef struct owner {
    dial_t *dial;
    int resolved;    /* DIAL_RESOLVED events */
    int timeouts;    /* DIAL_TIMEOUT events */
    int status;      /* the last event's status */
    int addrs;       /* addresses handed out */
    int got_v4;      /* 127.0.0.1 was among them */
    int after_abort; /* events after dial_abort: must stay 0 */
    int aborted;
} owner_t;

static void on_event(void *data, dial_event_t ev, int status)
{
    owner_t *o = data;
    addr_t a;

    if (o->aborted)
        o->after_abort++;
    o->status = status;
    if (ev == DIAL_TIMEOUT) {
        o->timeouts++;
        dial_abort(o->dial);
        o->aborted = 1;
        return;
    }
    o->resolved++;
    while (status == 0 && dial_next(o->dial, &a) == 0) {
        o->addrs++;
        o->got_v4 |= a.sa.sa_family == AF_INET && a.v4.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
                     a.v4.sin_port == htons(8080);
    }
    CHECK(dial_next(o->dial, &a) == -ENOENT);
    dial_abort(o->dial);
    o->aborted = 1;
}

/* A lookup that completes: its addresses are handed out in turn, then none. */
static void test_resolve(uv_loop_t *loop)
{
    owner_t o = {0};
    int err = 0;

    o.dial = dial_start(&lookups, loop, "localhost", 8080, 10000, on_event, &o, &err);
    CHECK(o.dial != NULL);
    CHECK_STR(o.dial ? o.dial->name : NULL, "localhost:8080");
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(o.resolved == 1 && o.status == 0 && o.timeouts == 0);
    CHECK(o.addrs >= 1 && o.got_v4);
    CHECK(o.after_abort == 0);
}

static size_t running(void)
{
    size_t n = 0;

    for (list_t *p = lookups.running.next; p != &lookups.running; p = p->next)
        n++;
    return n;
}

/* The owners leave at once, while their shared lookup is queued or running
 * on a pool thread: no event follows, and the loop ends with everything
 * freed. */
static void test_abort_while_resolving(uv_loop_t *loop)
{
    owner_t o[8] = {{0}};
    int err = 0;

    for (int i = 0; i < 8; i++) {
        o[i].dial = dial_start(&lookups, loop, "localhost", 80, 10000, on_event, &o[i], &err);
        CHECK(o[i].dial != NULL);
    }
    CHECK(running() == 1);
    for (int i = 0; i < 8; i++) {
        dial_abort(o[i].dial);
        o[i].aborted = 1;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(running() == 0);
    for (int i = 0; i < 8; i++)
        CHECK(o[i].resolved == 0 && o[i].timeouts == 0 && o[i].after_abort == 0);
}

/* Dials of one name and port started together share one lookup (a name
 * whose DNS hangs then holds one of the pool's threads, not one a flow);
 * another port is another lookup. Each dial gets every address, one that
 * left before gets nothing, and once the lookup has returned a new dial
 * looks the name up afresh. */
static void test_shared_lookup(uv_loop_t *loop)
{
    owner_t o[6] = {{0}};
    int err = 0;

    for (int i = 0; i < 5; i++)
        o[i].dial = dial_start(&lookups, loop, "localhost", 8080, 10000, on_event, &o[i], &err);
    CHECK(running() == 1);
    o[5].dial = dial_start(&lookups, loop, "localhost", 8081, 10000, on_event, &o[5], &err);
    CHECK(running() == 2);
    dial_abort(o[1].dial);
    o[1].aborted = 1;
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(running() == 0);
    for (int i = 0; i < 6; i++) {
        if (i == 1) {
            CHECK(o[i].resolved == 0 && o[i].after_abort == 0);
            continue;
        }
        CHECK(o[i].resolved == 1 && o[i].status == 0 && o[i].addrs >= 1);
        CHECK(o[i].got_v4 == (i != 5) && o[i].after_abort == 0);
    }
    memset(&o[0], 0, sizeof(o[0]));
    o[0].dial = dial_start(&lookups, loop, "localhost", 8080, 10000, on_event, &o[0], &err);
    CHECK(running() == 1);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(o[0].resolved == 1 && o[0].got_v4);
}

/* The owner leaves after the first address, the dial's timer still armed
 * for that address's share. */
static void on_first_only(void *data, dial_event_t ev, int status)
{
    owner_t *o = data;
    addr_t a;

    o->resolved += ev == DIAL_RESOLVED;
    o->status = status;
    if (status == 0 && dial_next(o->dial, &a) == 0)
        o->addrs++;
    dial_abort(o->dial);
}

static void test_abort_while_connecting(uv_loop_t *loop)
{
    owner_t o = {0};
    int err = 0;

    o.dial = dial_start(&lookups, loop, "localhost", 80, 10000, on_first_only, &o, &err);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(o.resolved == 1 && o.addrs == 1);
}

/* An address's share of the time runs out: DIAL_TIMEOUT. */
static void on_share(void *data, dial_event_t ev, int status)
{
    owner_t *o = data;
    addr_t a;

    o->status = status;
    if (ev == DIAL_TIMEOUT) {
        o->timeouts++;
        dial_abort(o->dial);
        return;
    }
    o->resolved++;
    if (status == 0 && dial_next(o->dial, &a) == 0)
        o->addrs++;
    else
        dial_abort(o->dial);
}

static void test_share_timeout(uv_loop_t *loop)
{
    owner_t o = {0};
    int err = 0;
    uint64_t t0 = uv_now(loop);

    o.dial = dial_start(&lookups, loop, "localhost", 80, 300, on_share, &o, &err);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(o.resolved == 1 && o.addrs == 1 && o.timeouts == 1 && o.status == UV_ETIMEDOUT);
    CHECK(uv_now(loop) - t0 <= 1000);
}

/* A dial by address: no lookup, the address handed out once with the
 * whole bound, DIAL_TIMEOUT when it runs out, then no address is left. */
static void test_by_address(uv_loop_t *loop)
{
    addr_t want, a;
    owner_t o = {0};
    int err = 0;
    uint64_t t0 = uv_now(loop);

    CHECK(addr_parse_hostport("[::1]:9005", &want) == 0);
    o.dial = dial_start_addr(loop, &want, 200, on_share, &o, &err);
    CHECK(o.dial != NULL);
    if (!o.dial)
        return;
    CHECK_STR(o.dial->name, "[::1]:9005");
    CHECK(dial_next(o.dial, &a) == 0 && memcmp(&a, &want, sizeof(a)) == 0);
    CHECK(dial_next(o.dial, &a) == -ENOENT);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(o.resolved == 0 && o.timeouts == 1 && o.status == UV_ETIMEDOUT);
    CHECK(uv_now(loop) - t0 >= 190 && uv_now(loop) - t0 <= 1000);
}

int main(void)
{
    uv_loop_t loop;

    uv_loop_init(&loop);
    dial_lookups_init(&lookups);
    test_resolve(&loop);
    test_abort_while_resolving(&loop);
    test_shared_lookup(&loop);
    test_abort_while_connecting(&loop);
    test_share_timeout(&loop);
    test_by_address(&loop);
    CHECK(uv_loop_close(&loop) == 0);
    return check_status("dial");
}
