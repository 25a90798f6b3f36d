/* The gateway context: start, associations coming and going, drain and
 * stop (see gateway.h). */
#include "gateway.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "assoc.h"
#include "control.h"
#include "flow.h"
#include "reload.h"
#include "rlimits.h"
#include "sctp_sock.h"
#include "service.h"

#define DIAL_BASE_MS 100 /* first retry after a failed dial */
/* Backoff ceiling: a peer that was down (restarted, or behind links that
 * came back) is dialed again within this. A dial to a peer whose host
 * answers costs one INIT and its ABORT, so dialing about once a second is
 * cheap, and a restarted peer carries flows again within about a second. */
#define DIAL_CAP_MS       1000
#define TELL_DIAL_WAIT_MS 500   /* added while an association told why still closes */
#define DIAL_STABLE_MS    10000 /* a READY association that lasted this resets the backoff */
#define CLASH_QUIET_MS    60000 /* refusals of a name this far apart are two episodes */
#define FINISH_CHECK_MS   50    /* how often a finishing flow's socket is looked at */
/* Anyone who reaches the listening port can open associations and hold
 * them for the handshake's deadline without a word. Past this many peers
 * still proving the key, each new association pushes out the oldest
 * unproven one: descriptors and memory stay bounded, and a real peer,
 * which proves the key within a few round trips, is only pushed out if
 * this many others arrive while it does. As many as the listen backlog. */
#define UNPROVEN_MAX 128
/* Below that cap, associations that end at once (no SCTP-AUTH, a bad
 * HELLO) come as fast as the other side sets them up: the first end in
 * this long is logged, the others counted. */
#define UNPROVEN_LOG_MS 60000
/* Once stopped, how long a hung name lookup may keep the process (on_stop_wait):
 * past the 500 ms that sockets told why are held (assoc.c). */
#define STOP_WAIT_MS 1000

static void gateway_dial(gateway_t *gw);
static void gateway_finish(gateway_t *gw);
static unsigned gateway_streams(const config_t *cfg);

int gateway_draining(const gateway_t *gw)
{
    return gw->state != GW_RUNNING;
}

svc_stats_t *gateway_svc_stats(gateway_t *gw, const char *name)
{
    const service_conf_t *sc = config_service(gw->cfg, name);

    return sc && gw->svc_stats ? &gw->svc_stats[sc - gw->cfg->services] : NULL;
}

/* ---- sockets ---------------------------------------------------------- */

static int has_v6(const addr_t *addrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (addrs[i].sa.sa_family == AF_INET6)
            return 1;
    return 0;
}

/* SCTP-AUTH on a socket before connect/listen, with encryption on; off
 * with it off, whatever net.sctp.auth_enable would give the socket (the
 * peer's kernel would ask for AUTH this end has no key for, and the two
 * would fail to connect rather than hear of the mismatch). */
static int gateway_auth(gateway_t *gw, int fd, log_level_t level)
{
    const char *what = "SCTP_AUTH_SUPPORTED";
    int r;

    r = gw->cfg->encryption ? sock_auth(fd, gw->auth_key, gw->cookie_auth, &what)
                            : sock_auth_off(fd);
    if (r >= 0)
        return 0;
    log_write(&gw->log, level, "assoc", "cannot set up SCTP-AUTH (%s): %s (or encryption = off)",
              what, strerror(-r));
    return r;
}

/* An SCTP socket carrying every option the association will inherit; a
 * failure is logged at `level`. */
static int gateway_socket(gateway_t *gw, int family, log_level_t level)
{
    const config_t *cfg = gw->cfg;
    unsigned streams = gateway_streams(cfg);
    const char *what = "";
    int fd = sock_open(family);
    int r;

    if (fd < 0) {
        log_write(&gw->log, level, "assoc", "cannot open an SCTP socket: %s%s", strerror(-fd),
                  fd == -EPROTONOSUPPORT ? " (this kernel has no SCTP: modprobe sctp)" : "");
        return fd;
    }
    if ((r = sock_tune(fd, &gw->tune, streams, cfg->sock_buffer, &what)) < 0 ||
        (what = "SCTP_EVENT", r = sock_subscribe(fd)) < 0) {
        log_write(&gw->log, level, "assoc", "cannot set %s: %s", what, strerror(-r));
        close(fd);
        return r;
    }
    if ((r = gateway_auth(gw, fd, level)) < 0) {
        close(fd);
        return r;
    }
    if ((r = sock_interleave(fd)) < 0 && !gw->told_no_idata) {
        gw->told_no_idata = 1;
        log_warn(&gw->log, "assoc",
                 "no I-DATA (%s%s): DATA messages are kept to 8 KiB, which costs bulk "
                 "throughput",
                 strerror(-r), r == -EPERM ? "; set net.sctp.intl_enable = 1" : "");
    }
    return fd;
}

/* ---- connect role ------------------------------------------------------ */

static void on_dial_timer(uv_timer_t *t)
{
    gateway_dial(t->data);
}

/* Capped exponential backoff with jitter, so sites that lost a shared link
 * do not all dial again in the same instant. */
static void gateway_schedule_dial(gateway_t *gw)
{
    uint64_t delay = DIAL_BASE_MS;

    if (gw->state != GW_RUNNING)
        return;
    for (unsigned i = 0; i < gw->dial_backoff && delay < DIAL_CAP_MS; i++)
        delay *= 2;
    if (delay > DIAL_CAP_MS)
        delay = DIAL_CAP_MS;
    delay = delay / 2 + randombytes_uniform((uint32_t)(delay / 2) + 1);
    /* While the last association's socket still waits to close after
     * telling the peer why, the peer may still have it and would refuse a
     * new one under the same name: it ends it once it reads the ERROR or
     * the SHUTDOWN that follows. */
    if (gw->n_closers)
        delay += TELL_DIAL_WAIT_MS;
    log_debug(&gw->log, "assoc", "dialing again in %llu ms", (unsigned long long)delay);
    uv_timer_start(&gw->dial_timer, on_dial_timer, delay, 0);
}

/* The remote addresses, the primary first: INIT goes there. */
static size_t dial_targets(const config_t *cfg, addr_t *out)
{
    size_t n = 0;

    if (cfg->has_primary)
        out[n++] = cfg->primary;
    for (size_t i = 0; i < cfg->n_remote; i++)
        if (!cfg->has_primary || !addr_same(&cfg->remote[i], &cfg->primary))
            out[n++] = cfg->remote[i];
    return n;
}

static int gateway_check_udp(gateway_t *gw, log_level_t level);

int gateway_dial_news(const gateway_t *gw)
{
    unsigned n = gw->dial_failures + 1;

    return (n & (n - 1)) == 0;
}

/* A dial that fails before it leaves is logged as failed dials are. */
static log_level_t gateway_dial_level(const gateway_t *gw)
{
    return gateway_dial_news(gw) ? LOG_ERROR : LOG_DEBUG;
}

static void gateway_dial(gateway_t *gw)
{
    const config_t *cfg = gw->cfg;
    addr_t local[CONFIG_MAX_ADDRS], remote[CONFIG_MAX_ADDRS];
    size_t n_remote = dial_targets(cfg, remote);
    int v6 = has_v6(cfg->local, cfg->n_local) || has_v6(remote, n_remote);
    log_level_t level = gateway_dial_level(gw);
    int fd = -1, r;

    /* Before the socket, which copies the kernel's UDP port as it is made. */
    if (gateway_check_udp(gw, level) < 0)
        goto fail;
    if ((fd = gateway_socket(gw, v6 ? AF_INET6 : AF_INET, level)) < 0)
        goto fail;
    /* An ephemeral port each time: a new association never looks like a
     * restart of the old one to the peer. */
    for (size_t i = 0; i < cfg->n_local; i++) {
        local[i] = cfg->local[i];
        local[i].v4.sin_port = 0;
    }
    if (cfg->n_local && (r = sock_bind(fd, local, cfg->n_local)) < 0) {
        log_write(&gw->log, level, "assoc", "cannot bind the local addresses: %s", strerror(-r));
        goto fail;
    }
    if (cfg->udp_port && (r = sock_udp_encap(fd, cfg->udp_port)) < 0) {
        log_write(&gw->log, level, "assoc", "cannot carry SCTP inside UDP: %s", strerror(-r));
        goto fail;
    }
    r = sock_connect(fd, remote, n_remote);
    if (r < 0 && r != -EINPROGRESS) {
        log_write(&gw->log, level, "assoc", "cannot dial the peer: %s", strerror(-r));
        goto fail;
    }
    if (assoc_new(gw, fd, 1))
        return;
    fd = -1;
fail:
    if (fd >= 0)
        close(fd);
    gw->dial_failures++;
    gw->dial_backoff++;
    gateway_schedule_dial(gw);
}

