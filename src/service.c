/* Accept services (see service.h). */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include "assoc.h"
#include "flow.h"
#include "gateway.h"

/* Clients that connect at once wait in the listener's backlog until the
 * loop accepts them; past it the kernel turns them away without telling
 * us. A burst may be as large as max_flows, so the backlog is as deep as
 * the kernel allows (net.core.somaxconn caps it; service_check_backlog
 * warns when that is below max_flows). */
#define BACKLOG         65535
#define SOMAXCONN_PATH  "/proc/sys/net/core/somaxconn"
#define EMFILE_PAUSE_MS 100 /* out of descriptors: stop accepting this long */

static void on_retry(uv_timer_t *t);

static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

/* The listener is closed: listen again after a pause. */
static void on_paused(uv_handle_t *h)
{
    service_t *s = h->data;

    if (!gateway_draining(s->gw))
        uv_timer_start(&s->retry, on_retry, EMFILE_PAUSE_MS, 0);
}

/* No association to carry the client: accept it and reset it at once, so
 * it fails fast instead of hanging. */
static void service_refuse(service_t *s, const char *why)
{
    uv_tcp_t *c = malloc(sizeof(*c));

    if (!c)
        return;
    uv_tcp_init(s->gw->loop, c);
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)c) == 0) {
        log_warn(&s->gw->log, "svc", "[%s]: client refused: %s", s->conf->name, why);
        if (uv_tcp_close_reset(c, on_refused_closed) == 0)
            return;
    }
    uv_close((uv_handle_t *)c, on_refused_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    service_t *s = server->data;
    assoc_t *a;

    if (status == UV_EMFILE || status == UV_ENFILE) {
        /* Leave the client in the backlog and try again shortly, as relayd
         * does, rather than spinning on a full descriptor table. */
        log_warn(&s->gw->log, "svc", "[%s]: out of file descriptors; pausing accept",
                 s->conf->name);
        uv_close((uv_handle_t *)&s->listener, on_paused);
        s->open = 0;
        return;
    }
    if (status < 0)
        return;
    if (gateway_draining(s->gw)) {
        service_refuse(s, "gateway is shutting down");
        return;
    }
    a = gateway_pick(s->gw, s->conf);
    if (!a) {
        service_refuse(s, "no association to the peer is up");
        return;
    }
    flow_accept(a, s->conf, server);
}

static int service_listen(service_t *s)
{
    int r = uv_tcp_init(s->gw->loop, &s->listener);

    if (r < 0)
        return r;
    s->listener.data = s;
    s->open = 1;
    if ((r = uv_tcp_bind(&s->listener, &s->conf->addr.sa, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&s->listener, BACKLOG, on_connection)) < 0)
        return r;
    return 0;
}

static void on_retry(uv_timer_t *t)
{
    service_t *s = t->data;
    int r;

    if (gateway_draining(s->gw))
        return;
    if ((r = service_listen(s)) < 0)
        log_error(&s->gw->log, "svc", "[%s]: cannot listen again: %s", s->conf->name,
                  uv_strerror(r));
}

void service_check_backlog(gateway_t *gw)
{
    FILE *f = fopen(SOMAXCONN_PATH, "r");
    unsigned cap = 0;

    if (!f)
        return;
    if (fscanf(f, "%u", &cap) == 1 && cap < gw->cfg->max_flows)
        log_warn(&gw->log, "svc",
                 "net.core.somaxconn is %u: a burst of more than %u clients connecting at "
                 "once may be refused by the kernel before the gateway sees them "
                 "(max_flows is %u; raise it with sysctl)",
                 cap, cap, gw->cfg->max_flows);
    fclose(f);
}

int service_start(service_t *s, gateway_t *gw, const service_conf_t *conf)
{
    s->gw = gw;
    s->conf = conf;
    uv_timer_init(gw->loop, &s->retry);
    s->retry.data = s;
    return service_listen(s);
}

void service_stop(service_t *s)
{
    if (!s->gw)
        return;
    if (s->open && !uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, NULL);
    s->open = 0;
    if (!uv_is_closing((uv_handle_t *)&s->retry))
        uv_close((uv_handle_t *)&s->retry, NULL);
}
