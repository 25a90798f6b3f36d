/* Peer paths and the total-outage timer (see path.h). */
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/sctp.h>
#include "assoc.h"
#include "sctp_sock.h"

static const char *const state_names[] = {
    [PATH_ACTIVE] = "active",
    [PATH_PF] = "potentially failed",
    [PATH_DOWN] = "down",
    [PATH_UNCONFIRMED] = "unconfirmed",
};

int path_init(assoc_t *a)
{
    int r = uv_timer_init(a->gw->loop, &a->paths.outage);

    a->paths.outage.data = a;
    a->handles++;
    return r;
}

/* Paths are told apart by host: the port is the association's. An
 * operator's 10.2.0.1 is the socket's ::ffff:10.2.0.1 (an IPv6 socket, as
 * a listener without `local` has, reports IPv4 peers mapped). */
static path_t *path_find(paths_t *ps, const addr_t *addr)
{
    for (size_t i = 0; i < ps->n; i++) {
        const addr_t *p = &ps->p[i].addr;
        if (addr_v4(p) && addr_v4(p) == addr_v4(addr))
            return &ps->p[i];
        if (p->sa.sa_family != addr->sa.sa_family)
            continue;
        if (p->sa.sa_family == AF_INET6 &&
            memcmp(&p->v6.sin6_addr, &addr->v6.sin6_addr, sizeof(addr->v6.sin6_addr)) == 0)
            return &ps->p[i];
    }
    return NULL;
}

static path_t *path_add(paths_t *ps, const addr_t *addr, path_state_t state)
{
    path_t *p = path_find(ps, addr);

    if (p || ps->n == PATH_MAX_ADDRS)
        return p;
    p = &ps->p[ps->n++];
    p->addr = *addr;
    p->state = state;
    return p;
}

/* A path's state as the kernel has it now. Only a path that has been
 * confirmed reports its failure, so one still unconfirmed must not count
 * as usable: an association made while a link was down would otherwise
 * never see its last usable path go. */
static path_state_t path_kernel_state(const assoc_t *a, const addr_t *addr)
{
    sock_path_info_t info;
    int r = sock_path_info(a->fd, addr, a->gw->tick_hz, &info);

    if (r == -EACCES)
        return PATH_PF; /* the kernel hides that state from the old API */
    if (r < 0)
        return PATH_ACTIVE; /* as before: its notifications will say */
    switch (info.state) {
    case SOCK_PATH_UNCONFIRMED:
        return PATH_UNCONFIRMED;
    case SOCK_PATH_PF:
        return PATH_PF;
    case SOCK_PATH_INACTIVE:
        return PATH_DOWN;
    default:
        return PATH_ACTIVE;
    }
}

/* Each path's first heartbeat is asked for at once: it confirms the path
 * before the kernel's own timer would send one and count the path as idle
 * (path_keep), and it is path_keep's first round. */
void path_start(assoc_t *a)
{
    addr_t addrs[PATH_MAX_ADDRS];
    int n = sock_peer_addrs(a->fd, addrs, PATH_MAX_ADDRS);

    for (int i = 0; i < n; i++) {
        path_add(&a->paths, &addrs[i], path_kernel_state(a, &addrs[i]));
        (void)sock_heartbeat(a->fd, &addrs[i]); /* a refusal leaves the kernel's own */
    }
    a->paths.kept_at = uv_now(a->gw->loop);
}

/* A backup path carries only heartbeats, and a heartbeat the kernel sends
 * on its own timer counts the path as idle: it halves the path's window and
 * lowers its slow-start threshold to match, to four packets at the first
 * (RFC 4960 7.2.1), and nothing raises it again. The path a failover lands
 * on then grows its window by one packet a round trip, and what was in
 * flight and queued at the cut crawls across it (tests/bench/README.md,
 * "Where W6b's gap goes"). A heartbeat asked for (SPP_HB_DEMAND) counts
 * failures the same way but not idleness. So while the primary is active,
 * every other path gets a kernel interval too long to run out, and the
 * gateway asks for its heartbeats instead, every hb_interval + rto_max/2:
 * the soonest the kernel's timer would send one at the longest RTO (it
 * adds a random part of up to one RTO). The primary keeps the kernel's own
 * heartbeats, and while it is not active every path does, as before. */
