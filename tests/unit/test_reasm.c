/* Reassembly of messages from recvmsg pieces. */
#include <errno.h>
#include <string.h>
#include "check.h"
#include "reasm.h"

/* Feeds `len` bytes of pattern in pieces of `piece` bytes, as recvmsg would
 * with a buffer that small; returns the last reasm_add result. */
static int feed(reasm_t *r, uint16_t sid, const uint8_t *msg, size_t len, size_t piece)
{
    size_t off = 0;
    int res = 0;

    while (off < len) {
        size_t room;
        uint8_t *at = reasm_room(r, &room);
        size_t n = len - off < piece ? len - off : piece;
        sock_rcv_t info = {.sid = sid, .ppid = 7, .eor = off + n == len};

        if (n > room)
            n = room;
        memcpy(at, msg + off, n);
        off += n;
        res = reasm_add(r, n, &info);
        if (res != 0)
            break;
    }
    return res;
}

static void test_pieces(void)
{
    static uint8_t msg[65536];
    const size_t pieces[] = {1, 7, 1000, 1452, 16384, 65536, 100000};
    reasm_t r;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    CHECK(reasm_init(&r, sizeof(msg)) == 0);
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        for (size_t len = 1; len <= sizeof(msg); len = len * 3 + 1) {
            CHECK(feed(&r, 5, msg, len, pieces[p]) == 1);
            CHECK(r.len == len);
            CHECK(r.first.sid == 5 && r.first.ppid == 7);
            CHECK(memcmp(r.buf, msg, len) == 0);
            reasm_done(&r);
        }
        /* The largest message accepted, exactly. */
        CHECK(feed(&r, 5, msg, sizeof(msg), pieces[p]) == 1);
        CHECK(r.len == sizeof(msg) && memcmp(r.buf, msg, sizeof(msg)) == 0);
        reasm_done(&r);
    }
    reasm_free(&r);
}

static void test_too_large(void)
{
    static uint8_t msg[70000];
    reasm_t r;

    CHECK(reasm_init(&r, 65536) == 0);
    /* One byte over, whether it comes as one piece or many. */
    CHECK(feed(&r, 1, msg, 65537, 100000) == -EMSGSIZE);
    reasm_done(&r);
    CHECK(feed(&r, 1, msg, 65537, 1000) == -EMSGSIZE);
    reasm_done(&r);
    CHECK(feed(&r, 1, msg, 70000, 4096) == -EMSGSIZE);
    reasm_free(&r);
}

static void test_interleaved(void)
{
    reasm_t r;
    size_t room;
    sock_rcv_t a = {.sid = 3, .eor = 0}, b = {.sid = 4, .eor = 1};
    sock_rcv_t note = {.sid = 3, .eor = 1, .notification = 1};

    CHECK(reasm_init(&r, 1024) == 0);
    reasm_room(&r, &room);
    CHECK(room == 1025);
    CHECK(reasm_add(&r, 10, &a) == 0);
    CHECK(reasm_add(&r, 10, &b) == -EPROTO);
    reasm_done(&r);
    CHECK(reasm_add(&r, 10, &a) == 0);
    CHECK(reasm_add(&r, 10, &note) == -EPROTO);
    reasm_done(&r);
    /* A whole notification on its own is fine. */
    CHECK(reasm_add(&r, 10, &note) == 1);
    CHECK(r.first.notification == 1);
    reasm_free(&r);
}

int main(void)
{
    test_pieces();
    test_too_large();
    test_interleaved();
    return check_status("reasm");
}
