/* Sizing the kernel's share: growth while the buffer limits, the
 * bandwidth-delay bound, what is in flight or unread at the peer, and the
 * least round trip; and the flows' message size. */
#include "pace.h"
#include "check.h"

#define MSG_MIN 8192u
#define MSG     65536u
#define LOW     (PACE_FLOOR_MSGS * MSG) /* the floor while messages are the largest */
#define HIGH    (4u * 1024u * 1024u)

static pace_tick_t tick(uint64_t sent, uint32_t rwnd, int hit)
{
    pace_tick_t t = {.elapsed_ms = 20, .sent = sent, .rwnd = rwnd, .hit = hit};

    return t;
}

static void test_grows_while_the_buffer_limits(void)
{
    pace_t p;
    pace_tick_t t = tick(1000000, HIGH, 1);
    unsigned prev;

    pace_init(&p, HIGH, MSG_MIN, MSG);
    CHECK(p.sndbuf == LOW);
    CHECK(p.msg == MSG);
    prev = pace_tick(&p, &t);
    CHECK(prev == LOW + LOW / 4);
    for (int i = 0; i < 60; i++)
        pace_tick(&p, &t);
    CHECK(p.sndbuf == HIGH); /* no round trip measured: no bound */
    /* not full: stays */
    t = tick(1000000, HIGH, 0);
    CHECK(pace_tick(&p, &t) == HIGH);
}

/* A window that limits fills the socket as a small buffer does: the bound
 * brings the buffer back down once a round trip is known. */
static void test_bound_takes_back_growth(void)
{
    pace_t p;
    pace_tick_t t = tick(1000000, HIGH, 1);
    uint64_t bound = 2ull * 50000000 * (20 + PACE_SLACK_MS) / 1000;

    pace_init(&p, HIGH, MSG_MIN, MSG);
    for (int i = 0; i < 60; i++)
        pace_tick(&p, &t);
    CHECK(p.sndbuf == HIGH);
    pace_rtt(&p, 1000, 20);
    CHECK(pace_tick(&p, &t) == bound);
    CHECK(pace_tick(&p, &t) == bound); /* full again: held at the bound */
}

/* 40 MB/s over a 10 ms round trip: at most 2 x 40 MB/s x 15 ms. */
static void test_bandwidth_delay_bound(void)
{
    pace_t p;
    pace_tick_t t = tick(800000, HIGH, 1);
    uint64_t bound = 2ull * 40000000 * (10 + PACE_SLACK_MS) / 1000;

    pace_init(&p, HIGH, MSG_MIN, MSG);
    pace_rtt(&p, 1000, 10);
    for (int i = 0; i < 60; i++)
        pace_tick(&p, &t);
    CHECK(p.rate == 40000000);
    CHECK(p.sndbuf == bound);
    /* what is in flight or unread at the peer (its window below the largest it
     * advertised) comes off the bound */
    t = tick(800000, HIGH - 100000, 1);
    CHECK(pace_tick(&p, &t) == bound - 100000);
    /* never below the floor */
    t = tick(800000, 1000, 1);
    CHECK(pace_tick(&p, &t) == LOW);
}

/* The rate is the best recent one: a slow tick lowers it by an eighth. */
static void test_rate_filter(void)
{
    pace_t p;
    pace_tick_t fast = tick(200000, HIGH, 0), idle = tick(0, HIGH, 0);

    pace_init(&p, HIGH, MSG_MIN, MSG);
    pace_tick(&p, &fast);
    CHECK(p.rate == 10000000);
    pace_tick(&p, &idle);
    CHECK(p.rate == 10000000 - 10000000 / 8);
    pace_tick(&p, &fast);
    CHECK(p.rate == 10000000);
}

/* 10 Mbit/s (25,000 bytes a 20 ms tick) with other flows waiting behind
 * the refused message: messages of PACE_MSG_MS at that rate, never below
 * msg_min; uncontended they double back to msg_max, a tick at a time. */
static void test_message_size(void)
{
    pace_t p;
    pace_tick_t t = tick(25000, HIGH, 1);

    pace_init(&p, HIGH, MSG_MIN, MSG);
    t.contended = 1;
    pace_tick(&p, &t);
    CHECK(p.rate == 1250000);
    CHECK(p.msg == 1250000 * PACE_MSG_MS / 1000);
    CHECK(p.msg >= MSG_MIN && p.msg < MSG);
    /* the floor falls with the messages and to fewer of them, but the
     * kernel's buffer (twice the floor) still takes the largest sealed
     * message */
    CHECK(p.low == PACE_FLOOR_CONTENDED * p.msg);
    CHECK(2 * p.low >= MSG + PACE_MSG_OVERHEAD);
    /* slower: the floor */
    pace_init(&p, HIGH, MSG_MIN, MSG);
    t.sent = 2000;
    pace_tick(&p, &t);
    CHECK(p.msg == MSG_MIN);
    CHECK(p.low == (MSG + PACE_MSG_OVERHEAD + 1) / 2); /* not 4 x 8 KiB */
    /* the socket took all, or no one waited: back up by a quarter a tick,
     * 8 KiB to 64 KiB in ten */
    t.contended = 0;
    pace_tick(&p, &t);
    CHECK(p.msg == MSG_MIN + MSG_MIN / 4);
    for (int i = 0; i < 8; i++)
        pace_tick(&p, &t);
    CHECK(p.msg < MSG);
    pace_tick(&p, &t);
    CHECK(p.msg == MSG);
    CHECK(p.low == LOW);
    pace_tick(&p, &t);
    CHECK(p.msg == MSG);
    /* fast and contended: capped at msg_max */
    t = tick(1000000, HIGH, 1);
    t.contended = 1;
    pace_tick(&p, &t);
    CHECK(p.msg == MSG);
    /* an association of small messages only (no I-DATA) stays there, its
     * floor a few of them */
    pace_init(&p, HIGH, MSG_MIN, MSG_MIN);
    CHECK(p.msg == MSG_MIN && p.sndbuf == PACE_FLOOR_MSGS * MSG_MIN);
    t.contended = 0;
    pace_tick(&p, &t);
    CHECK(p.msg == MSG_MIN);
}

static void test_least_round_trip(void)
{
    pace_t p;

    pace_init(&p, HIGH, MSG_MIN, MSG);
    pace_rtt(&p, 100, 12);
    CHECK(p.rtt_ms == 12);
    pace_rtt(&p, 200, 30);
    CHECK(p.rtt_ms == 12);
    pace_rtt(&p, 300, 9);
    CHECK(p.rtt_ms == 9);
    pace_rtt(&p, 300 + PACE_RTT_KEEP_MS + 1, 20); /* the old least gives way */
    CHECK(p.rtt_ms == 20);
    pace_rtt(&p, 20000, 0);
    CHECK(p.rtt_ms == 1);
}

int main(void)
{
    test_grows_while_the_buffer_limits();
    test_bound_takes_back_growth();
    test_bandwidth_delay_bound();
    test_rate_filter();
    test_message_size();
    test_least_round_trip();
    return check_status("test_pace");
}