/* ---- listen role ------------------------------------------------------- */

int gateway_flooded(const gateway_t *gw)
{
    return gw->flooded;
}

/* The unproven ends of the minute just over, in one line. */
static void gateway_unproven_count(gateway_t *gw)
{
    uint64_t ms;
    unsigned long n;

    if (episode_end(&gw->unproven_log, gw->unproven_log.last_ms, &ms, &n) && n > 1)
        log_info(&gw->log, "assoc",
                 "%lu associations ended unproven in %.1f s (the first logged, the others at "
                 "debug; status counts them as handshake failures)",
                 n, (double)ms / 1e3);
}

static void on_unproven_minute(uv_timer_t *t)
{
    gateway_unproven_count(t->data);
}

log_level_t gateway_unproven_level(gateway_t *gw, log_level_t level)
{
    if (gw->flooded)
        return LOG_DEBUG; /* the flood counts its own */
    if (gw->state != GW_RUNNING)
        return level;
    if (!episode_hit(&gw->unproven_log, "", uv_now(gw->loop)))
        return LOG_DEBUG;
    uv_timer_start(&gw->unproven_tm, on_unproven_minute, UNPROVEN_LOG_MS, 0);
    return level;
}

/* How far an accepted association has got in proving the key: 0 silent
 * (with encryption on, a peer with another key is silence: SCTP-AUTH drops
 * its chunks), 1 heard, 2 keyed (its HELLO opened: it holds the key). */
static int assoc_progress(const assoc_t *a)
{
    return a->keyed ? 2 : a->heard ? 1 : 0;
}

/* The oldest of those that got least far (the list keeps associations in
 * the order they came). A flood of outsiders, who never get as far as a
 * real peer with the key, then never pushes that peer out however fast
 * it comes. */
assoc_t *gateway_evictee(const gateway_t *gw)
{
    assoc_t *pick = NULL;
    list_t *pos;

    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        assoc_t *a = container_of(pos, assoc_t, node);
        if (a->initiator || a->state != ASSOC_HANDSHAKE)
            continue;
        if (!pick || assoc_progress(a) < assoc_progress(pick))
            pick = a;
        if (assoc_progress(a) == 0)
            break;
    }
    return pick;
}

/* Room for one more unproven association: at the cap, one goes
 * (gateway_evictee). A flood is logged once as it starts and once as it
 * ends, not per association. */
static void gateway_make_room(gateway_t *gw)
{
    assoc_t *a;

    if (gw->n_unproven < UNPROVEN_MAX)
        return;
    if (!gw->flooded) {
        gw->flooded = 1;
        gw->flood_since = uv_now(gw->loop);
        gw->flood_ended = gw->flood_dropped = 0;
        log_warn(&gw->log, "assoc",
                 "%d peers are proving the key at once (a flood?): each new one pushes out the "
                 "oldest of those that got least far; their ends are counted until none is left",
                 UNPROVEN_MAX);
    }
    if ((a = gateway_evictee(gw))) {
        gw->flood_dropped++;
        assoc_abort(a, WIRE_E_LIMIT, "pushed out: too many peers proving the key at once");
    }
}

/* An accepted association proved the key (ended 0) or ended without. */
static void gateway_unproven_gone(gateway_t *gw, int ended)
{
    gw->n_unproven--;
    if (!gw->flooded)
        return;
    gw->flood_ended += (uint64_t)ended;
    if (gw->n_unproven > 0)
        return;
    gw->flooded = 0;
    log_warn(&gw->log, "assoc",
             "no peer is proving the key any more: %llu associations ended unproven in %.1f s, "
             "%llu of them pushed out",
             (unsigned long long)gw->flood_ended,
             (double)(uv_now(gw->loop) - gw->flood_since) / 1e3,
             (unsigned long long)gw->flood_dropped);
}

/* A peer's association, accepted: taken only while running. */
static void on_peer(acceptor_t *ac, int fd)
{
    gateway_t *gw = container_of(ac, gateway_t, peers);

    if (gw->state != GW_RUNNING) {
        close(fd);
        return;
    }
    gateway_make_room(gw);
    assoc_new(gw, fd, 0);
}

static void on_peers_rest(acceptor_t *ac, int err)
{
    (void)err;
    container_of(ac, gateway_t, peers)->peers_stats.accept_failures++;
}

static int gateway_listen(gateway_t *gw)
{
    const config_t *cfg = gw->cfg;
    addr_t any;
    int wildcard = cfg->n_local == 0;
    int fd = gateway_socket(gw, wildcard || has_v6(cfg->local, cfg->n_local) ? AF_INET6 : AF_INET,
                            LOG_ERROR);
    int r;

    if (fd < 0)
        return fd;
    memset(&any, 0, sizeof(any));
    any.v6.sin6_family = AF_INET6;
    any.v6.sin6_port = htons((uint16_t)cfg->port);
    r = wildcard ? sock_listen(fd, &any, 1, 128) : sock_listen(fd, cfg->local, cfg->n_local, 128);
    if (r < 0) {
        log_error(&gw->log, "assoc", "cannot listen for peers on port %u: %s", cfg->port,
                  strerror(-r));
        close(fd);
        return r;
    }
    if ((r = acceptor_start(&gw->peers, gw->loop, fd, &gw->log, "assoc", "peers", on_peer)) < 0) {
        log_error(&gw->log, "assoc", "cannot watch the SCTP listener: %s", uv_strerror(r));
        close(fd);
        return r;
    }
    gw->peers.on_rest = on_peers_rest;
    log_info(&gw->log, "assoc", "listening for peers on SCTP port %u", cfg->port);
    return 0;
}

/* ---- associations ------------------------------------------------------ */

/* The oldest association that may carry the service's flows and has room
 * for one more; when none has, the oldest that may, for the refusal to
 * say why (service.c). */
struct assoc *gateway_pick(gateway_t *gw, const service_conf_t *svc)
{
    assoc_t *full = NULL;
    list_t *pos;

    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        assoc_t *a = container_of(pos, assoc_t, node);
        if (a->state != ASSOC_READY || !a->flows_ok)
            continue;
        if (svc->peer[0] && strcmp(svc->peer, a->peer_name) != 0)
            continue;
        if (a->n_flows < gw->cfg->max_flows && streams_available(&a->streams))
            return a;
        if (!full)
            full = a;
    }
    return full;
}

size_t gateway_peers_up(const gateway_t *gw, char *buf, size_t len)
{
    size_t n = 0, used = 0;
    list_t *pos;

    buf[0] = '\0';
    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        const assoc_t *a = container_of(pos, assoc_t, node);
        int w;
        if (a->state != ASSOC_READY || !a->flows_ok)
            continue;
        w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", a->peer_name);
        n++;
        if (w < 0 || (size_t)w >= len - used) {
            snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
            return n;
        }
        used += (size_t)w;
    }
    if (n == 0)
        snprintf(buf, len, "none");
    return n;
}

/* The newcomers refused for carrying a's peer's name: an episode ends when
 * `a` goes, or when none came for a minute, and says how many there were. */
static void gateway_clash_end(gateway_t *gw, assoc_t *a)
{
    uint64_t ms;
    unsigned long n;

    if (episode_end(&a->clash, uv_now(gw->loop), &ms, &n))
        log_info(&gw->log, "assoc", "peers named '%s': %lu refused in %llu ms", a->peer_name, n,
                 (unsigned long long)ms);
}

/* A peer proved the key under a name an older association carries: if
 * the old one has neither heard from its peer nor had all it sent
 * acknowledged for failover_ms, its peer restarted, and its kernel's ABORT
 * for the old one carries no SCTP-AUTH and was dropped: the old one goes
 * now rather than at outage_ms. Both are asked: an idle peer sends a KEEP
 * only every quarter of its own failover_ms, which may be longer than
 * ours, while its kernel acknowledges our KEEPs (every eighth of ours) at
 * once; a peer busy reading sends credit. If the old one is alive, two
 * gateways share a name, and replacing each other they would knock each
 * other off for good: the newcomer is refused before its READY. It will
 * dial again about once a second for as long as it runs, so the refusals
 * are an episode of the old association's, logged once. */
