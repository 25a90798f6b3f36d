/* libFuzzer target for the wire codec (src/wire.c): every message a peer
 * sends passes wire_decode first.
 *
 * Input: mode u8 | type u8 | rest. The mode's low two bits pick the stream
 * (0, 1, 2 or 65535) and its top bit the direction:
 *
 *   decode: rest is a payload received with PPID base + type. Decoding must
 *     not misbehave (the sanitizers watch) and must accept only what wire.h
 *     allows: a known type on its kind of stream, with that type's length
 *     and field rules. Anything accepted must re-encode to the very same
 *     bytes (the encoding is canonical) and decode to the same fields again.
 *   encode: rest fills a wire_msg_t of that type, and a capacity byte picks
 *     the buffer size. Whatever wire_encode writes must fit, decode on the
 *     type's kind of stream and give back the same fields (texts with
 *     control characters replaced); whatever it refuses must be refused for
 *     a reason wire.h gives (DATA, a bad name, a zero window, no room). */
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MODE_ENCODE 0x80u

/* The protocol of wire.h, written out again so that the codec is checked
 * against the document rather than against itself. */
static int type_known(uint32_t t)
{
    return (t >= WIRE_HELLO && t <= WIRE_KEEP) || (t >= WIRE_OPEN && t <= WIRE_CLOSE);
}

static int type_on_control(wire_type_t t)
{
    switch (t) {
    case WIRE_HELLO:
    case WIRE_AUTH:
    case WIRE_READY:
    case WIRE_ERROR:
    case WIRE_KEEP:
        return 1;
    default:
        return 0;
    }
}

static int type_bodiless(wire_type_t t)
{
    return t == WIRE_READY || t == WIRE_KEEP || t == WIRE_FIN || t == WIRE_CLOSE;
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
               memcmp(a->u.hello.nonce, b->u.hello.nonce, WIRE_NONCE_LEN) == 0 &&
               a->u.hello.flow_window == b->u.hello.flow_window &&
               strcmp(a->u.hello.name, b->u.hello.name) == 0;
        break;
    case WIRE_AUTH:
        same = same && memcmp(a->u.proof, b->u.proof, WIRE_PROOF_LEN) == 0;
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

/* What wire.h says a decoded message of each type looks like. */
static void check_decoded(const wire_msg_t *m, size_t size)
{
    int ok = 1;

    if (type_bodiless(m->type))
        ok = size == 1;
    switch (m->type) {
    case WIRE_HELLO:
        ok = wire_name_valid(m->u.hello.name) && m->u.hello.flow_window != 0 &&
             size == 2 + 2 + WIRE_NONCE_LEN + 4 + 1 + strlen(m->u.hello.name);
        break;
    case WIRE_AUTH:
        ok = size == WIRE_PROOF_LEN;
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

static void fuzz_decode(uint16_t sid, uint32_t ppid, const uint8_t *data, size_t size)
{
    static uint8_t re[WIRE_MSG_MAX];
    wire_msg_t m, m2;
    ssize_t n;

    if (wire_decode(sid, ppid, size ? data : NULL, size, &m) != 0)
        return;
    if (wire_ppid(m.type) != ppid || !type_known(m.type))
        abort();
    if ((sid == WIRE_CONTROL_SID) != type_on_control(m.type))
        abort();
    if (m.type == WIRE_DATA) {
        if (m.u.data.bytes != data || m.u.data.len != size || size == 0 || size > WIRE_DATA_MAX)
            abort();
        return;
    }
    check_decoded(&m, size);
    n = wire_encode(&m, re, sizeof(re));
    if (n < 0 || (size_t)n != size || memcmp(re, data, size) != 0)
        abort();
    if (wire_decode(sid, ppid, re, (size_t)n, &m2) != 0)
        abort();
    same_fields(&m, &m2);
}

/* A message of type t whose fields come from the input, strings kept
 * NUL-terminated as the struct promises. */
static void msg_fill(wire_msg_t *m, uint32_t t, const uint8_t *data, size_t size)
{
    memset(m, 0, sizeof(*m));
    m->type = (wire_type_t)t;
    memcpy(&m->u, data, size < sizeof(m->u) ? size : sizeof(m->u));
    switch (m->type) {
    case WIRE_HELLO:
        m->u.hello.name[WIRE_NAME_MAX] = '\0';
        break;
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
        return wire_name_valid(m->u.hello.name) && m->u.hello.flow_window != 0;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t sids[] = {0, 1, 2, 65535};
    uint32_t ppid;

    if (size < 2)
        return 0;
    /* mostly near the known types, sometimes anywhere */
    ppid = data[1] < 0xf0 ? WIRE_PPID_BASE + data[1] % 32u - 4u : (uint32_t)data[1] << 24;
    if (data[0] & FUZZ_MODE_ENCODE)
        fuzz_encode(ppid - WIRE_PPID_BASE, data + 2, size - 2);
    else
        fuzz_decode(sids[data[0] % 4], ppid, data + 2, size - 2);
    return 0;
}
