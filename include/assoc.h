/* One SCTP association to a peer gateway: its socket and readiness, the
 * key handshake, the send queue, receive and dispatch of messages to flows,
 * and its single teardown, assoc_close(). */
#ifndef SCTPGW_ASSOC_H
#define SCTPGW_ASSOC_H

#include <stdint.h>
#include <uv.h>
#include "gateway.h"
#include "handshake.h"
#include "list.h"
#include "path.h"
#include "reasm.h"
#include "sctp_sock.h"
#include "streams.h"
#include "wire.h"

struct flow;

typedef enum {
    ASSOC_CONNECTING, /* connect role: INIT sent, not yet established */
    ASSOC_HANDSHAKE,  /* established, proving keys */
    ASSOC_READY,      /* flows may run */
    ASSOC_SHUTDOWN,   /* graceful SHUTDOWN under way */
    ASSOC_CLOSED,     /* torn down; memory goes when its handles have closed */
} assoc_state_t;

/* A message waiting for room in the socket's send buffer. DATA read from
 * TCP is read straight into one of these, so queueing costs no copy. */
typedef struct outmsg {
    struct outmsg *next;
    uint16_t sid;
    uint16_t flags; /* SOCK_SACK_NOW or 0 */
    uint32_t ppid;  /* host order */
    uint32_t len;
    uint8_t data[];
} outmsg_t;

typedef struct assoc {
    gateway_t *gw;
    list_t node; /* in gw->assocs */
    uint64_t id; /* for logs */
    assoc_state_t state;
    int initiator; /* 1: we dialed (odd streams, handshake initiator) */
    int fd;
    uv_poll_t poll;
    int poll_events;    /* UV_READABLE | UV_WRITABLE as armed */
    uv_timer_t timer;   /* connect/handshake/shutdown deadline */
    uv_timer_t reap;    /* tears down after a failed send, from the loop */
    uv_timer_t warm;    /* sends KEEP while idle (assoc_on_warm) */
    uint64_t last_send; /* loop time of the last message handed to the kernel */
    handshake_t hs;
    char peer_name[WIRE_NAME_MAX + 1]; /* from the peer's HELLO */
    uint32_t peer_window;              /* the peer's per-flow window */
    paths_t paths;                     /* peer addresses and their state */

    streams_t streams;   /* our half of the streams */
    unsigned nstreams;   /* negotiated stream count */
    struct flow **flows; /* by sid; NULL where no flow */
    size_t n_flows;      /* flows in the table */

    uint32_t msg_max; /* largest DATA message we send: 64 KiB with I-DATA, else 8 KiB */

    outmsg_t *oq_head; /* send queue, FIFO */
    outmsg_t **oq_tail;
    size_t oq_bytes; /* payload bytes queued */
    int congested;   /* oq_bytes passed the limit: flows stop reading */
    list_t blocked;  /* flows waiting for the queue to drain */

    reasm_t rx;      /* messages being received, piece by piece */
    int told_pieces; /* logged that the kernel delivers in pieces */
    int handles;     /* open uv handles; freed when it reaches 0 */
    int dead;        /* errno of a failed send: close from `reap` */
} assoc_t;

/* Takes over a connecting (initiator) or accepted socket. Returns the new
 * association or NULL (fd then closed, reason logged). */
assoc_t *assoc_new(gateway_t *gw, int fd, int initiator);

/* Queues a message that is not DATA (the payload is encoded here). */
void assoc_send_msg(assoc_t *a, uint16_t sid, const wire_msg_t *m);

/* Allocates a queueable DATA message of up to `cap` bytes. */
outmsg_t *assoc_data_alloc(size_t cap);

/* Sends `len` bytes of DATA held in m (ownership passes). */
void assoc_send_data(assoc_t *a, uint16_t sid, outmsg_t *m, uint32_t len);

/* A flow out of credit or blocked by the queue waits here. */
void assoc_block(assoc_t *a, struct flow *f);

/* Reserves a stream and registers a flow we open; -ENOSPC when full. */
int assoc_add_flow(assoc_t *a, struct flow *f);

/* Forgets a flow (its stream returns to the pool if it was ours). */
void assoc_remove_flow(assoc_t *a, struct flow *f);

/* Ends the association because this end gives up on it: the peer is sent
 * an ERROR saying why, then a graceful SHUTDOWN follows. Every flow on it is
 * reset. Logs `why` once. */
void assoc_close(assoc_t *a, uint16_t code, const char *why);

/* Ends it at once with an ABORT (the peer is unreachable or stuck). */
void assoc_abort(assoc_t *a, uint16_t code, const char *why);

/* Graceful end once the send queue is empty (drain). */
void assoc_shutdown(assoc_t *a);

#endif
