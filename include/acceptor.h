/* An accept loop on a listening socket the gateway made itself, for every
 * listener whose clients it takes: the SCTP listener, the accept services,
 * the control socket and the metrics port. A listening socket stays
 * readable while a client waits in its backlog, so an accept() that fails
 * for want of memory or descriptors, or by a policy, would be tried again
 * on every loop turn (libuv's uv_listen even retries at once, inside the
 * loop, until it works, and when out of descriptors accepts and closes
 * waiting clients without a word): here such a failure rests the listener
 * for ACCEPTOR_PAUSE_MS instead, logged once per episode, and the client
 * waits in the backlog meanwhile. An error its poll reports (which stops
 * libuv's watch) is said, and the listener watched again after the same
 * pause, rather than left deaf. */
#ifndef SCTPGW_ACCEPTOR_H
#define SCTPGW_ACCEPTOR_H

#include <uv.h>
#include "addr.h"
#include "log.h"
#include "rlimits.h"

#define ACCEPTOR_PAUSE_MS      100   /* how long a listener rests after accept() failed */
#define ACCEPTOR_BUDGET        32    /* clients taken per readiness: others' turn comes */
#define ACCEPTOR_POLL_QUIET_MS 60000 /* poll errors this far apart are said again */

typedef struct acceptor acceptor_t;

/* A client's descriptor (nonblocking, close-on-exec), now the callee's. */
typedef void acceptor_client_cb(acceptor_t *ac, int fd);
typedef void acceptor_closed_cb(acceptor_t *ac);
/* The listener rests: accept() failed with `err` (a positive errno). */
typedef void acceptor_rest_cb(acceptor_t *ac, int err);

struct acceptor {
    int fd;                    /* the listening socket, the acceptor's own */
    uv_poll_t poll;            /* its readiness */
    uv_timer_t retry;          /* the end of a rest */
    int handles;               /* of poll and retry, not yet closed */
    const logger_t *log;       /* where a rest is said */
    const char *subsys, *what; /* "assoc", "peers": "not accepting peers for now" */
    acceptor_client_cb *on_client;
    acceptor_closed_cb *on_closed; /* both handles closed: the owner may go */
    acceptor_rest_cb *on_rest;     /* optional, set after acceptor_start: counts rests */
    episode_t resting;             /* accept() failing, and since when */
    episode_t poll_failing;        /* its poll reporting errors */
};

/* Watches `fd`, a socket that listens already, which the acceptor owns
 * from then on (closed by acceptor_close). Returns 0, or a libuv error
 * with nothing started and `fd` still the caller's. */
int acceptor_start(acceptor_t *ac, uv_loop_t *loop, int fd, const logger_t *log, const char *subsys,
                   const char *what, acceptor_client_cb *on_client);

/* Hands every client waiting in the backlog to on_client, as readiness
 * would, until the backlog is empty or an accept fails: for a listener
 * about to close, whose waiting clients the kernel would reset unseen.
 * Returns how many clients an accept failing for want of descriptors or
 * memory, or by a policy, leaves waiting (a TCP listener's count:
 * TCP_INFO), which the close will reset, with the error in *err; 0 when
 * the backlog is empty. */
unsigned acceptor_drain(acceptor_t *ac, int *err);

/* Closes the socket at once (clients in its backlog are refused) and the
 * handles; on_closed, if given, runs once both have closed. Nothing is
 * done, and on_closed never runs, for an acceptor that did not start. */
void acceptor_close(acceptor_t *ac, acceptor_closed_cb *on_closed);

/* A TCP socket listening on addr, as libuv makes one (SO_REUSEADDR; an
 * IPv6 wildcard takes IPv4 clients too). Returns its descriptor or -errno. */
int acceptor_tcp_listen(const addr_t *addr, int backlog);

/* Closes an accepted client's descriptor with a reset, for a client turned
 * away: it fails at once instead of waiting for an answer. */
void acceptor_reset(int fd);

/* A client the owner turns away at a limit of its own (its clients at
 * once, memory), for `why`: said once an episode ("refusing clients:
 * why"), in the owner's episode `e`; the owner closes the client. Limits
 * are met and passed by turns, so an episode ends only once none was
 * turned away for EPISODE_QUIET_MS: said, with the count, at the next
 * client served (acceptor_served) or before the next one turned away. */
void acceptor_refused(const acceptor_t *ac, episode_t *e, const char *why);
void acceptor_served(const acceptor_t *ac, episode_t *e);

/* Whether a client has bytes waiting in its socket, unread: one accepted
 * in the same pass as others has not been read yet, so a client with no
 * request read so far may still have sent it. Makes room at a limit by
 * closing only clients that really have said nothing. */
int acceptor_unread(const uv_handle_t *client);

/* Whether an accept() error leaves the client in the backlog, so that the
 * next accept() would fail alike: anything but a network error of that one
 * client, which accept() took off the queue (accept(2): ENETDOWN, EPROTO,
 * ...), an aborted connection or an empty backlog. `err` is a positive errno. */
int acceptor_stuck(int err);

#endif
