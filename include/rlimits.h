/* Resource limits: the descriptor budget a gateway works within, and
 * episodes of running into a limit. An episode is logged when it starts and
 * when it ends, with how many clients it turned away, never once per client:
 * a flood of refusals must not become a flood of log lines. */
#ifndef SCTPGW_RLIMITS_H
#define SCTPGW_RLIMITS_H

#include <stdint.h>

/* Descriptors kept back from flows beside those held at start (the event
 * loop's own among them), the listeners and the bounded kinds gateway.c
 * counts (unproven peers, closers, control and metrics clients): the
 * sockets of up to RLIMITS_RESERVE_ASSOCS associations (a hub's spokes past
 * them take theirs from the flows' room, gateway_fd_room), accepting a
 * client only to refuse it, and some to spare. */
#define RLIMITS_FD_RESERVE     64
#define RLIMITS_RESERVE_ASSOCS 8

/* A limit that clients meet and pass by turns (the control socket's and the
 * metrics listener's clients being answered) makes one episode until no
 * client has been refused for this long: its end is said at the first
 * client served after such a gap (or at the next refusal, which starts
 * another), not at each one served between two refused. */
#ifndef EPISODE_QUIET_MS
#define EPISODE_QUIET_MS 10000
#endif

typedef struct episode {
    int active;
    uint64_t since_ms;  /* when it started */
    uint64_t last_ms;   /* its latest hit */
    unsigned long hits; /* clients turned away during it */
    const char *why;    /* its reason, a string literal */
} episode_t;

/* Counts one refusal for `why` at `now`. Returns 1 when this one starts an
 * episode (log it), 0 while the episode goes on. */
int episode_hit(episode_t *e, const char *why, uint64_t now);

/* Ends the episode, if one is active: returns 1 and fills how long it
 * lasted and how many it turned away (log that), else 0. */
int episode_end(episode_t *e, uint64_t now, uint64_t *lasted_ms, unsigned long *hits);

/* 1 if an episode is active and nothing hit it for `quiet_ms` until `now`:
 * for limits that end by themselves, a hit after such a gap starts another. */
int episode_quiet(const episode_t *e, uint64_t now, uint64_t quiet_ms);

/* For limits met and passed by turns (EPISODE_QUIET_MS): ends the episode
 * once nothing has hit it for `quiet_ms`, reporting it up to its last hit
 * (returns 1: log that), else 0. Called as a client is served, and before
 * a refusal, so that one after such a gap starts an episode of its own. */
int episode_end_quiet(episode_t *e, uint64_t now, uint64_t quiet_ms, uint64_t *lasted_ms,
                      unsigned long *hits);

/* Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit
 * now in force (raised or not), or -errno. */
long rlimits_raise_fds(void);

/* Descriptors this process has open now, or -errno. */
long rlimits_open_fds(void);

/* How many flows fit in a descriptor limit with `open` already in use:
 * each flow holds one descriptor (its client's or its back end's). */
unsigned rlimits_flow_cap(long limit, long open);

/* A kernel setting as this process sees it (the network ones are per
 * namespace), `key` as sysctl spells it ("net.core.somaxconn"), into *out.
 * Returns 0, or -errno: -ENOENT for a key this kernel does not have,
 * -EINVAL for one that is not a number. */
int rlimits_sysctl(const char *key, unsigned *out);

#endif
