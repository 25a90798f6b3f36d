/* Per-flow credit: sending, granting, receiving, batching of grants, and a
 * simulated flow that must conserve its window at every step. */
#include "credit.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>

static void test_init(void)
{
    credit_t c;

    credit_init(&c, 1000, 2000);
    CHECK(c.send == 1000);
    CHECK(c.send_window == 1000);
    CHECK(c.recv_window == 2000);
    CHECK(c.recv_held == 0);
    CHECK(c.recv_owed == 0);
}

static void test_send_side(void)
{
    credit_t c;

    credit_init(&c, 1000, 500);
    credit_sent(&c, 300);
    CHECK(c.send == 700);
    credit_sent(&c, 700);
    CHECK(c.send == 0);
    CHECK(credit_granted(&c, 250) == 0);
    CHECK(c.send == 250);
    CHECK(credit_granted(&c, 750) == 0);
    CHECK(c.send == 1000);
    /* a grant beyond the window is a protocol error and changes nothing */
    CHECK(credit_granted(&c, 1) == -EPROTO);
    CHECK(c.send == 1000);
    credit_sent(&c, 100);
    CHECK(credit_granted(&c, 101) == -EPROTO);
    CHECK(c.send == 900);
    CHECK(credit_granted(&c, 0xffffffffu) == -EPROTO);
    CHECK(c.send == 900);
    CHECK(credit_granted(&c, 100) == 0);
    CHECK(c.send == 1000);
    CHECK(c.send_window == 1000);
    /* sending never touches the receive side */
    CHECK(c.recv_window == 500 && c.recv_held == 0 && c.recv_owed == 0);

    /* sending more than the credit (a caller bug) does not wrap */
    credit_sent(&c, 1001);
    CHECK(c.send == 0);

    /* the largest window */
    credit_init(&c, 0xffffffffu, 1);
    credit_sent(&c, 0xfffffffeu);
    CHECK(c.send == 1);
    CHECK(credit_granted(&c, 0xfffffffeu) == 0);
    CHECK(c.send == 0xffffffffu);
    CHECK(credit_granted(&c, 1) == -EPROTO);
}

static void test_receive_side(void)
{
    credit_t c;

    credit_init(&c, 10, 1000);
    CHECK(credit_received(&c, 600) == 0);
    CHECK(c.recv_held == 600);
    CHECK(credit_received(&c, 400) == 0); /* exactly the window */
    CHECK(c.recv_held == 1000);
    CHECK(credit_received(&c, 1) == -EOVERFLOW);
    CHECK(c.recv_held == 1000);
    CHECK(credit_received(&c, 0) == 0);

    /* consumed but not yet granted back still counts against the peer */
    CHECK(credit_consumed(&c, 100) == 0); /* 100 < 250 */
    CHECK(c.recv_held == 900 && c.recv_owed == 100);
    CHECK(credit_received(&c, 1) == -EOVERFLOW);
    CHECK(credit_received(&c, 100) == -EOVERFLOW);
    CHECK(c.recv_held == 900 && c.recv_owed == 100);

    /* once granted, the peer may send that much again, and not a byte more */
    CHECK(credit_consumed(&c, 150) == 250);
    CHECK(c.recv_held == 750 && c.recv_owed == 0);
    CHECK(credit_received(&c, 251) == -EOVERFLOW);
    CHECK(credit_received(&c, 250) == 0);
    CHECK(c.recv_held == 1000);

    /* a huge n must not wrap the check */
    credit_init(&c, 10, 1000);
    CHECK(credit_received(&c, 0xffffffffu) == -EOVERFLOW);
    CHECK(credit_received(&c, 999) == 0);
    CHECK(credit_received(&c, 0xffffffffu) == -EOVERFLOW);
    CHECK(c.recv_held == 999);

    credit_init(&c, 10, 0xffffffffu);
    CHECK(credit_received(&c, 0xffffffffu) == 0);
    CHECK(credit_received(&c, 1) == -EOVERFLOW);
    CHECK(c.recv_held == 0xffffffffu);
    CHECK(credit_consumed(&c, 0xffffffffu) == 0xffffffffu);
    CHECK(c.recv_held == 0 && c.recv_owed == 0);
}