int gateway_name_taken(gateway_t *gw, const struct assoc *fresh, const char *name, char *why,
                       size_t len)
{
    uint64_t now = uv_now(gw->loop);
    list_t *pos, *tmp;

    list_foreach_safe(pos, tmp, &gw->assocs)
    {
        assoc_t *old = container_of(pos, assoc_t, node);

        /* One shutting down is leaving anyway: no clash, nothing to end. */
        if (old == fresh || old->initiator || old->state != ASSOC_READY ||
            strcmp(old->peer_name, name) != 0)
            continue;
        if (now - old->heard_at >= gw->cfg->failover_ms &&
            now - old->dry_at >= gw->cfg->failover_ms) {
            assoc_abort(old, WIRE_E_LOST, "replaced by a new association from the same peer");
            continue;
        }
        snprintf(why, len,
                 "a gateway named '%s' is connected already (assoc %llu, alive within "
                 "failover_ms): two gateways share the name, or it restarted just now",
                 name, (unsigned long long)old->id);
        if (episode_quiet(&old->clash, now, CLASH_QUIET_MS))
            gateway_clash_end(gw, old);
        return episode_hit(&old->clash, "name taken", now) ? 1 : 2;
    }
    return 0;
}

void gateway_on_assoc_ready(gateway_t *gw, struct assoc *a)
{
    if (!a->initiator)
        gateway_unproven_gone(gw, 0);
    gw->dial_failures = 0;
    notify_status(&gw->notify);
}

void gateway_on_assoc_gone(gateway_t *gw, struct assoc *a, int was_ready)
{
    gateway_clash_end(gw, a);
    if (!a->initiator && !was_ready)
        gateway_unproven_gone(gw, !a->name_refused);
    if (was_ready)
        notify_status(&gw->notify);
    /* Draining, the last flows may have gone with this association: their
     * own ends counted it while it still held them (assoc_detach_flows). */
    if ((gw->state == GW_STOPPING && gw->n_assocs == 0) ||
        (gw->state == GW_DRAINING && gateway_flows_live(gw) == 0)) {
        gateway_finish(gw);
        return;
    }
    if (gw->cfg->role != ROLE_CONNECT || gw->state != GW_RUNNING)
        return;
    if (was_ready)
        gw->dial_failures = 0;
    else
        gw->dial_failures++;
    /* Only an association that lasted starts the backoff afresh: one the
     * peer ends at once (it refuses our name) must not be dialled again
     * ten times a second. */
    if (was_ready && uv_now(gw->loop) - a->ready_at >= DIAL_STABLE_MS)
        gw->dial_backoff = 0;
    else
        gw->dial_backoff++;
    gateway_schedule_dial(gw);
}

int gateway_primary(gateway_t *gw, const addr_t *host, char *msg, size_t len)
{
    char where[ADDR_STRLEN];
    size_t moved = 0;
    list_t *pos;
    int r, err = -ENOENT;

    addr_format(host, where, sizeof(where));
    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        assoc_t *a = container_of(pos, assoc_t, node);
        if (a->state != ASSOC_READY)
            continue;
        if ((r = path_set_primary(a, host)) < 0) {
            err = r == -ENOENT ? err : r;
            continue;
        }
        moved++;
        log_info(&gw->log, "path", "assoc %llu: primary path set to %s", (unsigned long long)a->id,
                 where);
    }
    if (moved) {
        snprintf(msg, len, "primary path set to %s on %zu association%s", where, moved,
                 moved == 1 ? "" : "s");
        return 0;
    }
    if (err == -ENOENT)
        snprintf(msg, len, "%s is not a peer address of any ready association", where);
    else
        snprintf(msg, len, "cannot set the primary path to %s: %s", where, strerror(-err));
    log_warn(&gw->log, "path", "%s", msg);
    return err;
}

/* ---- drain and stop ---------------------------------------------------- */

typedef enum { FLOWS_ALL, FLOWS_LIVE, FLOWS_WITH_FDS } flows_kind_t;

/* The flows of every association's table, less the ones `kind` leaves out,
 * and the finishing ones (see gateway.h). */
static size_t gateway_count_flows(const gateway_t *gw, flows_kind_t kind)
{
    size_t n = 0;
    list_t *pos;

    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        const assoc_t *a = container_of(pos, assoc_t, node);
        n += a->n_flows - (kind == FLOWS_LIVE       ? a->n_ending
                           : kind == FLOWS_WITH_FDS ? a->n_closed
                                                    : 0);
    }
    return n + gw->n_finishing;
}

size_t gateway_flows(const gateway_t *gw)
{
    return gateway_count_flows(gw, FLOWS_ALL);
}

size_t gateway_flows_live(const gateway_t *gw)
{
    return gateway_count_flows(gw, FLOWS_LIVE);
}

size_t gateway_flows_with_fds(const gateway_t *gw)
{
    return gateway_count_flows(gw, FLOWS_WITH_FDS);
}

size_t gateway_fd_room(const gateway_t *gw)
{
    size_t proven = gw->n_assocs > gw->n_unproven ? gw->n_assocs - gw->n_unproven : 0;
    size_t over = proven > RLIMITS_RESERVE_ASSOCS ? proven - RLIMITS_RESERVE_ASSOCS : 0;

    return gw->fd_flows > over ? gw->fd_flows - over : 0;
}

/* Flows still passing on what a gone peer sent are reset. */
static void gateway_reset_finishing(gateway_t *gw, const char *why)
{
    list_t *pos, *tmp;

    list_foreach_safe(pos, tmp, &gw->finishing)
    {
        flow_close(container_of(pos, flow_t, finishing), WIRE_E_SHUTDOWN, why);
    }
}

/* Every listener of an accept service closes. */
static void gateway_stop_services(gateway_t *gw)
{
    list_t *pos, *tmp;

    list_foreach_safe(pos, tmp, &gw->services)
    {
        service_stop(container_of(pos, service_t, node));
    }
}

/* A metrics listener on cfg->metrics into *out. Returns 0 or a libuv
 * error, with err saying where. */
static int gateway_metrics_open(gateway_t *gw, const config_t *cfg, metrics_t **out, char *err,
                                size_t len)
{
    char where[ADDR_STRLEN];
    int r = metrics_start(out, gw, &cfg->metrics);

    if (r < 0)
        snprintf(err, len, "metrics: cannot listen on %s: %s",
                 addr_format(&cfg->metrics, where, sizeof(where)), uv_strerror(r));
    return r;
}

/* A name lookup on a pool thread cannot be stopped and keeps the loop
 * running until the resolver gives up (10 s by glibc's defaults, more
 * with more name servers): once everything else is over, the process does
 * not wait for it. */
static void on_stop_wait(uv_timer_t *t)
{
    gateway_t *gw = t->data;

    if (list_empty(&gw->lookups.running))
        return; /* something else, which will end */
    log_warn(&gw->log, "gw", "a name lookup is still waiting for the resolver: not waiting for it");
    gw->lookup_left = 1;
    uv_stop(gw->loop);
}

/* The signal handles stay (a late signal would otherwise kill the process
 * by its default action) but no longer keep the loop running; they close
 * in gateway_free, with the stop timer. */
static void gateway_close_handles(gateway_t *gw)
{
    gw->state = GW_STOPPED;
    gateway_stop_services(gw);
    acceptor_close(&gw->peers, NULL);
    uv_close((uv_handle_t *)&gw->dial_timer, NULL);
    uv_close((uv_handle_t *)&gw->drain_timer, NULL);
    uv_close((uv_handle_t *)&gw->finish_timer, NULL);
    uv_close((uv_handle_t *)&gw->stall_prep, NULL);
    gateway_unproven_count(gw);
    uv_close((uv_handle_t *)&gw->unproven_tm, NULL);
    uv_unref((uv_handle_t *)&gw->sig_term);
    uv_unref((uv_handle_t *)&gw->sig_int);
    uv_unref((uv_handle_t *)&gw->sig_hup);
    uv_timer_start(&gw->stop_timer, on_stop_wait, STOP_WAIT_MS, 0);
    uv_unref((uv_handle_t *)&gw->stop_timer);
    control_close(gw->control);
    gw->control = NULL;
    notify_close(&gw->notify);
    metrics_stop(gw->metrics);
    gw->metrics = NULL;
    log_info(&gw->log, "gw", "stopped");
}