#define PATH_HB_QUIET_MS 3600000u

static uint64_t path_keep_every(const tune_t *t)
{
    uint64_t every = (uint64_t)t->hb_interval + t->rto_max / 2;

    return every > 200 ? every : 200; /* the kernel's floor */
}

void path_keep(assoc_t *a)
{
    paths_t *ps = &a->paths;
    addr_t addrs[PATH_MAX_ADDRS], primary;
    const path_t *prim = NULL;
    uint64_t now = uv_now(a->gw->loop);
    int n = sock_peer_addrs(a->fd, addrs, PATH_MAX_ADDRS);
    int beat = now - ps->kept_at >= path_keep_every(&a->gw->tune);

    if (n <= 0)
        return;
    if (sock_primary(a->fd, &primary) == 0)
        prim = path_find(ps, &primary);
    if (beat)
        ps->kept_at = now;
    for (int i = 0; i < n; i++) {
        path_t *p = path_find(ps, &addrs[i]);
        int quiet;

        if (!p)
            continue;
        quiet = prim && prim->state == PATH_ACTIVE && p != prim;
        if (quiet != p->quiet &&
            sock_path_hb_interval(a->fd, &addrs[i],
                                  quiet ? PATH_HB_QUIET_MS : a->gw->tune.hb_interval) == 0) {
            p->quiet = quiet;
            /* The kernel's last heartbeat may be unanswered yet, and a
             * second one asked for now would count it as a failure. */
            if (quiet)
                ps->kept_at = now;
            continue;
        }
        if (p->quiet && beat)
            (void)sock_heartbeat(a->fd, &addrs[i]);
    }
}

void path_keep_reset(assoc_t *a)
{
    for (size_t i = 0; i < a->paths.n; i++)
        a->paths.p[i].quiet = 0;
    path_keep(a);
}

/* A round trip longer than rto_max less a delayed SACK times out on a
 * live path; with rto_max at half of failover_ms, a path whose smoothed
 * round trip passes a quarter of it is near enough: its variation alone
 * takes the RTO to rto_max, and every timeout marks it potentially failed
 * and moves its traffic (a backup's requested heartbeats, every
 * path_keep_every, strike it the same way). Nothing on the gateway can
 * help it but a larger budget, which only the operator can choose: the
 * log says so, once each way, with readings in a row before either so a
 * burst of queueing does not. The budget it names, six round trips, is
 * one at which the path counts as fit again (a fifth, with room for the
 * round trip to vary and for integer halves), also after a reload.
 * Readings come from the warm timer, every failover_ms / 8: once a
 * second, or at that pace above 8 s. */
#define PATH_RTT_EVERY_MS 1000
#define PATH_RTT_READINGS 3

static void path_rtt_reading(assoc_t *a, path_t *p, unsigned high, unsigned low)
{
    sock_path_info_t info;
    char host[ADDR_STRLEN];

    if (sock_path_info(a->fd, &p->addr, a->gw->tick_hz, &info) < 0 || info.srtt_ms == 0)
        return;
    if (p->slow ? info.srtt_ms > low : info.srtt_ms <= high) {
        p->crossed = 0;
        return;
    }
    if (++p->crossed < PATH_RTT_READINGS)
        return;
    p->crossed = 0;
    p->slow = !p->slow;
    addr_format_host(&p->addr, host, sizeof(host));
    if (p->slow)
        log_warn(&a->gw->log, "path",
                 "assoc %llu path %s: round trip %u ms, over a quarter of failover_ms (%u): "
                 "its timeouts fire on a live link and move its traffic away; raise "
                 "failover_ms to at least %u at both ends",
                 (unsigned long long)a->id, host, info.srtt_ms, a->gw->cfg->failover_ms,
                 6 * info.srtt_ms);
    else
        log_info(&a->gw->log, "path",
                 "assoc %llu path %s: round trip %u ms, within failover_ms (%u) again",
                 (unsigned long long)a->id, host, info.srtt_ms, a->gw->cfg->failover_ms);
}

