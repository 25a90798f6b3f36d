/* The wire codec: every message type round trips, every malformed input is
 * refused, and no input at all makes the decoder misbehave. */
#include "wire.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MAX (WIRE_DATA_MAX + 16)

static uint8_t buf[BUF_MAX];
static uint8_t buf2[BUF_MAX];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure always reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static const wire_type_t all_types[] = {
    WIRE_HELLO, WIRE_AUTH,   WIRE_READY, WIRE_ERROR, WIRE_KEEP, WIRE_REKEY,  WIRE_SWITCH,
    WIRE_OPEN,  WIRE_RESULT, WIRE_DATA,  WIRE_FIN,   WIRE_RST,  WIRE_WINDOW, WIRE_CLOSE};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

static int is_control_type(wire_type_t t)
{
    return t == WIRE_HELLO || t == WIRE_AUTH || t == WIRE_READY || t == WIRE_ERROR ||
           t == WIRE_KEEP || t == WIRE_REKEY || t == WIRE_SWITCH;
}

/* The stream a type belongs on. */
static uint16_t home_sid(wire_type_t t)
{
    return is_control_type(t) ? WIRE_CONTROL_SID : 7;
}

/* Field-wise equality of two decoded messages of the same type. */
static int msg_equal(const wire_msg_t *a, const wire_msg_t *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case WIRE_HELLO:
        return a->u.hello.version == b->u.hello.version && a->u.hello.flags == b->u.hello.flags &&
               a->u.hello.noise_len == b->u.hello.noise_len &&
               memcmp(a->u.hello.noise, b->u.hello.noise, a->u.hello.noise_len) == 0;
    case WIRE_REKEY:
        return memcmp(a->u.key, b->u.key, WIRE_KEY_LEN) == 0;
    case WIRE_SWITCH:
        return a->u.count == b->u.count;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        return a->u.reason.code == b->u.reason.code &&
               strcmp(a->u.reason.text, b->u.reason.text) == 0;
    case WIRE_OPEN:
        return strcmp(a->u.service, b->u.service) == 0;
    case WIRE_DATA:
        return a->u.data.len == b->u.data.len &&
               memcmp(a->u.data.bytes, b->u.data.bytes, a->u.data.len) == 0;
    case WIRE_WINDOW:
        return a->u.window == b->u.window;
    case WIRE_AUTH:
    case WIRE_READY:
    case WIRE_KEEP:
    case WIRE_FIN:
    case WIRE_CLOSE:
        return 1;
    }
    return 0;
}

/* Encodes `in`, decodes it on its own stream, and checks the fields. Returns
 * the encoded length. */
static ssize_t roundtrip(const wire_msg_t *in, wire_msg_t *out)
{
    ssize_t n = wire_encode(in, buf, sizeof(buf));
    int rc;

    CHECK(n >= 0);
    if (n < 0)
        return n;
    memset(out, 0xa5, sizeof(*out));
    rc = wire_decode(home_sid(in->type), wire_ppid(in->type), buf, (size_t)n, out);
    CHECK(rc == 0);
    CHECK(out->type == in->type);
    CHECK(msg_equal(in, out));
    return n;
}

static int decode_raw(uint16_t sid, wire_type_t t, const uint8_t *p, size_t len)
{
    wire_msg_t m;

    return wire_decode(sid, wire_ppid(t), p, len, &m);
}

/* A well-formed HELLO, encoded by hand per wire.h: version 3, flags
 * WIRE_F_SEALED, `noise_len` handshake bytes. */
static size_t hello_bytes(uint8_t *p, size_t noise_len)
{
    p[0] = 0x00;
    p[1] = 0x03; /* version */
    p[2] = 0x00;
    p[3] = 0x01; /* flags */
    for (size_t i = 0; i < noise_len; i++)
        p[4 + i] = (uint8_t)(0x10 + i);
    return 4 + noise_len;
}

/* A well-formed wire_peer_t, by hand: version | flags | window | len | name. */
static size_t peer_bytes(uint8_t *p, const char *name, size_t nlen, uint32_t window)
{
    p[0] = 0x00;
    p[1] = 0x03;
    p[2] = 0x00;
    p[3] = 0x01;
    p[4] = (uint8_t)(window >> 24);
    p[5] = (uint8_t)(window >> 16);
    p[6] = (uint8_t)(window >> 8);
    p[7] = (uint8_t)window;
    p[8] = (uint8_t)nlen;
    memcpy(p + 9, name, nlen);
    return 9 + nlen;
}

/* code u16 | len u8 | text, by hand */
static size_t reason_bytes(uint8_t *p, uint16_t code, const char *text, size_t tlen)
{
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    p[2] = (uint8_t)tlen;
    memcpy(p + 3, text, tlen);
    return 3 + tlen;
}

static size_t open_bytes(uint8_t *p, const char *name, size_t nlen)
{
    p[0] = (uint8_t)nlen;
    memcpy(p + 1, name, nlen);
    return 1 + nlen;
}

static void test_ppid(void)
{
    CHECK(wire_ppid(WIRE_HELLO) == 0x53470001u);
    CHECK(wire_ppid(WIRE_ERROR) == 0x53470004u);
    CHECK(wire_ppid(WIRE_REKEY) == 0x53470006u);
    CHECK(wire_ppid(WIRE_SWITCH) == 0x53470007u);
    /* a sealed message's PPID is none of the clear types' */
    for (uint32_t t = WIRE_HELLO; t <= WIRE_CLOSE; t++)
        CHECK((wire_ppid((wire_type_t)t) & 0xffffff00u) != WIRE_PPID_SEALED);
    CHECK(wire_ppid(WIRE_OPEN) == 0x53470010u);
    CHECK(wire_ppid(WIRE_DATA) == 0x53470012u);
    CHECK(wire_ppid(WIRE_CLOSE) == 0x53470016u);
}