/* Resets what is left and shuts every association down gracefully; the
 * handles close once the last association has gone. */
static void gateway_finish(gateway_t *gw)
{
    list_t *pos, *tmp;

    if (gw->state == GW_STOPPED)
        return;
    uv_timer_stop(&gw->drain_timer);
    gateway_reset_finishing(gw, "drain timeout");
    if (gw->n_assocs == 0) {
        gateway_close_handles(gw);
        return;
    }
    gw->state = GW_STOPPING;
    list_foreach_safe(pos, tmp, &gw->assocs)
    {
        assoc_t *a = container_of(pos, assoc_t, node);
        for (unsigned sid = 1; a->flows && sid < a->nstreams; sid++)
            if (a->flows[sid])
                flow_close(a->flows[sid], WIRE_E_SHUTDOWN, "drain timeout");
        assoc_shutdown(a);
    }
}

static void on_drain_timeout(uv_timer_t *t)
{
    gateway_t *gw = t->data;

    log_warn(&gw->log, "gw", "drain_ms passed with %zu flows open; resetting them",
             gateway_flows_live(gw));
    gateway_finish(gw);
}

static void on_drained(uv_timer_t *t)
{
    gateway_t *gw = t->data;

    if (gw->state == GW_DRAINING)
        gateway_finish(gw);
}

/* The drain finishes on the next loop turn, not inside the flow's own
 * teardown: the associations it shuts down may be the caller's. */
void gateway_on_flow_gone(gateway_t *gw)
{
    if (gw->state == GW_DRAINING && gateway_flows_live(gw) == 0)
        uv_timer_start(&gw->drain_timer, on_drained, 0, 0);
}

static void on_finish_timer(uv_timer_t *t)
{
    gateway_t *gw = t->data;
    list_t *pos, *tmp;

    list_foreach_safe(pos, tmp, &gw->finishing)
    {
        flow_finish_check(container_of(pos, flow_t, finishing));
    }
}

void gateway_finish_later(gateway_t *gw)
{
    if (!uv_is_active((uv_handle_t *)&gw->finish_timer) &&
        !uv_is_closing((uv_handle_t *)&gw->finish_timer))
        uv_timer_start(&gw->finish_timer, on_finish_timer, FINISH_CHECK_MS, 0);
}

static void gateway_drain(gateway_t *gw)
{
    list_t *pos, *tmp;

    gw->state = GW_DRAINING;
    notify_stopping(&gw->notify);
    gateway_stop_services(gw);
    acceptor_close(&gw->peers, NULL);
    uv_timer_stop(&gw->dial_timer);
    log_info(&gw->log, "gw", "draining: %zu flows may finish within %u ms", gateway_flows_live(gw),
             gw->cfg->drain_ms);
    list_foreach_safe(pos, tmp, &gw->assocs)
    {
        assoc_t *a = container_of(pos, assoc_t, node);
        if (a->state == ASSOC_READY)
            continue;
        assoc_abort(a, WIRE_E_SHUTDOWN, "gateway stopping");
        /* With no flow left, that end finished the drain (on_assoc_gone),
         * and the associations this loop would visit next are gone. */
        if (gw->state != GW_DRAINING)
            return;
    }
    if (gateway_flows_live(gw) == 0) {
        gateway_finish(gw);
        return;
    }
    uv_timer_start(&gw->drain_timer, on_drain_timeout, gw->cfg->drain_ms, 0);
}

void gateway_stop(gateway_t *gw)
{
    list_t *pos, *tmp;

    if (gw->state == GW_STOPPED)
        return;
    gw->state = GW_STOPPING;
    notify_stopping(&gw->notify);
    gateway_reset_finishing(gw, "gateway stopping now");
    list_foreach_safe(pos, tmp, &gw->assocs)
    {
        assoc_abort(container_of(pos, assoc_t, node), WIRE_E_SHUTDOWN, "gateway stopping now");
    }
    if (gw->state != GW_STOPPED)
        gateway_close_handles(gw);
}

static void on_signal(uv_signal_t *s, int signum)
{
    gateway_t *gw = s->data;

    if (gw->state == GW_STOPPED)
        return;
    if (gw->state == GW_RUNNING) {
        log_info(&gw->log, "gw", "%s: stopping gracefully", strsignal(signum));
        gateway_drain(gw);
    } else {
        log_warn(&gw->log, "gw", "%s again: stopping now", strsignal(signum));
        gateway_stop(gw);
    }
}

/* ---- reload ------------------------------------------------------------ */

/* The running accept service of that name, or NULL. */
static service_t *gateway_service(gateway_t *gw, const char *name)
{
    list_t *pos;

    for (pos = gw->services.next; pos != &gw->services; pos = pos->next) {
        service_t *s = container_of(pos, service_t, node);
        if (strcmp(s->conf.name, name) == 0)
            return s;
    }
    return NULL;
}

/* Flows open for a service, on every association. */
static size_t gateway_service_flows(const gateway_t *gw, const char *name)
{
    size_t n = 0;
    list_t *pos;

    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        assoc_t *a = container_of(pos, assoc_t, node);
        for (unsigned sid = 1; a->flows && sid < a->nstreams; sid++)
            n += a->flows[sid] && strcmp(a->flows[sid]->service, name) == 0;
    }
    return n;
}

/* What a reload works with: the plan, and the running services it names,
 * found before any new one (which may bear an old one's name) is added. */
typedef struct reload_ctx {
    const config_t *old, *next;
    reload_plan_t plan;
    service_t *stop[CONFIG_MAX_SERVICES]; /* by plan.stop, NULL if not running */
    service_t *keep[CONFIG_MAX_SERVICES]; /* by plan.keep */
    metrics_t *metrics;                   /* RELOAD_METRICS: the new listener, NULL for off */
    control_t *control;                   /* RELOAD_CONTROL: the new socket, NULL for off */
} reload_ctx_t;

/* The gateway's own listeners (metrics, control) that the new file moves
 * or starts, into c. */
static int reload_listen_own(gateway_t *gw, reload_ctx_t *c, char *msg, size_t len)
{
    int r;

    if ((c->plan.live & RELOAD_METRICS) && c->next->has_metrics &&
        (r = gateway_metrics_open(gw, c->next, &c->metrics, msg, len)) < 0)
        return r;
    if ((c->plan.live & RELOAD_CONTROL) && c->next->control[0] &&
        (r = control_start(gw, c->next->control, &c->control, msg, len)) < 0) {
        if (!gw->control && !c->next->control_given) {
            /* As at start: the default socket failing is a warning. */
            log_warn(&gw->log, "ctl", "%s; still running without a control socket", msg);
            c->plan.live &= ~RELOAD_CONTROL;
            return 0;
        }
        metrics_stop(c->metrics);
        c->metrics = NULL;
        return r;
    }
    return 0;
}

/* Opens the listeners the plan starts: all or none. This and the parse are
 * the only steps that can fail, and both come before anything changes.
 * The metrics listener and the control socket, when they move, too. */
static int reload_listen(gateway_t *gw, reload_ctx_t *c, char *msg, size_t len)
{
    service_t *opened[CONFIG_MAX_SERVICES];
    char where[ADDR_STRLEN];
    size_t i;
    int r = 0;

    for (i = 0; i < c->plan.n_start; i++) {
        const service_conf_t *sc = &c->next->services[c->plan.start[i]];

        if ((r = service_start(gw, sc)) < 0) {
            snprintf(msg, len, "[%s]: cannot listen on %s: %s", sc->name,
                     addr_format(&sc->addr, where, sizeof(where)), uv_strerror(r));
            break;
        }
        opened[i] = container_of(gw->services.prev, service_t, node);
    }
    if (r == 0 && (r = reload_listen_own(gw, c, msg, len)) == 0)
        return 0;
    while (i-- > 0)
        service_undo(opened[i]);
    return r;
}

/* The old metrics listener and control socket give way to the new ones. */
static void reload_own(gateway_t *gw, const reload_ctx_t *c)
{
    char where[ADDR_STRLEN];

    if (c->plan.live & RELOAD_METRICS) {
        metrics_stop(gw->metrics);
        gw->metrics = c->metrics;
        if (gw->metrics)
            log_info(&gw->log, "metrics", "reload: serving http://%s/metrics",
                     addr_format(&c->next->metrics, where, sizeof(where)));
        else
            log_info(&gw->log, "metrics", "reload: metrics off");
    }
    if (c->plan.live & RELOAD_CONTROL) {
        control_close_later(gw->control);
        gw->control = c->control;
        log_info(&gw->log, "ctl", "reload: control socket %s",
                 c->control ? c->next->control : "off");
    }
}

