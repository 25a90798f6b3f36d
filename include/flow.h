/* One flow: a TCP connection carried on one stream of an association.
 *
 * Its two directions end independently (half-close): TCP EOF becomes FIN to
 * the peer, the peer's FIN becomes shutdown(SHUT_WR) on the TCP socket once
 * everything before it was written. The stream's final-word exchange (see
 * wire.h) decides when the stream may carry another flow. flow_close() is
 * the one teardown: it logs why, resets or closes the TCP side and tells the
 * peer; the memory goes once both the TCP handle and the stream are done. */
#ifndef SCTPGW_FLOW_H
#define SCTPGW_FLOW_H

#include <stdint.h>
#include <uv.h>
#include "config.h"
#include "credit.h"
#include "fairq.h"
#include "list.h"
#include "wire.h"

struct assoc;
struct dial;
struct flow_write;

typedef struct flow {
    struct gateway *gw;              /* owner, for the loop, config and log */
    struct assoc *assoc;             /* NULL once the association has gone */
    list_t finishing;                /* in gw->finishing: see flow_detach */
    msgq_t sendq;                    /* its messages not yet handed to the kernel */
    uint64_t id;                     /* for logs */
    uint64_t started;                /* loop time it was created, for its age */
    uint16_t sid;                    /* its stream */
    char service[WIRE_NAME_MAX + 1]; /* service name, for logs and OPEN */
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    credit_t credit;
    uint64_t bytes_up;    /* TCP -> SCTP */
    uint64_t bytes_down;  /* SCTP -> TCP */
    size_t write_pending; /* bytes not yet written to the socket: in writes and held */
    uint32_t writes;      /* uv_write requests under way */
    uint64_t dropped;     /* finishing: the endpoint's bytes that had nowhere to go */
    uint64_t sent_seq;    /* its association's sent_seq at its last DATA or FIN; max: refused */
    unsigned stall_ms;    /* its socket's TCP_USER_TIMEOUT (stall_ms when it connected), 0 none */

    /* Connecting a back end: the dial, until connected or closed. Held: the
     * peer's bytes that came before the connection, or small ones that came
     * while writes were under way, gathered a few KiB to a buffer (bounded
     * by the flow's window, since no credit goes back until they are
     * written). */
    struct dial *dial;
    struct flow_write *held;       /* first held write, in order */
    struct flow_write **held_tail; /* where the next one is linked */
    int dial_err;                  /* the last address's error, for the final reason */
    addr_t dial_addr;              /* the address being tried */

    /* State flags; the flow is over when all of closed, tcp_gone,
     * sent_final and got_final are set and sendq is empty. */
    unsigned opener : 1;      /* we accepted the TCP client and sent OPEN */
    unsigned tcp_init : 1;    /* tcp handle initialised (needs uv_close) */
    unsigned connected : 1;   /* TCP connection established */
    unsigned reading : 1;     /* uv_read_start is active */
    unsigned read_eof : 1;    /* TCP EOF seen and FIN sent */
    unsigned fin_recv : 1;    /* the peer's FIN received */
    unsigned tcp_shut : 1;    /* our TCP write side shut down */
    unsigned result_sent : 1; /* responder: RESULT sent */
    unsigned result_got : 1;  /* opener: the peer's RESULT OK came (its back end is up) */
    unsigned sent_final : 1;  /* our final word sent (RST, failed RESULT, CLOSE) */
    unsigned got_final : 1;   /* the peer's final word received */
    unsigned closed : 1;      /* flow_close() has run */
    unsigned tcp_gone : 1;    /* TCP handle closed (or never opened) */
    unsigned ending : 1;      /* reset or refused: counted in its association's n_ending */
    unsigned closed_in : 1;   /* closed in its association's table: counted in n_closed */
    unsigned unsent : 1;      /* finishing: its queued messages went with its association */
} flow_t;

/* A client accepted by a service, `fd`, becomes a flow on `a`; on failure
 * it is closed and the reason logged. Returns -ENOMEM when there was no
 * memory for the flow: `fd` is then still the caller's. */
int flow_accept(struct assoc *a, const service_conf_t *svc, int fd);

/* The peer opened a flow on `sid` for `service`. */
void flow_open_inbound(struct assoc *a, uint16_t sid, const char *service);

/* A message for this flow arrived. */
void flow_on_message(flow_t *f, const wire_msg_t *m);

/* A message of the peer's that did not decode resets the flow; `final`
 * says it was the peer's final word all the same (wire_ends_flow). */
void flow_on_malformed(flow_t *f, int final, const char *why);

/* The association handed some of the flow's queue to the kernel: it may
 * read again, or be over. */
void flow_on_sent(flow_t *f);

/* Whether its TCP end failed while the flow does not read it (waiting for
 * credit or room): resets the flow if so. The association asks this of
 * every flow about once a second. */
void flow_check_stalled(flow_t *f);

/* The one teardown. code WIRE_OK: both directions finished; otherwise the
 * TCP side is reset and the peer told. `why` goes to the log. */
void flow_close(flow_t *f, uint16_t code, const char *why);

/* The association is gone: reset the TCP side, nothing more to send. A
 * flow whose peer had finished sending first passes what it sent on, its
 * FIN last, and closes once the kernel has delivered them (kept meanwhile
 * in gw->finishing), with a reset if any of its endpoint's bytes or its FIN
 * were still queued, were `lost` (the association knows some never reached
 * the peer) or came after. Returns 1 when it reset the flow. */
int flow_detach(flow_t *f, int lost, const char *why);

/* A finishing flow closes if the kernel has delivered all it wrote, else
 * it is looked at again later (gateway_finish_later). Returns 1 when it
 * reset the flow. */
int flow_finish_check(flow_t *f);

#endif
