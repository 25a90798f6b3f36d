/* Messages read from the association but not yet handled (opened and
 * handed to their flows). Pure: a queue, no I/O.
 *
 * The kernel hands an association's messages over in one queue, in the
 * order they arrived, whatever their stream. Handling a bulk message costs
 * far more than reading it (opening it, writing it to its TCP socket), so
 * a small message of a quiet flow that arrived behind a few hundred
 * kilobytes of bulk messages waited for all of them to be handled first:
 * on the bed, beside four bulk flows, the hop from the far gateway's link
 * to its back end was 118-222 ms at the 99th percentile, with the socket
 * holding up to a megabyte (tests/bench/README.md, "The far gateway's
 * receive line"). So the association reads promptly, handles
 * small messages at once, and queues large ones here, handling a bounded
 * amount a loop turn (assoc.c).
 *
 * Order: a stream's messages keep their order (a message of a stream with
 * messages waiting here waits too, whatever its size), as the protocol
 * needs (seal.h counts nonces per stream; FIN follows DATA). Across
 * streams SCTP promises no order, so handling a small message ahead of
 * another stream's large one is a reordering the kernel itself may do.
 *
 * What waits here has left the kernel's receive window, so the sender's
 * bound on what the peer holds unread (pace.h) no longer counts it: it
 * holds no other flow back. Its bound is the association's (INBOX_MAX,
 * assoc.c), past which the socket is not read. */
#ifndef SCTPGW_INBOX_H
#define SCTPGW_INBOX_H

#include <stddef.h>
#include <stdint.h>
#include "fairq.h"
#include "sctp_sock.h"

/* The messages are outmsg_t (fairq.h) in one msgq_t: a deferred message
 * needs only its stream, PPID and bytes, which those carry. */
typedef struct inbox {
    msgq_t q;
    size_t bytes;      /* memory held by queued messages, headers included */
    uint32_t *waiting; /* queued messages per stream */
    unsigned nstreams;
} inbox_t;

/* An empty inbox with no streams yet. */
void inbox_init(inbox_t *b);

/* Counts for streams 0..n-1 (kept: those already counted). Returns 0 or
 * -ENOMEM (the inbox is then unchanged). */
int inbox_streams(inbox_t *b, unsigned n);

/* Whether messages of stream sid wait here. */
int inbox_waits(const inbox_t *b, uint16_t sid);

/* Queues a copy of len bytes of a message of stream info->sid, which must
 * be below the count. Returns 0 or -ENOMEM. */
int inbox_push(inbox_t *b, const sock_rcv_t *info, const uint8_t *data, size_t len);

/* Takes the oldest message (the caller frees it), or NULL. */
outmsg_t *inbox_pop(inbox_t *b);

/* Whether no message waits. */
int inbox_empty(const inbox_t *b);

/* Frees every message and the counts. */
void inbox_free(inbox_t *b);

#endif
