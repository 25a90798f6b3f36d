/* Accept services: a TCP listener per [service] with accept = ..., whose
 * clients become flows on an association. */
#ifndef SCTPGW_SERVICE_H
#define SCTPGW_SERVICE_H

#include <uv.h>
#include "config.h"
#include "rlimits.h"

struct gateway;

typedef struct service {
    struct gateway *gw;
    const service_conf_t *conf;
    uv_tcp_t listener;
    uv_timer_t retry;   /* listens again after a pause (EMFILE) */
    int open;           /* the listener is initialised */
    episode_t refusing; /* clients accepted only to be reset */
    episode_t paused;   /* the listener closed for a while */
} service_t;

/* Binds and listens. Returns 0 or -errno (nothing logged). */
int service_start(service_t *s, struct gateway *gw, const service_conf_t *conf);

/* Warns when the kernel caps every listener's backlog below max_flows. */
void service_check_backlog(struct gateway *gw);

/* Stops accepting; handles close asynchronously. */
void service_stop(service_t *s);

#endif
