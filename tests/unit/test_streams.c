/* The stream allocator: halves, exhaustion, limits, FIFO reuse, bad releases. */
#include "streams.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_halves_small(void)
{
    streams_t s;

    /* 11 streams: sids 1..10, odd half 1,3,5,7,9 */
    CHECK(streams_init(&s, 11, 1, 65535) == 0);
    CHECK(streams_available(&s) == 5);
    CHECK(streams_alloc(&s) == 1);
    CHECK(streams_alloc(&s) == 3);
    CHECK(streams_alloc(&s) == 5);
    CHECK(streams_alloc(&s) == 7);
    CHECK(streams_alloc(&s) == 9);
    CHECK(streams_available(&s) == 0);
    CHECK(streams_alloc(&s) == -ENOSPC);
    CHECK(streams_alloc(&s) == -ENOSPC);
    CHECK(streams_available(&s) == 0);
    streams_free_all(&s);

    /* even half 2,4,6,8,10 */
    CHECK(streams_init(&s, 11, 0, 65535) == 0);
    CHECK(streams_available(&s) == 5);
    CHECK(streams_alloc(&s) == 2);
    CHECK(streams_alloc(&s) == 4);
    CHECK(streams_alloc(&s) == 6);
    CHECK(streams_alloc(&s) == 8);
    CHECK(streams_alloc(&s) == 10);
    CHECK(streams_alloc(&s) == -ENOSPC);
    streams_free_all(&s);

    /* 10 streams: sids 1..9, odd 1..9 (5), even 2..8 (4) */
    CHECK(streams_init(&s, 10, 1, 65535) == 0);
    CHECK(streams_available(&s) == 5);
    streams_free_all(&s);
    CHECK(streams_init(&s, 10, 0, 65535) == 0);
    CHECK(streams_available(&s) == 4);
    for (int want = 2; want <= 8; want += 2)
        CHECK(streams_alloc(&s) == want);
    CHECK(streams_alloc(&s) == -ENOSPC);
    streams_free_all(&s);
}

/* Allocates everything of one half and marks it in `seen`; returns how many. */
static unsigned drain_half(unsigned nstreams, int odd, uint8_t *seen)
{
    streams_t s;
    unsigned n = 0;
    int sid;

    CHECK(streams_init(&s, nstreams, odd, 65535) == 0);
    unsigned avail = streams_available(&s);
    while ((sid = streams_alloc(&s)) >= 0) {
        CHECK(sid >= 1 && (unsigned)sid < nstreams);
        CHECK((sid & 1) == (odd ? 1 : 0));
        CHECK(streams_is_ours(&s, (uint16_t)sid));
        if (sid >= 1 && (unsigned)sid < nstreams) {
            CHECK(seen[sid] == 0); /* never twice, never both halves */
            seen[sid]++;
        }
        n++;
    }
    CHECK(sid == -ENOSPC);
    CHECK(n == avail);
    CHECK(streams_available(&s) == 0);
    streams_free_all(&s);
    return n;
}

static void test_halves_cover(void)
{
    static const unsigned ns[] = {2, 3, 4, 5, 10, 11, 100, 101, 1000, 65534, 65535};
    uint8_t *seen = calloc(65536, 1);

    if (!seen) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        unsigned n = ns[i];
        unsigned odd, even;

        memset(seen, 0, 65536);
        odd = drain_half(n, 1, seen);
        even = drain_half(n, 0, seen);
        CHECK(odd == n / 2);
        CHECK(even == (n - 1) / 2);
        CHECK(odd + even == n - 1);
        CHECK(seen[0] == 0);
        for (unsigned sid = 1; sid < n; sid++)
            CHECK(seen[sid] == 1);
        for (unsigned sid = n; sid < 65536; sid++)
            CHECK(seen[sid] == 0);
    }
    free(seen);
}

