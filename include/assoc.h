/* One SCTP association to a peer gateway: its socket and readiness, the
 * key handshake, the send queues and how much of them the kernel holds,
 * receive and dispatch of messages to flows, and its single teardown,
 * assoc_close(). */
#ifndef SCTPGW_ASSOC_H
#define SCTPGW_ASSOC_H

#include <stdint.h>
#include <uv.h>
#include "gateway.h"
#include "fairq.h"
#include "handshake.h"
#include "inbox.h"
#include "list.h"
#include "pace.h"
#include "path.h"
#include "reasm.h"
#include "sctp_sock.h"
#include "seal.h"
#include "streams.h"
#include "wire.h"

/* A socket closed after telling the peer why is shut down for sending and
 * read until the association ends, this long at most, so the ERROR can
 * leave (assoc.c, closer_t); what arrives is read at this interval. */
#define ASSOC_TELL_LINGER_MS 2000
#define ASSOC_TELL_DRAIN_MS  20
/* ...and at most this many at once (within the gateway's descriptor room). */
#define ASSOC_CLOSERS_MAX 32

struct flow;

typedef enum {
    ASSOC_CONNECTING, /* connect role: INIT sent, not yet established */
    ASSOC_HANDSHAKE,  /* established, proving keys */
    ASSOC_READY,      /* flows may run */
    ASSOC_SHUTDOWN,   /* graceful SHUTDOWN under way */
    ASSOC_CLOSED,     /* torn down; memory goes when its handles have closed */
} assoc_state_t;

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
    uint64_t deadline;  /* ...in loop time */
    int answered;       /* dialling: the peer answered the INIT (assoc_dial_look) */
    uv_timer_t reap;    /* tears down after a failed send, from the loop */
    uv_timer_t warm;    /* sends KEEP while idle (assoc_on_warm) */
    uv_timer_t starved; /* tries again while SCTP's memory is short (assoc_on_writable) */
    uv_idle_t flusher;  /* hands the flows' queues to the kernel once per loop turn */
    size_t turn_bytes;  /* flows' bytes handed to the kernel in this loop turn */
    uint64_t last_send; /* loop time of the last message handed to the kernel */
    /* Messages handed to the kernel, counted: how many when a read last
     * found nothing waiting, and how many are known acknowledged (at the
     * last SENDER_DRY: see assoc_on_dry). */
    uint64_t sent_seq, empty_seq, dry_seq;
    handshake_t hs;
    seal_t seal;                       /* the keys, once the handshake gave them */
    int keyed;                         /* seal holds keys: messages are sealed and opened */
    outmsg_t *next;                    /* taken from a queue (and sealed) but not yet sent */
    int next_flow;                     /* next came from a flow's queue: its DATA or FIN */
    int telling;                       /* the last ERROR is queued: no flow's message follows */
    uint64_t rekeyed_at;               /* loop time of the last rekey (or READY) */
    uint64_t stalls_at;                /* loop time stalled flows were last checked */
    uint64_t rekey_started;            /* when the rekey under way began (0: none) */
    uint64_t old_keys_since;           /* since when the peer's old keys wait (0: gone) */
    uint64_t warm_at;                  /* loop time of the warm timer's last tick */
    int heard;                         /* a message (not a notification) came from the peer */
    uint64_t heard_at;                 /* loop time of the peer's last message */
    uint64_t dry_at;                   /* loop time all we sent was acked (SENDER_DRY) */
    uint64_t ready_at;                 /* loop time it became READY (0: never) */
    int flows_ok;                      /* flows may open: READY is known to be at the initiator */
    char peer_name[WIRE_NAME_MAX + 1]; /* from the peer's HELLO */
    uint32_t peer_window;              /* the peer's per-flow window */
    uint32_t flow_window;              /* ours, as our HELLO announced it (fixed for its life) */
    paths_t paths;                     /* peer addresses and their state */

    streams_t streams;   /* our half of the streams */
    unsigned nstreams;   /* negotiated stream count */
    struct flow **flows; /* by sid; NULL where no flow */
    size_t n_flows;      /* flows in the table */
    size_t n_ending;     /* ...of them reset or refused, waiting for the peer's last word */
    size_t n_closed;     /* ...of them closed (n_ending's too): their TCP gone or going */

    uint32_t msg_max; /* largest DATA message we send: 64 KiB with I-DATA, else 8 KiB */

    msgq_t urgent;       /* stream 0 and credit grants: ahead of every flow */
    fairq_t fairq;       /* the flows' own queues, served fairly */
    int kernel_full;     /* the socket refused a message: wait until writable */
    uint64_t starved_at; /* loop time the socket last refused one while writable, or 0 */
    unsigned bundled;    /* messages sent with MSG_MORE since one without */
    pace_t pace;         /* the kernel's share: SO_SNDBUF as decided */
    int sndbuf_hit;      /* kernel_full happened since the last sizing */
    int contended;       /* ... with another flow's message waiting */
    uint64_t paced_at;   /* loop time of the last sizing */
    uint64_t sent_since; /* bytes handed to the kernel since then */
    uint64_t probe_at;   /* loop time a KEEP left an idle association, or 0 */

    reasm_t rx;            /* messages being received, piece by piece */
    inbox_t inbox;         /* read, not yet handled: large ones, a bounded amount a turn */
    uv_idle_t opener;      /* handles the inbox's messages once per loop turn */
    size_t inbox_turn;     /* bytes of them handled in this loop turn */
    int told_pieces;       /* logged that the kernel delivers in pieces */
    int told_maxseg;       /* logged that DATA chunks keep no room for a SACK */
    int proved;            /* the peer proved the key (assoc_ready) */
    int name_refused;      /* refused for a name in use: 1 first of an episode, 2 later */
    episode_t clash;       /* newcomers refused for carrying its peer's name */
    episode_t peer_errors; /* ERROR chunks from the peer's kernel */
    episode_t ignored;     /* the peer's messages out of turn, ignored */
    int handles;           /* open uv handles; freed when it reaches 0 */

    /* For status: counters the kernel does not keep. */
    uint64_t since;           /* loop time it entered its state */
    uint64_t flows_opened;    /* flows opened on it (not OPENs refused at once) */
    uint64_t done_out;        /* payload bytes toward the peer of flows that have left it */
    uint64_t done_in;         /* ...and from the peer */
    sock_assoc_stats_t stats; /* SCTP_GET_ASSOC_STATS as last read (assoc_stats_read) */
    int dead;                 /* errno of a failed send: close from `reap` */
} assoc_t;