static void test_name_valid(void)
{
    char s[80];

    CHECK(wire_name_valid("a") == 1);
    CHECK(wire_name_valid("gw-A.example_1") == 1);
    CHECK(wire_name_valid("AZaz09._-") == 1);
    memset(s, 'n', 63);
    s[63] = '\0';
    CHECK(wire_name_valid(s) == 1);
    s[63] = 'n';
    s[64] = '\0';
    CHECK(wire_name_valid(s) == 0);
    CHECK(wire_name_valid("") == 0);
    CHECK(wire_name_valid("a b") == 0);
    CHECK(wire_name_valid("a/b") == 0);
    CHECK(wire_name_valid("a:b") == 0);
    CHECK(wire_name_valid("a\nb") == 0);
    CHECK(wire_name_valid("caf\xc3\xa9") == 0);
}

static void test_roundtrip(void)
{
    wire_msg_t in, out;
    ssize_t n;

    /* HELLO, with its exact layout */
    static uint8_t noise[WIRE_NOISE_MAX + 1];
    for (size_t i = 0; i < sizeof(noise); i++)
        noise[i] = (uint8_t)(0xf0 ^ i);
    memset(&in, 0, sizeof(in));
    in.type = WIRE_HELLO;
    in.u.hello.version = 0x0102;
    in.u.hello.flags = 0x0304;
    in.u.hello.noise = noise;
    in.u.hello.noise_len = 48;
    n = roundtrip(&in, &out);
    CHECK(n == 2 + 2 + 48);
    CHECK(buf[0] == 0x01 && buf[1] == 0x02 && buf[2] == 0x03 && buf[3] == 0x04);
    CHECK(memcmp(buf + 4, noise, 48) == 0);
    CHECK(out.u.hello.version == 0x0102);
    CHECK(out.u.hello.flags == 0x0304);
    CHECK(out.u.hello.noise_len == 48);
    /* the noise bytes are not copied: they point into the decoded buffer */
    CHECK(out.u.hello.noise == buf + 4);

    /* HELLO with the shortest and the longest handshake bytes */
    in.u.hello.noise_len = 1;
    n = roundtrip(&in, &out);
    CHECK(n == 5);
    CHECK(out.u.hello.noise_len == 1 && out.u.hello.noise[0] == 0xf0);
    in.u.hello.noise_len = WIRE_NOISE_MAX;
    n = roundtrip(&in, &out);
    CHECK(n == WIRE_HDR_MAX);
    CHECK(out.u.hello.noise_len == WIRE_NOISE_MAX);

    /* REKEY: the 32 key bytes as they are */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_REKEY;
    for (int i = 0; i < WIRE_KEY_LEN; i++)
        in.u.key[i] = (uint8_t)(i * 7 + 3);
    n = roundtrip(&in, &out);
    CHECK(n == WIRE_KEY_LEN);
    CHECK(memcmp(buf, in.u.key, WIRE_KEY_LEN) == 0);
    CHECK(out.u.key[31] == (uint8_t)(31 * 7 + 3));

    /* SWITCH: a big-endian u64, at 0, a middle value and the largest */
    static const uint64_t counts[] = {0, 0x0102030405060708ull, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        memset(&in, 0, sizeof(in));
        in.type = WIRE_SWITCH;
        in.u.count = counts[i];
        n = roundtrip(&in, &out);
        CHECK(n == 8);
        CHECK(out.u.count == counts[i]);
    }
    in.u.count = 0x0102030405060708ull;
    CHECK(wire_encode(&in, buf, sizeof(buf)) == 8);
    CHECK(buf[0] == 1 && buf[3] == 4 && buf[4] == 5 && buf[7] == 8);

    /* the bodiless ones: a single zero byte, as SCTP cannot send nothing */
    static const wire_type_t bodiless[] = {WIRE_AUTH, WIRE_READY, WIRE_KEEP, WIRE_FIN, WIRE_CLOSE};
    for (size_t i = 0; i < sizeof(bodiless) / sizeof(bodiless[0]); i++) {
        memset(&in, 0, sizeof(in));
        in.type = bodiless[i];
        buf[0] = 0xee;
        n = roundtrip(&in, &out);
        CHECK(n == 1);
        CHECK(buf[0] == 0);
        CHECK(out.type == bodiless[i]);
    }

    /* ERROR */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_ERROR;
    in.u.reason.code = WIRE_E_VERSION;
    strcpy(in.u.reason.text, "versions differ");
    n = roundtrip(&in, &out);
    CHECK(n == 2 + 1 + 15);
    CHECK(buf[0] == 0 && buf[1] == WIRE_E_VERSION && buf[2] == 15);
    CHECK(out.u.reason.code == WIRE_E_VERSION);
    CHECK_STR(out.u.reason.text, "versions differ");

    /* OPEN */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_OPEN;
    strcpy(in.u.service, "web");
    n = roundtrip(&in, &out);
    CHECK(n == 4);
    CHECK(buf[0] == 3 && memcmp(buf + 1, "web", 3) == 0);
    CHECK_STR(out.u.service, "web");

    /* RESULT ok (empty text) and RESULT error */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_RESULT;
    in.u.reason.code = WIRE_OK;
    n = roundtrip(&in, &out);
    CHECK(n == 3);
    CHECK(buf[0] == 0 && buf[1] == 0 && buf[2] == 0);
    CHECK(out.u.reason.code == WIRE_OK);
    CHECK_STR(out.u.reason.text, "");
    in.u.reason.code = WIRE_E_REFUSED;
    strcpy(in.u.reason.text, "connect 10.0.0.1:80: Connection refused");
    n = roundtrip(&in, &out);
    CHECK(n == 3 + 39);
    CHECK(out.u.reason.code == WIRE_E_REFUSED);
    CHECK_STR(out.u.reason.text, "connect 10.0.0.1:80: Connection refused");

    /* RST with text, a code above 255 and 8-bit bytes in the text */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_RST;
    in.u.reason.code = 0x1234;
    strcpy(in.u.reason.text, "reset by peer \xc3\xa9~");
    n = roundtrip(&in, &out);
    CHECK(buf[0] == 0x12 && buf[1] == 0x34);
    CHECK(n == 3 + 17);
    CHECK(out.u.reason.code == 0x1234);
    CHECK_STR(out.u.reason.text, "reset by peer \xc3\xa9~");

    /* WINDOW: 1, a middle value, and the largest */
    static const uint32_t windows[] = {1, 0x01020304u, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        memset(&in, 0, sizeof(in));
        in.type = WIRE_WINDOW;
        in.u.window = windows[i];
        n = roundtrip(&in, &out);
        CHECK(n == 4);
        CHECK(out.u.window == windows[i]);
    }
    CHECK(buf[0] == 0xff && buf[3] == 0xff);
    in.u.window = 0x01020304u;
    CHECK(wire_encode(&in, buf, sizeof(buf)) == 4);
    CHECK(buf[0] == 1 && buf[1] == 2 && buf[2] == 3 && buf[3] == 4);

    /* a reason text of exactly WIRE_TEXT_MAX */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_RST;
    memset(in.u.reason.text, 'q', WIRE_TEXT_MAX);
    n = roundtrip(&in, &out);
    CHECK(n == 3 + WIRE_TEXT_MAX);
    CHECK(strlen(out.u.reason.text) == WIRE_TEXT_MAX);
}

