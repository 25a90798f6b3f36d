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

static const wire_type_t all_types[] = {WIRE_HELLO, WIRE_AUTH, WIRE_READY,  WIRE_ERROR,
                                        WIRE_KEEP,  WIRE_OPEN, WIRE_RESULT, WIRE_DATA,
                                        WIRE_FIN,   WIRE_RST,  WIRE_WINDOW, WIRE_CLOSE};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

static int is_control_type(wire_type_t t)
{
    return t == WIRE_HELLO || t == WIRE_AUTH || t == WIRE_READY || t == WIRE_ERROR ||
           t == WIRE_KEEP;
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
               memcmp(a->u.hello.nonce, b->u.hello.nonce, WIRE_NONCE_LEN) == 0 &&
               a->u.hello.flow_window == b->u.hello.flow_window &&
               strcmp(a->u.hello.name, b->u.hello.name) == 0;
    case WIRE_AUTH:
        return memcmp(a->u.proof, b->u.proof, WIRE_PROOF_LEN) == 0;
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

/* A well-formed HELLO, encoded by hand per wire.h. */
static size_t hello_bytes(uint8_t *p, const char *name, uint32_t window)
{
    size_t n = strlen(name);

    p[0] = 0x00;
    p[1] = 0x01; /* version */
    p[2] = 0x00;
    p[3] = 0x00; /* flags */
    for (int i = 0; i < WIRE_NONCE_LEN; i++)
        p[4 + i] = (uint8_t)(0x10 + i);
    p[36] = (uint8_t)(window >> 24);
    p[37] = (uint8_t)(window >> 16);
    p[38] = (uint8_t)(window >> 8);
    p[39] = (uint8_t)window;
    p[40] = (uint8_t)n;
    memcpy(p + 41, name, n);
    return 41 + n;
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
    memset(&in, 0, sizeof(in));
    in.type = WIRE_HELLO;
    in.u.hello.version = 0x0102;
    in.u.hello.flags = 0x0304;
    for (int i = 0; i < WIRE_NONCE_LEN; i++)
        in.u.hello.nonce[i] = (uint8_t)(0xf0 ^ i);
    in.u.hello.flow_window = 0xa1b2c3d4u;
    strcpy(in.u.hello.name, "gw-east.1");
    n = roundtrip(&in, &out);
    CHECK(n == 2 + 2 + WIRE_NONCE_LEN + 4 + 1 + 9);
    CHECK(buf[0] == 0x01 && buf[1] == 0x02 && buf[2] == 0x03 && buf[3] == 0x04);
    CHECK(buf[4] == 0xf0 && buf[35] == (0xf0 ^ 31));
    CHECK(buf[36] == 0xa1 && buf[37] == 0xb2 && buf[38] == 0xc3 && buf[39] == 0xd4);
    CHECK(buf[40] == 9 && memcmp(buf + 41, "gw-east.1", 9) == 0);
    CHECK(out.u.hello.version == 0x0102);
    CHECK(out.u.hello.flags == 0x0304);
    CHECK(out.u.hello.flow_window == 0xa1b2c3d4u);
    CHECK_STR(out.u.hello.name, "gw-east.1");

    /* HELLO with the longest name and the smallest window */
    memset(in.u.hello.name, 'Z', WIRE_NAME_MAX);
    in.u.hello.name[WIRE_NAME_MAX] = '\0';
    in.u.hello.flow_window = 1;
    n = roundtrip(&in, &out);
    CHECK(n == WIRE_HDR_MAX);
    CHECK(strlen(out.u.hello.name) == WIRE_NAME_MAX);
    CHECK(out.u.hello.flow_window == 1);

    /* AUTH */
    memset(&in, 0, sizeof(in));
    in.type = WIRE_AUTH;
    for (int i = 0; i < WIRE_PROOF_LEN; i++)
        in.u.proof[i] = (uint8_t)(i * 7 + 3);
    n = roundtrip(&in, &out);
    CHECK(n == WIRE_PROOF_LEN);
    CHECK(memcmp(buf, in.u.proof, WIRE_PROOF_LEN) == 0);
    CHECK(out.u.proof[31] == (uint8_t)(31 * 7 + 3));

    /* the bodiless ones: a single zero byte, as SCTP cannot send nothing */
    static const wire_type_t bodiless[] = {WIRE_READY, WIRE_KEEP, WIRE_FIN, WIRE_CLOSE};
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
        WIRE_PPID_BASE + 6,
        WIRE_PPID_BASE + 10,
        WIRE_PPID_BASE + 15,
        WIRE_PPID_BASE + 23,
        WIRE_PPID_BASE + 0x100 + WIRE_HELLO,
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
        return hello_bytes(p, "gw", 1000);
    case WIRE_AUTH:
        memset(p, 0x42, WIRE_PROOF_LEN);
        return WIRE_PROOF_LEN;
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
    uint8_t p[128];

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
    uint8_t p[256];
    size_t n = hello_bytes(p, "gw-a", 4096);

    CHECK(decode_raw(0, WIRE_HELLO, p, n) == 0);
    /* truncated at every length */
    for (size_t len = 0; len < n; len++)
        CHECK(decode_raw(0, WIRE_HELLO, p, len) == -EBADMSG);
    /* a trailing byte */
    p[n] = 'x';
    CHECK(decode_raw(0, WIRE_HELLO, p, n + 1) == -EBADMSG);
    p[n] = 0;
    CHECK(decode_raw(0, WIRE_HELLO, p, n + 1) == -EBADMSG);

    /* a name length larger, or smaller, than what follows */
    p[40] = 5;
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);
    p[40] = 255;
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);
    p[40] = 3;
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);
    p[40] = 4;
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == 0);

    /* bad names */
    static const char *const bad_names[] = {"a b",    "a/b",         "",   "gw\x01",
                                            "gw\x7f", "caf\xc3\xa9", "a:b"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        n = hello_bytes(p, bad_names[i], 1000);
        CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);
    }
    char name[70];
    memset(name, 'a', 64);
    name[64] = '\0';
    n = hello_bytes(p, name, 1000);
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);
    name[63] = '\0';
    n = hello_bytes(p, name, 1000);
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == 0);

    /* a NUL inside the name must not hide the rest of it */
    n = hello_bytes(p, "ab", 1000);
    p[40] = 3;
    p[43] = '\0';
    CHECK(decode_raw(0, WIRE_HELLO, p, n + 1) == -EBADMSG);
    n = hello_bytes(p, "a/b", 1000);
    p[42] = '\0';
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);

    /* a zero window */
    n = hello_bytes(p, "gw", 0);
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == -EBADMSG);
    n = hello_bytes(p, "gw", 1);
    CHECK(decode_raw(0, WIRE_HELLO, p, n) == 0);

    /* the version is the handshake's business, not the codec's */
    wire_msg_t m;
    n = hello_bytes(p, "gw", 1);
    p[0] = 0xff;
    p[1] = 0xfe;
    CHECK(wire_decode(0, wire_ppid(WIRE_HELLO), p, n, &m) == 0);
    CHECK(m.u.hello.version == 0xfffe);
}

