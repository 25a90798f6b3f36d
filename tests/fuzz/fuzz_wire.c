/* libFuzzer target for the wire codec (src/wire.c): every message a peer
 * sends passes wire_decode first.
 *
 * Input: mode u8 | type u8 | rest. The mode's low two bits pick the stream
 * (0, 1, 2 or 65535), its top bit the direction and bit 6 the handshake
 * payload instead of a message:
 *
 *   decode: rest is a payload received with PPID base + type. Decoding must
 *     not misbehave (the sanitizers watch) and must accept only what wire.h
 *     allows: a known type on its kind of stream, with that type's length
 *     and field rules. Anything accepted must re-encode to the very same
 *     bytes (the encoding is canonical) and decode to the same fields again;
 *     what it refuses, wire_ends_flow must judge by wire.h's rules.
 *   encode: rest fills a wire_msg_t of that type, and a capacity byte picks
 *     the buffer size. Whatever wire_encode writes must fit, decode on the
 *     type's kind of stream and give back the same fields (texts with
 *     control characters replaced); whatever it refuses must be refused for
 *     a reason wire.h gives (DATA, a bad name, a zero window, HELLO's
 *     noise bytes missing or too many, no room). A HELLO's input is
 *     version u16 | flags u16 | noise_len u16 (top bit: no noise pointer) |
 *     noise bytes; every other type's is the union's raw bytes.
 *   peer (bit 6): decode: rest is a wire_peer_t payload, checked like a
 *     message (its rules, canonical re-encoding, same fields); encode: a
 *     capacity byte, then rest fills a wire_peer_t, and what
 *     wire_peer_encode writes must decode to it, what it refuses must be a
 *     bad name, a zero window or no room. */
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MODE_ENCODE 0x80u
#define FUZZ_MODE_PEER   0x40u
#define PEER_FIXED       (2 + 2 + 4)

/* The protocol of wire.h, written out again so that the codec is checked
 * against the document rather than against itself. */
static int type_known(uint32_t t)
{
    return (t >= WIRE_HELLO && t <= WIRE_SWITCH) || (t >= WIRE_OPEN && t <= WIRE_CLOSE);
}

static int type_on_control(wire_type_t t)
{
    switch (t) {
    case WIRE_HELLO:
    case WIRE_AUTH:
    case WIRE_READY:
    case WIRE_ERROR:
    case WIRE_KEEP:
    case WIRE_REKEY:
    case WIRE_SWITCH:
        return 1;
    default:
        return 0;
    }
}

static int type_bodiless(wire_type_t t)
{
    return t == WIRE_AUTH || t == WIRE_READY || t == WIRE_KEEP || t == WIRE_FIN || t == WIRE_CLOSE;
}

