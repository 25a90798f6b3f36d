/* The gateway: the one context that owns the event loop, the services, the
 * associations and the shutdown sequence. Nothing global: every object
 * reaches its gateway through a pointer. */
#ifndef SCTPGW_GATEWAY_H
#define SCTPGW_GATEWAY_H

#include <stdint.h>
#include <uv.h>
#include "acceptor.h"
#include "config.h"
#include "dial.h"
#include "list.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "rlimits.h"
#include "tune.h"

struct assoc;
struct service;
struct control;
struct snapshot;

/* A service's counters that outlive its flows (one per config service, in
 * cfg order): the bytes of flows still on an association are added when a
 * snapshot is taken; a flow's own go here as it leaves (flow_detach, or
 * when it is freed). */
typedef struct svc_stats {
    uint64_t opened;   /* flows that took a stream */
    uint64_t refused;  /* clients or OPENs turned away by this gateway */
    uint64_t done_out; /* payload bytes toward the peer of flows that left their association */
    uint64_t done_in;  /* ...and from the peer */
    uint64_t accept_failures; /* its listener's rests: accept() failed (acceptor.h) */
    episode_t backend;        /* its back end failing (flow.c), kept across reloads too */
} svc_stats_t;

/* What the status and metrics count of a listener of the gateway's own
 * other than a service's: the SCTP listener, the control socket, the
 * metrics listener. Kept here, as a reload may move the last two. */
typedef struct lsn_stats {
    uint64_t accept_failures; /* its rests: accept() failed (acceptor.h) */
    uint64_t refused;         /* clients it turned away itself (acceptor_refused) */
} lsn_stats_t;

typedef enum {
    GW_RUNNING,  /* accepting clients, keeping associations up */
    GW_DRAINING, /* no new flows; open ones may finish until drain_ms */
    GW_STOPPING, /* associations shutting down */
    GW_STOPPED,  /* every handle closed or closing */
} gw_state_t;

typedef struct gateway {
    uv_loop_t *loop;
    config_t *cfg; /* owned: what runs now (a reload replaces it whole) */
    logger_t log;
    log_sink_t log_sink; /* log.sink: stderr */
    tune_t tune;
    unsigned tick_hz; /* the kernel's, for what it reports in jiffies */
    gw_state_t state;
    int exit_code;   /* what main returns: 0 clean, 1 runtime failure */
    int lookup_left; /* stopped with a name lookup still on a pool thread */

    list_t services; /* accept services that listen (service_t.node) */
    list_t assocs;   /* every live association */
    size_t n_assocs;
    list_t finishing;       /* flows writing the peer's last bytes after it went (flow_detach) */
    size_t n_finishing;     /* their count, among the live flows */
    size_t n_unproven;      /* accepted associations whose peer has not proven the key yet */
    int flooded;            /* n_unproven reached its cap and has not been 0 since */
    uint64_t flood_since;   /* loop time it did */
    uint64_t flood_ended;   /* unproven associations ended since then */
    uint64_t flood_dropped; /* of which pushed out by newer ones at the cap */
    episode_t unproven_log; /* outside a flood: unproven ends in this minute */
    uv_timer_t unproven_tm; /* ...and the minute's end, when they are counted */
    size_t n_closers;       /* sockets held open after their last ERROR (assoc.c) */
    dial_lookups_t lookups; /* back ends' names being looked up, shared by their flows */

    acceptor_t peers;        /* listen role: the SCTP listener (peers.fd -1 without) */
    uv_timer_t dial_timer;   /* connect role: next dial, after backoff */
    unsigned dial_failures;  /* consecutive failed dials, for the log (assoc_close_level) */
    uint16_t dial_fail_code; /* ...the last one's reason: a new one is always logged */
    char dial_fail_why[64];  /* ...and its text (refused, timed out): a new one too */
    unsigned dial_backoff;   /* the backoff exponent: reset only by an association that lasted */
    int told_no_idata;       /* the kernel refused I-DATA, and we said so once */
    uint8_t auth_key[32];    /* SCTP-AUTH endpoint key (encryption = on) */
    int cookie_auth;         /* ...asked of COOKIE-ECHO too (gateway_check_cookie_auth) */
    uv_timer_t drain_timer;  /* drain deadline */
    uv_timer_t finish_timer; /* looks at finishing flows (flow_finish_check) */
    uv_timer_t stop_timer;   /* once stopped: bounds the wait for a hung lookup */
    uv_prepare_t stall_prep; /* before each wait for events: when it is to end (gateway_stall) */
    uint64_t poll_due;       /* ...in loop time, 0 when it may wait for good */
    uv_signal_t sig_term;
    uv_signal_t sig_int;
    uv_signal_t sig_hup; /* reload */
    notify_t notify;     /* what the service manager is told (systemd) */
    metrics_t *metrics;  /* the /metrics listener, or NULL */

    unsigned fd_flows; /* flows the descriptor limit leaves room for */
    long fd_limit;     /* the descriptor limit, or 0 when it could not be read */
    long fd_base;      /* descriptors held at start outside flows and listeners */

    uint64_t reloads;         /* reloads applied */
    char restart_needed[256]; /* keys the file changes that only a restart applies, or "" */

    uint64_t next_assoc_id; /* ids for logs */
    uint64_t next_flow_id;

    uint64_t started;            /* loop time of gateway_start */
    uint64_t unix_base;          /* Unix ms at loop time 0; follows a clock step (collect.c) */
    uint64_t handshake_failures; /* associations that ended while proving the key */
    lsn_stats_t peers_stats;     /* the SCTP listener's */
    lsn_stats_t control_stats;   /* the control socket's */
    lsn_stats_t metrics_stats;   /* the metrics listener's */
    svc_stats_t *svc_stats;      /* per config service, cfg order */
    struct control *control;     /* the control socket, or NULL (control = off) */
} gateway_t;

