/* The plain snapshot's own helpers (see snapshot.h): freeing and the
 * stable names of states. Filling one is collect.c's. */
#include "snapshot.h"

#include <stdlib.h>

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
                                        "half-closed-down", "credit-wait", "closing",
                                        "finishing"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