static int text_clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static void same_fields(const wire_msg_t *a, const wire_msg_t *b)
{
    int same = a->type == b->type;

    switch (a->type) {
    case WIRE_HELLO:
        same = same && a->u.hello.version == b->u.hello.version &&
               a->u.hello.flags == b->u.hello.flags &&
               a->u.hello.noise_len == b->u.hello.noise_len &&
               memcmp(a->u.hello.noise, b->u.hello.noise, a->u.hello.noise_len) == 0;
        break;
    case WIRE_REKEY:
        same = same && memcmp(a->u.key, b->u.key, WIRE_KEY_LEN) == 0;
        break;
    case WIRE_SWITCH:
        same = same && a->u.count == b->u.count;
        break;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        same = same && a->u.reason.code == b->u.reason.code &&
               strcmp(a->u.reason.text, b->u.reason.text) == 0;
        break;
    case WIRE_OPEN:
        same = same && strcmp(a->u.service, b->u.service) == 0;
        break;
    case WIRE_WINDOW:
        same = same && a->u.window == b->u.window;
        break;
    default:
        break;
    }
    if (!same)
        abort();
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* What wire.h says a decoded message of each type looks like. */
static void check_decoded(const wire_msg_t *m, const uint8_t *data, size_t size)
{
    int ok = 1;

    if (type_bodiless(m->type))
        ok = size == 1 && data[0] == 0;
    switch (m->type) {
    case WIRE_HELLO:
        ok = m->u.hello.noise_len >= 1 && m->u.hello.noise_len <= WIRE_NOISE_MAX &&
             size == 2 + 2 + m->u.hello.noise_len && m->u.hello.noise == data + 4 &&
             m->u.hello.version == (data[0] << 8 | data[1]) &&
             m->u.hello.flags == (data[2] << 8 | data[3]);
        break;
    case WIRE_REKEY:
        ok = size == WIRE_KEY_LEN && memcmp(m->u.key, data, WIRE_KEY_LEN) == 0;
        break;
    case WIRE_SWITCH:
        ok = size == 8 && m->u.count == be64(data);
        break;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        ok = text_clean(m->u.reason.text) && size == 3 + strlen(m->u.reason.text);
        break;
    case WIRE_OPEN:
        ok = wire_name_valid(m->u.service) && size == 1 + strlen(m->u.service);
        break;
    case WIRE_WINDOW:
        ok = m->u.window != 0 && size == 4;
        break;
    default:
        break;
    }
    if (!ok)
        abort();
}

/* What a refused message still says of its flow (wire.h), read from no
 * more bytes than it has. */
static void check_ends_flow(uint32_t ppid, const uint8_t *data, size_t size)
{
    for (int to_opener = 0; to_opener < 2; to_opener++) {
        int want = 0;

        if (ppid == wire_ppid(WIRE_RST) || ppid == wire_ppid(WIRE_CLOSE))
            want = 1;
        else if (ppid == wire_ppid(WIRE_OPEN))
            want = -1;
        else if (ppid == wire_ppid(WIRE_RESULT) && to_opener)
            want = size < 2 ? -1 : (data[0] | data[1]) != 0;
        if (wire_ends_flow(ppid, data, size, to_opener) != want)
            abort();
    }
}

static void fuzz_decode(uint16_t sid, uint32_t ppid, const uint8_t *data, size_t size)
{
    static uint8_t re[WIRE_MSG_MAX];
    wire_msg_t m, m2;
    ssize_t n;

    if (wire_decode(sid, ppid, size ? data : NULL, size, &m) != 0) {
        check_ends_flow(ppid, size ? data : NULL, size);
        return;
    }
    if (wire_ppid(m.type) != ppid || !type_known(m.type))
        abort();
    if ((sid == WIRE_CONTROL_SID) != type_on_control(m.type))
        abort();
    if (m.type == WIRE_DATA) {
        if (m.u.data.bytes != data || m.u.data.len != size || size == 0 || size > WIRE_DATA_MAX)
            abort();
        return;
    }
    check_decoded(&m, data, size);
    n = wire_encode(&m, re, sizeof(re));
    if (n < 0 || (size_t)n != size || memcmp(re, data, size) != 0)
        abort();
    if (wire_decode(sid, ppid, re, (size_t)n, &m2) != 0)
        abort();
    same_fields(&m, &m2);
}

/* A HELLO from the input: its noise bytes are copied into `noise`, and
 * noise_len may claim more of them than the input had (the rest are zeros),
 * but never more than the buffer holds. */
static void hello_fill(wire_hello_t *h, const uint8_t *data, size_t size)
{
    static uint8_t noise[WIRE_NOISE_MAX + 64];
    uint8_t head[6] = {0};
    uint16_t len;

    memcpy(head, data, size < 6 ? size : 6);
    h->version = (uint16_t)(head[0] << 8 | head[1]);
    h->flags = (uint16_t)(head[2] << 8 | head[3]);
    len = (uint16_t)(head[4] << 8 | head[5]);
    memset(noise, 0, sizeof(noise));
    if (size > 6)
        memcpy(noise, data + 6, size - 6 < sizeof(noise) ? size - 6 : sizeof(noise));
    h->noise = len & 0x8000u ? NULL : noise;
    h->noise_len = (len & 0x7fffu) % sizeof(noise);
}

/* A message of type t whose fields come from the input, strings kept
 * NUL-terminated as the struct promises. */
static void msg_fill(wire_msg_t *m, uint32_t t, const uint8_t *data, size_t size)
{
    memset(m, 0, sizeof(*m));
    m->type = (wire_type_t)t;
    if (m->type == WIRE_HELLO) {
        hello_fill(&m->u.hello, data, size);
        return;
    }
    /* DATA's pointer is never followed: the encoder refuses DATA */
    memcpy(&m->u, data, size < sizeof(m->u) ? size : sizeof(m->u));
    switch (m->type) {
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        m->u.reason.text[WIRE_TEXT_MAX] = '\0';
        break;
    case WIRE_OPEN:
        m->u.service[WIRE_NAME_MAX] = '\0';
        break;
    default:
        break;
    }
}

/* Whether wire.h lets a message be encoded at all, room aside. */
static int encodable(const wire_msg_t *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        return m->u.hello.noise && m->u.hello.noise_len >= 1 &&
               m->u.hello.noise_len <= WIRE_NOISE_MAX;
    case WIRE_OPEN:
        return wire_name_valid(m->u.service);
    case WIRE_WINDOW:
        return m->u.window != 0;
    case WIRE_DATA:
        return 0;
    default:
        return type_known(m->type);
    }
}

