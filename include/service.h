/* Accept services: a TCP listener per [service] with accept = ..., whose
 * clients become flows on an association. Each is allocated on its own and
 * holds a copy of its section, so a reload can add one, or stop one while
 * the others run on: its memory goes once its handles have closed. */
#ifndef SCTPGW_SERVICE_H
#define SCTPGW_SERVICE_H

#include <uv.h>
#include "config.h"
#include "list.h"
#include "rlimits.h"

struct gateway;

typedef struct service {
    struct gateway *gw;
    list_t node;         /* in gw->services while it accepts */
    service_conf_t conf; /* its section, copied: configurations come and go */
    uv_tcp_t listener;
    uv_timer_t retry;    /* listens again after a pause (accept() failed) */
    int open;            /* the listener is initialised and not being closed */
    int listener_handle; /* the listener handle exists (its close callback has not run) */
    int retry_handle;    /* the retry timer exists (likewise) */
    int stopped;         /* service_stop has run: freed once both handles have closed */
    episode_t refusing;  /* clients accepted only to be reset */
    episode_t paused;    /* the listener closed for a while */
} service_t;

/* Allocates a service for `conf` (copied), binds and listens, and adds it
 * to gw->services. Returns 0 or -errno (nothing logged; on failure nothing
 * is left to undo). */
int service_start(struct gateway *gw, const service_conf_t *conf);

/* Warns when the kernel caps every listener's backlog below max_flows. */
void service_check_backlog(struct gateway *gw);

/* Stops accepting and leaves gw->services; the handles close and the
 * memory goes asynchronously. Flows it opened are not its own: they go on. */
void service_stop(service_t *s);

#endif
