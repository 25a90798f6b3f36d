/* Per-flow credit, HTTP/2 style. Each direction of a flow has a window: the
 * receiver grants it whole when the flow opens and grants bytes back (WINDOW)
 * as its TCP peer consumes them, so the bytes a gateway holds for one flow
 * never exceed that flow's window, and one slow reader never makes the
 * gateway stop draining the association. */
#ifndef SCTPGW_CREDIT_H
#define SCTPGW_CREDIT_H

#include <stdint.h>

typedef struct credit {
    uint32_t send;        /* bytes we may still send to the peer */
    uint32_t send_window; /* the peer's window for this flow: send never exceeds it */
    uint32_t recv_window; /* the window we granted */
    uint32_t recv_held;   /* received bytes not yet consumed by our TCP peer */
    uint32_t recv_owed;   /* consumed bytes not yet granted back */
} credit_t;

void credit_init(credit_t *c, uint32_t send_window, uint32_t recv_window);

/* We sent n bytes of DATA (n <= c->send). */
void credit_sent(credit_t *c, uint32_t n);

/* The peer granted n more bytes. -EPROTO when that would exceed its window. */
int credit_granted(credit_t *c, uint32_t n);

/* The peer sent n bytes. -EOVERFLOW when it exceeded the credit we gave. */
int credit_received(credit_t *c, uint32_t n);

/* Our TCP peer consumed n held bytes. Returns the increment to grant back
 * now in a WINDOW message, or 0 to keep batching: a grant is sent once a
 * quarter of the window is owed, so the peer never waits on us while a small
 * flow does not cost a WINDOW per message. */
uint32_t credit_consumed(credit_t *c, uint32_t n);

#endif
