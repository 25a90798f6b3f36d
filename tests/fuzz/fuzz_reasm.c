/* libFuzzer target for message reassembly (src/reasm.c), which gathers the
 * pieces the kernel hands recvmsg for every message a peer sends.
 *
 * Input: max u8 (scaled to 1..512 bytes) | held_max u8 (times 4) | reads.
 * Each read is three bytes: flags (low two bits pick stream 0, 1, 2 or 7;
 * bit 2: a notification; bit 3: MSG_EOR), then a big-endian u16 from which
 * the piece's length is taken, 1 up to the room reasm_room offers (a recvmsg
 * never returns more). The pieces carry the bytes of a running counter, so
 * a byte out of place shows.
 *
 * A model of what reasm.h promises runs beside it: pieces gather per stream
 * and kind, a message ends at MSG_EOR and is handed out whole, in order, with
 * its first piece's stream, PPID and kind; a message longer than max gives
 * -EMSGSIZE, unfinished pieces beyond held_max give -ENOBUFS. Each answer
 * must match the model byte for byte, so reassembly can never hand out more
 * bytes than were fed, nor mix two streams' bytes. Leaks are caught by
 * LeakSanitizer. */
#include "reasm.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LIMIT 512 /* largest max the input can pick */
#define SOURCES   8   /* four streams, each with data and notifications */

/* The model's unfinished message of one source. */
typedef struct pending {
    uint8_t bytes[MAX_LIMIT];
    size_t len;       /* 0: no message under way */
    sock_rcv_t first; /* its first piece */
} pending_t;

typedef struct model {
    pending_t src[SOURCES];
    size_t max, held_max, held;
} model_t;

static void fail_if(int cond)
{
    if (cond)
        abort();
}

/* What a whole message must look like. */
typedef struct whole {
    uint8_t bytes[MAX_LIMIT];
    size_t len;
    sock_rcv_t first; /* its first piece */
} whole_t;

/* What reasm_add must answer for a piece of n bytes, in: 1, 0 or -errno. On
 * 1 the whole message is left in out. */
static int model_add(model_t *m, pending_t *p, const uint8_t *in, size_t n, const sock_rcv_t *info,
                     whole_t *out)
{
    if (p->len + n > m->max)
        return -EMSGSIZE;
    if (p->len == 0 && info->eor) {
        memcpy(out->bytes, in, n);
        out->len = n;
        out->first = *info;
        return 1;
    }
    if (m->held + n > m->held_max)
        return -ENOBUFS;
    if (p->len == 0)
        p->first = *info;
    memcpy(p->bytes + p->len, in, n);
    p->len += n;
    m->held += n;
    if (!info->eor)
        return 0;
    memcpy(out->bytes, p->bytes, p->len);
    out->len = p->len;
    out->first = p->first;
    m->held -= p->len;
    p->len = 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t sids[] = {0, 1, 2, 7};
    static model_t m;
    static whole_t want;
    uint64_t fed = 0, out = 0;
    uint8_t counter = 0;
    reasm_t r;

    if (size < 2)
        return 0;
    memset(&m, 0, sizeof(m));
    m.max = 1 + data[0] * (MAX_LIMIT - 1) / 255;
    m.held_max = data[1] * 4u;
    if (reasm_init(&r, m.max, m.held_max) != 0)
        return 0;
    for (size_t i = 2; i + 3 <= size; i += 3) {
        sock_rcv_t info = {.sid = sids[data[i] & 3],
                           .notification = !!(data[i] & 4),
                           .eor = !!(data[i] & 8),
                           .ppid = (uint32_t)i};
        pending_t *p = &m.src[(data[i] & 3) * 2 + info.notification];
        size_t room, n;
        uint8_t *at = reasm_room(&r, &room);
        int got, exp;

        /* Room for one byte more than max, so an overlong message shows. */
        fail_if(room != m.max + 1);
        n = 1 + ((size_t)data[i + 1] << 8 | data[i + 2]) % room;
        for (size_t k = 0; k < n; k++)
            at[k] = counter++;
        fed += n;
        exp = model_add(&m, p, at, n, &info, &want);
        got = reasm_add(&r, n, &info);
        fail_if(got != exp);
        if (got < 0)
            break; /* the reasm is unusable now, as reasm.h says */
        if (got == 0)
            continue;
        out += r.len;
        fail_if(r.len != want.len || memcmp(r.msg, want.bytes, want.len) != 0 || out > fed);
        fail_if(r.first.sid != want.first.sid || r.first.ppid != want.first.ppid ||
                r.first.notification != want.first.notification);
        reasm_done(&r);
        fail_if(r.msg != NULL || r.len != 0);
    }
    reasm_free(&r);
    return 0;
}
