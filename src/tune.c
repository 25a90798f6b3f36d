/* SCTP timer derivation (the reasoning is in tune.h). */
#include "tune.h"

#include <errno.h>
#include <limits.h>

/* The kernel never sends heartbeats closer than this (sctp_transport_timeout). */
#define KERNEL_HB_FLOOR_MS 200u

/* The gateway's own bounds, when no retransmission is longer. */
#define HANDSHAKE_FLOOR_MS 10000u
#define SHUTDOWN_FLOOR_MS  5000u

static unsigned umax(unsigned a, unsigned b)
{
    return a > b ? a : b;
}

static unsigned umin(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

/* How fast the kernel's errors may accrue during a total outage (tune.h):
 * T3 once per rto_max, its own heartbeats at most once per 200 ms a path. */
static double tune_strikes_per_ms(unsigned rto_max, unsigned paths)
{
    return 1.0 / rto_max + (double)(paths ? paths : 1) / KERNEL_HB_FLOOR_MS;
}

int tune_derive(unsigned failover_ms, unsigned outage_ms, unsigned paths, tune_t *t)
{
    double backstop;

    if (failover_ms < TUNE_FAILOVER_MIN || outage_ms < failover_ms)
        return -EINVAL;
    if (paths == 0)
        paths = 1;
    t->rto_max = failover_ms / 2;
    t->rto_min = umin(umax(10, failover_ms / 4), t->rto_max);
    t->rto_initial = t->rto_max;
    t->hb_interval = umax(20, failover_ms / 4);
    t->pf_threshold = 0;
    t->path_max_retrans = 2;
    t->sack_delay = umax(1, umin(200, failover_ms / 20));
    t->outage_ms = outage_ms;
    t->probe_ms = umax(t->rto_max, KERNEL_HB_FLOOR_MS);
    t->handshake_ms = umax(HANDSHAKE_FLOOR_MS, 2 * t->rto_max);
    t->shutdown_ms = umax(SHUTDOWN_FLOOR_MS, 2 * t->rto_max);
    /* and each path's first heartbeat and probe, which counting whole
     * strikes rounds up in a short outage */
    backstop = 2.0 * outage_ms * tune_strikes_per_ms(t->rto_max, paths) + 10 + 2.0 * paths;
    t->asoc_max_retrans = backstop > 65535 ? 65535u : (unsigned)backstop;
    return 0;
}

unsigned tune_backstop_ms(unsigned limit, const tune_t *t, unsigned paths)
{
    /* and the gateway's probes, once per probe_ms a path: the margin
     * tune_derive leaves them is gone once the limit is capped */
    double ms = limit / (tune_strikes_per_ms(t->rto_max, paths) +
                         (double)(paths ? paths : 1) / (t->probe_ms ? t->probe_ms : 1));

    return ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
}