static void test_data(void)
{
    static uint8_t data[WIRE_DATA_MAX + 1];
    wire_msg_t m;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 5);

    CHECK(wire_decode(1, wire_ppid(WIRE_DATA), data, 1, &m) == 0);
    CHECK(m.type == WIRE_DATA);
    CHECK(m.u.data.bytes == data);
    CHECK(m.u.data.len == 1);

    CHECK(wire_decode(65535, wire_ppid(WIRE_DATA), data, WIRE_DATA_MAX, &m) == 0);
    CHECK(m.type == WIRE_DATA);
    CHECK(m.u.data.bytes == data);
    CHECK(m.u.data.len == WIRE_DATA_MAX);

    CHECK(wire_decode(1, wire_ppid(WIRE_DATA), data, 0, &m) == -EBADMSG);
    CHECK(wire_decode(1, wire_ppid(WIRE_DATA), data, WIRE_DATA_MAX + 1, &m) == -EBADMSG);
    CHECK(wire_decode(0, wire_ppid(WIRE_DATA), data, 1, &m) == -EBADMSG);

    /* DATA is sent as is: the encoder has nothing to say about it */
    memset(&m, 0, sizeof(m));
    m.type = WIRE_DATA;
    m.u.data.bytes = data;
    m.u.data.len = 10;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
}

static void test_bad_ppid(void)
{
    static const uint32_t bad[] = {
        0,
        1,
        WIRE_HELLO,
        WIRE_PPID_BASE - 1,
        WIRE_PPID_BASE - WIRE_DATA,
        WIRE_PPID_BASE,
        WIRE_PPID_BASE + 8,
        WIRE_PPID_BASE + 10,
        WIRE_PPID_BASE + 15,
        WIRE_PPID_BASE + 23,
        WIRE_PPID_BASE + 0x100 + WIRE_HELLO,
        WIRE_PPID_SEALED,
        WIRE_PPID_SEALED + WIRE_AUTH,
        WIRE_PPID_SEALED + 0xff,
        WIRE_PPID_BASE + 0x10000 + WIRE_DATA,
        0xffffffffu,
    };
    static const uint16_t sids[] = {0, 1, 2, 65535};
    static const uint8_t p0[1] = {0};
    uint8_t p[64];
    wire_msg_t m;

    memset(p, 1, sizeof(p));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        for (size_t s = 0; s < 4; s++) {
            CHECK(wire_decode(sids[s], bad[i], p, 0, &m) == -EBADMSG);
            CHECK(wire_decode(sids[s], bad[i], p0, 1, &m) == -EBADMSG);
            CHECK(wire_decode(sids[s], bad[i], p, 4, &m) == -EBADMSG);
            CHECK(wire_decode(sids[s], bad[i], p, 32, &m) == -EBADMSG);
        }
    /* the PPID is in host order: a byte-swapped one is unknown */
    CHECK(wire_decode(0, __builtin_bswap32(wire_ppid(WIRE_READY)), p0, 1, &m) == -EBADMSG);
    CHECK(wire_decode(1, __builtin_bswap32(wire_ppid(WIRE_FIN)), p0, 1, &m) == -EBADMSG);
}

/* A valid payload for each type, so that only the stream can be wrong. */
static size_t valid_payload(wire_type_t t, uint8_t *p)
{
    switch (t) {
    case WIRE_HELLO:
        return hello_bytes(p, 48);
    case WIRE_REKEY:
        memset(p, 0x42, WIRE_KEY_LEN);
        return WIRE_KEY_LEN;
    case WIRE_SWITCH:
        memset(p, 0x42, 8);
        return 8;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        return reason_bytes(p, 1, "x", 1);
    case WIRE_OPEN:
        return open_bytes(p, "web", 3);
    case WIRE_DATA:
        p[0] = 'd';
        return 1;
    case WIRE_WINDOW:
        p[0] = 0;
        p[1] = 0;
        p[2] = 1;
        p[3] = 0;
        return 4;
    case WIRE_AUTH:
    case WIRE_READY:
    case WIRE_KEEP:
    case WIRE_FIN:
    case WIRE_CLOSE:
        p[0] = 0;
        return 1;
    }
    return 0;
}

static void test_wrong_stream(void)
{
    uint8_t p[WIRE_HDR_MAX];

    for (size_t i = 0; i < NTYPES; i++) {
        wire_type_t t = all_types[i];
        size_t n = valid_payload(t, p);

        CHECK(decode_raw(home_sid(t), t, p, n) == 0);
        if (is_control_type(t)) {
            CHECK(decode_raw(1, t, p, n) == -EBADMSG);
            CHECK(decode_raw(2, t, p, n) == -EBADMSG);
            CHECK(decode_raw(65535, t, p, n) == -EBADMSG);
        } else {
            CHECK(decode_raw(1, t, p, n) == 0);
            CHECK(decode_raw(65535, t, p, n) == 0);
            CHECK(decode_raw(WIRE_CONTROL_SID, t, p, n) == -EBADMSG);
        }
    }
}

