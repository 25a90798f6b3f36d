/* Filling a snapshot (snapshot.h) from the live gateway: its associations,
 * their paths as the kernel reports them, services and flows. Read-only
 * except for assoc_stats_read, the one reader of SCTP_GET_ASSOC_STATS, and
 * the wall clock's offset (snap_anchor). */
#include "snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "assoc.h"
#include "flow.h"
#include "gateway.h"
#include "sctp_sock.h"

/* The clocks of one snapshot: objects keep loop times, output wants Unix. */
typedef struct snap_clock {
    uint64_t unix_ms;   /* now, wall clock */
    uint64_t loop_ms;   /* now, loop clock */
    uint64_t unix_base; /* Unix ms at loop time 0 (snap_anchor) */
} snap_clock_t;

/* Past this the wall clock is taken to have stepped. */
#define SNAP_CLOCK_STEP_MS 2000u

/* A loop time as Unix ms; 0 stays 0 (never). */
static uint64_t snap_unix(const snap_clock_t *c, uint64_t loop_t)
{
    return loop_t ? c->unix_base + loop_t : 0;
}

/* Same host, whatever the ports. */
static int snap_same_host(const addr_t *a, const addr_t *b)
{
    addr_t x = *a, y = *b;

    x.v4.sin_port = y.v4.sin_port = 0;
    return addr_equal(&x, &y);
}

/* ---- paths --------------------------------------------------------------- */

static snap_path_state_t snap_kernel_state(sock_path_state_t s)
{
    switch (s) {
    case SOCK_PATH_PF:
        return SNAP_PATH_PF;
    case SOCK_PATH_INACTIVE:
        return SNAP_PATH_INACTIVE;
    case SOCK_PATH_UNCONFIRMED:
        return SNAP_PATH_UNCONFIRMED;
    default:
        return SNAP_PATH_ACTIVE;
    }
}

/* Our own view, for a path the kernel will not describe. */
static snap_path_state_t snap_own_state(path_state_t s)
{
    switch (s) {
    case PATH_ACTIVE:
        return SNAP_PATH_ACTIVE;
    case PATH_PF:
        return SNAP_PATH_PF;
    case PATH_UNCONFIRMED:
        return SNAP_PATH_UNCONFIRMED;
    default:
        return SNAP_PATH_INACTIVE;
    }
}

static void snap_path(assoc_t *a, const path_t *p, const addr_t *primary, int has_primary,
                      const snap_clock_t *c, snap_path_t *out)
{
    sock_path_info_t info;

    addr_format_host(&p->addr, out->peer, sizeof(out->peer));
    out->primary = has_primary && snap_same_host(&p->addr, primary);
    out->changed_ms = snap_unix(c, p->changed);
    out->changes = p->changes;
    out->state = snap_own_state(p->state);
    if (a->fd < 0 || sock_path_info(a->fd, &p->addr, a->gw->tick_hz, &info) < 0)
        return;
    out->state = snap_kernel_state(info.state);
    out->srtt_ms = info.srtt_ms;
    out->rto_ms = info.rto_ms;
    out->cwnd = info.cwnd;
    out->mtu = info.mtu;
    out->udp_port = info.udp_port;
}

static void snap_paths(assoc_t *a, const snap_clock_t *c, snap_assoc_t *out)
{
    addr_t primary;
    int has_primary = a->fd >= 0 && sock_primary(a->fd, &primary) == 0;

    for (size_t i = 0; i < a->paths.n && out->n_paths < SNAP_PATHS_MAX; i++)
        snap_path(a, &a->paths.p[i], &primary, has_primary, c, &out->paths[out->n_paths++]);
}

/* ---- associations ---------------------------------------------------- */

static size_t snap_addrs(int fd, int local, char (*out)[ADDR_STRLEN])
{
    addr_t addrs[SNAP_ADDRS_MAX];
    int n = local ? sock_local_addrs(fd, addrs, SNAP_ADDRS_MAX)
                  : sock_peer_addrs(fd, addrs, SNAP_ADDRS_MAX);

    for (int i = 0; i < n; i++)
        addr_format_host(&addrs[i], out[i], ADDR_STRLEN);
    return n < 0 ? 0 : (size_t)n;
}