/* A service the reload moves away from its back end does not carry that
 * back end's failures over to the next (flow.c): they are said as over. */
static void reload_backend_left(gateway_t *gw, const char *name, const char *was)
{
    svc_stats_t *st = gateway_svc_stats(gw, name); /* the old file's, still */
    uint64_t ms;
    unsigned long hits;

    if (st && episode_end(&st->backend, st->backend.last_ms, &ms, &hits))
        log_info(&gw->log, "svc",
                 "reload: [%s]: back end %s: %lu flow%s failed in %llu ms, no more", name, was,
                 hits, hits == 1 ? "" : "s", (unsigned long long)ms);
}

/* Listeners close, carry on or have opened; connect services need no more
 * than the new configuration. Flows are never touched: they hold their
 * service's name, not the service. */
static void reload_services(gateway_t *gw, const reload_ctx_t *c)
{
    const reload_plan_t *p = &c->plan;
    char where[ADDR_NAME_LEN + 8], was[ADDR_NAME_LEN + 8];

    for (size_t i = 0; i < p->n_stop; i++) {
        const service_conf_t *o = &c->old->services[p->stop[i]];

        log_info(&gw->log, "svc", "reload: [%s]: %s; its listener closes, its %zu open flows go on",
                 o->name, config_service(c->next, o->name) ? "moved or now connects" : "removed",
                 gateway_service_flows(gw, o->name));
        if (c->stop[i])
            service_stop(c->stop[i]);
    }
    for (size_t i = 0; i < p->n_keep; i++) {
        const service_conf_t *n = &c->next->services[p->keep[i].new_i];

        if (!c->keep[i])
            continue;
        if (strcmp(c->keep[i]->conf.name, n->name) != 0)
            log_info(&gw->log, "svc", "reload: [%s] takes over the listener of [%s] on %s", n->name,
                     c->keep[i]->conf.name, addr_format(&n->addr, where, sizeof(where)));
        if (strcmp(c->keep[i]->conf.peer, n->peer) != 0)
            log_info(&gw->log, "svc", "reload: [%s]: new clients go to %s%s", n->name,
                     n->peer[0] ? "peer " : "any peer with an association up", n->peer);
        service_reconf(c->keep[i], n);
    }
    for (size_t i = 0; i < p->n_start; i++) {
        const service_conf_t *n = &c->next->services[p->start[i]];
        log_info(&gw->log, "svc", "reload: [%s]: accepting on %s", n->name,
                 addr_format(&n->addr, where, sizeof(where)));
    }
    for (size_t i = 0; i < c->old->n_services; i++) {
        const service_conf_t *o = &c->old->services[i];
        if (!o->is_accept && !config_service(c->next, o->name))
            log_info(&gw->log, "svc",
                     "reload: [%s]: removed; the peer's new flows for it are refused, its %zu "
                     "open flows go on",
                     o->name, gateway_service_flows(gw, o->name));
    }
    for (size_t i = 0; i < c->next->n_services; i++) {
        const service_conf_t *n = &c->next->services[i];
        const service_conf_t *o = config_service(c->old, n->name);
        int connected = o && !o->is_accept; /* it had a back end */

        if (connected)
            config_service_target(o, was, sizeof(was));
        if (!n->is_accept)
            config_service_target(n, where, sizeof(where));
        if (connected && !n->is_accept && strcmp(was, where) == 0)
            continue; /* the same back end */
        if (connected)
            reload_backend_left(gw, n->name, was);
        if (!n->is_accept)
            log_info(&gw->log, "svc", "reload: [%s]: new flows from the peer connect to %s",
                     n->name, where);
    }
}

static unsigned gateway_streams(const config_t *cfg)
{
    return 2 * cfg->max_flows + 1 > 65535 ? 65535 : 2 * cfg->max_flows + 1;
}

/* The kernel's error limit tops out at 65535: at a short failover_ms and a
 * long outage_ms a total outage may use it up before outage_ms. Said at
 * start and on reload, for the associations to come. */
static void gateway_check_backstop(gateway_t *gw, const config_t *cfg, unsigned paths,
                                   const char *when)
{
    unsigned cut = tune_backstop_ms(gw->tune.asoc_max_retrans, &gw->tune, paths);

    if (cut < cfg->outage_ms)
        log_warn(&gw->log, "gw",
                 "%soutage_ms %u: the kernel's error limit (%u) may end a total outage after "
                 "about %u ms at failover_ms %u with %s%u peer addresses; lower outage_ms or "
                 "raise failover_ms",
                 when, cfg->outage_ms, gw->tune.asoc_max_retrans, cut, cfg->failover_ms,
                 cfg->role == ROLE_LISTEN ? "up to " : "", paths);
}

/* New timers for every live association and for the ones to come (the
 * listening socket's defaults; a dial makes its socket from gw->tune). */
static void reload_tune(gateway_t *gw, const reload_ctx_t *c)
{
    const config_t *old = c->old, *next = c->next;
    unsigned paths = next->role == ROLE_CONNECT ? (unsigned)next->n_remote : CONFIG_MAX_ADDRS;
    const tune_t *t = &gw->tune;
    size_t n = 0, kept = 0;
    unsigned k, least = 0;
    list_t *pos;

    if (tune_derive(next->failover_ms, next->outage_ms, paths, &gw->tune) < 0)
        return; /* config_load has checked both */
    gateway_check_backstop(gw, next, paths, "reload: ");
    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        if (assoc_retune(container_of(pos, assoc_t, node), &k) == 0) {
            n++;
            kept += k > 0;
            least = k && (!least || k < least) ? k : least;
        }
    }
    log_info(&gw->log, "gw",
             "reload: failover_ms %u -> %u, outage_ms %u -> %u: rto %u..%u ms, heartbeat %u ms; "
             "%zu association%s re-tuned",
             old->failover_ms, next->failover_ms, old->outage_ms, next->outage_ms, t->rto_min,
             t->rto_max, t->hb_interval, n, n == 1 ? "" : "s");
    /* The kernel's own limit was set for the old timers and outage_ms: the
     * new timers may use it up sooner (tune_backstop_ms). */
    if (kept && tune_backstop_ms(least, t, paths) < next->outage_ms)
        log_warn(&gw->log, "gw",
                 "reload: the kernel kept the error limit of %zu live association%s: a total "
                 "outage longer than about %u ms may end it before outage_ms (%u); new "
                 "associations have the new limit",
                 kept, kept == 1 ? "" : "s", tune_backstop_ms(least, t, paths), next->outage_ms);
}

/* The listening socket's defaults, which accepted associations copy. */
static void reload_listen_socket(gateway_t *gw, const config_t *next)
{
    const char *what = "";
    int r;

    if (gw->peers.fd < 0)
        return;
    r = sock_tune(gw->peers.fd, &gw->tune, gateway_streams(next), next->sock_buffer, &what);
    if (r < 0)
        log_warn(&gw->log, "assoc", "reload: cannot set %s on the listening socket: %s", what,
                 strerror(-r));
}

/* Without the key the preferred path is the default, the first address of
 * remote (where the dial starts, dial_targets), not whatever was set last. */
static void reload_primary(gateway_t *gw, const config_t *next)
{
    const addr_t *primary = config_primary(next);
    list_t *pos;

    if (!primary)
        return;
    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        assoc_t *a = container_of(pos, assoc_t, node);
        if (a->initiator)
            assoc_set_primary(a, primary);
    }
}

/* Logs the keys that wait for a restart, one line each. */
static void reload_log_restart(gateway_t *gw, const char *keys)
{
    const char *s = keys;

    while (*s) {
        size_t n = strcspn(s, ",");

        log_warn(&gw->log, "gw", "reload: %.*s changed: needs a restart; kept the running value",
                 (int)n, s);
        s += n;
        s += strspn(s, ", ");
    }
}

static void gateway_fd_budget(gateway_t *gw, const config_t *cfg);

/* Listeners a reload opened or closed hold descriptors flows had room for,
 * or give them back (the reserve is for the rest, not for them). */
