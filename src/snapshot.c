/* Filling a snapshot (snapshot.h) from the live gateway. For now only the
 * gateway's own fields and its services as configured; the associations,
 * paths, counters and flows are filled by the status work that replaces
 * this file. */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gateway.h"

void snapshot_free(snapshot_t *s)
{
    free(s->assocs);
    free(s->services);
    free(s->flows);
    s->assocs = NULL;
    s->services = NULL;
    s->flows = NULL;
    s->n_assocs = s->n_services = s->n_flows = 0;
}

const char *snap_path_state_name(snap_path_state_t s)
{
    static const char *const names[] = {"active", "pf", "inactive", "unconfirmed"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *snap_assoc_state_name(snap_assoc_state_t s)
{
    static const char *const names[] = {"connecting", "handshake", "ready", "shutdown"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *snap_flow_state_name(snap_flow_state_t s)
{
    static const char *const names[] = {"opening",          "open",        "half-closed-up",
                                        "half-closed-down", "credit-wait", "closing"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static uint64_t unix_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int gateway_snapshot(gateway_t *gw, snapshot_t *out, int with_flows)
{
    const config_t *cfg = gw->cfg;

    (void)with_flows;
    snprintf(out->name, sizeof(out->name), "%s", cfg->name);
    snprintf(out->version, sizeof(out->version), "%s", SCTPGW_VERSION);
    snprintf(out->config, sizeof(out->config), "%s", cfg->path);
    out->now_ms = unix_ms();
    out->start_ms = gw->start_ms;
    out->draining = gw->state != GW_RUNNING;
    out->services = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*out->services));
    if (!out->services)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_services; i++) {
        snap_service_t *sv = &out->services[out->n_services++];

        snprintf(sv->name, sizeof(sv->name), "%s", cfg->services[i].name);
        sv->is_accept = cfg->services[i].is_accept;
        addr_format(&cfg->services[i].addr, sv->addr, sizeof(sv->addr));
    }
    return 0;
}