static snap_assoc_state_t snap_assoc_state(assoc_state_t s)
{
    switch (s) {
    case ASSOC_CONNECTING:
        return SNAP_ASSOC_CONNECTING;
    case ASSOC_HANDSHAKE:
        return SNAP_ASSOC_HANDSHAKE;
    case ASSOC_READY:
        return SNAP_ASSOC_READY;
    default:
        return SNAP_ASSOC_SHUTDOWN;
    }
}

/* The bytes of the flows still on it, added to those that have left. */
static void snap_assoc_flows(const assoc_t *a, snap_assoc_t *out)
{
    out->flows_open = a->n_flows;
    out->flows_opened = a->flows_opened;
    out->bytes_out = a->done_out;
    out->bytes_in = a->done_in;
    for (unsigned sid = 1; a->flows && sid < a->nstreams; sid++) {
        if (a->flows[sid]) {
            out->bytes_out += a->flows[sid]->bytes_up;
            out->bytes_in += a->flows[sid]->bytes_down;
        }
    }
}

static void snap_assoc_stats(assoc_t *a, snap_assoc_t *out)
{
    assoc_stats_read(a);
    out->rtx_chunks = a->stats.rtx_chunks;
    out->out_packets = a->stats.out_packets;
    out->in_packets = a->stats.in_packets;
    out->out_ctrl_chunks = a->stats.out_ctrl_chunks;
    out->in_ctrl_chunks = a->stats.in_ctrl_chunks;
    out->out_data_chunks = a->stats.out_data_chunks;
    out->in_data_chunks = a->stats.in_data_chunks;
    out->max_rto_ms = a->stats.max_rto_ms;
}

static void snap_assoc(assoc_t *a, const snap_clock_t *c, snap_assoc_t *out)
{
    int up = a->fd >= 0 && a->state != ASSOC_CONNECTING;

    out->id = a->id;
    snprintf(out->peer_name, sizeof(out->peer_name), "%s", a->peer_name);
    out->state = snap_assoc_state(a->state);
    out->since_ms = snap_unix(c, a->since);
    if (up && sock_streams(a->fd, &out->streams_in, &out->streams_out) < 0)
        out->streams_in = out->streams_out = 0;
    out->idata = a->msg_max == WIRE_DATA_MAX;
    out->encrypted = a->gw->cfg->encryption && a->keyed;
    if (up) {
        out->n_local = snap_addrs(a->fd, 1, out->local);
        out->n_peer = snap_addrs(a->fd, 0, out->peer);
        snap_assoc_stats(a, out);
    }
    snap_assoc_flows(a, out);
    snap_paths(a, c, out);
}

static int snap_assocs(gateway_t *gw, const snap_clock_t *c, snapshot_t *out)
{
    list_t *pos;

    out->assocs = calloc(gw->n_assocs ? gw->n_assocs : 1, sizeof(*out->assocs));
    if (!out->assocs)
        return -ENOMEM;
    for (pos = gw->assocs.next; pos != &gw->assocs && out->n_assocs < gw->n_assocs; pos = pos->next)
        snap_assoc(container_of(pos, assoc_t, node), c, &out->assocs[out->n_assocs++]);
    return 0;
}

/* ---- services and flows ---------------------------------------------- */

/* Calls fn on every live flow: those of the associations, then those
 * finishing after theirs ended (a drain waits for them too). */
static void snap_each_flow(gateway_t *gw, void (*fn)(const flow_t *f, void *arg), void *arg)
{
    list_t *pos;

    for (pos = gw->assocs.next; pos != &gw->assocs; pos = pos->next) {
        const assoc_t *a = container_of(pos, assoc_t, node);
        for (unsigned sid = 1; a->flows && sid < a->nstreams; sid++)
            if (a->flows[sid])
                fn(a->flows[sid], arg);
    }
    for (pos = gw->finishing.next; pos != &gw->finishing; pos = pos->next)
        fn(container_of(pos, flow_t, finishing), arg);
}

