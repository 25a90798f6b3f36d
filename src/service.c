/* Accept services (see service.h). */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include "acceptor.h"
#include "assoc.h"
#include "flow.h"
#include "gateway.h"
#include "rlimits.h"

/* Clients that connect at once wait in the listener's backlog until the
 * loop accepts them; past it the kernel turns them away without telling
 * us. A burst may be as large as max_flows, so the backlog is as deep as
 * the kernel allows (net.core.somaxconn caps it; service_check_backlog
 * warns when that is below max_flows). */
#define BACKLOG 65535

static void on_retry(uv_timer_t *t);

static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

/* Frees a stopped service once neither handle is left. */
static void service_maybe_free(service_t *s)
{
    if (s->stopped && !s->listener_handle && !s->retry_handle)
        free(s);
}

static void on_listener_closed(uv_handle_t *h)
{
    service_t *s = h->data;

    s->listener_handle = 0;
    service_maybe_free(s);
}

static void on_retry_closed(uv_handle_t *h)
{
    service_t *s = h->data;

    s->retry_handle = 0;
    service_maybe_free(s);
}

/* The listener is closed: listen again after a pause, unless the service
 * was stopped meanwhile. */
static void on_paused(uv_handle_t *h)
{
    service_t *s = h->data;

    s->listener_handle = 0;
    if (s->stopped) {
        service_maybe_free(s);
        return;
    }
    if (!gateway_draining(s->gw))
        uv_timer_start(&s->retry, on_retry, ACCEPTOR_PAUSE_MS, 0);
}

/* Closes the listener and tries again after a pause. While it is closed the
 * kernel refuses clients at once, which beats holding them in a backlog we
 * cannot drain. */
static void service_pause(service_t *s, const char *why)
{
    if (episode_hit(&s->paused, why, uv_now(s->gw->loop)))
        log_warn(&s->gw->log, "svc", "[%s]: not accepting for now: %s", s->conf.name, why);
    uv_close((uv_handle_t *)&s->listener, on_paused);
    s->open = 0;
}

/* An episode of refusals is over: say how long it lasted and what it cost. */
static void service_refusals_end(service_t *s)
{
    uint64_t ms;
    unsigned long n;

    if (episode_end(&s->refusing, uv_now(s->gw->loop), &ms, &n))
        log_info(&s->gw->log, "svc", "[%s]: accepting clients again: %lu refused in %llu ms (%s)",
                 s->conf.name, n, (unsigned long long)ms, s->refusing.why);
}

/* No flow for this client: accept it and reset it at once, so it fails fast
 * instead of hanging. Logged once per episode, not once per client. */
static void service_refuse(service_t *s, const char *why)
{
    uv_tcp_t *c = malloc(sizeof(*c));
    svc_stats_t *st = gateway_svc_stats(s->gw, s->conf.name);

    if (st)
        st->refused++;
    if (s->refusing.active && s->refusing.why != why)
        service_refusals_end(s);
    if (episode_hit(&s->refusing, why, uv_now(s->gw->loop)))
        log_warn(&s->gw->log, "svc", "[%s]: refusing clients: %s (%zu flows open)", s->conf.name,
                 why, gateway_flows(s->gw));
    if (!c) {
        service_pause(s, "out of memory"); /* as in on_connection */
        return;
    }
    uv_tcp_init(s->gw->loop, c);
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)c) == 0 &&
        uv_tcp_close_reset(c, on_refused_closed) == 0)
        return;
    uv_close((uv_handle_t *)c, on_refused_closed);
}

/* Why a new client cannot become a flow on `a`, or NULL. */
static const char *service_refusal(service_t *s, const assoc_t *a)
{
    gateway_t *gw = s->gw;

    if (gateway_draining(gw))
        return "gateway is shutting down";
    if (!a)
        return "no association to the peer is up";
    if (gateway_flows(gw) >= gw->fd_flows)
        return "out of file descriptors";
    if (a->n_flows >= gw->cfg->max_flows)
        return "max_flows reached";
    return NULL;
}