static void test_batching(void)
{
    credit_t c;

    /* window 1000: grants go out once 250 are owed */
    credit_init(&c, 10, 1000);
    CHECK(credit_received(&c, 1000) == 0);
    CHECK(credit_consumed(&c, 1) == 0);
    CHECK(credit_consumed(&c, 248) == 0);
    CHECK(c.recv_owed == 249 && c.recv_held == 751);
    CHECK(credit_consumed(&c, 1) == 250);
    CHECK(c.recv_owed == 0 && c.recv_held == 750);
    CHECK(credit_consumed(&c, 100) == 0);
    CHECK(credit_consumed(&c, 100) == 0);
    CHECK(credit_consumed(&c, 100) == 300); /* the whole owed amount */
    CHECK(c.recv_owed == 0 && c.recv_held == 450);
    CHECK(credit_consumed(&c, 450) == 450);
    CHECK(c.recv_owed == 0 && c.recv_held == 0);
    CHECK(credit_consumed(&c, 0) == 0);

    /* consuming more than is held is capped at what is held */
    credit_init(&c, 10, 1000);
    CHECK(credit_received(&c, 100) == 0);
    CHECK(credit_consumed(&c, 500) == 0);
    CHECK(c.recv_held == 0 && c.recv_owed == 100);
    CHECK(credit_received(&c, 200) == 0);
    CHECK(credit_consumed(&c, 200) == 300);
    CHECK(c.recv_held == 0 && c.recv_owed == 0);

    /* a window not divisible by 4: threshold 1001 / 4 = 250 */
    credit_init(&c, 10, 1001);
    CHECK(credit_received(&c, 1001) == 0);
    CHECK(credit_consumed(&c, 249) == 0);
    CHECK(credit_consumed(&c, 1) == 250);

    /* tiny windows grant every byte at once */
    for (uint32_t w = 1; w <= 3; w++) {
        credit_init(&c, 10, w);
        CHECK(credit_received(&c, w) == 0);
        CHECK(credit_received(&c, 1) == -EOVERFLOW);
        CHECK(credit_consumed(&c, 1) == 1);
        CHECK(c.recv_owed == 0);
    }
    credit_init(&c, 10, 4);
    CHECK(credit_received(&c, 4) == 0);
    CHECK(credit_consumed(&c, 1) == 1);
    CHECK(credit_consumed(&c, 3) == 3);
}

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t bound)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return bound ? (uint32_t)(rng % bound) : 0;
}

/* A sender and a receiver joined by an in-order link (the SCTP stream) for
 * DATA and one for WINDOW. Conservation: the sender's credit, the bytes and
 * grants in flight, and what the receiver holds and owes always add up to
 * the window; the receiver never holds more than the window; neither side
 * ever sees a protocol violation. */