/* The snapshot's services in the order of their names, for a lookup per
 * flow: a busy gateway's flows times a long list of services would
 * otherwise make each snapshot, on the event loop, their product. */
typedef struct svc_index {
    snapshot_t *out;
    snap_service_t **by_name;
} svc_index_t;

static int svc_cmp(const void *x, const void *y)
{
    return strcmp((*(snap_service_t *const *)x)->name, (*(snap_service_t *const *)y)->name);
}

static int svc_key_cmp(const void *key, const void *elem)
{
    return strcmp(key, (*(snap_service_t *const *)elem)->name);
}

static void snap_count_flow(const flow_t *f, void *arg)
{
    svc_index_t *ix = arg;
    snap_service_t **found =
        bsearch(f->service, ix->by_name, ix->out->n_services, sizeof(*ix->by_name), svc_key_cmp);
    snap_service_t *s = found ? *found : NULL;

    if (!s)
        return;
    s->flows_open++;
    if (f->assoc) { /* else in the totals already (flow_count_done) */
        s->bytes_out += f->bytes_up;
        s->bytes_in += f->bytes_down;
    }
}

static int snap_services(gateway_t *gw, snapshot_t *out)
{
    const config_t *cfg = gw->cfg;
    svc_index_t ix = {.out = out};

    out->services = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*out->services));
    ix.by_name = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*ix.by_name));
    if (!out->services || !ix.by_name) {
        free(ix.by_name);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_services; i++) {
        const service_conf_t *sc = &cfg->services[i];
        snap_service_t *s = &out->services[out->n_services++];
        const svc_stats_t *st = &gw->svc_stats[i];

        snprintf(s->name, sizeof(s->name), "%s", sc->name);
        s->is_accept = sc->is_accept;
        config_service_target(sc, s->addr, sizeof(s->addr));
        s->flows_opened = st->opened;
        s->flows_refused = st->refused;
        s->accept_failures = st->accept_failures;
        s->bytes_out = st->done_out;
        s->bytes_in = st->done_in;
        ix.by_name[i] = s;
    }
    qsort(ix.by_name, out->n_services, sizeof(*ix.by_name), svc_cmp);
    snap_each_flow(gw, snap_count_flow, &ix);
    free(ix.by_name);
    return 0;
}

static snap_flow_state_t snap_flow_state(const flow_t *f)
{
    if (!list_empty(&f->finishing))
        return SNAP_FLOW_FINISHING;
    if (f->closed || (f->read_eof && f->fin_recv))
        return SNAP_FLOW_CLOSING;
    if (!f->connected || (f->opener && !f->result_got))
        return SNAP_FLOW_OPENING;
    if (f->read_eof)
        return SNAP_FLOW_HALF_UP;
    if (f->fin_recv)
        return SNAP_FLOW_HALF_DOWN;
    return f->credit.send == 0 ? SNAP_FLOW_CREDIT_WAIT : SNAP_FLOW_OPEN;
}

/* The client's address, or the back end's: as connected, else the address
 * being tried, else the name being looked up (a reload may have changed
 * the configured one since), else as configured. */
static void snap_tcp_peer(const flow_t *f, char *buf, size_t len)
{
    const service_conf_t *sc = config_service(f->gw->cfg, f->service);
    addr_t peer;
    int n = sizeof(peer);

    if (f->connected && uv_tcp_getpeername(&f->tcp, &peer.sa, &n) == 0)
        addr_format(&peer, buf, len);
    else if (!f->opener && f->dial_addr.sa.sa_family != AF_UNSPEC)
        addr_format(&f->dial_addr, buf, len);
    else if (!f->opener && f->dial)
        snprintf(buf, len, "%s", f->dial->name);
    else if (sc && !f->opener && !sc->is_accept)
        config_service_target(sc, buf, len);
    else
        snprintf(buf, len, "-");
}

