/* The metrics listener: `[gateway] metrics = HOST:PORT` serves GET /metrics
 * in the Prometheus text format (render_prom.h) over a minimal HTTP/1.x
 * server on the gateway's loop. Each answer is a reading of the gateway (a
 * snapshot, gateway_snapshot, rendered) taken after its request came and
 * shared by every client waiting for it, with METRICS_READ_GAP_MS of the
 * loop's time between the end of one reading and the start of the next:
 * scrapes at any rate leave the flows that share of the loop, on a hub of
 * thousands of paths too. A reading is kept only until the last of its
 * clients has closed.
 *
 * Bounds, so that a scraper or a stranger on the port costs little and
 * cannot stall the gateway: a request head of at most HTTP_HEAD_MAX bytes
 * (431 past it), METRICS_CLIENTS_MAX clients at once (past that a
 * newcomer closes the oldest that is answered or has not sent its request,
 * one waiting unread counting as sent, and is reset at accept only while
 * all are being answered),
 * METRICS_REQUEST_MS to send the head (then 408), and
 * METRICS_WRITE_MS for the whole answer to be taken by a client that reads
 * slowly; the answer is written once, reading stops while it is, and the
 * connection closes after it (Connection: close). */
#ifndef SCTPGW_METRICS_H
#define SCTPGW_METRICS_H

#include <stdint.h>
#include <uv.h>
#include "acceptor.h"
#include "addr.h"
#include "list.h"
#include "rlimits.h"

#define METRICS_CLIENTS_MAX 16    /* scrapers served at once */
#define METRICS_REQUEST_MS  5000  /* from accept to the end of the request head */
#define METRICS_WRITE_MS    10000 /* for the answer to be written */
#define METRICS_LINGER_MS   1000  /* reading what the client still sends after the answer */
#ifndef METRICS_READ_GAP_MS
#define METRICS_READ_GAP_MS 500 /* between two readings of the gateway */
#endif

struct gateway;

typedef struct metrics {
    struct gateway *gw;
    acceptor_t listener;  /* the listening socket (acceptor.h) */
    list_t clients;       /* metrics_client_t, in accept order */
    size_t n_clients;     /* clients in the list */
    episode_t refusing;   /* clients reset: METRICS_CLIENTS_MAX were being answered */
    uint64_t served;      /* requests answered, any status */
    uv_timer_t next_read; /* the next reading, while clients wait for it */
    uint64_t read_ms;     /* loop time the last reading ended; 0: none yet */
    int handles;          /* the listener and the timer: m goes once both closed */
} metrics_t;

/* A new listener on addr into *out. Returns 0 or a libuv error (nothing
 * logged, nothing left behind). */
int metrics_start(metrics_t **out, struct gateway *gw, const addr_t *addr);

/* Closes the listener, the reading timer and every client; m's memory goes
 * once both have closed, so a reload that moves or stops it leaves nothing
 * behind.
 * Clients' memory goes in their own close callbacks. NULL is ignored. */
void metrics_stop(metrics_t *m);

#endif