static void test_bad_hello(void)
{
    uint8_t p[WIRE_HDR_MAX + 2];
    size_t n = hello_bytes(p, WIRE_NOISE_MAX + 1);
    wire_msg_t m;

    /* 1..WIRE_NOISE_MAX handshake bytes after version and flags */
    for (size_t len = 0; len <= 4; len++)
        CHECK(decode_raw(0, WIRE_HELLO, p, len) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_HELLO, p, 5) == 0);
    CHECK(decode_raw(0, WIRE_HELLO, p, 4 + 48) == 0);
    CHECK(decode_raw(0, WIRE_HELLO, p, WIRE_HDR_MAX) == 0);
    CHECK(decode_raw(0, WIRE_HELLO, p, WIRE_HDR_MAX + 1) == -EBADMSG);
    CHECK(n == WIRE_HDR_MAX + 1);
    CHECK(decode_raw(0, WIRE_HELLO, p, WIRE_HDR_MAX + 2) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_HELLO, p, 4096) == -EBADMSG);

    /* the fields, and the noise bytes are the rest of the buffer */
    CHECK(wire_decode(0, wire_ppid(WIRE_HELLO), p, 4 + 7, &m) == 0);
    CHECK(m.u.hello.version == 3 && m.u.hello.flags == WIRE_F_SEALED);
    CHECK(m.u.hello.noise == p + 4 && m.u.hello.noise_len == 7);

    /* the version and the flags are the handshake's business, not the codec's */
    p[0] = 0xff;
    p[1] = 0xfe;
    p[2] = 0xab;
    p[3] = 0xcd;
    CHECK(wire_decode(0, wire_ppid(WIRE_HELLO), p, n - 1, &m) == 0);
    CHECK(m.u.hello.version == 0xfffe);
    CHECK(m.u.hello.flags == 0xabcd);
}

/* wire_peer_t, the handshake payload: exact layout, every refusal both ways. */
static void test_peer(void)
{
    uint8_t p[WIRE_PEER_MAX + 8], e[WIRE_PEER_MAX + 8];
    wire_peer_t in, out;
    char name[70];
    size_t n;
    ssize_t en;

    /* a round trip, byte for byte against the hand encoding */
    memset(&in, 0, sizeof(in));
    in.version = WIRE_VERSION;
    in.flags = WIRE_F_SEALED;
    in.flow_window = 0xa1b2c3d4u;
    strcpy(in.name, "gw-east.1");
    en = wire_peer_encode(&in, e, sizeof(e));
    n = peer_bytes(p, "gw-east.1", 9, 0xa1b2c3d4u);
    CHECK(en == (ssize_t)n && n == 2 + 2 + 4 + 1 + 9);
    CHECK(memcmp(e, p, n) == 0);
    memset(&out, 0xa5, sizeof(out));
    CHECK(wire_peer_decode(e, (size_t)en, &out) == 0);
    CHECK(out.version == WIRE_VERSION && out.flags == WIRE_F_SEALED);
    CHECK(out.flow_window == 0xa1b2c3d4u);
    CHECK_STR(out.name, "gw-east.1");

    /* the longest name and the smallest window fill WIRE_PEER_MAX exactly */
    memset(in.name, 'Z', WIRE_NAME_MAX);
    in.name[WIRE_NAME_MAX] = '\0';
    in.flow_window = 1;
    en = wire_peer_encode(&in, e, sizeof(e));
    CHECK(en == WIRE_PEER_MAX);
    CHECK(wire_peer_decode(e, (size_t)en, &out) == 0);
    CHECK(strlen(out.name) == WIRE_NAME_MAX && out.flow_window == 1);
    /* one byte short of room, and exactly enough */
    for (size_t cap = 0; cap < WIRE_PEER_MAX; cap++)
        CHECK(wire_peer_encode(&in, e, cap) == -EINVAL);
    CHECK(wire_peer_encode(&in, e, WIRE_PEER_MAX) == WIRE_PEER_MAX);

    /* a zero window: refused both ways */
    in.flow_window = 0;
    CHECK(wire_peer_encode(&in, e, sizeof(e)) == -EINVAL);
    n = peer_bytes(p, "gw", 2, 0);
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
    n = peer_bytes(p, "gw", 2, 1);
    CHECK(wire_peer_decode(p, n, &out) == 0);

    /* bad names: refused both ways */
    static const char *const bad[] = {"", "a b", "a/b", "gw\x01", "gw\x7f", "caf\xc3\xa9", "a:b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = peer_bytes(p, bad[i], strlen(bad[i]), 1000);
        CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
        memset(&in, 0, sizeof(in));
        in.flow_window = 1000;
        strcpy(in.name, bad[i]);
        CHECK(wire_peer_encode(&in, e, sizeof(e)) == -EINVAL);
    }
    memset(name, 'a', 64);
    n = peer_bytes(p, name, 64, 1000);
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
    n = peer_bytes(p, name, 63, 1000);
    CHECK(wire_peer_decode(p, n, &out) == 0);
    memset(&in, 0, sizeof(in));
    in.flow_window = 1;
    memset(in.name, 'a', sizeof(in.name)); /* no NUL in the field */
    CHECK(wire_peer_encode(&in, e, sizeof(e)) == -EINVAL);

    /* a NUL inside the name must not hide the rest of it */
    n = peer_bytes(p, "ab\0", 3, 1000);
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
    n = peer_bytes(p, "a\0/b", 4, 1000);
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);

    /* truncated at every length, a trailing byte, a length byte that lies */
    n = peer_bytes(p, "gw-a", 4, 4096);
    CHECK(wire_peer_decode(p, n, &out) == 0);
    for (size_t len = 0; len < n; len++)
        CHECK(wire_peer_decode(p, len, &out) == -EBADMSG);
    p[n] = 'x';
    CHECK(wire_peer_decode(p, n + 1, &out) == -EBADMSG);
    p[n] = 0;
    CHECK(wire_peer_decode(p, n + 1, &out) == -EBADMSG);
    p[8] = 5;
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
    p[8] = 3;
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
    p[8] = 255;
    CHECK(wire_peer_decode(p, n, &out) == -EBADMSG);
    p[8] = 4;
    CHECK(wire_peer_decode(p, n, &out) == 0);
    CHECK(wire_peer_decode(NULL, 0, &out) == -EBADMSG);
    CHECK(wire_peer_decode(NULL, n, &out) == -EBADMSG);

    /* any version and flags pass: the handshake compares them */
    n = peer_bytes(p, "gw", 2, 7);
    p[0] = 0xff;
    p[3] = 0xfe;
    CHECK(wire_peer_decode(p, n, &out) == 0);
    CHECK(out.version == 0xff03 && out.flags == 0x00fe);
}

