/* Reassembly of messages from recvmsg pieces. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "reasm.h"

/* One read of n bytes of stream sid, placed where recvmsg would put them. */
static int piece(reasm_t *r, uint16_t sid, const uint8_t *bytes, size_t n, int eor)
{
    size_t room;
    uint8_t *at = reasm_room(r, &room);
    sock_rcv_t info = {.sid = sid, .ppid = 7u + sid, .eor = eor};

    CHECK(n <= room);
    memcpy(at, bytes, n);
    return reasm_add(r, n, &info);
}

/* Feeds `len` bytes in pieces of `size` bytes, as recvmsg would with a
 * buffer that small; returns the last reasm_add result. */
static int feed(reasm_t *r, uint16_t sid, const uint8_t *msg, size_t len, size_t size)
{
    size_t off = 0;
    int res = 0;

    while (off < len) {
        size_t room;
        size_t n = len - off < size ? len - off : size;

        reasm_room(r, &room);
        if (n > room)
            n = room;
        res = piece(r, sid, msg + off, n, off + n == len);
        off += n;
        if (res != 0)
            break;
    }
    return res;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed);
}

static void test_pieces(void)
{
    static uint8_t msg[65536];
    const size_t sizes[] = {1, 7, 1000, 1452, 16384, 65536, 100000};
    reasm_t r;

    fill(msg, sizeof(msg), 7);
    CHECK(reasm_init(&r, sizeof(msg), 1 << 20) == 0);
    for (size_t p = 0; p < sizeof(sizes) / sizeof(sizes[0]); p++) {
        for (size_t len = 1; len <= sizeof(msg); len = len * 3 + 1) {
            CHECK(feed(&r, 5, msg, len, sizes[p]) == 1);
            CHECK(r.len == len);
            CHECK(r.first.sid == 5 && r.first.ppid == 12);
            CHECK(memcmp(r.msg, msg, len) == 0);
            reasm_done(&r);
            CHECK(r.nparts == 0 && r.held == 0);
        }
        /* The largest message accepted, exactly. */
        CHECK(feed(&r, 5, msg, sizeof(msg), sizes[p]) == 1);
        CHECK(r.len == sizeof(msg) && memcmp(r.msg, msg, sizeof(msg)) == 0);
        reasm_done(&r);
    }
    reasm_free(&r);
}

static void test_too_large(void)
{
    static uint8_t msg[70000];
    reasm_t r;

    CHECK(reasm_init(&r, 65536, 1 << 20) == 0);
    /* One byte over, whether it comes as one piece or many. */
    CHECK(feed(&r, 1, msg, 65537, 100000) == -EMSGSIZE);
    reasm_free(&r);
    CHECK(reasm_init(&r, 65536, 1 << 20) == 0);
    CHECK(feed(&r, 1, msg, 65537, 1000) == -EMSGSIZE);
    reasm_free(&r);
    CHECK(reasm_init(&r, 65536, 1 << 20) == 0);
    CHECK(feed(&r, 1, msg, 70000, 4096) == -EMSGSIZE);
    reasm_free(&r);
}

/* Small while a peer proves its key, full size once it has: a piece
 * gathered before the growth is kept, and the new bound holds. */
static void test_grow(void)
{
    static uint8_t msg[70000];
    reasm_t r;

    fill(msg, sizeof(msg), 3);
    CHECK(reasm_init(&r, 512, 512) == 0);
    CHECK(feed(&r, 0, msg, 513, 4096) == -EMSGSIZE);
    reasm_free(&r);
    CHECK(reasm_init(&r, 512, 512) == 0);
    CHECK(piece(&r, 2, msg, 300, 0) == 0);
    CHECK(reasm_grow(&r, 65536, 1 << 20) == 0);
    CHECK(reasm_grow(&r, 256, 16) == 0); /* never lowers */
    CHECK(r.cap == 65537 && r.held_max == 1 << 20);
    CHECK(feed(&r, 2, msg + 300, 65536 - 300, 65536) == 1);
    CHECK(r.len == 65536 && memcmp(r.msg, msg, 65536) == 0);
    reasm_done(&r);
    CHECK(feed(&r, 1, msg, 65537, 100000) == -EMSGSIZE);
    reasm_free(&r);
}

