/* Accept services (see service.h). */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Gone from the list already; freed once the acceptor's handles close. */
static void on_acceptor_closed(acceptor_t *ac)
{
    free(container_of(ac, service_t, acceptor));
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

/* The refusal of a service bound to a peer that is not up. */
static const char NO_PEER[] = "no association to the service's peer is up";

/* For that refusal: which peer, and who is up instead (a name mistyped in
 * `peer` is otherwise hard to tell from a peer down). */
static const char *service_peer_note(const service_t *s, const char *why, char *buf, size_t len)
{
    char up[160];

    if (why != NO_PEER)
        return "";
    gateway_peers_up(s->gw, up, sizeof(up));
    snprintf(buf, len, " (peer = %s; up now: %s)", s->conf.peer, up);
    return buf;
}

/* No flow for this client: reset it at once, so it fails fast instead of
 * hanging. Logged once per episode, not once per client. */
static void service_refuse(service_t *s, int fd, const char *why)
{
    svc_stats_t *st = gateway_svc_stats(s->gw, s->conf.name);
    char note[CONFIG_NAME_MAX + 200];

    if (st)
        st->refused++;
    if (s->refusing.active && s->refusing.why != why)
        service_refusals_end(s);
    if (episode_hit(&s->refusing, why, uv_now(s->gw->loop)))
        log_warn(&s->gw->log, "svc", "[%s]: refusing clients: %s%s (%zu flows open)", s->conf.name,
                 why, service_peer_note(s, why, note, sizeof(note)), gateway_flows(s->gw));
    acceptor_reset(fd);
}

/* Why a new client cannot become a flow on `a`, or NULL. */
static const char *service_refusal(service_t *s, const assoc_t *a)
{
    gateway_t *gw = s->gw;

    if (gateway_draining(gw))
        return "gateway is shutting down";
    if (!a && s->conf.peer[0])
        return NO_PEER;
    if (!a)
        return "no association to the peer is up";
    if (gateway_flows_with_fds(gw) >= gateway_fd_room(gw))
        return "out of file descriptors";
    if (a->n_flows >= gw->cfg->max_flows)
        return "max_flows reached";
    /* Streams are negotiated: a peer with a lower max_flows, or ours
     * raised by a reload since the association came up, leaves fewer. */
    if (!streams_available(&a->streams))
        return "no free stream (the association has fewer streams than max_flows needs)";
    return NULL;
}

static void on_rest(acceptor_t *ac, int err)
{
    service_t *s = container_of(ac, service_t, acceptor);
    svc_stats_t *st = gateway_svc_stats(s->gw, s->conf.name);

    (void)err;
    if (st)
        st->accept_failures++;
}

static void on_client(acceptor_t *ac, int fd)
{
    service_t *s = container_of(ac, service_t, acceptor);
    const char *why;
    assoc_t *a;

    a = gateway_draining(s->gw) ? NULL : gateway_pick(s->gw, &s->conf);
    if ((why = service_refusal(s, a))) {
        service_refuse(s, fd, why);
        return;
    }
    service_refusals_end(s);
    if (flow_accept(a, &s->conf, fd) < 0)
        service_refuse(s, fd, "out of memory");
}

void service_reconf(service_t *s, const service_conf_t *conf)
{
    s->conf = *conf;
    snprintf(s->what, sizeof(s->what), "[%s] clients", conf->name); /* the acceptor's logs */
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
    int fd, r;

    if (!s)
        return -ENOMEM;
    s->gw = gw;
    s->conf = *conf;
    snprintf(s->what, sizeof(s->what), "[%s] clients", conf->name);
    /* As libuv would make it: an IPv6 wildcard is dual-stack, whatever the
     * net.ipv6.bindv6only sysctl says ([::]:PORT takes IPv4 clients too,
     * seen as ::ffff:a.b.c.d; config.c refuses an IPv4 listener on the
     * port of a [::] one). */
    if ((fd = acceptor_tcp_listen(&conf->addr, BACKLOG)) < 0) {
        free(s);
        return fd;
    }
    if ((r = acceptor_start(&s->acceptor, gw->loop, fd, &gw->log, "svc", s->what, on_client)) < 0) {
        close(fd);
        free(s);
        return r;
    }
    s->acceptor.on_rest = on_rest;
    list_push(&gw->services, &s->node);
    return 0;
}

static void service_close(service_t *s)
{
    s->stopped = 1;
    list_remove(&s->node);
    acceptor_close(&s->acceptor, on_acceptor_closed);
}

void service_stop(service_t *s)
{
    svc_stats_t *st;
    unsigned left;
    int err = 0;

    if (s->stopped)
        return;
    /* Clients that connected before the close are taken (a service moved
     * by a reload still exists) or refused with a reason, not reset by
     * the kernel without a word; those no descriptor can be had for are
     * at least said and counted. */
    if ((left = acceptor_drain(&s->acceptor, &err)) > 0) {
        if ((st = gateway_svc_stats(s->gw, s->conf.name)))
            st->refused += left;
        log_warn(&s->gw->log, "svc",
                 "[%s]: closing with %u client%s waiting that cannot be accepted (%s): the "
                 "kernel resets %s",
                 s->conf.name, left, left == 1 ? "" : "s", strerror(err),
                 left == 1 ? "it" : "them");
    }
    service_close(s);
}

void service_undo(service_t *s)
{
    if (!s->stopped)
        service_close(s);
}