static void reload_fd_budget(gateway_t *gw, const config_t *next, unsigned live)
{
    unsigned before = gw->fd_flows;

    gateway_fd_budget(gw, next);
    if (gw->fd_flows != before)
        log_info(&gw->log, "gw",
                 "reload: the descriptor limit now leaves room for %u flows (%u before)",
                 gw->fd_flows, before);
    if ((live & RELOAD_MAX_FLOWS || gw->fd_flows < before) && gw->fd_flows < next->max_flows)
        log_warn(&gw->log, "gw",
                 "the descriptor limit leaves room for %u flows, fewer than max_flows %u: raise "
                 "the hard limit (LimitNOFILE=, ulimit -Hn) and restart",
                 gw->fd_flows, next->max_flows);
}

/* Applies a plan whose listeners have opened. Nothing here can fail: what
 * the kernel refuses (a re-tune) is logged and the rest goes on. */
static void reload_apply(gateway_t *gw, const reload_ctx_t *c)
{
    const config_t *next = c->next;
    unsigned live = c->plan.live;

    if (live & RELOAD_LOG_LEVEL) {
        /* Said at the chattier of the two levels, so the line shows. */
        log_level_t said =
            next->log_level > c->old->log_level ? next->log_level : c->old->log_level;
        gw->log.level = said;
        log_info(&gw->log, "gw", "reload: log_level now %s",
                 next->log_level == LOG_DEBUG  ? "debug"
                 : next->log_level == LOG_INFO ? "info"
                 : next->log_level == LOG_WARN ? "warn"
                                               : "error");
        gw->log.level = next->log_level;
    }
    reload_services(gw, c);
    if (live & RELOAD_TIMERS)
        reload_tune(gw, c);
    if (live & (RELOAD_TIMERS | RELOAD_MAX_FLOWS))
        reload_listen_socket(gw, next);
    if (live & RELOAD_PRIMARY)
        reload_primary(gw, next);
    reload_own(gw, c);
    if (live & RELOAD_MAX_FLOWS)
        log_info(&gw->log, "gw",
                 "reload: max_flows %u -> %u (a live association keeps the streams it has)",
                 c->old->max_flows, next->max_flows);
    reload_fd_budget(gw, next, live);
    if (live & RELOAD_WINDOW)
        log_info(&gw->log, "gw", "reload: flow_window %u -> %u for associations made from now on",
                 c->old->flow_window, next->flow_window);
    if (live & RELOAD_DRAIN)
        log_info(&gw->log, "gw", "reload: drain_ms %u -> %u", c->old->drain_ms, next->drain_ms);
    if (live & RELOAD_STALL)
        log_info(&gw->log, "gw", "reload: stall_ms %u -> %u for flows opened from now on",
                 c->old->stall_ms, next->stall_ms);
    if (live & RELOAD_REKEY)
        log_info(&gw->log, "gw", "reload: rekey_s %u -> %u", c->old->rekey_s, next->rekey_s);
    reload_log_restart(gw, c->plan.restart);
    snprintf(gw->restart_needed, sizeof(gw->restart_needed), "%s", c->plan.restart);
}

/* The services' counters follow them by name into `stats` (one per
 * service of the new file, in its order), which replaces the old array; a
 * removed service's counters go with it. */
static void reload_stats(gateway_t *gw, const config_t *next, svc_stats_t *stats)
{
    for (size_t i = 0; i < next->n_services; i++) {
        const service_conf_t *o = config_service(gw->cfg, next->services[i].name);

        if (o)
            stats[i] = gw->svc_stats[o - gw->cfg->services];
    }
    free(gw->svc_stats);
    gw->svc_stats = stats;
}

/* Finds the running services the plan stops or keeps. */
static void reload_find(gateway_t *gw, reload_ctx_t *c)
{
    for (size_t i = 0; i < c->plan.n_stop; i++)
        c->stop[i] = gateway_service(gw, c->old->services[c->plan.stop[i]].name);
    for (size_t i = 0; i < c->plan.n_keep; i++)
        c->keep[i] = gateway_service(gw, c->old->services[c->plan.keep[i].old_i].name);
}

int gateway_reload(gateway_t *gw, char *msg, size_t len)
{
    reload_ctx_t *c = NULL;
    config_t *next = NULL;
    svc_stats_t *stats = NULL;
    char err[1024], live[160];
    int r;

    if (gw->state != GW_RUNNING) {
        snprintf(msg, len, "not reloaded: the gateway is stopping");
        log_warn(&gw->log, "gw", "reload: %s", msg);
        return -EBUSY;
    }
    notify_reloading(&gw->notify);
    log_info(&gw->log, "gw", "reload: reading %s", gw->cfg->path);
    if (!(next = calloc(1, sizeof(*next))) || !(c = calloc(1, sizeof(*c)))) {
        snprintf(msg, len, "not reloaded: out of memory; nothing changed");
        r = -ENOMEM;
        goto done;
    }
    if (config_load(gw->cfg->path, next, err, sizeof(err)) < 0) {
        snprintf(msg, len, "%s; nothing changed", err);
        r = -EINVAL;
        goto done;
    }
    if (!(stats = calloc(next->n_services ? next->n_services : 1, sizeof(*stats)))) {
        snprintf(msg, len, "not reloaded: out of memory; nothing changed");
        r = -ENOMEM;
        goto done;
    }
    c->old = gw->cfg;
    c->next = next;
    reload_diff(gw->cfg, next, &c->plan);
    /* A control socket that could not be made at start is tried again:
     * its folder may have been mended since. */
    if (!gw->control && next->control[0])
        c->plan.live |= RELOAD_CONTROL;
    reload_keep_running(next, gw->cfg, &c->plan);
    reload_find(gw, c);
    if ((r = reload_listen(gw, c, err, sizeof(err))) < 0) {
        snprintf(msg, len, "%s; nothing changed", err);
        goto done;
    }
    reload_apply(gw, c);
    reload_stats(gw, next, stats);
    stats = NULL;
    config_free(gw->cfg);
    gw->cfg = next;
    gw->log.name = next->name;
    next = NULL;
    gw->reloads++;
    if (c->plan.live & RELOAD_MAX_FLOWS)
        service_check_backlog(gw);
    reload_describe(&c->plan, live, sizeof(live));
    snprintf(msg, len, "reloaded: %s%s%s", live, gw->restart_needed[0] ? "; needs a restart: " : "",
             gw->restart_needed);
    r = 0;
done:
    if (r < 0)
        log_error(&gw->log, "gw", "reload: %s", msg);
    else
        log_info(&gw->log, "gw", "%s", msg);
    config_free(next);
    free(stats);
    free(c);
    notify_ready(&gw->notify);
    return r;
}

static void on_sighup(uv_signal_t *s, int signum)
{
    char msg[1200];

    (void)signum;
    (void)gateway_reload(s->data, msg, sizeof(msg));
}

/* ---- start ------------------------------------------------------------- */

/* The one line the service manager shows (systemctl status): what the
 * association is doing and how many flows it carries. */
static void gateway_status(void *arg, char *buf, size_t len)
{
    gateway_t *gw = arg;
    size_t ready = 0, flows = gateway_flows(gw);
    const char *fs = flows == 1 ? "" : "s";
    list_t *pos;

    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next)
        ready += container_of(pos, assoc_t, node)->state == ASSOC_READY;
    if (gw->state != GW_RUNNING)
        snprintf(buf, len, "%s, %zu flow%s", gw->state == GW_DRAINING ? "draining" : "stopping",
                 flows, fs);
    else if (gw->cfg->role == ROLE_LISTEN)
        snprintf(buf, len, "listening, %zu association%s, %zu flow%s", ready, ready == 1 ? "" : "s",
                 flows, fs);
    else if (ready)
        snprintf(buf, len, "association up, %zu flow%s", flows, fs);
    else
        snprintf(buf, len, "dialing");
}

/* SCTP inside UDP needs the kernel's UDP socket on the same port at both
 * ends: without it packets leave native (no error anywhere) and the peer's
 * replies find no socket. Sockets copy the setting when they are made, so
 * it must be in place before the gateway starts, and before each dial
 * (the setting may have changed since). Logged at `level`. */
