/* SCTP timer derivation from failover_ms and outage_ms (formulas in tune.h). */
#include "tune.h"
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

static void test_defaults(void)
{
    tune_t t;

    /* failover 1000, outage 30000, one path */
    memset(&t, 0xff, sizeof(t));
    CHECK(tune_derive(1000, 30000, 1, &t) == 0);
    CHECK(t.rto_max == 500);
    CHECK(t.rto_min == 250);
    CHECK(t.rto_initial == 500);
    CHECK(t.hb_interval == 250);
    CHECK(t.pf_threshold == 0);
    CHECK(t.path_max_retrans == 2);
    CHECK(t.sack_delay == 50);
    CHECK(t.outage_ms == 30000);
    /* 2 * 30000 * (1/500 + 1/200) = 420, plus the margin: 10, 2 a path */
    CHECK(t.asoc_max_retrans == 432);

    /* failover 500, as the integration tests run */
    memset(&t, 0xff, sizeof(t));
    CHECK(tune_derive(500, 30000, 1, &t) == 0);
    CHECK(t.rto_max == 250);
    CHECK(t.rto_min == 125);
    CHECK(t.rto_initial == 250);
    CHECK(t.hb_interval == 125);
    CHECK(t.pf_threshold == 0);
    CHECK(t.path_max_retrans == 2);
    CHECK(t.sack_delay == 25);
    CHECK(t.outage_ms == 30000);
    /* 2 * 30000 * (1/250 + 1/200) = 540 */
    CHECK(t.asoc_max_retrans == 552);

    /* two paths: 2 * 30000 * (1/500 + 2/200) = 720 */
    CHECK(tune_derive(1000, 30000, 2, &t) == 0);
    CHECK(t.asoc_max_retrans == 734);
    CHECK(t.rto_max == 500 && t.hb_interval == 250);
}

static void test_floors(void)
{
    tune_t t;

    /* the smallest failover */
    CHECK(tune_derive(100, 100, 1, &t) == 0);
    CHECK(t.rto_max == 50);
    CHECK(t.rto_min == 25);
    CHECK(t.rto_initial == 50);
    CHECK(t.hb_interval == 25);
    CHECK(t.sack_delay == 5);
    CHECK(t.outage_ms == 100);

    /* odd values round down */
    CHECK(tune_derive(1999, 5000, 1, &t) == 0);
    CHECK(t.rto_max == 999);
    CHECK(t.rto_min == 499);
    CHECK(t.rto_initial == 999);
    CHECK(t.hb_interval == 499);
    CHECK(t.sack_delay == 99);

    /* a long failover: the SACK delay stops at 200 */
    CHECK(tune_derive(10000, 60000, 1, &t) == 0);
    CHECK(t.rto_max == 5000);
    CHECK(t.rto_min == 2500);
    CHECK(t.hb_interval == 2500);
    CHECK(t.sack_delay == 200);
    CHECK(tune_derive(4000, 60000, 1, &t) == 0);
    CHECK(t.rto_min == 1000);
    CHECK(t.sack_delay == 200);
    CHECK(tune_derive(3990, 60000, 1, &t) == 0);
    CHECK(t.rto_min == 997);
    CHECK(t.sack_delay == 199);
}

/* The kernel's limit tops out at 65535 errors: an hour's outage at the
 * shortest failover outlasts it (the gateway warns), the defaults do not. */
static void test_backstop_cap(void)
{
    tune_t t;

    CHECK(tune_derive(100, 3600000, 2, &t) == 0);
    CHECK(t.asoc_max_retrans == 65535);
    CHECK(tune_backstop_ms(t.asoc_max_retrans, &t, 2) < 3600000);
    /* 65535 / (1/50 + 2/200 + 2/200 per ms) */
    CHECK(tune_backstop_ms(t.asoc_max_retrans, &t, 2) / 1000 == 1638);
    CHECK(tune_derive(1000, 3600000, 2, &t) == 0);
    CHECK(tune_backstop_ms(t.asoc_max_retrans, &t, 2) >= 3600000);
    CHECK(tune_derive(1000, 30000, 8, &t) == 0);
    CHECK(tune_backstop_ms(t.asoc_max_retrans, &t, 8) >= 30000);
    CHECK(tune_derive(1000, 3600000, 8, &t) == 0);
    CHECK(tune_backstop_ms(t.asoc_max_retrans, &t, 8) < 3600000);
}