/* Sets up on `loop` from a validated config, allocated with malloc: the
 * gateway owns it from here on (gateway_free frees it, even after a failed
 * start). Returns 0 or -errno with the reason logged. */
int gateway_start(gateway_t *gw, uv_loop_t *loop, config_t *cfg);

/* Reads the configuration file again and applies what it changes (see
 * reload.h), or nothing when the file is invalid or a new listener cannot
 * open. What SIGHUP does; msg gets a one-line account for whoever asked.
 * Returns 0 (applied, perhaps with keys that need a restart) or -errno. */
int gateway_reload(gateway_t *gw, char *msg, size_t len);

/* Stops at once: every association aborted, every flow reset. */
void gateway_stop(gateway_t *gw);

/* Frees what gateway_start allocated, once the loop has ended. */
void gateway_free(gateway_t *gw);

/* Picks a ready association for a new flow of `svc`, or NULL. */
struct assoc *gateway_pick(gateway_t *gw, const service_conf_t *svc);

/* Called by assoc.c when an association has gone (after its flows). */
void gateway_on_assoc_gone(gateway_t *gw, struct assoc *a, int was_ready);

/* Called by assoc.c when its handshake completed. */
void gateway_on_assoc_ready(gateway_t *gw, struct assoc *a);

/* Called by assoc.c when a peer has proven the key under `name`, before
 * READY goes back: 0 when the name is free (perhaps freed now), else the
 * newcomer must be refused for *why: 1 when the refusal starts an episode
 * of them (log it), 2 while the episode goes on. */
int gateway_name_taken(gateway_t *gw, const struct assoc *fresh, const char *name, char *why,
                       size_t len);

/* Called by flow.c whenever a flow is reset or freed, to see whether a
 * drain is over. */
void gateway_on_flow_gone(gateway_t *gw);

/* A finishing flow waits for the kernel to deliver what it wrote: the
 * gateway looks at every finishing flow again in a while. */
void gateway_finish_later(gateway_t *gw);

/* Flows in the tables of every association. */
size_t gateway_flows(const gateway_t *gw);

/* ...of them, the ones a drain waits for: not reset or refused (those wait
 * only for the peer's last word). */
size_t gateway_flows_live(const gateway_t *gw);

/* ...of them, the ones that may hold a descriptor: not closed (a closed
 * flow's TCP handle is gone, or goes within a loop turn), though one that
 * ended cleanly may still wait for the peer's CLOSE for long, its far end
 * writing our last bytes to a slow reader. */
size_t gateway_flows_with_fds(const gateway_t *gw);

/* Flows the descriptor limit leaves room for now: fd_flows, less the
 * sockets of associations past the few the reserve holds (a hub's spokes). */
size_t gateway_fd_room(const gateway_t *gw);

/* Whether the ends of unproven associations are being counted rather than
 * logged one by one (see gateway.c, UNPROVEN_MAX). */
int gateway_flooded(const gateway_t *gw);

/* The level to log an accepted association's end at, its peer not having
 * proved the key: `level` for the first in a minute, LOG_DEBUG for the
 * rest, which are counted in one line when the minute is over. */
log_level_t gateway_unproven_level(gateway_t *gw, log_level_t level);

/* The unproven association a new one pushes out once UNPROVEN_MAX are
 * proving the key at once, or NULL: the oldest of those that got least
 * far (see gateway.c). */
struct assoc *gateway_evictee(const gateway_t *gw);

/* Whether a failed dial now is one to log: the 1st, 2nd, 4th, 8th... in a
 * row (a peer that stays down is dialed about once a second). */
int gateway_dial_news(const gateway_t *gw);

/* The names of the peers whose associations carry flows, "a, b" ("none"),
 * cut short with "..." past len; returns how many. */
size_t gateway_peers_up(const gateway_t *gw, char *buf, size_t len);

/* How long the loop overran its last wait for events (0 unless by
 * GATEWAY_STALL_MS or more): this gateway did not run meanwhile (stopped,
 * its machine paused, or held up), and the timers due run before the reads
 * that would tell what happened then. A timer that judges the peer
 * (outage_ms, the handshake's and the shutdown's deadlines) moves on by as
 * much, so the peer is judged on what it said. */
#define GATEWAY_STALL_MS 1000
uint64_t gateway_stall(const gateway_t *gw);

/* Whether new flows are refused. */
int gateway_draining(const gateway_t *gw);

/* Moves the preferred path of every ready association that has a peer
 * address `host` there (SCTP_PRIMARY_ADDR), as an operator does before work
 * on a link; logged. Until the association is made again: a new one takes
 * `primary` from the config. Returns 0 or -errno, with what happened in msg. */
int gateway_primary(gateway_t *gw, const addr_t *host, char *msg, size_t len);

/* The counters of the service named so, or NULL. */
svc_stats_t *gateway_svc_stats(gateway_t *gw, const char *name);

/* Copies the gateway's live state into *out (with each open flow when
 * with_flows), asking the kernel for each path's telemetry. Free it with
 * snapshot_free. Returns 0 or -ENOMEM. */
int gateway_snapshot(gateway_t *gw, struct snapshot *out, int with_flows);

#endif