void path_check_rtt(assoc_t *a)
{
    paths_t *ps = &a->paths;
    uint64_t now = uv_now(a->gw->loop);
    unsigned rto_max = a->gw->tune.rto_max;

    if (a->fd < 0 || now - ps->rtt_at < PATH_RTT_EVERY_MS)
        return;
    ps->rtt_at = now;
    for (size_t i = 0; i < ps->n; i++)
        path_rtt_reading(a, &ps->p[i], rto_max / 2, rto_max * 2 / 5);
}

const char *path_describe(const assoc_t *a, char *buf, size_t len)
{
    size_t off = 0;
    char host[ADDR_STRLEN];

    buf[0] = '\0';
    for (size_t i = 0; i < a->paths.n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s (%s)", i ? ", " : "",
                                addr_format_host(&a->paths.p[i].addr, host, sizeof(host)),
                                state_names[a->paths.p[i].state]);
    return buf;
}

/* Paths of a peer that has not proven the key are anyone's: their news is
 * for debugging, or a flood of associations would flood the log too. */
static log_level_t path_level(const assoc_t *a, log_level_t lvl)
{
    return !a->initiator && a->state == ASSOC_HANDSHAKE ? LOG_DEBUG : lvl;
}

/* Asks for a HEARTBEAT on every peer address. The kernel leaves the
 * potentially-failed state only on a HEARTBEAT-ACK, yet sends no heartbeat
 * on a path that carried data within its RTO: when every path is PF and
 * data still flows on one of them (the SACKs come back), that path would
 * stay PF for good and the outage timer would end a working association. */
static void path_probe(assoc_t *a)
{
    addr_t addrs[PATH_MAX_ADDRS];
    int n = sock_peer_addrs(a->fd, addrs, PATH_MAX_ADDRS);

    for (int i = 0; i < n; i++)
        (void)sock_heartbeat(a->fd, &addrs[i]); /* a refusal leaves the kernel's own */
}

/* While no path is active: a heartbeat on every path each probe_ms (no
 * faster than the kernel's own floor: each one unanswered is an error
 * towards its backstop, tune.h), and the end of the association once
 * outage_ms has passed. */
static void on_outage(uv_timer_t *t)
{
    assoc_t *a = t->data;
    const tune_t *tune = &a->gw->tune;
    uint64_t stall = gateway_stall(a->gw), gone;
    char why[96];

    /* The time this gateway did not run is not the outage's, and a path
     * that came back meanwhile has its notification waiting to be read:
     * the outage is judged again after the reads. */
    if (stall) {
        a->paths.down_unrun += stall;
        uv_timer_start(t, on_outage, 1, 0);
        return;
    }
    gone = uv_now(a->gw->loop) - a->paths.down_since - a->paths.down_unrun;
    if (gone >= tune->outage_ms) {
        snprintf(why, sizeof(why), "no usable path for outage_ms = %u ms", tune->outage_ms);
        assoc_abort(a, WIRE_E_LOST, why);
        return;
    }
    path_probe(a);
    uv_timer_start(
        t, on_outage,
        tune->outage_ms - gone < tune->probe_ms ? tune->outage_ms - gone : tune->probe_ms, 0);
}

/* Starts the outage timer when the last active path went, stops it when
 * one comes back. */