/* The gateway's handshake and shutdown bounds: fixed while they are long
 * beside a retransmission, then twice rto_max, so that one lost packet
 * (resent after up to rto_max, rto_initial for an INIT) never ends the
 * association. At failover 60000 the fixed 10 s were a third of one. */
static void test_deadlines(void)
{
    tune_t t;

    CHECK(tune_derive(500, 30000, 2, &t) == 0);
    CHECK(t.handshake_ms == 10000 && t.shutdown_ms == 5000);
    CHECK(tune_derive(10000, 30000, 2, &t) == 0);
    CHECK(t.handshake_ms == 10000 && t.shutdown_ms == 10000);
    CHECK(tune_derive(20000, 30000, 2, &t) == 0);
    CHECK(t.handshake_ms == 20000 && t.shutdown_ms == 20000);
    CHECK(tune_derive(60000, 60000, 2, &t) == 0);
    CHECK(t.handshake_ms == 60000 && t.shutdown_ms == 60000);
    for (unsigned fo = 100; fo <= 60000; fo += 100) {
        CHECK(tune_derive(fo, 60000, 2, &t) == 0);
        CHECK(t.handshake_ms >= 10000 && t.handshake_ms >= 2 * t.rto_initial);
        CHECK(t.shutdown_ms >= 5000 && t.shutdown_ms >= 2 * t.rto_max);
    }
}

static void test_invalid(void)
{
    tune_t t;

    CHECK(tune_derive(99, 30000, 1, &t) == -EINVAL);
    CHECK(tune_derive(0, 30000, 1, &t) == -EINVAL);
    CHECK(tune_derive(0, 0, 1, &t) == -EINVAL);
    CHECK(tune_derive(100, 30000, 1, &t) == 0);
    CHECK(tune_derive(1000, 999, 1, &t) == -EINVAL);
    CHECK(tune_derive(1000, 0, 1, &t) == -EINVAL);
    CHECK(tune_derive(1000, 1000, 1, &t) == 0);
    CHECK(tune_derive(UINT_MAX, UINT_MAX - 1, 1, &t) == -EINVAL);
}

static void test_paths_zero(void)
{
    static const unsigned fo[] = {100, 500, 1000, 7777};
    tune_t a, b;

    for (size_t i = 0; i < sizeof(fo) / sizeof(fo[0]); i++) {
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        CHECK(tune_derive(fo[i], 30000, 0, &a) == 0);
        CHECK(tune_derive(fo[i], 30000, 1, &b) == 0);
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    }
}

/* The backstop, for any input: never below the documented
 * 2 * outage * (1/rto_max + paths/200) (exact in integers), so the kernel
 * never aborts before the gateway's own outage limit; and at most 65535. */