static void test_edges(void)
{
    streams_t s;

    /* nstreams 2: only sid 1, for the odd half */
    CHECK(streams_init(&s, 2, 1, 65535) == 0);
    CHECK(streams_available(&s) == 1);
    CHECK(streams_alloc(&s) == 1);
    CHECK(streams_alloc(&s) == -ENOSPC);
    CHECK(streams_release(&s, 1) == 0);
    CHECK(streams_alloc(&s) == 1);
    CHECK(streams_release(&s, 2) == -EINVAL);
    CHECK(streams_is_ours(&s, 1) == 1);
    CHECK(streams_is_ours(&s, 2) == 0);
    CHECK(streams_is_ours(&s, 3) == 0);
    streams_free_all(&s);

    CHECK(streams_init(&s, 2, 0, 65535) == 0);
    CHECK(streams_available(&s) == 0);
    CHECK(streams_alloc(&s) == -ENOSPC);
    CHECK(streams_release(&s, 1) == -EINVAL);
    CHECK(streams_release(&s, 2) == -EINVAL);
    CHECK(streams_is_ours(&s, 1) == 0);
    CHECK(streams_is_ours(&s, 2) == 0);
    streams_free_all(&s);

    /* nstreams 65535: the last sids */
    CHECK(streams_init(&s, 65535, 1, 65535) == 0);
    CHECK(streams_available(&s) == 32767);
    CHECK(streams_is_ours(&s, 65533) == 1);
    CHECK(streams_is_ours(&s, 65534) == 0);
    CHECK(streams_is_ours(&s, 65535) == 0);
    CHECK(streams_release(&s, 65535) == -EINVAL);
    streams_free_all(&s);
    CHECK(streams_init(&s, 65535, 0, 65535) == 0);
    CHECK(streams_available(&s) == 32767);
    CHECK(streams_is_ours(&s, 65534) == 1);
    CHECK(streams_is_ours(&s, 65535) == 0);
    streams_free_all(&s);

    /* out of range */
    CHECK(streams_init(&s, 0, 1, 100) == -EINVAL);
    streams_free_all(&s);
    CHECK(streams_init(&s, 1, 1, 100) == -EINVAL);
    streams_free_all(&s);
    CHECK(streams_init(&s, 1, 0, 100) == -EINVAL);
    streams_free_all(&s);
    CHECK(streams_init(&s, 65536, 1, 100) == -EINVAL);
    streams_free_all(&s);
    CHECK(streams_init(&s, 100000, 0, 100) == -EINVAL);
    streams_free_all(&s);

    /* freeing twice is harmless */
    CHECK(streams_init(&s, 10, 1, 10) == 0);
    streams_free_all(&s);
    streams_free_all(&s);
    CHECK(streams_available(&s) == 0);
}

static void test_limit(void)
{
    streams_t s;

    CHECK(streams_init(&s, 65535, 1, 10) == 0);
    CHECK(streams_available(&s) == 10);
    for (int i = 0; i < 10; i++)
        CHECK(streams_alloc(&s) == 2 * i + 1);
    CHECK(streams_alloc(&s) == -ENOSPC);
    /* beyond the limit: ours, but never handed out */
    CHECK(streams_is_ours(&s, 21) == 1);
    CHECK(streams_release(&s, 21) == -EINVAL);
    CHECK(streams_release(&s, 65533) == -EINVAL);
    CHECK(streams_available(&s) == 0);
    CHECK(streams_release(&s, 7) == 0);
    CHECK(streams_available(&s) == 1);
    CHECK(streams_alloc(&s) == 7);
    CHECK(streams_alloc(&s) == -ENOSPC);
    streams_free_all(&s);

    CHECK(streams_init(&s, 100, 0, 3) == 0);
    CHECK(streams_available(&s) == 3);
    CHECK(streams_alloc(&s) == 2);
    CHECK(streams_alloc(&s) == 4);
    CHECK(streams_alloc(&s) == 6);
    CHECK(streams_alloc(&s) == -ENOSPC);
    streams_free_all(&s);

    /* a limit above the half changes nothing */
    CHECK(streams_init(&s, 7, 0, 1000) == 0);
    CHECK(streams_available(&s) == 3);
    streams_free_all(&s);

    /* limit 0: nothing at all */
    CHECK(streams_init(&s, 100, 1, 0) == 0);
    CHECK(streams_available(&s) == 0);
    CHECK(streams_alloc(&s) == -ENOSPC);
    CHECK(streams_release(&s, 1) == -EINVAL);
    CHECK(streams_is_ours(&s, 1) == 1);
    streams_free_all(&s);

    /* limit 1 */
    CHECK(streams_init(&s, 100, 1, 1) == 0);
    for (int round = 0; round < 5; round++) {
        CHECK(streams_alloc(&s) == 1);
        CHECK(streams_alloc(&s) == -ENOSPC);
        CHECK(streams_release(&s, 1) == 0);
    }
    CHECK(streams_available(&s) == 1);
    streams_free_all(&s);
}

