/* Accept services: a TCP listener per [service] with accept = ..., whose
 * clients become flows on an association. Each is allocated on its own and
 * holds a copy of its section, so a reload can add one, or stop one while
 * the others run on: its memory goes once its handles have closed. The
 * accept loop is acceptor.c's, as for the gateway's other listeners. */
#ifndef SCTPGW_SERVICE_H
#define SCTPGW_SERVICE_H

#include <uv.h>
#include "acceptor.h"
#include "config.h"
#include "list.h"
#include "rlimits.h"

struct gateway;

typedef struct service {
    struct gateway *gw;
    list_t node;                     /* in gw->services while it accepts */
    service_conf_t conf;             /* its section, copied: configurations come and go */
    acceptor_t acceptor;             /* its listener, resting while accept() fails */
    char what[CONFIG_NAME_MAX + 12]; /* "[NAME] clients", for the log */
    int stopped;                     /* service_stop has run: freed once the acceptor has closed */
    episode_t refusing;              /* clients accepted only to be reset */
} service_t;

/* Allocates a service for `conf` (copied), binds and listens, and adds it
 * to gw->services. Returns 0 or -errno (nothing logged; on failure nothing
 * is left to undo). */
int service_start(struct gateway *gw, const service_conf_t *conf);

/* A running listener serves `conf` (copied) from now on: a reload changed
 * its service's settings or handed it to a service of another name. */
void service_reconf(service_t *s, const service_conf_t *conf);

/* Warns when the kernel caps every listener's backlog below max_flows. */
void service_check_backlog(struct gateway *gw);

/* Takes (or refuses, with the reason) the clients waiting in the backlog,
 * stops accepting and leaves gw->services; the handles close and the
 * memory goes asynchronously. Flows it opened are not its own: they go on. */
void service_stop(service_t *s);

/* service_stop for a listener a failed reload opened: its backlog is left
 * to the kernel, which resets those clients, since the service they
 * reached was never in force. */
void service_undo(service_t *s);

#endif