static void test_bad_fixed(void)
{
    uint8_t p[64];

    memset(p, 0x5a, sizeof(p));
    /* AUTH: exactly 32 bytes */
    CHECK(decode_raw(0, WIRE_AUTH, p, 0) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_AUTH, p, 1) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_AUTH, p, 31) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_AUTH, p, 33) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_AUTH, p, 64) == -EBADMSG);
    CHECK(decode_raw(0, WIRE_AUTH, p, 32) == 0);

    /* READY, KEEP, FIN, CLOSE: exactly one zero byte; no more, no less, no other */
    static const wire_type_t bodiless[] = {WIRE_READY, WIRE_KEEP, WIRE_FIN, WIRE_CLOSE};
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
    CHECK(wire_decode(0, wire_ppid(WIRE_AUTH), NULL, 32, &m) == -EBADMSG);
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
        m.type = WIRE_HELLO;
        m.u.hello.flow_window = 1;
        strcpy(m.u.hello.name, bad[i]);
        CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
        memset(&m, 0, sizeof(m));
        m.type = WIRE_OPEN;
        strcpy(m.u.service, bad[i]);
        CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    }
    /* a HELLO granting no window, which the decoder would refuse */
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HELLO;
    strcpy(m.u.hello.name, "name");
    CHECK(wire_encode(&m, buf, sizeof(buf)) == -EINVAL);
    m.u.hello.flow_window = 1;
    CHECK(wire_encode(&m, buf, sizeof(buf)) > 0);

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
            m.u.hello.flow_window = 99;
            strcpy(m.u.hello.name, "name");
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
    m.type = (wire_type_t)6;
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
    wire_msg_t m;
    ssize_t n;
    int fill;

    memset(&m, 0, sizeof(m));
    m.type = t;
    switch (t) {
    case WIRE_HELLO:
        m.u.hello.version = (uint16_t)rnd();
        m.u.hello.flags = (uint16_t)rnd();
        for (int i = 0; i < WIRE_NONCE_LEN; i++)
            m.u.hello.nonce[i] = (uint8_t)rnd();
        m.u.hello.flow_window = rnd() | 1;
        memset(m.u.hello.name, 'g', 1 + rnd() % WIRE_NAME_MAX);
        break;
    case WIRE_AUTH:
        for (int i = 0; i < WIRE_PROOF_LEN; i++)
            m.u.proof[i] = (uint8_t)rnd();
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

            if (t < 1 || t > WIRE_CLOSE || (t > WIRE_KEEP && t < WIRE_OPEN))
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
    CHECK_STR(wire_type_name((wire_type_t)6), "?");
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
    CHECK_STR(wire_code_name(13), "unknown reason");
    CHECK_STR(wire_code_name(255), "unknown reason");
    CHECK_STR(wire_code_name(65535), "unknown reason");
    /* every known code has its own name */
    for (uint16_t a = WIRE_OK; a <= WIRE_E_LOST; a++)
        for (uint16_t b = (uint16_t)(a + 1); b <= WIRE_E_LOST; b++)
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
    test_bad_fixed();
    test_bad_reason();
    test_bad_open();
    test_encode_errors();
    test_brute_force();
    test_names();
    return check_status("wire");
}