static void test_bad_fixed(void)
{
    uint8_t p[64];

    memset(p, 0x5a, sizeof(p));
    /* REKEY: exactly 32 bytes */
    CHECK(decode_raw(0, WIRE_REKEY, p, 0) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_REKEY, p, 1) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_REKEY, p, 31) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_REKEY, p, 33) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_REKEY, p, 64) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_REKEY, p, 32) == 0);

    /* SWITCH: exactly 8 bytes, a big-endian count */
    CHECK(decode_raw(0, WIRE_SWITCH, p, 0) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_SWITCH, p, 1) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_SWITCH, p, 4) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_SWITCH, p, 7) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_SWITCH, p, 9) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_SWITCH, p, 16) == -EBADMSG);
    {
        static const uint8_t c[8] = {0x80, 0, 0, 0, 0, 0, 0x01, 0xfe};
        wire_msg_t sw;
        CHECK(wire_decode(0, wire_ppid(WIRE_SWITCH), c, 8, &sw) == 0);
        CHECK(sw.u.count == 0x80000000000001feull);
    }

    /* AUTH, READY, KEEP, FIN, CLOSE: exactly one zero byte; no more, no less, no other */
    static const wire_type_t bodiless[] = {WIRE_AUTH, WIRE_READY, WIRE_KEEP, WIRE_FIN, WIRE_CLOSE};
    for (size_t i = 0; i < sizeof(bodiless) / sizeof(bodiless[0]); i++) {
        wire_type_t t = bodiless[i];
        uint16_t sid = home_sid(t);
        uint8_t z[4] = {0, 0, 0, 0};

        CHECK(decode_raw(sid, t, z, 1) == 0);
        CHECK(decode_raw(sid, t, z, 0) == -EBADMSG);
        CHECK(decode_raw(sid, t, NULL, 0) == -EBADMSG);
        CHECK(decode_raw(sid, t, z, 2) == -EBADMSG);
        CHECK(decode_raw(sid, t, z, 4) == -EBADMSG);
        CHECK(decode_raw(sid, t, p, 1) == -EBADMSG); /* 0x5a */
        CHECK(decode_raw(sid, t, p, 17) == -EBADMSG);
        z[0] = 1;
        CHECK(decode_raw(sid, t, z, 1) == -EBADMSG);
        z[0] = 0x80;
        CHECK(decode_raw(sid, t, z, 1) == -EBADMSG);
    }

    /* WINDOW: exactly 4 bytes, not 0 */
    p[0] = 0;
    p[1] = 0;
    p[2] = 0;
    p[3] = 1;
    p[4] = 0;
    CHECK(decode_raw(3, WIRE_WINDOW, p, 4) == 0);
    CHECK(decode_raw(3, WIRE_WINDOW, p, 3) == -EBADMSG);
    CHECK(decode_raw(3, WIRE_WINDOW, p, 5) == -EBADMSG);
    CHECK(decode_raw(3, WIRE_WINDOW, p, 0) == -EBADMSG);
    p[3] = 0;
    CHECK(decode_raw(3, WIRE_WINDOW, p, 4) == -EBADMSG);

    /* a NULL buffer with a length */
    wire_msg_t m;
    CHECK(wire_decode(0, wire_ppid(WIRE_AUTH), NULL, 1, &m) == -EBADMSG);
    CHECK(wire_decode(0, wire_ppid(WIRE_REKEY), NULL, 32, &m) == -EBADMSG);
    CHECK(wire_decode(0, wire_ppid(WIRE_SWITCH), NULL, 8, &m) == -EBADMSG);
    CHECK(wire_decode(0, wire_ppid(WIRE_HELLO), NULL, 50, &m) == -EBADMSG);
    CHECK(wire_decode(0, wire_ppid(WIRE_READY), NULL, 1, &m) == -EBADMSG);
    CHECK(wire_decode(5, wire_ppid(WIRE_DATA), NULL, 1, &m) == -EBADMSG);
    CHECK(wire_decode(5, wire_ppid(WIRE_DATA), NULL, 0, &m) == -EBADMSG);
    CHECK(wire_decode(5, wire_ppid(WIRE_WINDOW), NULL, 4, &m) == -EBADMSG);
    CHECK(wire_decode(5, wire_ppid(WIRE_RST), NULL, 3, &m) == -EBADMSG);
}

static void test_bad_reason(void)
{
    static const wire_type_t types[] = {WIRE_ERROR, WIRE_RESULT, WIRE_RST};
    uint8_t p[300];

    for (size_t i = 0; i < 3; i++) {
        wire_type_t t = types[i];
        uint16_t sid = home_sid(t);
        size_t n;

        n = reason_bytes(p, 2, "fine text", 9);
        CHECK(decode_raw(sid, t, p, n) == 0);
        /* too short for code and length */
        CHECK(decode_raw(sid, t, p, 0) == -EBADMSG);
        CHECK(decode_raw(sid, t, p, 1) == -EBADMSG);
        CHECK(decode_raw(sid, t, p, 2) == -EBADMSG);
        /* text length mismatch either way */
        p[2] = 10;
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        p[2] = 8;
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        p[2] = 255;
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        p[2] = 0;
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        CHECK(decode_raw(sid, t, p, 3) == 0);
        /* control characters anywhere in the text */
        n = reason_bytes(p, 2, "line\nforged", 11);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        n = reason_bytes(p, 2, "\x1b[2J", 4);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        n = reason_bytes(p, 2, "cr\r", 3);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        n = reason_bytes(p, 2, "del\x7f", 4);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        n = reason_bytes(p, 2, "tab\there", 8);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        /* including behind a NUL, which would otherwise hide them */
        n = reason_bytes(p, 2, "ok\0\n\x1b[2J", 8);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        n = reason_bytes(p, 2, "\0", 1);
        CHECK(decode_raw(sid, t, p, n) == -EBADMSG);
        /* 8-bit bytes are text */
        n = reason_bytes(p, 2, "\x80\xff", 2);
        CHECK(decode_raw(sid, t, p, n) == 0);
    }
}