static void path_check_outage(assoc_t *a)
{
    paths_t *ps = &a->paths;
    size_t active = 0;
    uint64_t now = uv_now(a->gw->loop);
    unsigned first =
        a->gw->tune.probe_ms < a->gw->tune.outage_ms ? a->gw->tune.probe_ms : a->gw->tune.outage_ms;

    for (size_t i = 0; i < ps->n; i++)
        active += ps->p[i].state == PATH_ACTIVE;
    if (active == 0 && ps->down_since == 0) {
        ps->down_since = now ? now : 1;
        ps->down_unrun = 0;
        uv_timer_start(&ps->outage, on_outage, first, 0);
        log_write(&a->gw->log, path_level(a, LOG_WARN), "path",
                  "assoc %llu: no usable path; riding the outage out for up to %u ms",
                  (unsigned long long)a->id, a->gw->tune.outage_ms);
    } else if (active > 0 && ps->down_since != 0) {
        char unrun[64] = "";

        uv_timer_stop(&ps->outage);
        if (ps->down_unrun)
            snprintf(unrun, sizeof(unrun), " (%llu ms of it while this gateway did not run)",
                     (unsigned long long)ps->down_unrun);
        log_write(&a->gw->log, path_level(a, LOG_INFO), "path",
                  "assoc %llu: outage over after %llu ms%s", (unsigned long long)a->id,
                  (unsigned long long)(now - ps->down_since), unrun);
        ps->down_since = 0;
    }
}

/* What a notification state means for the path, and how to say it. */
static int path_transition(int spc_state, path_state_t *to, const char **what)
{
    switch (spc_state) {
    case SCTP_ADDR_AVAILABLE:
        return *to = PATH_ACTIVE, *what = "up", 1;
    case SCTP_ADDR_CONFIRMED:
        return *to = PATH_ACTIVE, *what = "confirmed", 1;
    case SCTP_ADDR_ADDED: /* by the peer's ASCONF: the kernel confirms it first */
        return *to = PATH_UNCONFIRMED, *what = "added by the peer (unconfirmed)", 1;
    case SCTP_ADDR_POTENTIALLY_FAILED:
        return *to = PATH_PF, *what = "potentially failed", 1;
    case SCTP_ADDR_UNREACHABLE:
        return *to = PATH_DOWN, *what = "down (unreachable)", 1;
    case SCTP_ADDR_REMOVED:
        return *to = PATH_DOWN, *what = "removed by the peer", 1;
    case SCTP_ADDR_MADE_PRIM:
        return *what = "is now the primary path", 0;
    default:
        return *what = "changed state", 0;
    }
}

void path_on_change(assoc_t *a, const void *notification, size_t len)
{
    const struct sctp_paddr_change *pc = notification;
    addr_t addr;
    path_t *p;
    path_state_t to = PATH_ACTIVE;
    const char *what;
    char host[ADDR_STRLEN];
    int moves;

    if (len < sizeof(*pc))
        return;
    memset(&addr, 0, sizeof(addr));
    /* With its port: the kernel finds a path's figures by address and port. */
    memcpy(&addr, &pc->spc_aaddr,
           pc->spc_aaddr.ss_family == AF_INET6 ? sizeof(addr.v6) : sizeof(addr.v4));
    moves = path_transition(pc->spc_state, &to, &what);
    p = path_add(&a->paths, &addr, to);
    log_write(&a->gw->log,
              path_level(a, moves && (to == PATH_PF || to == PATH_DOWN) ? LOG_WARN : LOG_INFO),
              "path", "assoc %llu path %s: %s", (unsigned long long)a->id,
              addr_format_host(&addr, host, sizeof(host)), what);
    if (p && moves && p->state != to) {
        p->changes++;
        p->changed = uv_now(a->gw->loop);
    }
    if (p && moves)
        p->state = to;
    path_check_outage(a);
    path_keep(a);
}

/* The kernel matches SCTP_PRIMARY_ADDR on address and port: the peer's
 * own address record is used, whatever port the caller gave. */
int path_set_primary(assoc_t *a, const addr_t *host)
{
    addr_t addrs[PATH_MAX_ADDRS];
    int n = sock_peer_addrs(a->fd, addrs, PATH_MAX_ADDRS);
    paths_t one = {.n = 1};

    for (int i = 0; i < n; i++) {
        one.p[0].addr = addrs[i];
        if (path_find(&one, host))
            return sock_set_primary(a->fd, &addrs[i]);
    }
    return n < 0 ? n : -ENOENT;
}