/* Takes over a connecting (initiator) or accepted socket. Returns the new
 * association or NULL (fd then closed, reason logged). */
assoc_t *assoc_new(gateway_t *gw, int fd, int initiator);

/* Queues a control message of stream 0 (the payload is encoded here). */
void assoc_send_msg(assoc_t *a, const wire_msg_t *m);

/* Queues a flow's message that is not DATA on the flow's queue q, in order
 * with its DATA; a WINDOW, which only returns credit, goes ahead of all. */
void assoc_send_flow_msg(assoc_t *a, msgq_t *q, uint16_t sid, const wire_msg_t *m);

/* Allocates a queueable DATA message of up to `cap` bytes (and the room
 * sealing it takes). */
outmsg_t *assoc_data_alloc(size_t cap);

/* Queues `len` bytes of DATA held in m (ownership passes) on q. */
void assoc_send_data(assoc_t *a, msgq_t *q, uint16_t sid, outmsg_t *m, uint32_t len);

/* Frees the DATA and FIN still queued on q (not yet handed to the kernel,
 * so not sealed; OPEN and RESULT stay): a flow that resets says so at once,
 * not after its data, and never ends cleanly short of it. */
void assoc_discard_data(assoc_t *a, msgq_t *q);

/* Whether a flow may read more from TCP: its queue holds less than one
 * message's worth. Past that it stops reading until flow_on_sent(). */
int assoc_has_room(const assoc_t *a, const msgq_t *q);

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

/* Applies gw->tune to the live association (a reload changed failover_ms
 * or outage_ms). *limit_kept: the error limit the kernel kept (see
 * sock_retune), or 0 when it took the new one. Returns 0 or -errno,
 * logged. */
int assoc_retune(assoc_t *a, unsigned *limit_kept);

/* Moves the association's preferred path to `peer` (logged). */
void assoc_set_primary(assoc_t *a, const addr_t *peer);

/* Refreshes a->stats from the kernel. The one place SCTP_GET_ASSOC_STATS is
 * read: the read resets the kernel's largest RTO, so it is kept here as
 * the largest seen since the association came up. */
void assoc_stats_read(assoc_t *a);

/* The level at which to log a peer's message ignored as out of turn:
 * LOG_WARN for the first of an episode, LOG_DEBUG for the rest, which are
 * counted in one line when it ends. */
int assoc_ignored_level(assoc_t *a);

#endif