static void fuzz_encode(uint32_t t, const uint8_t *data, size_t size)
{
    static uint8_t buf[WIRE_MSG_MAX];
    wire_msg_t m, back;
    size_t cap;
    ssize_t n;

    if (size < 1)
        return;
    /* Small capacities find the room checks; 255 stands for all the room. */
    cap = data[0] == 255 ? sizeof(buf) : data[0];
    msg_fill(&m, t, data + 1, size - 1);
    n = wire_encode(&m, buf, cap);
    if (n < 0) {
        if (n != -EINVAL || (cap == sizeof(buf) && encodable(&m)))
            abort();
        return;
    }
    if (!encodable(&m) || (size_t)n > cap || n == 0)
        abort();
    if (wire_decode(type_on_control(m.type) ? WIRE_CONTROL_SID : 1, wire_ppid(m.type), buf,
                    (size_t)n, &back) != 0)
        abort();
    /* The decoder refuses control characters in texts; the encoder
     * replaces them, and nothing else. */
    if (m.type == WIRE_ERROR || m.type == WIRE_RESULT || m.type == WIRE_RST) {
        for (char *c = m.u.reason.text; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
    }
    same_fields(&m, &back);
}

static void peer_same(const wire_peer_t *a, const wire_peer_t *b)
{
    if (a->version != b->version || a->flags != b->flags || a->flow_window != b->flow_window ||
        strcmp(a->name, b->name) != 0)
        abort();
}

static void fuzz_peer_decode(const uint8_t *data, size_t size)
{
    uint8_t re[WIRE_PEER_MAX];
    wire_peer_t p, p2;
    ssize_t n;

    if (wire_peer_decode(size ? data : NULL, size, &p) != 0)
        return;
    if (p.flow_window == 0 || !wire_name_valid(p.name) || size != PEER_FIXED + 1 + strlen(p.name) ||
        size > WIRE_PEER_MAX || p.version != (data[0] << 8 | data[1]) ||
        p.flags != (data[2] << 8 | data[3]))
        abort();
    n = wire_peer_encode(&p, re, sizeof(re));
    if (n < 0 || (size_t)n != size || memcmp(re, data, size) != 0)
        abort();
    if (wire_peer_decode(re, (size_t)n, &p2) != 0)
        abort();
    peer_same(&p, &p2);
}

static void fuzz_peer_encode(const uint8_t *data, size_t size)
{
    uint8_t buf[WIRE_PEER_MAX + 16];
    wire_peer_t p, back;
    size_t cap;
    ssize_t n;
    int ok;

    if (size < 1)
        return;
    cap = data[0] % (sizeof(buf) + 1);
    memset(&p, 0, sizeof(p));
    memcpy(&p, data + 1, size - 1 < sizeof(p) ? size - 1 : sizeof(p));
    p.name[WIRE_NAME_MAX] = '\0';
    ok = wire_name_valid(p.name) && p.flow_window != 0;
    n = wire_peer_encode(&p, buf, cap);
    if (n < 0) {
        if (n != -EINVAL || (ok && cap >= PEER_FIXED + 1 + strlen(p.name)))
            abort();
        return;
    }
    if (!ok || (size_t)n > cap || (size_t)n != PEER_FIXED + 1 + strlen(p.name))
        abort();
    if (wire_peer_decode(buf, (size_t)n, &back) != 0)
        abort();
    peer_same(&p, &back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t sids[] = {0, 1, 2, 65535};
    uint32_t ppid;

    if (size < 2)
        return 0;
    /* mostly near the known types, sometimes anywhere */
    ppid = data[1] < 0xf0 ? WIRE_PPID_BASE + data[1] % 32u - 4u : (uint32_t)data[1] << 24;
    if (data[0] & FUZZ_MODE_PEER) {
        if (data[0] & FUZZ_MODE_ENCODE)
            fuzz_peer_encode(data + 2, size - 2);
        else
            fuzz_peer_decode(data + 2, size - 2);
    } else if (data[0] & FUZZ_MODE_ENCODE)
        fuzz_encode(ppid - WIRE_PPID_BASE, data + 2, size - 2);
    else
        fuzz_decode(sids[data[0] % 4], ppid, data + 2, size - 2);
    return 0;
}
