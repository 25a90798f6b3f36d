/* Tests for a service's byte totals in src/collect.c's snapshots, with
 * src/flow.c's real teardown on a real loop: a flow's bytes stay in them
 * from the moment it leaves its association until after its memory has
 * gone, never counted twice. They come from a counter that a Prometheus
 * scrape must never see go down (it reads that as a reset).
 *
 * The gateway is built by hand, with no socket and no association: one
 * service, and flows whose TCP handles are on the loop but never
 * connected, placed where flow.c keeps a flow once its association has
 * gone. Their handles close on a later loop turn, as a real flow's do. */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include "flow.h"
#include "gateway.h"
#include "snapshot.h"

static uv_loop_t loop;
static gateway_t gw;
static config_t cfg;
static svc_stats_t stats[1];

static void gw_init(void)
{
    CHECK(uv_loop_init(&loop) == 0);
    snprintf(cfg.name, sizeof(cfg.name), "test");
    snprintf(cfg.services[0].name, sizeof(cfg.services[0].name), "echo");
    cfg.services[0].is_accept = 1;
    cfg.n_services = 1;
    gw.loop = &loop;
    gw.cfg = &cfg;
    gw.log.level = LOG_ERROR; /* the flows' "closed" lines are not the test */
    gw.log.name = "test";
    gw.svc_stats = stats;
    list_init(&gw.assocs);
    list_init(&gw.finishing);
}

/* A flow of "echo" with its bytes so far, in no list yet. */
static flow_t *flow_make(uint64_t up, uint64_t down)
{
    flow_t *f = calloc(1, sizeof(*f));

    CHECK(f != NULL);
    if (!f)
        exit(1);
    f->gw = &gw;
    snprintf(f->service, sizeof(f->service), "echo");
    list_init(&f->finishing);
    CHECK(uv_tcp_init(&loop, &f->tcp) == 0);
    f->tcp_init = 1;
    f->bytes_up = up;
    f->bytes_down = down;
    return f;
}

/* The service's totals and open flows in a snapshot taken now. */
static void service_totals(uint64_t *out, uint64_t *in, uint64_t *open)
{
    snapshot_t s;
    int ok = gateway_snapshot(&gw, &s, 1) == 0;

    CHECK(ok);
    if (!ok)
        exit(1);
    CHECK(s.n_services == 1);
    *out = s.services[0].bytes_out;
    *in = s.services[0].bytes_in;
    *open = s.services[0].flows_open;
    snapshot_free(&s);
}

#define CHECK_TOTALS(want_out, want_in, want_open)                                                 \
    do {                                                                                           \
        uint64_t o_, i_, n_;                                                                       \
        service_totals(&o_, &i_, &n_);                                                             \
        CHECK(o_ == (want_out));                                                                   \
        CHECK(i_ == (want_in));                                                                    \
        CHECK(n_ == (want_open));                                                                  \
    } while (0)

/* A flow whose peer had finished sending when its association went:
 * flow_detach keeps it on the finishing list to pass the last bytes on,
 * then it closes, and its memory stays until its TCP handle's close
 * callback. (Its handle has no socket: it never has anything to write.) */
static void test_finishing_flow_closes(void)
{
    flow_t *f = flow_make(1000, 2000);

    f->fin_recv = 1;
    f->connected = 1;
    CHECK(flow_detach(f, "association gone") == 0);
    CHECK(gw.n_finishing == 1);
    CHECK_TOTALS(1000, 2000, 1);
    flow_close(f, WIRE_OK, "the peer's bytes and FIN passed on");
    CHECK(gw.n_finishing == 0);
    CHECK_TOTALS(1000, 2000, 0); /* its handle is still closing */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_TOTALS(1000, 2000, 0); /* freed */
}

/* A flow still open when its association goes is reset by flow_detach:
 * in no list from then on, until its handle has closed. */
static void test_detached_flow_resets(void)
{
    flow_t *f = flow_make(30, 40);

    CHECK(flow_detach(f, "association gone") == 1);
    CHECK_TOTALS(1030, 2040, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_TOTALS(1030, 2040, 0);
}

int main(void)
{
    gw_init();
    test_finishing_flow_closes();
    test_detached_flow_resets();
    CHECK(uv_loop_close(&loop) == 0);
    return check_status("test_collect");
}
