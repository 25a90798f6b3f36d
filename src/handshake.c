/* The gateways' handshake (see handshake.h). */
#include "handshake.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

static const char psk_label[] = "sctpgw noise psk v3";
static const char auth_label[] = "sctpgw sctp-auth v3";
static const char prologue_label[] = "sctpgw";

/* Said only of a message made with the key (noise.h): that peer is broken. */
static const char low_order[] = "the peer's ephemeral key is a low-order point";

static int fail(handshake_t *hs, uint16_t *code, const char **why, uint16_t c, const char *w)
{
    hs->state = HS_FAILED;
    *code = c;
    *why = w;
    return -1;
}

/* HKDF-Extract(salt = label, IKM = the key file): HMAC-SHA-256. */
static void extract(const char *label, const uint8_t *psk, size_t psk_len, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, (const uint8_t *)label, strlen(label));
    crypto_auth_hmacsha256_update(&st, psk, psk_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void handshake_auth_key(const uint8_t *psk, size_t psk_len, uint8_t out[32])
{
    extract(auth_label, psk, psk_len, out);
}

/* "sctpgw" || version || flags of HELLO_i, as sent in clear. */
static size_t prologue(uint16_t version, uint16_t flags, uint8_t *buf)
{
    size_t n = sizeof(prologue_label) - 1;

    memcpy(buf, prologue_label, n);
    buf[n] = (uint8_t)(version >> 8);
    buf[n + 1] = (uint8_t)version;
    buf[n + 2] = (uint8_t)(flags >> 8);
    buf[n + 3] = (uint8_t)flags;
    return n + 4;
}

static int noise_start(handshake_t *hs, uint16_t version, uint16_t flags)
{
    uint8_t pro[sizeof(prologue_label) + 4], e[NOISE_DH_LEN], pub[NOISE_DH_LEN];
    int r;

    noise_keypair(e, pub);
    r = noise_hs_init(&hs->noise, hs->initiator, pro, prologue(version, flags, pro), hs->psk, e);
    sodium_memzero(e, sizeof(e));
    return r;
}

/* Writes our Noise message with our wire_peer_t as payload into an HELLO. */
/* Returns 0, -1, or NOISE_E_DH (the peer's ephemeral key is unusable). */
static int write_hello(handshake_t *hs, hs_out_t *out)
{
    uint8_t payload[WIRE_PEER_MAX];
    ssize_t plen = wire_peer_encode(&hs->mine, payload, sizeof(payload));
    ssize_t n;

    if (plen < 0)
        return -1;
    n = noise_hs_write(&hs->noise, payload, (size_t)plen, hs->out_noise, sizeof(hs->out_noise));
    if (n <= 0)
        return n == NOISE_E_DH ? NOISE_E_DH : -1;
    out->msg[out->n++] = (wire_msg_t){.type = WIRE_HELLO,
                                      .u.hello = {.version = hs->mine.version,
                                                  .flags = hs->mine.flags,
                                                  .noise = hs->out_noise,
                                                  .noise_len = (size_t)n}};
    return 0;
}

int handshake_init(handshake_t *hs, int initiator, const uint8_t *psk, size_t psk_len,
                   const char *name, uint32_t flow_window, uint16_t flags, hs_out_t *out)
{
    memset(hs, 0, sizeof(*hs));
    out->n = 0;
    if (sodium_init() < 0 || !wire_name_valid(name) || flow_window == 0)
        return -1;
    hs->initiator = initiator;
    hs->state = HS_WAIT_HELLO;
    extract(psk_label, psk, psk_len, hs->psk);
    hs->mine.version = WIRE_VERSION;
    hs->mine.flags = flags;
    hs->mine.flow_window = flow_window;
    strcpy(hs->mine.name, name);
    if (!initiator)
        return 0;
    if (noise_start(hs, WIRE_VERSION, flags) < 0 || write_hello(hs, out) < 0)
        return -1;
    return 0;
}

/* The clear fields of a HELLO: versions first, so an older peer hears why.
 * Worded for both ends: the peer logs it after "peer gave up". */
static int check_clear(handshake_t *hs, const wire_hello_t *h, uint16_t *code, const char **why)
{
    if (h->version != WIRE_VERSION)
        return fail(hs, code, why, WIRE_E_VERSION, "the peer speaks another protocol version");
    if ((h->flags & WIRE_F_SEALED) != (hs->mine.flags & WIRE_F_SEALED))
        return fail(hs, code, why, WIRE_E_MISMATCH,
                    hs->mine.flags & WIRE_F_SEALED
                        ? "encryption mismatch: the end that gave up has encryption = on, "
                          "the other off"
                        : "encryption mismatch: the end that gave up has encryption = off, "
                          "the other on");
    return 0;
}

/* Opens the peer's Noise message and checks what it says of itself. */
static int read_hello(handshake_t *hs, const wire_hello_t *h, uint16_t *code, const char **why)
{
    uint8_t payload[WIRE_NOISE_MAX];
    ssize_t n = noise_hs_read(&hs->noise, h->noise, h->noise_len, payload, sizeof(payload));

    if (n == NOISE_E_DH)
        return fail(hs, code, why, WIRE_E_AUTH, low_order);
    if (n < 0)
        return fail(hs, code, why, WIRE_E_AUTH,
                    "the peer's handshake does not open with our key (a different psk_file, or "
                    "its HELLO was changed in flight)");
    if (wire_peer_decode(payload, (size_t)n, &hs->peer) < 0)
        return fail(hs, code, why, WIRE_E_PROTOCOL, "malformed handshake payload");
    if (hs->peer.version != h->version || hs->peer.flags != h->flags)
        return fail(hs, code, why, WIRE_E_AUTH, "the peer's HELLO was changed in flight");
    return 0;
}

static int keys_take(handshake_t *hs, uint16_t *code, const char **why)
{
    if (noise_hs_split(&hs->noise, &hs->keys) < 0)
        return fail(hs, code, why, WIRE_E_INTERNAL, "handshake keys unavailable");
    noise_hs_clear(&hs->noise);
    hs->keys_ready = 1;
    return 0;
}

/* Which message came, and which one the handshake waited for. */
static const char *unexpected(handshake_t *hs, wire_type_t type)
{
    static const char *const awaited[] = {
        [HS_WAIT_HELLO] = "the peer's HELLO",   [HS_WAIT_AUTH] = "the peer's AUTH",
        [HS_WAIT_READY] = "the peer's READY",   [HS_DONE] = "nothing: it was over",
        [HS_FAILED] = "nothing: it had failed",
    };

    snprintf(hs->why, sizeof(hs->why), "unexpected %s during the handshake (waiting for %s)",
             wire_type_name(type), awaited[hs->state]);
    return hs->why;
}

static int on_hello(handshake_t *hs, const wire_hello_t *h, hs_out_t *out, uint16_t *code,
                    const char **why)
{
    int r;

    if (check_clear(hs, h, code, why) < 0)
        return -1;
    if (!hs->initiator && noise_start(hs, h->version, h->flags) < 0)
        return fail(hs, code, why, WIRE_E_INTERNAL, "cannot start the handshake");
    if (read_hello(hs, h, code, why) < 0)
        return -1;
    if (!hs->initiator && (r = write_hello(hs, out)) < 0)
        return r == NOISE_E_DH ? fail(hs, code, why, WIRE_E_AUTH, low_order)
                               : fail(hs, code, why, WIRE_E_INTERNAL, "cannot write the handshake");
    if (keys_take(hs, code, why) < 0)
        return -1;
    if (hs->initiator)
        out->msg[out->n++] = (wire_msg_t){.type = WIRE_AUTH};
    hs->state = hs->initiator ? HS_WAIT_READY : HS_WAIT_AUTH;
    return 0;
}

int handshake_input(handshake_t *hs, const wire_msg_t *m, hs_out_t *out, uint16_t *code,
                    const char **why)
{
    out->n = 0;
    if (m->type == WIRE_ERROR)
        return fail(hs, code, why, m->u.reason.code ? m->u.reason.code : WIRE_E_PROTOCOL,
                    "the peer gave up the handshake");
    if (hs->state == HS_WAIT_HELLO && m->type == WIRE_HELLO)
        return on_hello(hs, &m->u.hello, out, code, why);
    if (hs->state == HS_WAIT_AUTH && m->type == WIRE_AUTH) {
        out->msg[out->n++] = (wire_msg_t){.type = WIRE_READY};
        hs->state = HS_DONE;
        return 1;
    }
    if (hs->state == HS_WAIT_READY && m->type == WIRE_READY) {
        hs->state = HS_DONE;
        return 1;
    }
    return fail(hs, code, why, WIRE_E_PROTOCOL, unexpected(hs, m->type));
}

void handshake_clear(handshake_t *hs)
{
    noise_hs_clear(&hs->noise);
    sodium_memzero(hs->psk, sizeof(hs->psk));
    sodium_memzero(&hs->keys, sizeof(hs->keys));
    hs->keys_ready = 0;
}
