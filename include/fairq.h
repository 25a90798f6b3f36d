/* Fair sharing of one association among its flows: a deficit round robin
 * over per-flow queues of messages, pure (no I/O) so it is unit-tested alone.
 *
 * Each flow queues its own messages in order (msgq_t). A queue that was
 * idle joins the `fresh` list and is served before every queue that stayed
 * busy (`busy`), for one quantum; after that, or once it empties, it takes
 * its turn with the others, one quantum per round, and it is idle again
 * only when its turn finds it empty (as fq_codel's new and old flows). So a flow
 * with little to send, an interactive session say, overtakes the bulk flows
 * beside it with its next message instead of waiting a round behind them,
 * while bulk flows share what is left evenly. */
#ifndef SCTPGW_FAIRQ_H
#define SCTPGW_FAIRQ_H

#include <stddef.h>
#include <stdint.h>
#include "list.h"

/* One message waiting to be handed to the kernel. DATA read from TCP is read
 * straight into one of these, so queueing costs no copy. */
typedef struct outmsg {
    struct outmsg *next;
    uint16_t sid;
    uint16_t flags; /* SOCK_SACK_NOW or 0 */
    uint8_t seal;   /* OUTMSG_SEAL: to be sealed when sent; OUTMSG_SEALED: done */
    uint32_t ppid;  /* host order */
    uint32_t len;
    uint8_t data[];
} outmsg_t;

#define OUTMSG_SEAL   1
#define OUTMSG_SEALED 2

/* A FIFO of messages; a flow's, or the association's own urgent one. */
typedef struct msgq {
    outmsg_t *head;
    outmsg_t **tail;
    size_t bytes;    /* payload bytes queued */
    uint32_t credit; /* DRR deficit: bytes it may still send this round */
    int fresh;       /* on the fresh list */
    list_t node;     /* in fresh or busy while it has messages, or emptied in busy */
} msgq_t;

typedef struct fairq {
    list_t fresh;     /* queues that were idle: served first, one quantum */
    list_t busy;      /* queues that stayed busy: one quantum per round */
    uint32_t quantum; /* a turn's bytes: the size messages take now (pace.h) */
    size_t bytes;     /* payload bytes queued in all its queues */
    unsigned active;  /* queues holding a message */
} fairq_t;

void fairq_init(fairq_t *s, uint32_t quantum);
void msgq_init(msgq_t *q);

/* Appends m to a queue that is not scheduled (the urgent queue). */
void msgq_push(msgq_t *q, outmsg_t *m);

/* Removes and returns a queue's first message, or NULL. */
outmsg_t *msgq_pop(msgq_t *q);

/* Appends m to a flow's queue q and schedules q if it was idle. */
void fairq_push(fairq_t *s, msgq_t *q, outmsg_t *m);

/* The queue whose first message goes next, or NULL when all are empty. It
 * stays first until fairq_pop (a full socket leaves it there). */
msgq_t *fairq_next(fairq_t *s);

/* The first queue of the fresh list when its first message is within its
 * credit (the queue fairq_next would return first), or NULL. Only looks:
 * unlike fairq_next it moves no queue, so it may be asked at any time. */
msgq_t *fairq_fresh(const fairq_t *s);

/* Removes and returns the first message of q, which fairq_next returned.
 * An emptied queue stays in the busy list until fairq_next finds it empty
 * there (fairq_drop takes it out at once). */
outmsg_t *fairq_pop(fairq_t *s, msgq_t *q);

/* Frees every message of q and unschedules it; a flow's queue goes this
 * way before the flow's memory does. */
void fairq_drop(fairq_t *s, msgq_t *q);

/* Frees the messages of q whose ppid is `ppid` and keeps the others in
 * their order: a flow that resets drops the data it still holds (the peer
 * will discard it) so its last word need not wait behind it. An emptied
 * queue is unscheduled, so that word goes as a fresh queue's. Returns the
 * payload bytes freed. */
size_t fairq_discard(fairq_t *s, msgq_t *q, uint32_t ppid);

#endif
