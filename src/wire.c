/* The pure wire codec: bytes in, struct out, no I/O (see wire.h). */
#include "wire.h"

#include <errno.h>
#include <string.h>

static int is_control(wire_type_t t)
{
    return t >= WIRE_HELLO && t <= WIRE_SWITCH;
}

static int is_flow(wire_type_t t)
{
    return t >= WIRE_OPEN && t <= WIRE_CLOSE;
}

uint32_t wire_ppid(wire_type_t type)
{
    return WIRE_PPID_BASE + (uint32_t)type;
}

/* Reads at most WIRE_NAME_MAX + 1 bytes: a name field without its NUL is
 * refused, not read past. */
int wire_name_valid(const char *name)
{
    size_t n = strnlen(name, WIRE_NAME_MAX + 1);

    if (n == 0 || n > WIRE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Reads "len u8 | bytes" filling exactly the rest of the buffer. A NUL in
 * the bytes would cut the string short and hide what follows it from the
 * checks, so it is refused here. */
static int get_string(const uint8_t *p, size_t left, size_t max, char *out)
{
    if (left < 1 || p[0] > max || (size_t)p[0] + 1 != left || memchr(p + 1, '\0', p[0]))
        return -EBADMSG;
    memcpy(out, p + 1, p[0]);
    out[p[0]] = '\0';
    return 0;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* The version is checked by the handshake, which can then say why. */
static int decode_hello(const uint8_t *p, size_t len, wire_hello_t *h)
{
    if (len < 4 + 1 || len > 4 + WIRE_NOISE_MAX)
        return -EBADMSG;
    h->version = get16(p);
    h->flags = get16(p + 2);
    h->noise = p + 4;
    h->noise_len = len - 4;
    return 0;
}

int wire_peer_decode(const uint8_t *p, size_t len, wire_peer_t *out)
{
    const size_t fixed = 2 + 2 + 4;

    memset(out, 0, sizeof(*out));
    if (!p || len < fixed + 1)
        return -EBADMSG;
    out->version = get16(p);
    out->flags = get16(p + 2);
    out->flow_window = get32(p + 4);
    if (get_string(p + fixed, len - fixed, WIRE_NAME_MAX, out->name) < 0)
        return -EBADMSG;
    if (out->flow_window == 0 || !wire_name_valid(out->name))
        return -EBADMSG;
    return 0;
}

static int decode_reason(const uint8_t *p, size_t len, wire_msg_t *m)
{
    if (len < 3)
        return -EBADMSG;
    m->u.reason.code = get16(p);
    if (get_string(p + 2, len - 2, WIRE_TEXT_MAX, m->u.reason.text) < 0)
        return -EBADMSG;
    /* A text is for logs: refuse control characters so a peer cannot
     * forge log lines. */
    for (const char *c = m->u.reason.text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return -EBADMSG;
    return 0;
}

static int decode_body(const uint8_t *p, size_t len, wire_msg_t *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        return decode_hello(p, len, &m->u.hello);
    case WIRE_REKEY:
        if (len != WIRE_KEY_LEN)
            return -EBADMSG;
        memcpy(m->u.key, p, WIRE_KEY_LEN);
        return 0;
    case WIRE_SWITCH:
        if (len != 8)
            return -EBADMSG;
        m->u.count = get64(p);
        return 0;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        return decode_reason(p, len, m);
    case WIRE_OPEN:
        if (get_string(p, len, WIRE_NAME_MAX, m->u.service) < 0)
            return -EBADMSG;
        return wire_name_valid(m->u.service) ? 0 : -EBADMSG;
    case WIRE_DATA:
        if (len == 0 || len > WIRE_DATA_MAX)
            return -EBADMSG;
        m->u.data.bytes = p;
        m->u.data.len = len;
        return 0;
    case WIRE_WINDOW:
        if (len != 4)
            return -EBADMSG;
        m->u.window = get32(p);
        return m->u.window ? 0 : -EBADMSG;
    case WIRE_AUTH:
    case WIRE_READY:
    case WIRE_KEEP:
    case WIRE_FIN:
    case WIRE_CLOSE:
        return len == 1 && p[0] == 0 ? 0 : -EBADMSG;
    }
    return -EBADMSG;
}

int wire_decode(uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len, wire_msg_t *out)
{
    uint32_t t = ppid - WIRE_PPID_BASE;

    memset(out, 0, sizeof(*out));
    if (ppid < WIRE_PPID_BASE || t > WIRE_CLOSE)
        return -EBADMSG;
    out->type = (wire_type_t)t;
    if (sid == WIRE_CONTROL_SID ? !is_control(out->type) : !is_flow(out->type))
        return -EBADMSG;
    if (len && !buf)
        return -EBADMSG;
    return decode_body(buf, len, out);
}

int wire_ends_flow(uint32_t ppid, const uint8_t *buf, size_t len, int to_opener)
{
    switch (ppid - WIRE_PPID_BASE) {
    case WIRE_RST:
    case WIRE_CLOSE:
        return 1;
    case WIRE_RESULT:
        if (!to_opener)
            return 0;
        if (len < 2 || !buf)
            return -1;
        return get16(buf) != WIRE_OK;
    case WIRE_OPEN:
        return -1;
    default:
        return 0;
    }
}

/* Writes "len u8 | bytes"; names must fit, texts are cut to fit and have
 * control characters replaced, since the decoder refuses them. */
static ssize_t put_string(uint8_t *p, size_t cap, const char *s, size_t max, int is_text)
{
    size_t n = strnlen(s, max + 1);

    if (n > max) {
        if (!is_text)
            return -EINVAL;
        n = max;
    }
    if (cap < n + 1)
        return -EINVAL;
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    for (size_t i = 1; is_text && i <= n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            p[i] = '?';
    return (ssize_t)n + 1;
}

static ssize_t encode_reason(const wire_msg_t *m, uint8_t *buf, size_t cap)
{
    ssize_t n;

    if (cap < 2)
        return -EINVAL;
    put16(buf, m->u.reason.code);
    n = put_string(buf + 2, cap - 2, m->u.reason.text, WIRE_TEXT_MAX, 1);
    return n < 0 ? n : n + 2;
}

static ssize_t encode_hello(const wire_hello_t *h, uint8_t *buf, size_t cap)
{
    if (h->noise_len == 0 || h->noise_len > WIRE_NOISE_MAX || !h->noise || cap < 4 + h->noise_len)
        return -EINVAL;
    put16(buf, h->version);
    put16(buf + 2, h->flags);
    memcpy(buf + 4, h->noise, h->noise_len);
    return (ssize_t)(4 + h->noise_len);
}

ssize_t wire_peer_encode(const wire_peer_t *p, uint8_t *buf, size_t cap)
{
    const size_t fixed = 2 + 2 + 4;
    ssize_t n;

    /* The decoder refuses a zero window, so it is never written either. */
    if (cap < fixed || !wire_name_valid(p->name) || p->flow_window == 0)
        return -EINVAL;
    put16(buf, p->version);
    put16(buf + 2, p->flags);
    put32(buf + 4, p->flow_window);
    n = put_string(buf + fixed, cap - fixed, p->name, WIRE_NAME_MAX, 0);
    return n < 0 ? n : n + (ssize_t)fixed;
}

ssize_t wire_encode(const wire_msg_t *m, uint8_t *buf, size_t cap)
{
    switch (m->type) {
    case WIRE_HELLO:
        return encode_hello(&m->u.hello, buf, cap);
    case WIRE_REKEY:
        if (cap < WIRE_KEY_LEN)
            return -EINVAL;
        memcpy(buf, m->u.key, WIRE_KEY_LEN);
        return WIRE_KEY_LEN;
    case WIRE_SWITCH:
        if (cap < 8)
            return -EINVAL;
        put64(buf, m->u.count);
        return 8;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        return encode_reason(m, buf, cap);
    case WIRE_OPEN:
        if (!wire_name_valid(m->u.service))
            return -EINVAL;
        return put_string(buf, cap, m->u.service, WIRE_NAME_MAX, 0);
    case WIRE_WINDOW:
        if (cap < 4 || m->u.window == 0)
            return -EINVAL;
        put32(buf, m->u.window);
        return 4;
    case WIRE_AUTH:
    case WIRE_READY:
    case WIRE_KEEP:
    case WIRE_FIN:
    case WIRE_CLOSE:
        /* SCTP cannot carry an empty user message. */
        if (cap < 1)
            return -EINVAL;
        buf[0] = 0;
        return 1;
    case WIRE_DATA:
        break;
    }
    return -EINVAL;
}

const char *wire_type_name(wire_type_t type)
{
    static const char *const names[] = {
        [WIRE_HELLO] = "HELLO",   [WIRE_AUTH] = "AUTH",   [WIRE_READY] = "READY",
        [WIRE_ERROR] = "ERROR",   [WIRE_KEEP] = "KEEP",   [WIRE_REKEY] = "REKEY",
        [WIRE_SWITCH] = "SWITCH", [WIRE_OPEN] = "OPEN",   [WIRE_RESULT] = "RESULT",
        [WIRE_DATA] = "DATA",     [WIRE_FIN] = "FIN",     [WIRE_RST] = "RST",
        [WIRE_WINDOW] = "WINDOW", [WIRE_CLOSE] = "CLOSE",
    };
    if ((unsigned)type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "?";
}

const char *wire_code_name(uint16_t code)
{
    static const char *const names[] = {
        [WIRE_OK] = "ok",
        [WIRE_E_RESET] = "connection reset",
        [WIRE_E_REFUSED] = "connection refused",
        [WIRE_E_UNREACHABLE] = "back end unreachable",
        [WIRE_E_NO_SERVICE] = "unknown service",
        [WIRE_E_PROTOCOL] = "protocol error",
        [WIRE_E_WINDOW] = "flow window exceeded",
        [WIRE_E_SHUTDOWN] = "gateway shutting down",
        [WIRE_E_LIMIT] = "too many flows",
        [WIRE_E_INTERNAL] = "internal error",
        [WIRE_E_AUTH] = "authentication failed",
        [WIRE_E_VERSION] = "protocol version mismatch",
        [WIRE_E_LOST] = "association lost",
        [WIRE_E_SEAL] = "a message failed to open",
        [WIRE_E_MISMATCH] = "configuration mismatch",
        [WIRE_E_NAME] = "name did not resolve",
    };
    if (code < sizeof(names) / sizeof(names[0]) && names[code])
        return names[code];
    return "unknown reason";
}