static void simulate(uint32_t window, uint32_t max_msg, int steps)
{
    enum { Q = 4096 };
    static uint32_t dq[Q], gq[Q];
    unsigned dh = 0, dn = 0, gh = 0, gn = 0;
    uint64_t data_flight = 0, grant_flight = 0;
    uint64_t sent_total = 0, consumed_total = 0, granted_total = 0;
    credit_t snd, rcv;

    credit_init(&snd, window, 1);
    credit_init(&rcv, 1, window);
    for (int step = 0; step < steps; step++) {
        switch (rnd(4)) {
        case 0: /* the sender sends what its credit allows */
            if (snd.send > 0 && dn < Q) {
                uint32_t n = 1 + rnd(snd.send < max_msg ? snd.send : max_msg);
                credit_sent(&snd, n);
                dq[(dh + dn++) % Q] = n;
                data_flight += n;
                sent_total += n;
            }
            break;
        case 1: /* DATA arrives */
            if (dn > 0) {
                uint32_t n = dq[dh];
                dh = (dh + 1) % Q;
                dn--;
                data_flight -= n;
                CHECK(credit_received(&rcv, n) == 0);
            }
            break;
        case 2: /* the TCP peer reads some */
            if (rcv.recv_held > 0) {
                uint32_t n = 1 + rnd(rcv.recv_held);
                uint32_t g = credit_consumed(&rcv, n);
                consumed_total += n;
                if (g) {
                    CHECK(g >= (window / 4 ? window / 4 : 1));
                    CHECK(gn < Q);
                    if (gn < Q) {
                        gq[(gh + gn++) % Q] = g;
                        grant_flight += g;
                        granted_total += g;
                    }
                }
            }
            break;
        case 3: /* a WINDOW arrives */
            if (gn > 0) {
                uint32_t g = gq[gh];
                gh = (gh + 1) % Q;
                gn--;
                grant_flight -= g;
                CHECK(credit_granted(&snd, g) == 0);
            }
            break;
        }
        CHECK(snd.send + data_flight + rcv.recv_held + rcv.recv_owed + grant_flight == window);
        CHECK(rcv.recv_held <= window);
        CHECK(snd.send <= snd.send_window);
        CHECK(rcv.recv_owed < (window / 4 ? window / 4 : 1));
    }

    /* drain: every byte sent arrives and is read; the sender ends with at
     * least three quarters of its window, the rest owed in one batch */
    while (dn > 0) {
        uint32_t n = dq[dh];
        dh = (dh + 1) % Q;
        dn--;
        data_flight -= n;
        CHECK(credit_received(&rcv, n) == 0);
    }
    if (rcv.recv_held) {
        uint32_t held = rcv.recv_held;
        uint32_t g = credit_consumed(&rcv, held);
        consumed_total += held;
        if (g) {
            gq[(gh + gn++) % Q] = g;
            grant_flight += g;
            granted_total += g;
        }
    }
    while (gn > 0) {
        uint32_t g = gq[gh];
        gh = (gh + 1) % Q;
        gn--;
        grant_flight -= g;
        CHECK(credit_granted(&snd, g) == 0);
    }
    CHECK(sent_total == consumed_total);
    CHECK(rcv.recv_held == 0);
    CHECK(snd.send + rcv.recv_owed == window);
    CHECK(rcv.recv_owed < (window / 4 ? window / 4 : 1));
    CHECK((uint64_t)snd.send * 4 >= (uint64_t)window * 3);
    CHECK(granted_total + rcv.recv_owed == consumed_total);
}

static void test_simulation(void)
{
    simulate(1, 1, 20000);
    simulate(3, 2, 20000);
    simulate(4, 4, 20000);
    simulate(1000, 100, 50000);
    simulate(1000, 1000, 50000);
    simulate(65536, 65536, 50000);
    simulate(262144, 65536, 50000);
    simulate(4u << 20, 65536, 50000);
    simulate(0xffffffffu, 65536, 20000);
}

/* A peer that ignores its credit is caught on the first byte too many. */
static void test_cheater(void)
{
    credit_t rcv;
    uint32_t total = 0;
    int rc = 0;

    credit_init(&rcv, 1, 65536);
    while ((rc = credit_received(&rcv, 1000)) == 0)
        total += 1000;
    CHECK(rc == -EOVERFLOW);
    CHECK(total == 65000);
    CHECK(rcv.recv_held == 65000);
    CHECK(credit_received(&rcv, 536) == 0);
    CHECK(credit_received(&rcv, 1) == -EOVERFLOW);
}

int main(void)
{
    test_init();
    test_send_side();
    test_receive_side();
    test_batching();
    test_simulation();
    test_cheater();
    return check_status("credit");
}
