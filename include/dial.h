/* Dialling a back end: by name, the lookup on the loop's thread pool
 * (uv_getaddrinfo, so the loop never blocks and a DNS change takes effect
 * with the next flow), then the addresses one at a time, all within one
 * bound on the total time; by address, that one address within the bound
 * (the kernel alone would retry a SYN nobody answers for about 2 minutes).
 *
 * A dial belongs to one flow, which asks it for the next address after each
 * failed connection. The flow may end at any moment, even while the lookup
 * runs on a pool thread (where it cannot be stopped): dial_abort() then
 * cuts the tie, the callback is never called again, and the dial frees
 * itself once its timer has closed.
 *
 * Dials of one name and port started while a lookup of it runs share that
 * lookup: libuv runs at most half its pool's threads on lookups, and a name
 * whose DNS hangs held one for each flow to it, so that the names of other
 * services waited behind them and their flows ran out of time, said to
 * be names that "did not resolve". Nothing is cached: a dial started once
 * the lookup has returned looks the name up afresh. */
#ifndef SCTPGW_DIAL_H
#define SCTPGW_DIAL_H

#include <netdb.h>
#include <uv.h>
#include "addr.h"
#include "list.h"

typedef enum {
    DIAL_RESOLVED, /* the lookup ended: status 0, or a UV_EAI_* error */
    DIAL_TIMEOUT,  /* the lookup, or the current address's share of the bound, ran out */
} dial_event_t;

typedef void (*dial_cb)(void *data, dial_event_t ev, int status);

/* The lookups that have not returned yet, for dials to share; one per
 * gateway (dial_lookups_init), outliving every dial. */
typedef struct dial_lookups {
    list_t running; /* dial_lookup_t.node */
} dial_lookups_t;

typedef struct dial_lookup dial_lookup_t;

typedef struct dial {
    uv_loop_t *loop;
    dial_lookup_t *lookup;   /* the lookup it waits for or took addresses from */
    list_t wait;             /* in lookup->waiting until the lookup returns */
    uv_timer_t timer;        /* the bound: the lookup's, then each address's share */
    struct addrinfo *next;   /* the next address to hand out */
    unsigned left;           /* addresses not handed out yet */
    unsigned tried;          /* addresses handed out */
    uint64_t deadline;       /* loop time by which the dial must be over */
    dial_cb cb;              /* the owner's callback; NULL once aborted */
    void *data;              /* the owner */
    addr_t only;             /* a dial by address: the address */
    unsigned timer_gone : 1; /* the timer handle has closed */
    char name[];             /* "host:port", for logs */
} dial_t;

void dial_lookups_init(dial_lookups_t *l);

/* Starts looking host up for TCP to port, or joins such a lookup under
 * way; the whole dial must be over within total_ms. Returns the dial or
 * NULL with *err set (-errno / UV_*). */
dial_t *dial_start(dial_lookups_t *lookups, uv_loop_t *loop, const char *host, unsigned port,
                   unsigned total_ms, dial_cb cb, void *data, int *err);

/* A dial of one known address, as dial_start's after its lookup: the
 * owner asks dial_next for it at once. Returns NULL with *err set. */
dial_t *dial_start_addr(uv_loop_t *loop, const addr_t *addr, unsigned total_ms, dial_cb cb,
                        void *data, int *err);

/* The next address to try, with its share of what is left of the bound
 * (the timer restarts: DIAL_TIMEOUT if it runs out). Returns 0, or -ENOENT
 * when every address has been handed out. */
int dial_next(dial_t *d, addr_t *out);

/* The owner is done with the dial (connected, or gone): no more callbacks.
 * The dial frees itself when it safely can. */
void dial_abort(dial_t *d);

#endif