static void test_bad_open(void)
{
    uint8_t p[300];
    char name[70];
    size_t n;

    n = open_bytes(p, "svc_1.a-b", 9);
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == 0);
    CHECK(decode_raw(9, WIRE_OPEN, p, 0) == -EBADMSG);
    CHECK(decode_raw(9, WIRE_OPEN, p, n - 1) == -EBADMSG);
    p[n] = 'x';
    CHECK(decode_raw(9, WIRE_OPEN, p, n + 1) == -EBADMSG);
    p[0] = 10;
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);
    p[0] = 8;
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);

    static const char *const bad[] = {"a b", "a/b", "web\n", "../etc", "x:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = open_bytes(p, bad[i], strlen(bad[i]));
        CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);
    }
    n = open_bytes(p, "", 0);
    CHECK(n == 1);
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);
    n = open_bytes(p, "web\0xyz", 7);
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);
    n = open_bytes(p, "web\0", 4);
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);
    memset(name, 's', 64);
    n = open_bytes(p, name, 64);
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == -EBADMSG);
    n = open_bytes(p, name, 63);
    CHECK(decode_raw(9, WIRE_OPEN, p, n) == 0);
}

static void test_encode_errors(void)
{
    wire_msg_t m;
    ssize_t full;

    /* invalid names */
    static const char *const bad[] = {"", "a b", "a/b", "x\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&m, 0, sizeof(m));
        m.type = WIRE_OPEN;
        strcpy(m.u.service, bad[i]);
        CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    }
    /* a HELLO without handshake bytes, or with more than fit, which the
     * decoder would refuse */
    static const uint8_t nb[WIRE_NOISE_MAX + 1];
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HELLO;
    m.u.hello.noise = nb;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    m.u.hello.noise_len = WIRE_NOISE_MAX + 1;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    m.u.hello.noise_len = WIRE_NOISE_MAX;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == WIRE_HDR_MAX);
    m.u.hello.noise = NULL;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);

    /* a 64-character name (no room for the NUL in the struct) */
    memset(&m, 0, sizeof(m));
    m.type = WIRE_OPEN;
    memset(m.u.service, 'a', WIRE_NAME_MAX + 1);
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);

    /* buffers one byte too small, and exactly large enough */
    for (size_t i = 0; i < NTYPES; i++) {
        memset(&m, 0, sizeof(m));
        m.type = all_types[i];
        switch (m.type) {
        case WIRE_HELLO:
            m.u.hello.version = WIRE_VERSION;
            m.u.hello.noise = nb;
            m.u.hello.noise_len = 80;
            break;
        case WIRE_REKEY:
            memset(m.u.key, 0x33, WIRE_KEY_LEN);
            break;
        case WIRE_SWITCH:
            m.u.count = 12345;
            break;
        case WIRE_OPEN:
            strcpy(m.u.service, "svc");
            break;
        case WIRE_ERROR:
        case WIRE_RESULT:
        case WIRE_RST:
            m.u.reason.code = 3;
            strcpy(m.u.reason.text, "because");
            break;
        case WIRE_WINDOW:
            m.u.window = 77;
            break;
        default:
            break;
        }
        if (m.type == WIRE_DATA)
            continue;
        full = wire_encode(&m, buf, sizeof(buf));
        CHECK(full >= 0);
        if (full < 0)
            continue;
        for (size_t cap = 0; cap < (size_t)full; cap++)
            CHECK(wire_encode(&m, buf2, cap) == -EINVAL);
        CHECK(wire_encode(&m, buf2, (size_t)full) == full);
        CHECK(memcmp(buf, buf2, (size_t)full) == 0);
    }
    CHECK(wire_encode(&(wire_msg_t){.type = WIRE_HELLO}, buf, sizeof(buf)) == -EINVAL);

    /* a zero WINDOW is not a message */
    memset(&m, 0, sizeof(m));
    m.type = WIRE_WINDOW;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);

    /* unknown types */
    memset(&m, 0, sizeof(m));
    m.type = (wire_type_t)0;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    m.type = (wire_type_t)8;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    m.type = (wire_type_t)15;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    m.type = (wire_type_t)23;
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);

    /* an over-long text (filling the whole field, no NUL) is cut */
    static const wire_type_t rs[] = {WIRE_ERROR, WIRE_RESULT, WIRE_RST};
    for (size_t i = 0; i < 3; i++) {
        wire_msg_t out;

        memset(&m, 0, sizeof(m));
        m.type = rs[i];
        m.u.reason.code = WIRE_E_INTERNAL;
        memset(m.u.reason.text, 't', sizeof(m.u.reason.text));
        full = wire_encode(&m, buf, sizeof(buf));
        CHECK(full == 2 + 1 + WIRE_TEXT_MAX);
        CHECK(buf[2] == WIRE_TEXT_MAX);
        CHECK(buf[3 + WIRE_TEXT_MAX - 1] == 't');
        CHECK(wire_decode(home_sid(rs[i]), wire_ppid(rs[i]), buf, (size_t)full, &out) == 0);
        CHECK(strlen(out.u.reason.text) == WIRE_TEXT_MAX);
        CHECK(out.u.reason.code == WIRE_E_INTERNAL);
        /* the cut text still needs its room */
        CHECK(wire_encode(&m, buf, 2 + WIRE_TEXT_MAX) == -EINVAL);
        CHECK(wire_encode(&m, buf, 2 + 1 + WIRE_TEXT_MAX) == 2 + 1 + WIRE_TEXT_MAX);
    }
}

/* Any accepted message must survive encode -> decode unchanged; the encoding
 * is canonical, so for all but DATA it must even be the very same bytes. */