static void test_fifo(void)
{
    streams_t s;

    /* odd half of 11: 1,3,5,7,9 */
    CHECK(streams_init(&s, 11, 1, 65535) == 0);
    CHECK(streams_alloc(&s) == 1);
    CHECK(streams_alloc(&s) == 3);
    /* 1 goes behind 5,7,9, which were free before it */
    CHECK(streams_release(&s, 1) == 0);
    CHECK(streams_available(&s) == 4);
    CHECK(streams_alloc(&s) == 5);
    CHECK(streams_alloc(&s) == 7);
    CHECK(streams_alloc(&s) == 9);
    CHECK(streams_alloc(&s) == 1);
    CHECK(streams_alloc(&s) == -ENOSPC);
    /* released in the order 9, 3, 5: handed out in that order */
    CHECK(streams_release(&s, 9) == 0);
    CHECK(streams_release(&s, 3) == 0);
    CHECK(streams_release(&s, 5) == 0);
    CHECK(streams_alloc(&s) == 9);
    CHECK(streams_release(&s, 7) == 0);
    CHECK(streams_alloc(&s) == 3);
    CHECK(streams_alloc(&s) == 5);
    CHECK(streams_alloc(&s) == 7);
    CHECK(streams_alloc(&s) == -ENOSPC);
    streams_free_all(&s);

    /* a longer run against a model FIFO, wrapping the ring many times */
    enum { N = 41 }; /* even half: 2..40, 20 streams */
    unsigned model[64], mhead = 0, mcount = 20;
    int held[64] = {0};
    unsigned nheld = 0;
    uint32_t r = 12345;

    CHECK(streams_init(&s, N, 0, 65535) == 0);
    for (unsigned i = 0; i < 20; i++)
        model[i] = 2 + 2 * i;
    for (int step = 0; step < 20000; step++) {
        r = r * 1103515245u + 12345u;
        if (nheld == 0 || (mcount > 0 && (r >> 16) % 2 == 0)) {
            int sid = streams_alloc(&s);
            unsigned want = model[mhead];
            mhead = (mhead + 1) % 20;
            mcount--;
            CHECK(sid == (int)want);
            held[nheld++] = sid;
        } else {
            unsigned at = (r >> 8) % nheld;
            int sid = held[at];
            held[at] = held[--nheld];
            CHECK(streams_release(&s, (uint16_t)sid) == 0);
            model[(mhead + mcount) % 20] = (unsigned)sid;
            mcount++;
        }
        CHECK(streams_available(&s) == mcount);
    }
    streams_free_all(&s);
}