static void on_connection(uv_stream_t *server, int status)
{
    service_t *s = server->data;
    const char *why;
    assoc_t *a;

    if (status == UV_EMFILE || status == UV_ENFILE) {
        /* Something other than our flows took the descriptors (the flows
         * stop at fd_flows): stop and try again shortly, as relayd does,
         * rather than spinning on a full descriptor table. */
        service_pause(s, "out of file descriptors");
        return;
    }
    if (status < 0 && acceptor_stuck(-status)) {
        /* The client stays queued (no memory, a policy): libuv would call
         * accept() again at once, inside the loop, for as long as that
         * lasts, and every flow would stall meanwhile. */
        service_pause(s, uv_strerror(status));
        return;
    }
    if (status < 0)
        return; /* that client is gone; libuv goes on to the next */
    a = gateway_draining(s->gw) ? NULL : gateway_pick(s->gw, &s->conf);
    if ((why = service_refusal(s, a))) {
        service_refuse(s, why);
        return;
    }
    service_refusals_end(s);
    /* libuv holds the client until it is accepted, and the listener goes
     * deaf meanwhile: a pause closes both and listens again later. */
    if (flow_accept(a, &s->conf, server) < 0)
        service_pause(s, "out of memory");
}

static int service_listen(service_t *s)
{
    int r = uv_tcp_init(s->gw->loop, &s->listener);

    if (r < 0)
        return r;
    s->listener.data = s;
    s->open = 1;
    s->listener_handle = 1;
    /* Without UV_TCP_IPV6ONLY libuv clears IPV6_V6ONLY, whatever the
     * net.ipv6.bindv6only sysctl says: [::]:PORT is dual-stack and takes
     * IPv4 clients too (seen as ::ffff:a.b.c.d), and *:PORT is IPv4 only.
     * config.c refuses an IPv4 listener on the port of a [::] one. */
    if ((r = uv_tcp_bind(&s->listener, &s->conf.addr.sa, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&s->listener, BACKLOG, on_connection)) < 0)
        return r;
    return 0;
}

/* Listens again after a pause; keeps trying (quietly: the episode was
 * logged when it began) until it works. */
static void on_retry(uv_timer_t *t)
{
    service_t *s = t->data;
    uint64_t ms;
    unsigned long n;
    int r;

    if (gateway_draining(s->gw) || s->stopped)
        return;
    if ((r = service_listen(s)) < 0) {
        service_pause(s, uv_strerror(r));
        return;
    }
    if (episode_end(&s->paused, uv_now(s->gw->loop), &ms, &n))
        log_info(&s->gw->log, "svc", "[%s]: accepting again after %llu ms (%s)", s->conf.name,
                 (unsigned long long)ms, s->paused.why);
}

void service_check_backlog(gateway_t *gw)
{
    unsigned cap = 0;

    if (rlimits_sysctl("net.core.somaxconn", &cap) == 0 && cap < gw->cfg->max_flows)
        log_warn(&gw->log, "svc",
                 "net.core.somaxconn is %u: a burst of more than %u clients connecting at "
                 "once may be refused by the kernel before the gateway sees them "
                 "(max_flows is %u; raise it with sysctl)",
                 cap, cap, gw->cfg->max_flows);
}

int service_start(gateway_t *gw, const service_conf_t *conf)
{
    service_t *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    s->gw = gw;
    s->conf = *conf;
    list_init(&s->node);
    uv_timer_init(gw->loop, &s->retry);
    s->retry.data = s;
    s->retry_handle = 1;
    if ((r = service_listen(s)) < 0) {
        service_stop(s);
        return r;
    }
    list_push(&gw->services, &s->node);
    return 0;
}

void service_stop(service_t *s)
{
    if (s->stopped)
        return;
    s->stopped = 1;
    list_remove(&s->node);
    if (s->open)
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    s->open = 0;
    uv_close((uv_handle_t *)&s->retry, on_retry_closed);
}
