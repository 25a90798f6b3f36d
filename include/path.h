/* The peer's addresses as seen by one association: their state from the
 * kernel's SCTP_PEER_ADDR_CHANGE notifications, logged as they move, and the
 * total-outage timer that, while no path is active, asks for a heartbeat on
 * every path each probe_ms (tune.h) and ends the association once none has
 * been usable for outage_ms. */
#ifndef SCTPGW_PATH_H
#define SCTPGW_PATH_H

#include <stdint.h>
#include <uv.h>
#include "addr.h"

#define PATH_MAX_ADDRS 16

/* UNCONFIRMED: an address the kernel has not heard from yet (one only read
 * in the peer's INIT, say): no data goes there, and should it fail the
 * kernel says nothing, so it never counts as usable until confirmed. */
typedef enum { PATH_ACTIVE, PATH_PF, PATH_DOWN, PATH_UNCONFIRMED } path_state_t;

typedef struct path {
    addr_t addr; /* peer address */
    path_state_t state;
    uint64_t changed; /* loop time of its last state change, 0: none */
    uint64_t changes; /* state changes since the association came up */
    int quiet;        /* a backup the gateway heartbeats itself (path_keep) */
    int slow;         /* its round trip leaves no room in failover_ms (path_check_rtt) */
    unsigned crossed; /* readings in a row on the other side of the bound */
} path_t;

typedef struct paths {
    path_t p[PATH_MAX_ADDRS];
    size_t n;
    uv_timer_t outage;   /* runs while no path is active: probes, then the end */
    uint64_t down_since; /* loop time when the last active path went, or 0 */
    uint64_t down_unrun; /* ...of the time since, how long this gateway did not run */
    uint64_t kept_at;    /* loop time of path_keep's last heartbeats */
    uint64_t rtt_at;     /* loop time of path_check_rtt's last readings */
} paths_t;

struct assoc;

/* Initialises the timer handle (counted in a->handles). */
int path_init(struct assoc *a);

/* Reads the peer's addresses and their states once the association is up. */
void path_start(struct assoc *a);

/* Hands the backup paths' heartbeats from the kernel's timer to the
 * gateway, so that their slow-start threshold stays high: at the start, on
 * every path change, and from the warm timer, which asks for a heartbeat
 * on each backup path once path_keep_every has passed. */
void path_keep(struct assoc *a);

/* From the warm timer: once a second (or each tick, when failover_ms / 8
 * is longer), each path's smoothed round trip against failover_ms. A path
 * whose round trip stays above a quarter of it (half of rto_max) for
 * three readings is logged as a warning, and as fit again once it stays
 * at or below a fifth. */
void path_check_rtt(struct assoc *a);

/* The kernel's heartbeat intervals were reset for every path (a re-tune). */
void path_keep_reset(struct assoc *a);

/* Handles one SCTP_PEER_ADDR_CHANGE notification. */
void path_on_change(struct assoc *a, const void *notification, size_t len);

/* Makes the peer address with this host (any port) the primary path:
 * 0, -ENOENT when it is not one of the association's peer addresses, or
 * another -errno from the kernel. */
int path_set_primary(struct assoc *a, const addr_t *host);

/* Formats the paths and their states for a log line. */
const char *path_describe(const struct assoc *a, char *buf, size_t len);

#endif