static void check_accepted(uint16_t sid, uint32_t ppid, const uint8_t *p, size_t len,
                           const wire_msg_t *m)
{
    static uint8_t re[BUF_MAX];
    wire_msg_t m2;
    ssize_t n;

    CHECK(wire_ppid(m->type) == ppid);
    CHECK(sid == WIRE_CONTROL_SID ? is_control_type(m->type) : !is_control_type(m->type));
    if (m->type == WIRE_DATA) {
        CHECK(m->u.data.bytes == p && m->u.data.len == len);
        CHECK(len >= 1 && len <= WIRE_DATA_MAX);
        return;
    }
    n = wire_encode(m, re, sizeof(re));
    CHECK(n >= 0 && (size_t)n == len);
    if (n < 0 || (size_t)n != len)
        return;
    CHECK(memcmp(re, p, len) == 0);
    CHECK(wire_decode(sid, ppid, re, (size_t)n, &m2) == 0);
    CHECK(msg_equal(m, &m2));
}

static size_t sample_valid(wire_type_t t, uint8_t *p)
{
    static uint8_t noise[WIRE_NOISE_MAX];
    wire_msg_t m;
    ssize_t n;
    int fill;

    memset(&m, 0, sizeof(m));
    m.type = t;
    switch (t) {
    case WIRE_HELLO:
        m.u.hello.version = (uint16_t)rnd();
        m.u.hello.flags = (uint16_t)rnd();
        m.u.hello.noise_len = 1 + rnd() % WIRE_NOISE_MAX;
        for (size_t i = 0; i < m.u.hello.noise_len; i++)
            noise[i] = (uint8_t)rnd();
        m.u.hello.noise = noise;
        break;
    case WIRE_REKEY:
        for (int i = 0; i < WIRE_KEY_LEN; i++)
            m.u.key[i] = (uint8_t)rnd();
        break;
    case WIRE_SWITCH:
        m.u.count = (uint64_t)rnd() << 32 | rnd();
        break;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        m.u.reason.code = (uint16_t)rnd();
        fill = ' ' + (int)(rnd() % 90);
        memset(m.u.reason.text, fill, rnd() % (WIRE_TEXT_MAX + 1));
        break;
    case WIRE_OPEN:
        memset(m.u.service, '.', 1 + rnd() % WIRE_NAME_MAX);
        break;
    case WIRE_WINDOW:
        m.u.window = rnd() | 0x100;
        break;
    case WIRE_DATA: {
        size_t len = 1 + rnd() % 2000;
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)rnd();
        return len;
    }
    default:
        break;
    }
    n = wire_encode(&m, p, BUF_MAX);
    CHECK(n >= 0);
    return n < 0 ? 0 : (size_t)n;
}

static void test_brute_force(void)
{
    static uint8_t p[BUF_MAX];
    static const uint16_t sids[] = {0, 1, 2, 3, 100, 65535};
    unsigned accepted = 0, refused = 0;
    wire_msg_t m;

    for (int round = 0; round < 4000; round++) {
        for (uint32_t t = 0; t <= 24; t++) {
            uint32_t ppid = WIRE_PPID_BASE + t;
            uint16_t sid = sids[rnd() % 6];
            size_t len, valid;
            int rc;

            /* random bytes; short lengths are the interesting ones */
            len = rnd() % 8 == 0 ? rnd() % (WIRE_DATA_MAX + 3) : rnd() % 300;
            for (size_t i = 0; i < len && i < 400; i++)
                p[i] = (uint8_t)rnd();
            rc = wire_decode(sid, ppid, p, len, &m);
            CHECK(rc == 0 || rc == -EBADMSG);
            if (rc == 0) {
                accepted++;
                check_accepted(sid, ppid, p, len, &m);
            } else {
                refused++;
            }

            if (t < 1 || t > WIRE_CLOSE || (t > WIRE_SWITCH && t < WIRE_OPEN))
                continue;
            sid = home_sid((wire_type_t)t);
            valid = sample_valid((wire_type_t)t, p);
            rc = wire_decode(sid, ppid, p, valid, &m);
            CHECK(rc == 0);
            if (rc == 0)
                check_accepted(sid, ppid, p, valid, &m);

            /* truncated */
            len = valid ? rnd() % valid : 0;
            rc = wire_decode(sid, ppid, p, len, &m);
            CHECK(rc == 0 || rc == -EBADMSG);
            if (rc == 0)
                check_accepted(sid, ppid, p, len, &m);

            /* extended by one byte */
            p[valid] = (uint8_t)rnd();
            rc = wire_decode(sid, ppid, p, valid + 1, &m);
            CHECK(rc == 0 || rc == -EBADMSG);
            if (rc == 0)
                check_accepted(sid, ppid, p, valid + 1, &m);

            /* one to three flipped bits */
            if (valid) {
                int flips = 1 + (int)(rnd() % 3);
                for (int f = 0; f < flips; f++) {
                    size_t at = rnd() % valid;
                    p[at] ^= (uint8_t)(1u << (rnd() % 8));
                }
                rc = wire_decode(sid, ppid, p, valid, &m);
                CHECK(rc == 0 || rc == -EBADMSG);
                if (rc == 0)
                    check_accepted(sid, ppid, p, valid, &m);
            }

            /* the same bytes on the wrong kind of stream */
            rc = wire_decode(sid == 0 ? 4 : 0, ppid, p, valid, &m);
            CHECK(rc == -EBADMSG);
        }
    }
    /* both outcomes really happened */
    CHECK(accepted > 1000);
    CHECK(refused > 1000);

    /* every length of an exact buffer: the decoder reads nothing beyond it */
    for (size_t i = 0; i < NTYPES; i++) {
        wire_type_t t = all_types[i];
        size_t valid = sample_valid(t, p);
        for (size_t len = 0; len <= valid; len++) {
            uint8_t *exact = malloc(len ? len : 1);
            if (!exact)
                continue;
            memcpy(exact, p, len);
            int rc = wire_decode(home_sid(t), wire_ppid(t), exact, len, &m);
            CHECK(rc == 0 || rc == -EBADMSG);
            if (rc == 0)
                check_accepted(home_sid(t), wire_ppid(t), exact, len, &m);
            free(exact);
        }
    }
}