static void test_backstop(void)
{
    static const unsigned fo[] = {100, 101,  150,  199,  200,  250,  333,   400,   500,   750,
                                  999, 1000, 1500, 2000, 3000, 5000, 10000, 30000, 60000, 1000000};
    static const unsigned out[] = {1, 2, 3, 10, 30, 60, 120, 300, 600, 3600};
    unsigned checked = 0, capped = 0;

    for (size_t i = 0; i < sizeof(fo) / sizeof(fo[0]); i++)
        for (size_t j = 0; j < sizeof(out) / sizeof(out[0]); j++)
            for (unsigned paths = 0; paths <= 16; paths++) {
                unsigned outage = fo[i] * out[j];
                unsigned p = paths ? paths : 1;
                tune_t t;

                CHECK(tune_derive(fo[i], outage, paths, &t) == 0);
                CHECK(t.rto_min <= t.rto_max);
                CHECK(t.rto_min >= 10);
                CHECK(t.rto_initial == t.rto_max);
                CHECK(t.rto_max == fo[i] / 2);
                CHECK(t.sack_delay >= 1 && t.sack_delay <= 200);
                CHECK(t.sack_delay * 2 <= t.rto_min);
                CHECK(t.hb_interval >= 20);
                CHECK(t.outage_ms == outage);
                CHECK(t.probe_ms >= 200 && t.probe_ms >= t.rto_max);
                CHECK(t.asoc_max_retrans <= 65535);

                /* strikes within outage_ms at the documented max rate,
                 * rounded up per source: T3 once per rto_max, heartbeats
                 * once per 200 ms on each path, and the gateway's probes,
                 * the first probe_ms after the last path went and every
                 * probe_ms after, on each path (they came each rto_max:
                 * more than the backstop at failover_ms 100..199) */
                uint64_t r = t.rto_max;
                uint64_t strikes = (outage + r - 1) / r + p * (((uint64_t)outage + 199) / 200) +
                                   p * (outage / t.probe_ms);
                /* 2 * outage * (1/r + p/200), rounded up */
                uint64_t num = 400ull * outage + 2ull * outage * p * r;
                uint64_t den = 200ull * r;
                uint64_t doubled = (num + den - 1) / den;

                if (doubled > 65535) {
                    capped++;
                    CHECK(t.asoc_max_retrans == 65535);
                    continue;
                }
                checked++;
                CHECK(t.asoc_max_retrans > strikes);
                CHECK(t.asoc_max_retrans >= doubled);
                /* and not absurdly beyond it: a margin of 10 and two a
                 * path at most */
                CHECK(t.asoc_max_retrans <= num / den + 10 + 2 * p);
            }
    CHECK(checked > 1000);
    CHECK(capped > 100);

    /* huge outages are capped */
    tune_t t;
    CHECK(tune_derive(1000, 86400000, 1, &t) == 0);
    CHECK(t.asoc_max_retrans == 65535);
    CHECK(tune_derive(100, UINT_MAX, 64, &t) == 0);
    CHECK(t.asoc_max_retrans == 65535);
    CHECK(tune_derive(UINT_MAX, UINT_MAX, UINT_MAX, &t) == 0);
    CHECK(t.asoc_max_retrans == 65535);
    CHECK(t.rto_max == UINT_MAX / 2);
    CHECK(t.rto_min == UINT_MAX / 4);
    CHECK(t.rto_min <= t.rto_max);
    CHECK(t.sack_delay == 200);
    /* just below and just above the cap: 2 * o * (1/500 + 1/200) = o * 0.014 */
    CHECK(tune_derive(1000, 4000000, 1, &t) == 0);
    CHECK(t.asoc_max_retrans == 56012);
    CHECK(tune_derive(1000, 5000000, 1, &t) == 0);
    CHECK(t.asoc_max_retrans == 65535);
}

/* rto_min <= rto_max for every failover in a wide sweep */
static void test_rto_order(void)
{
    for (unsigned fo = 100; fo < 20000; fo++) {
        tune_t t;

        CHECK(tune_derive(fo, fo, 1, &t) == 0);
        CHECK(t.rto_min <= t.rto_max);
        CHECK(t.rto_max == fo / 2);
        CHECK(t.rto_min == (fo / 4 > 10 ? fo / 4 : 10));
        CHECK(t.hb_interval == (fo / 4 > 20 ? fo / 4 : 20));
        CHECK(t.sack_delay == (fo / 20 < 200 ? (fo / 20 > 1 ? fo / 20 : 1) : 200));
    }
}

/* A live association keeps the error limit it was made with through a
 * reload: how long a total outage it then lasts at least, under the new
 * timers. Made at failover_ms 1000, outage_ms 30000 on two paths: beyond
 * outage_ms under its own timers, the gateway's probes counted (about
 * twice without them), but a reload to failover_ms 100 makes errors come
 * faster and the kept limit may run out before 30 s. */
static void test_kept_backstop(void)
{
    tune_t made, now;

    CHECK(tune_derive(1000, 30000, 2, &made) == 0);
    CHECK(tune_backstop_ms(made.asoc_max_retrans, &made, 2) >= 30000);
    CHECK(tune_backstop_ms(made.asoc_max_retrans, &made, 2) < 62000);
    CHECK(tune_derive(100, 30000, 2, &now) == 0);
    CHECK(tune_backstop_ms(made.asoc_max_retrans, &now, 2) < 30000);
    /* the new limit itself keeps its promise */
    CHECK(tune_backstop_ms(now.asoc_max_retrans, &now, 2) >= 30000);
    CHECK(tune_backstop_ms(65535, &now, 0) > 0);
}

int main(void)
{
    test_kept_backstop();
    test_defaults();
    test_floors();
    test_backstop_cap();
    test_deadlines();
    test_invalid();
    test_paths_zero();
    test_backstop();
    test_rto_order();
    return check_status("tune");
}