static int gateway_check_udp(gateway_t *gw, log_level_t level)
{
    unsigned want = gw->cfg->udp_port, have = 0;
    int r;

    if (!want)
        return 0;
    if ((r = rlimits_sysctl("net.sctp.udp_port", &have)) < 0) {
        log_write(&gw->log, level, "gw", "udp_port = %u: cannot read net.sctp.udp_port: %s", want,
                  r == -ENOENT ? "no such key (SCTP inside UDP needs Linux 5.11 or later)"
                               : strerror(-r));
        return r;
    }
    if (have != want) {
        log_write(&gw->log, level, "gw",
                  "udp_port = %u: the kernel's net.sctp.udp_port is %u; set it to %u at both "
                  "ends before starting (sysctl -w net.sctp.udp_port=%u, and a file in "
                  "/etc/sysctl.d/ to keep it)",
                  want, have, want, want);
        return -EINVAL;
    }
    return 0;
}

/* Past the sysctls' caps the kernel takes a smaller buffer without a word,
 * and with it fewer bytes in flight per association: the shipped unit has
 * no CAP_NET_ADMIN to go beyond them. */
static void gateway_check_buffer(gateway_t *gw, int fd)
{
    unsigned want = gw->cfg->sock_buffer, got = sock_buffer_granted(fd, want);

    if (got && got < want)
        log_warn(&gw->log, "gw",
                 "sock_buffer = %u: the kernel gives %u (net.core.wmem_max and rmem_max cap "
                 "it without CAP_NET_ADMIN): raise both, as deploy/sysctl.d/60-sctpgw.conf does",
                 want, got);
}

/* Whether COOKIE-ECHO can be authenticated too: the kernel checks a
 * COOKIE-ECHO's AUTH only where net.sctp.auth_enable is 1 (the namespace's
 * setting, not the socket's SCTP_AUTH_SUPPORTED), and drops one it cannot
 * check, so asking for it elsewhere would let no association up. Without
 * it, anyone on the path can send an INIT in the peer's name and echo the
 * INIT-ACK's cookie: the kernel takes it for the peer's restart and every
 * flow is reset. Read once the module is loaded (its keys exist then). */
static void gateway_check_cookie_auth(gateway_t *gw)
{
    unsigned on = 0;

    if (!gw->cfg->encryption)
        return;
    gw->cookie_auth = rlimits_sysctl("net.sctp.auth_enable", &on) == 0 && on == 1;
    if (!gw->cookie_auth)
        log_warn(&gw->log, "gw",
                 "net.sctp.auth_enable is not 1: COOKIE-ECHO goes unauthenticated, so anyone on "
                 "a link can restart the association in the peer's name and reset every flow "
                 "(set it to 1 before starting: deploy/sysctl.d/60-sctpgw.conf)");
}

/* The one-timeout failover tune.h counts on is the potentially-failed
 * state, which the kernel gives paths only where net.sctp.pf_enable is 1
 * (the namespace's setting, read at each strike): elsewhere a dead path
 * keeps new data until its third timeout. */
static void gateway_check_pf(gateway_t *gw)
{
    unsigned on = 0;

    if (rlimits_sysctl("net.sctp.pf_enable", &on) == 0 && on != 1)
        log_warn(&gw->log, "gw",
                 "net.sctp.pf_enable is not 1: a dead link keeps new data until its third "
                 "timeout, not its first, so failover may take 1.5 x failover_ms (%u ms); set "
                 "it to 1 before starting (deploy/sysctl.d/60-sctpgw.conf)",
                 gw->cfg->failover_ms / 2 * 3);
}

/* A kernel without SCTP is a runtime failure to report at once, not a
 * reason to keep dialing. */
static int gateway_check_sctp(gateway_t *gw)
{
    int fd = sock_open(AF_INET), r;

    if (fd == -EPROTONOSUPPORT || fd == -ESOCKTNOSUPPORT) {
        log_error(&gw->log, "gw",
                  "this kernel has no SCTP (modprobe sctp, or load the module "
                  "on the host of this container)");
        return fd;
    }
    if (fd < 0)
        return 0;
    gateway_check_cookie_auth(gw);
    gateway_check_pf(gw);
    r = gateway_auth(gw, fd, LOG_ERROR); /* found at start rather than at every dial */
    gateway_check_buffer(gw, fd);
    close(fd);
    return r;
}

static int gateway_start_services(gateway_t *gw)
{
    const config_t *cfg = gw->cfg;
    char where[ADDR_NAME_LEN + 8];
    int r;

    gw->svc_stats = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*gw->svc_stats));
    if (!gw->svc_stats)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_services; i++) {
        const service_conf_t *sc = &cfg->services[i];
        config_service_target(sc, where, sizeof(where));
        if (!sc->is_accept) {
            log_info(&gw->log, "svc", "[%s]: flows from the peer connect to %s%s", sc->name, where,
                     sc->is_name ? " (a name, looked up as each flow opens)" : "");
            continue;
        }
        r = service_start(gw, sc);
        if (r < 0) {
            log_error(&gw->log, "svc", "[%s]: cannot listen on %s: %s", sc->name, where,
                      uv_strerror(r));
            return r;
        }
        log_info(&gw->log, "svc", "[%s]: accepting on %s", sc->name, where);
    }
    if (!list_empty(&gw->services))
        service_check_backlog(gw);
    return 0;
}

/* The /metrics listener, when configured. A port already taken is a
 * runtime failure like a service's: the operator asked for it. */
static int gateway_start_metrics(gateway_t *gw)
{
    char err[256];
    int r;

    if (!gw->cfg->has_metrics)
        return 0;
    if ((r = gateway_metrics_open(gw, gw->cfg, &gw->metrics, err, sizeof(err))) < 0) {
        log_error(&gw->log, "gw", "%s", err);
        return r;
    }
    log_info(&gw->log, "metrics", "serving http://%s/metrics",
             addr_format(&gw->cfg->metrics, err, sizeof(err)));
    return 0;
}

/* The control socket. One named in the file must open; the default one
 * (/run/sctpgw/NAME.sock) may be out of reach when run by hand without
 * that folder's rights, and the gateway then runs without it. */
static int gateway_start_control(gateway_t *gw)
{
    const config_t *cfg = gw->cfg;
    char err[256];
    int r;

    if (!cfg->control[0])
        return 0;
    r = control_start(gw, cfg->control, &gw->control, err, sizeof(err));
    if (r >= 0) {
        log_info(&gw->log, "ctl", "status on %s", cfg->control);
        return 0;
    }
    if (cfg->control_given) {
        log_error(&gw->log, "ctl", "%s (control = off, or another path)", err);
        return r;
    }
    log_warn(&gw->log, "ctl", "%s; running without a control socket (set control =)", err);
    return 0;
}

/* Listening descriptors now: the services', the metrics' and the control
 * socket's (a reload opens and closes them). */
static long gateway_listeners(const gateway_t *gw)
{
    long n = (gw->metrics != NULL) + (gw->control != NULL);

    for (const list_t *pos = gw->services.next; pos != &gw->services; pos = pos->next)
        n++;
    return n;
}

/* Descriptors the gateway may hold beside its flows, each kind bounded:
 * peers still proving the key (the listen role's, any outsider can make
 * them), sockets held after their last ERROR, control and metrics clients.
 * Left out of the flows' room, a flood of them near the limit made accept
 * and connect fail for want of a descriptor, instead of the flows past the
 * room being refused with the reason. */
static long gateway_fd_side(const gateway_t *gw)
{
    long n = ASSOC_CLOSERS_MAX;

    if (gw->cfg->role == ROLE_LISTEN)
        n += UNPROVEN_MAX;
    if (gw->control)
        n += CONTROL_CLIENTS_MAX;
    if (gw->metrics)
        n += METRICS_CLIENTS_MAX;
    return n;
}

/* Sets fd_flows from the limit and the descriptors held outside flows. */
static void gateway_fd_budget(gateway_t *gw, const config_t *cfg)
{
    gw->fd_flows = gw->fd_limit > 0
                       ? rlimits_flow_cap(gw->fd_limit,
                                          gw->fd_base + gateway_listeners(gw) + gateway_fd_side(gw))
                       : cfg->max_flows;
}

/* Each flow holds a descriptor: raise the soft limit as far as the hard one
 * allows (a shell's default of 1024 would cap a gateway near a thousand
 * flows without a word) and say so when max_flows still cannot be reached. */