/* I-DATA partial delivery: pieces of streams 3 and 4 alternate, a whole
 * message of stream 5 and a notification come between them. */
static void test_interleaved(void)
{
    uint8_t a[300], b[200], c[50];
    reasm_t r;
    size_t room;
    sock_rcv_t note = {.sid = 3, .eor = 1, .notification = 1};

    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 2);
    fill(c, sizeof(c), 3);
    CHECK(reasm_init(&r, 1024, 4096) == 0);
    reasm_room(&r, &room);
    CHECK(room == 1025);
    CHECK(piece(&r, 3, a, 100, 0) == 0);
    CHECK(piece(&r, 4, b, 100, 0) == 0);
    CHECK(r.held == 200);
    CHECK(piece(&r, 5, c, 50, 1) == 1); /* whole: handed out uncopied */
    CHECK(r.msg == r.buf && r.len == 50 && r.first.sid == 5 && !memcmp(r.msg, c, 50));
    reasm_done(&r);
    reasm_room(&r, &room);
    memcpy(r.buf, "xyz", 3);
    CHECK(reasm_add(&r, 3, &note) == 1);
    CHECK(r.first.notification == 1 && r.len == 3);
    reasm_done(&r);
    CHECK(piece(&r, 3, a + 100, 100, 0) == 0);
    CHECK(piece(&r, 4, b + 100, 100, 1) == 1);
    CHECK(r.first.sid == 4 && r.len == 200 && !memcmp(r.msg, b, 200));
    reasm_done(&r);
    CHECK(r.held == 200 && r.nparts == 1);
    CHECK(piece(&r, 3, a + 200, 100, 1) == 1);
    CHECK(r.first.sid == 3 && r.first.ppid == 10 && r.len == 300 && !memcmp(r.msg, a, 300));
    reasm_done(&r);
    CHECK(r.held == 0 && r.nparts == 0);
    reasm_free(&r);
}

/* Unfinished messages may not hold more than held_max bytes. */
static void test_held_bound(void)
{
    uint8_t x[600] = {0};
    reasm_t r;

    CHECK(reasm_init(&r, 1024, 1000) == 0);
    CHECK(piece(&r, 1, x, 600, 0) == 0);
    CHECK(piece(&r, 2, x, 400, 0) == 0);
    CHECK(piece(&r, 3, x, 1, 0) == -ENOBUFS);
    reasm_free(&r);
}

/* Many streams, pieces of random sizes in random order: every message comes
 * out whole, in each stream's order. */
static void test_random_interleaving(void)
{
    enum { STREAMS = 9, MSGS = 40, MAX = 20000 };
    static uint8_t msg[STREAMS][MAX];
    size_t len[STREAMS], off[STREAMS];
    unsigned done[STREAMS] = {0}, left = STREAMS * MSGS;
    reasm_t r;

    srand(12345);
    CHECK(reasm_init(&r, MAX, (size_t)STREAMS * MAX) == 0);
    for (unsigned s = 0; s < STREAMS; s++) {
        len[s] = 1 + (size_t)rand() % MAX;
        off[s] = 0;
        fill(msg[s], len[s], s * 100 + done[s]);
    }
    while (left) {
        unsigned s = (unsigned)rand() % STREAMS;
        size_t n = 1 + (size_t)rand() % 3000;
        int res;

        if (done[s] == MSGS)
            continue;
        if (n > len[s] - off[s])
            n = len[s] - off[s];
        res = piece(&r, (uint16_t)s, msg[s] + off[s], n, off[s] + n == len[s]);
        off[s] += n;
        if (off[s] < len[s]) {
            CHECK(res == 0);
            continue;
        }
        CHECK(res == 1 && r.first.sid == s && r.len == len[s]);
        CHECK(memcmp(r.msg, msg[s], len[s]) == 0);
        reasm_done(&r);
        left--;
        done[s]++;
        len[s] = 1 + (size_t)rand() % MAX;
        off[s] = 0;
        fill(msg[s], len[s], s * 100 + done[s]);
    }
    CHECK(r.nparts == 0 && r.held == 0);
    reasm_free(&r);
}

int main(void)
{
    test_pieces();
    test_too_large();
    test_grow();
    test_interleaved();
    test_held_bound();
    test_random_interleaving();
    return check_status("reasm");
}