static void test_names(void)
{
    CHECK_STR(wire_type_name(WIRE_HELLO), "HELLO");
    CHECK_STR(wire_type_name(WIRE_AUTH), "AUTH");
    CHECK_STR(wire_type_name(WIRE_READY), "READY");
    CHECK_STR(wire_type_name(WIRE_ERROR), "ERROR");
    CHECK_STR(wire_type_name(WIRE_OPEN), "OPEN");
    CHECK_STR(wire_type_name(WIRE_RESULT), "RESULT");
    CHECK_STR(wire_type_name(WIRE_DATA), "DATA");
    CHECK_STR(wire_type_name(WIRE_FIN), "FIN");
    CHECK_STR(wire_type_name(WIRE_RST), "RST");
    CHECK_STR(wire_type_name(WIRE_WINDOW), "WINDOW");
    CHECK_STR(wire_type_name(WIRE_CLOSE), "CLOSE");
    CHECK_STR(wire_type_name((wire_type_t)0), "?");
    CHECK_STR(wire_type_name(WIRE_KEEP), "KEEP");
    CHECK_STR(wire_type_name(WIRE_REKEY), "REKEY");
    CHECK_STR(wire_type_name(WIRE_SWITCH), "SWITCH");
    CHECK_STR(wire_type_name((wire_type_t)8), "?");
    CHECK_STR(wire_type_name((wire_type_t)15), "?");
    CHECK_STR(wire_type_name((wire_type_t)23), "?");
    CHECK_STR(wire_type_name((wire_type_t)1000), "?");
    CHECK_STR(wire_type_name((wire_type_t)-1), "?");

    CHECK_STR(wire_code_name(WIRE_OK), "ok");
    CHECK_STR(wire_code_name(WIRE_E_RESET), "connection reset");
    CHECK_STR(wire_code_name(WIRE_E_REFUSED), "connection refused");
    CHECK_STR(wire_code_name(WIRE_E_UNREACHABLE), "back end unreachable");
    CHECK_STR(wire_code_name(WIRE_E_NO_SERVICE), "unknown service");
    CHECK_STR(wire_code_name(WIRE_E_PROTOCOL), "protocol error");
    CHECK_STR(wire_code_name(WIRE_E_WINDOW), "flow window exceeded");
    CHECK_STR(wire_code_name(WIRE_E_SHUTDOWN), "gateway shutting down");
    CHECK_STR(wire_code_name(WIRE_E_LIMIT), "too many flows");
    CHECK_STR(wire_code_name(WIRE_E_INTERNAL), "internal error");
    CHECK_STR(wire_code_name(WIRE_E_AUTH), "authentication failed");
    CHECK_STR(wire_code_name(WIRE_E_VERSION), "protocol version mismatch");
    CHECK_STR(wire_code_name(WIRE_E_LOST), "association lost");
    CHECK_STR(wire_code_name(WIRE_E_SEAL), "a message failed to open");
    CHECK_STR(wire_code_name(WIRE_E_MISMATCH), "configuration mismatch");
    CHECK_STR(wire_code_name(WIRE_E_NAME), "name did not resolve");
    CHECK_STR(wire_code_name(16), "unknown reason");
    CHECK_STR(wire_code_name(255), "unknown reason");
    CHECK_STR(wire_code_name(65535), "unknown reason");
    /* every known code has its own name */
    for (uint16_t a = WIRE_OK; a <= WIRE_E_NAME; a++)
        for (uint16_t b = (uint16_t)(a + 1); b <= WIRE_E_NAME; b++)
            CHECK(strcmp(wire_code_name(a), wire_code_name(b)) != 0);
}

/* Texts come from strerror and peers; the encoder must never produce a
 * reason the decoder would refuse. */
static void test_encode_sanitises_text(void)
{
    wire_msg_t m = {.type = WIRE_RST}, out;
    uint8_t enc[512];
    ssize_t n;

    m.u.reason.code = WIRE_E_RESET;
    snprintf(m.u.reason.text, sizeof(m.u.reason.text), "line\nforged\x1b[2J");
    n = wire_encode(&m, enc, sizeof(enc));
    CHECK(n > 0);
    CHECK(wire_decode(3, wire_ppid(WIRE_RST), enc, (size_t)n, &out) == 0);
    CHECK_STR(out.u.reason.text, "line?forged?[2J");
}

/* What a refused message still says of its flow's stream: a final word
 * ends the flow though its text is broken; a RESULT says so by its code,
 * to the opener only, and one too short for it cannot tell. */
static void test_ends_flow(void)
{
    uint8_t p[300];
    size_t n = reason_bytes(p, WIRE_E_REFUSED, "line\nforged", 11);

    CHECK(wire_ends_flow(wire_ppid(WIRE_RST), p, n, 1) == 1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RST), p, 0, 1) == 1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_CLOSE), p, 2, 1) == 1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), p, n, 1) == 1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), p, 2, 1) == 1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), p, 1, 1) == -1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), NULL, 0, 1) == -1);
    /* to the responder a RESULT is out of turn, never its sender's last */
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), p, n, 0) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), p, 1, 0) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RST), p, n, 0) == 1);
    n = reason_bytes(p, WIRE_OK, "\x1b[2J", 4);
    CHECK(wire_ends_flow(wire_ppid(WIRE_RESULT), p, n, 1) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_OPEN), p, n, 1) == -1);
    CHECK(wire_ends_flow(wire_ppid(WIRE_DATA), p, 0, 1) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_FIN), p, 2, 1) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_WINDOW), p, 3, 1) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_HELLO), p, n, 1) == 0);
    CHECK(wire_ends_flow(wire_ppid(WIRE_CLOSE) + 1, p, n, 1) == 0);
    CHECK(wire_ends_flow(0, p, n, 1) == 0);
}

int main(void)
{
    test_encode_sanitises_text();
    test_ppid();
    test_name_valid();
    test_roundtrip();
    test_data();
    test_bad_ppid();
    test_wrong_stream();
    test_bad_hello();
    test_peer();
    test_bad_fixed();
    test_bad_reason();
    test_ends_flow();
    test_bad_open();
    test_encode_errors();
    test_brute_force();
    test_names();
    return check_status("wire");
}