typedef struct snap_flow_ctx {
    snapshot_t *out;
    size_t cap;
    uint64_t loop_ms;
} snap_flow_ctx_t;

static void snap_add_flow(const flow_t *f, void *arg)
{
    snap_flow_ctx_t *ctx = arg;
    snap_flow_t *o;

    if (ctx->out->n_flows == ctx->cap)
        return;
    o = &ctx->out->flows[ctx->out->n_flows++];
    o->id = f->id;
    snprintf(o->service, sizeof(o->service), "%s", f->service);
    o->assoc_id = f->assoc ? f->assoc->id : 0;
    o->sid = f->sid;
    snap_tcp_peer(f, o->tcp_peer, sizeof(o->tcp_peer));
    o->age_ms = ctx->loop_ms > f->started ? ctx->loop_ms - f->started : 0;
    o->bytes_up = f->bytes_up;
    o->bytes_down = f->bytes_down;
    o->state = snap_flow_state(f);
}

static int snap_flows(gateway_t *gw, const snap_clock_t *c, snapshot_t *out)
{
    snap_flow_ctx_t ctx = {.out = out, .cap = gateway_flows(gw), .loop_ms = c->loop_ms};

    out->flows = calloc(ctx.cap ? ctx.cap : 1, sizeof(*out->flows));
    if (!out->flows)
        return -ENOMEM;
    snap_each_flow(gw, snap_add_flow, &ctx);
    return 0;
}

/* ---- the gateway ------------------------------------------------------- */

static void snap_gateway(gateway_t *gw, const snap_clock_t *c, snapshot_t *out)
{
    snprintf(out->name, sizeof(out->name), "%s", gw->cfg->name);
    snprintf(out->version, sizeof(out->version), "%s", SCTPGW_VERSION);
    snprintf(out->config, sizeof(out->config), "%s", gw->cfg->path);
    out->now_ms = c->unix_ms;
    out->start_ms = snap_unix(c, gw->started);
    out->draining = gw->state != GW_RUNNING;
    out->handshake_failures = gw->handshake_failures;
    out->peers_accept_failures = gw->peers_stats.accept_failures;
    out->control_accept_failures = gw->control_stats.accept_failures;
    out->metrics_accept_failures = gw->metrics_stats.accept_failures;
    out->control_refused = gw->control_stats.refused;
    out->metrics_refused = gw->metrics_stats.refused;
    out->reloads = gw->reloads;
    snprintf(out->restart_needed, sizeof(out->restart_needed), "%s", gw->restart_needed);
}

/* Loop times turn into Unix ones with the offset read at start, so that
 * they stay put from one scrape to the next (gateway_start). Once the wall
 * clock has stepped (time set at boot, by hand, a suspend), the offset
 * follows: uptime and every age would carry the step until a restart. */
static void snap_anchor(gateway_t *gw, snap_clock_t *c)
{
    uint64_t base = c->unix_ms - c->loop_ms;
    uint64_t step = base > gw->unix_base ? base - gw->unix_base : gw->unix_base - base;

    if (step > SNAP_CLOCK_STEP_MS) {
        log_info(&gw->log, "gw", "the wall clock moved %s by %" PRIu64 " ms: timestamps follow",
                 base > gw->unix_base ? "forward" : "back", step);
        gw->unix_base = base;
    }
    c->unix_base = gw->unix_base;
}

int gateway_snapshot(gateway_t *gw, snapshot_t *out, int with_flows)
{
    struct timespec ts;
    snap_clock_t c;

    memset(out, 0, sizeof(*out));
    clock_gettime(CLOCK_REALTIME, &ts);
    uv_update_time(gw->loop); /* a request may come long after the loop turn began */
    c.unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    c.loop_ms = uv_now(gw->loop);
    snap_anchor(gw, &c);
    snap_gateway(gw, &c, out);
    if (snap_services(gw, out) < 0 || snap_assocs(gw, &c, out) < 0 ||
        (with_flows && snap_flows(gw, &c, out) < 0)) {
        snapshot_free(out);
        return -ENOMEM;
    }
    return 0;
}
