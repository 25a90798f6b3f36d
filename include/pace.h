/* How much of an association's traffic the kernel may hold: the send
 * buffer's size, from what the socket reports. Pure arithmetic, so it is
 * unit-tested alone; assoc.c feeds it and applies SO_SNDBUF.
 *
 * Every byte in the socket, unsent or in flight, and every byte the peer
 * has received but not yet read, is a byte a quiet flow's next message
 * waits behind: they leave in the order they came. The flows' own queues,
 * served fairly, are where waiting should happen. So:
 *   - the buffer grows (+1/4 a tick) while the socket was full: the
 *     buffer held sending back. The kernel gives no count of the data it
 *     holds unsent (SCTP_STATUS's penddata is the receive side's gaps, its
 *     unackdata changes only at a SACK), so what a full socket cannot tell
 *     apart, a buffer that limits from a window that does, the next bound
 *     settles;
 *   - it never passes twice what the association delivered at its best
 *     recently over the least round trip seen plus PACE_SLACK_MS (a
 *     bandwidth-delay product with room to grow), less what is in flight
 *     or held unread by the peer (the peer's window the kernel reports
 *     counts both off): on a lossless path the congestion window grows without end,
 *     and without this bound the queue moves into the network and the
 *     peer's socket. With no round trip measured yet there is no bound;
 *   - it never goes below PACE_FLOOR_MSGS of the messages flows send now
 *     (below), PACE_FLOOR_CONTENDED while flows contend, or half the
 *     largest with its overhead: the kernel refuses (EMSGSIZE) a message
 *     larger than its buffer, which is twice what SO_SNDBUF asks
 *     (socket(7)). While flows contend the floor falls with their messages
 *     and their count: four 64 KiB messages are 210 ms at 10 Mbit/s, a
 *     queue of its own, more than the RTO a failover budget of 300 ms
 *     allows (paths were declared failed while alive). The floor bounds
 *     what is in flight too (the kernel counts a chunk until it is
 *     acknowledged), and on a slow line what is in flight waits in the
 *     line's queue, ahead of every flow's next message whatever the
 *     kernel's stream scheduler does: an interactive flow's echo beside
 *     four bulk flows on a 10 Mbit/s link took 312 ms at the 99th
 *     percentile with four contended messages, 130 ms with two, the bulk
 *     rate the same (220 and 156 ms at 20 Mbit/s). A flow alone keeps the
 *     floor of four large messages, as before messages shrank: the bound
 *     above, taken from the least round trip, underestimates the round trip
 *     where the CPUs add delay, and a lone bulk flow's buffer would sink to
 *     the floor. The kernel takes a message whenever the buffer has any
 *     room, so a small buffer never holds a large message back.
 *
 * And how large the flows' messages are: while the socket refused a
 * message with other flows waiting behind it (`contended`), a message takes
 * about PACE_MSG_MS at the rate the association carries, between msg_min
 * and msg_max; otherwise it grows back by a quarter a tick, so that a few
 * ticks without contention do not bring back the floor of four large
 * messages (above). A flow
 * waits for its turn behind one message of every busy flow (fairq.h): with
 * four bulk flows of 64 KiB messages on a 10 Mbit/s link that was 210 ms a
 * round, and an interactive flow's echo took up to half a second. Alone, or
 * while the kernel takes all, a flow keeps the largest messages, which
 * cost the CPU least per byte. */
#ifndef SCTPGW_PACE_H
#define SCTPGW_PACE_H

#include <stdint.h>

#define PACE_SLACK_MS        15u /* loop turns and SACKs of a busy host, on top of the round trip */
#define PACE_RTT_KEEP_MS     10000u /* a least round trip older than this gives way */
#define PACE_FLOOR_MSGS      4u     /* the buffer's floor, in messages of the size sent now */
#define PACE_FLOOR_CONTENDED 2u     /* ... while flows contend */
#define PACE_MSG_OVERHEAD    64u    /* what a message carries beyond its data, at most */
#define PACE_MSG_MS          16u    /* a contended message's time at the association's rate */

typedef struct pace {
    unsigned low, high; /* bounds of the buffer now, bytes */
    unsigned msg_min;   /* the association's smallest message size */
    unsigned msg_max;   /* and its largest */
    unsigned msg;       /* the size flows' messages take now */
    unsigned sndbuf;    /* the buffer as last decided */
    uint64_t rate;      /* bytes per second handed over, at best recently */
    uint32_t rtt_ms;    /* least round trip seen; 0 until measured */
    uint64_t rtt_at;    /* loop time it was taken */
    uint32_t rwnd_max;  /* largest receive window the peer advertised */
    int contended;      /* the last tick saw flows contend */
} pace_t;

/* What one tick saw. */
typedef struct pace_tick {
    uint64_t elapsed_ms; /* since the previous tick */
    uint64_t sent;       /* bytes handed to the kernel since then */
    uint32_t rwnd;       /* the peer's receive window now, less what is in flight */
    int hit;             /* the socket refused a message since then */
    int contended;       /* ... while another flow's message waited */
} pace_tick_t;

/* The buffer between the floor above and high;
 * messages of msg_max until a tick says otherwise. */
void pace_init(pace_t *p, unsigned high, unsigned msg_min, unsigned msg_max);

/* A round-trip sample taken at loop time now_ms. */
void pace_rtt(pace_t *p, uint64_t now_ms, uint32_t rtt_ms);

/* Returns the buffer's new size (also kept in p->sndbuf); sets p->msg. */
unsigned pace_tick(pace_t *p, const pace_tick_t *t);

#endif