static void gateway_check_fds(gateway_t *gw)
{
    long limit = rlimits_raise_fds(), open = rlimits_open_fds();

    if (limit < 0 || open < 0) {
        log_warn(&gw->log, "gw", "cannot read the descriptor limit: %s",
                 strerror((int)-(limit < 0 ? limit : open)));
        gateway_fd_budget(gw, gw->cfg);
        return;
    }
    gw->fd_limit = limit;
    gw->fd_base = open - gateway_listeners(gw);
    gateway_fd_budget(gw, gw->cfg);
    if (gw->fd_flows < gw->cfg->max_flows)
        log_warn(&gw->log, "gw",
                 "the descriptor limit (%ld, %ld in use) leaves room for %u flows, fewer than "
                 "max_flows %u: raise the hard limit (LimitNOFILE=, ulimit -Hn)",
                 limit, open, gw->fd_flows, gw->cfg->max_flows);
    else
        log_debug(&gw->log, "gw", "descriptor limit %ld: room for %u flows", limit, gw->fd_flows);
}

/* The wall clock, in ms. Read at start, and again by a snapshot only once
 * the clock has stepped (collect.c): timestamps that a snapshot derives
 * from loop times then stay put from one scrape to the next (two clocks
 * read apart and cut to whole milliseconds differ by one either way, and a
 * metric's changes() would see every scrape as a change). */
static uint64_t gateway_unix_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Just before the loop waits for events: when it is to wake at the latest
 * (an idle handle or a timer due makes that now). */
static void on_stall_prep(uv_prepare_t *h)
{
    gateway_t *gw = h->data;
    int timeout = uv_backend_timeout(gw->loop);

    gw->poll_due = timeout < 0 ? 0 : uv_now(gw->loop) + (uint64_t)timeout;
}

uint64_t gateway_stall(const gateway_t *gw)
{
    uint64_t now = uv_now(gw->loop);

    return gw->poll_due && now >= gw->poll_due + GATEWAY_STALL_MS ? now - gw->poll_due : 0;
}

/* The gateway's own handles and the notifier, set up before anything in
 * gateway_start can fail: gateway_stop, which a failed start is followed
 * by, closes every one of them. */
static void gateway_init_handles(gateway_t *gw, uv_loop_t *loop)
{
    uv_timer_init(loop, &gw->dial_timer);
    uv_timer_init(loop, &gw->drain_timer);
    uv_timer_init(loop, &gw->finish_timer);
    uv_timer_init(loop, &gw->unproven_tm);
    uv_timer_init(loop, &gw->stop_timer);
    uv_prepare_init(loop, &gw->stall_prep);
    uv_signal_init(loop, &gw->sig_term);
    uv_signal_init(loop, &gw->sig_int);
    uv_signal_init(loop, &gw->sig_hup);
    gw->stall_prep.data = gw;
    uv_prepare_start(&gw->stall_prep, on_stall_prep);
    uv_unref((uv_handle_t *)&gw->stall_prep);
    gw->dial_timer.data = gw->drain_timer.data = gw->sig_term.data = gw->sig_int.data = gw;
    gw->sig_hup.data = gw->finish_timer.data = gw->stop_timer.data = gw;
    gw->unproven_tm.data = gw;
    uv_signal_start(&gw->sig_term, on_signal, SIGTERM);
    uv_signal_start(&gw->sig_int, on_signal, SIGINT);
    uv_signal_start(&gw->sig_hup, on_sighup, SIGHUP);
    notify_init(&gw->notify, loop, gateway_status, gw);
}

/* A local address the host lacks is bound all the same (sock_bind), which
 * hides a typo as well as a link that is down: said once, at start. */
static void gateway_check_local(gateway_t *gw)
{
    const config_t *cfg = gw->cfg;
    char text[ADDR_STRLEN];

    for (size_t i = 0; i < cfg->n_local; i++)
        if (sock_addr_here(&cfg->local[i]) == 0)
            log_warn(&gw->log, "assoc",
                     "local address %s is not on this host now: bound all the same; its "
                     "link carries nothing until the address is up",
                     addr_format_host(&cfg->local[i], text, sizeof(text)));
}

/* The kernel's tick, for the figures it gives in jiffies (sock_tick_hz). */
static unsigned gateway_tick_hz(gateway_t *gw)
{
    unsigned hz = sock_tick_hz();

    if (hz)
        return hz;
    log_info(&gw->log, "gw",
             "no kernel config file to read the tick rate from: path srtt and the largest "
             "rto shown assume 250 Hz (Debian's)");
    return 250;
}

int gateway_start(gateway_t *gw, uv_loop_t *loop, config_t *cfg)
{
    unsigned paths = cfg->role == ROLE_CONNECT ? (unsigned)cfg->n_remote : CONFIG_MAX_ADDRS;
    const tune_t *t = &gw->tune;
    int r;

    memset(gw, 0, sizeof(*gw));
    gw->loop = loop;
    gw->cfg = cfg;
    gw->log.level = cfg->log_level;
    gw->log.name = cfg->name;
    log_sink_init(&gw->log_sink, STDERR_FILENO);
    gw->log.sink = &gw->log_sink;
    gw->peers.fd = -1;
    gw->started = uv_now(loop);
    gw->unix_base = gateway_unix_ms() - gw->started;
    list_init(&gw->assocs);
    list_init(&gw->finishing);
    list_init(&gw->services);
    dial_lookups_init(&gw->lookups);
    gateway_init_handles(gw, loop);
    if (sodium_init() < 0) {
        log_error(&gw->log, "gw", "cannot start: libsodium failed to initialise");
        return -EINVAL;
    }
    if (tune_derive(cfg->failover_ms, cfg->outage_ms, paths, &gw->tune) < 0) {
        log_error(&gw->log, "gw", "cannot start: failover_ms %u, outage_ms %u cannot be tuned",
                  cfg->failover_ms, cfg->outage_ms);
        return -EINVAL;
    }
    log_info(&gw->log, "gw",
             "sctpgw %s starting as %s; failover_ms %u -> rto %u..%u ms, heartbeat %u ms, "
             "path max retrans %u; outage_ms %u",
             SCTPGW_VERSION, cfg->role == ROLE_CONNECT ? "connect" : "listen", cfg->failover_ms,
             t->rto_min, t->rto_max, t->hb_interval, t->path_max_retrans, cfg->outage_ms);
    gateway_check_backstop(gw, cfg, paths, "");
    gw->tick_hz = gateway_tick_hz(gw);
    if (cfg->udp_port)
        log_info(&gw->log, "gw", "SCTP inside UDP (RFC 6951): port %u at both ends", cfg->udp_port);
    if (cfg->encryption)
        handshake_auth_key(cfg->psk, cfg->psk_len, gw->auth_key);
    else
        log_warn(&gw->log, "gw",
                 "encryption = off: flows cross the links in clear and SCTP "
                 "chunks are not authenticated; only for links already protected");
    gateway_check_local(gw);
    if ((r = gateway_check_sctp(gw)) < 0 || (r = gateway_check_udp(gw, LOG_ERROR)) < 0 ||
        (r = gateway_start_services(gw)) < 0 || (r = gateway_start_metrics(gw)) < 0 ||
        (r = gateway_start_control(gw)) < 0 ||
        (cfg->role == ROLE_LISTEN && (r = gateway_listen(gw)) < 0))
        return r;
    gateway_check_fds(gw);
    if (cfg->role == ROLE_CONNECT)
        gateway_dial(gw);
    notify_ready(&gw->notify);
    return 0;
}

/* libuv gives a signal its default action back when its last handle
 * closes: a reload asked as the gateway exits (SIGHUP) would then kill a
 * gateway that had stopped cleanly, with status 129 rather than the 0 its
 * usage promises. The signals are ignored from then on instead, and held
 * back on this thread meanwhile (the only one that takes them: dial.c),
 * so that none lands between the close and SIG_IGN. */
static void gateway_close_signals(gateway_t *gw)
{
    static const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
    sigset_t set, old;

    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&set, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    uv_close((uv_handle_t *)&gw->sig_term, NULL);
    uv_close((uv_handle_t *)&gw->sig_int, NULL);
    uv_close((uv_handle_t *)&gw->sig_hup, NULL);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_IGN);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void gateway_free(gateway_t *gw)
{
    uv_close((uv_handle_t *)&gw->stop_timer, NULL);
    gateway_close_signals(gw);
    uv_run(gw->loop, UV_RUN_NOWAIT);
    sodium_memzero(gw->auth_key, sizeof(gw->auth_key));
    free(gw->svc_stats);
    gw->svc_stats = NULL;
    config_free(gw->cfg);
    gw->cfg = NULL;
}