static void test_bad_release(void)
{
    streams_t s;
    int a, b;

    CHECK(streams_init(&s, 20, 1, 65535) == 0);
    a = streams_alloc(&s);
    b = streams_alloc(&s);
    CHECK(a == 1 && b == 3);
    CHECK(streams_available(&s) == 8);

    /* twice */
    CHECK(streams_release(&s, 1) == 0);
    CHECK(streams_release(&s, 1) == -EINVAL);
    CHECK(streams_available(&s) == 9);
    /* free but never allocated */
    CHECK(streams_release(&s, 5) == -EINVAL);
    /* the other half */
    CHECK(streams_release(&s, 2) == -EINVAL);
    CHECK(streams_release(&s, 4) == -EINVAL);
    /* control */
    CHECK(streams_release(&s, 0) == -EINVAL);
    /* beyond nstreams (sids 1..19) */
    CHECK(streams_release(&s, 21) == -EINVAL);
    CHECK(streams_release(&s, 20) == -EINVAL);
    CHECK(streams_release(&s, 65535) == -EINVAL);
    CHECK(streams_available(&s) == 9);
    /* 3 still comes back once */
    CHECK(streams_release(&s, 3) == 0);
    CHECK(streams_release(&s, 3) == -EINVAL);
    CHECK(streams_available(&s) == 10);
    /* and nothing was handed out twice */
    uint8_t seen[20] = {0};
    int sid;
    while ((sid = streams_alloc(&s)) >= 0) {
        CHECK(sid > 0 && sid < 20);
        if (sid > 0 && sid < 20) {
            CHECK(seen[sid] == 0);
            seen[sid] = 1;
        }
    }
    for (int i = 1; i < 20; i += 2)
        CHECK(seen[i] == 1);
    streams_free_all(&s);

    /* the even side refuses odd sids and sid 0 */
    CHECK(streams_init(&s, 10, 0, 65535) == 0);
    CHECK(streams_alloc(&s) == 2);
    CHECK(streams_release(&s, 1) == -EINVAL);
    CHECK(streams_release(&s, 3) == -EINVAL);
    CHECK(streams_release(&s, 0) == -EINVAL);
    CHECK(streams_release(&s, 10) == -EINVAL);
    CHECK(streams_release(&s, 12) == -EINVAL);
    CHECK(streams_release(&s, 2) == 0);
    streams_free_all(&s);
}

static void test_is_ours(void)
{
    streams_t odd, even;

    CHECK(streams_init(&odd, 100, 1, 65535) == 0);
    CHECK(streams_init(&even, 100, 0, 65535) == 0);
    CHECK(streams_is_ours(&odd, 0) == 0);
    CHECK(streams_is_ours(&even, 0) == 0);
    for (unsigned sid = 1; sid < 100; sid++) {
        CHECK(streams_is_ours(&odd, (uint16_t)sid) == (int)(sid & 1));
        CHECK(streams_is_ours(&even, (uint16_t)sid) == (int)!(sid & 1));
    }
    CHECK(streams_is_ours(&odd, 100) == 0);
    CHECK(streams_is_ours(&odd, 101) == 0);
    CHECK(streams_is_ours(&even, 100) == 0);
    CHECK(streams_is_ours(&even, 102) == 0);
    CHECK(streams_is_ours(&odd, 65535) == 0);
    CHECK(streams_is_ours(&even, 65534) == 0);
    streams_free_all(&odd);
    streams_free_all(&even);
}

/* 1000 flows opened and closed, twice: every stream comes back. */
static void test_cycles(void)
{
    static const unsigned ns[] = {65535, 2003};
    static int sids[1000];

    for (size_t k = 0; k < 2; k++) {
        for (int odd = 0; odd <= 1; odd++) {
            streams_t s;
            unsigned full;

            CHECK(streams_init(&s, ns[k], odd, 65535) == 0);
            full = streams_available(&s);
            CHECK(full == (odd ? ns[k] / 2 : (ns[k] - 1) / 2));
            CHECK(full >= 1000);
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < 1000; i++) {
                    sids[i] = streams_alloc(&s);
                    CHECK(sids[i] > 0 && (sids[i] & 1) == odd);
                }
                CHECK(streams_available(&s) == full - 1000);
                /* close them in an order unlike the opening one */
                for (int i = 0; i < 1000; i++) {
                    int j = (i * 337) % 1000;
                    CHECK(streams_release(&s, (uint16_t)sids[j]) == 0);
                }
                CHECK(streams_available(&s) == full);
            }
            /* one at a time, too */
            for (int i = 0; i < 2000; i++) {
                int sid = streams_alloc(&s);
                CHECK(sid > 0);
                CHECK(streams_release(&s, (uint16_t)sid) == 0);
            }
            CHECK(streams_available(&s) == full);
            /* and all of them can still be taken */
            unsigned taken = 0;
            while (streams_alloc(&s) > 0)
                taken++;
            CHECK(taken == full);
            streams_free_all(&s);
        }
    }
}

int main(void)
{
    test_halves_small();
    test_halves_cover();
    test_edges();
    test_limit();
    test_fifo();
    test_bad_release();
    test_is_ours();
    test_cycles();
    return check_status("streams");
}
