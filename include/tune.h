/* SCTP tuning derived from the operator's two promises: failover_ms (the
 * longest gap a flow may see when one link dies) and outage_ms (how long a
 * total outage is ridden out). Pure arithmetic; sctp_sock.c applies it.
 *
 * Linux 6.1 facts this rests on (net/sctp): a chunk lost on a dead path is
 * retransmitted when its T3 timer expires after one RTO, and with the
 * potentially-failed state (RFC 7829, pf_retrans 0) that first strike marks
 * the path PF, so the retransmission and all new data move to another active
 * path at once. RTO = clamp(SRTT + 4 RTTVAR, rto_min, rto_max).
 *
 *   rto_max     = failover / 2   the first strike comes at most one RTO after
 *                                the loss; the other half of the budget is for
 *                                the retransmission's trip on the other path.
 *   rto_min     = max(10, failover / 4), at most rto_max: a floor that keeps
 *                                a loaded path from timing out spuriously.
 *                                The RTO of a path that carried only
 *                                heartbeats is its floor, and the load that
 *                                fails over onto it queues there: at
 *                                failover / 10 (30 ms at 300) such a path
 *                                timed out under the retransmissions and
 *                                both paths were potentially failed at once.
 *   rto_initial = rto_max        used before a path has an RTT sample.
 *   hb_interval = max(20, failover / 4): heartbeats find a dead idle path (so
 *                                we never fail over onto it) and bring a
 *                                recovered one back; only a HEARTBEAT-ACK ends
 *                                the PF state.
 *   pf_threshold = 0             one strike: potentially failed, no more data.
 *   path_max_retrans = 2         three strikes: reported unreachable.
 *   sack_delay  = max(1, min(200, failover / 20)): a delayed SACK must come
 *                                back well inside rto_min or a lone chunk
 *                                would time out spuriously and mark its path
 *                                PF; short, as the window opens with SACKs.
 *   handshake_ms = max(10000, 2 * rto_max): the gateway's bound on an
 *                                association's connect and key proof. Ten
 *                                seconds are many round trips, but at
 *                                failover_ms above 20000 one lost INIT or
 *                                handshake message waits rto_max (rto_initial)
 *                                for its retransmission: the bound must cover
 *                                it.
 *   shutdown_ms = max(5000, 2 * rto_max): the same for a graceful SHUTDOWN
 *                                before the gateway aborts.
 *   outage: the gateway itself aborts the association outage_ms after the
 *           last usable path went away (assoc.c). The kernel's own limit,
 *           asoc_max_retrans, is only a backstop set well beyond that: during
 *           a total outage errors accrue at most once per rto_max from T3 and
 *           once per 200 ms (the kernel's heartbeat floor) per path, so
 *           asoc_max_retrans = 2 * outage * (1/rto_max + paths/200) + 10 +
 *           2 * paths (whole strikes of short outages), capped at 65535.
 *           The gateway's own probes of a total outage (path.c), which the
 *           kernel counts as well while the last heartbeat is unanswered,
 *           come once per probe_ms = max(rto_max, 200) per path: at most
 *           another paths/200, within the factor of 2. The cap is reached
 *           only by a long outage_ms at a short failover_ms (an hour at
 *           100 ms on two paths lasts about 27 minutes of errors, probes
 *           included): the gateway warns at start and on reload
 *           (tune_backstop_ms).
 *
 * Under load the budget is measured, not derived. What it guarantees: with
 * bulk flows filling links of 10 Mbit/s (t_failover_load: four bulk flows,
 * eight paced ones, encrypted), the largest paced gap when the primary link
 * died was 380-435 ms at 300 and 295-427 ms at 500 in two runs before
 * 986a906 (earlier builds: 161-527 ms at 300, the top of that range when
 * the remaining path timed out under the load; t_failover_load asserts
 * failover_ms + 300 ms, as t_failover does without the load, or
 * failover_ms + the largest gap the load caused before the cut, when
 * that is more, as on a slower machine). The same
 * load with no cut at all left largest gaps of 220-427 ms in ten runs on
 * the bed, whose two emulated CPUs it keeps busy (tests/bench/README.md,
 * "What did not help"): the runs with the cut sit at the top of that
 * range. The cut adds no more because little waits in the kernel or the
 * network (pace.h): what was in flight on the dead path is a few tens of
 * kilobytes, retransmitted on the other path within a round trip or two,
 * and no flow waits long for its turn. On the bed with unlimited links
 * the emulated CPUs are what the bulk flows fill, and the gaps grow with
 * their queueing; the benchmark's W6b measures that case
 * (tests/bench/README.md). There the detection stays within rto_max; what
 * follows is the backlog crossing the backup path, in slow start since
 * path_keep (path.c) keeps its threshold from falling, and then the CPUs
 * (tests/bench/README.md, "Where W6b's gap goes").
 *
 * Each side detects the dead link on its own timer, and retransmits what it
 * sent into the dead link only when that timer expires: the peer telling it
 * sooner would not bring that forward (tests/bench/README.md, "W6 at 300
 * ms"). At failover_ms = 300 paced flows without load had largest gaps of
 * 119 to 247 ms from the cut on in eight traced runs on the bed; the misses
 * of earlier runs came from the benchmark's own cut command.
 */
#ifndef SCTPGW_TUNE_H
#define SCTPGW_TUNE_H

typedef struct tune {
    unsigned rto_min;          /* ms */
    unsigned rto_max;          /* ms */
    unsigned rto_initial;      /* ms */
    unsigned hb_interval;      /* ms */
    unsigned pf_threshold;     /* strikes before a path is potentially failed */
    unsigned path_max_retrans; /* strikes before a path is unreachable */
    unsigned asoc_max_retrans; /* kernel backstop for the association */
    unsigned sack_delay;       /* ms */
    unsigned outage_ms;        /* the gateway's own total-outage limit */
    unsigned probe_ms;         /* in a total outage, a heartbeat on every path this often */
    unsigned handshake_ms;     /* the gateway's bound on connect and key proof */
    unsigned shutdown_ms;      /* the gateway's bound on a graceful shutdown */
} tune_t;

#define TUNE_FAILOVER_MIN 100 /* below this the timers cannot keep the promise */

/* Derives the settings; `paths` is how many peer addresses there may be.
 * Returns 0, or -EINVAL when failover_ms is below TUNE_FAILOVER_MIN or
 * outage_ms below failover_ms. */
int tune_derive(unsigned failover_ms, unsigned outage_ms, unsigned paths, tune_t *t);

/* The shortest total outage after which the kernel's error limit `limit`
 * may end an association whose timers are t's, on `paths` paths: errors
 * accruing as fast as the formula above allows, the gateway's probes
 * included. A live association keeps the limit it was made with through a
 * reload (sock_retune), and new timers may use it up sooner. In ms. */
unsigned tune_backstop_ms(unsigned limit, const tune_t *t, unsigned paths);

#endif
