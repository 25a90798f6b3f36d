/* The gateways' mutual key proof (see handshake.h). */
#include "handshake.h"

#include <string.h>
#include <sodium.h>

static const char kdf_label[] = "sctpgw key v1";

static int fail(handshake_t *hs, uint16_t *code, const char **why, uint16_t c, const char *w)
{
    hs->state = HS_FAILED;
    *code = c;
    *why = w;
    return -1;
}

static void derive_key(handshake_t *hs, const uint8_t *psk, size_t psk_len)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, sizeof(hs->key));
    crypto_generichash_update(&st, (const uint8_t *)kdf_label, sizeof(kdf_label));
    crypto_generichash_update(&st, psk, psk_len);
    crypto_generichash_final(&st, hs->key, sizeof(hs->key));
}

/* proof = HMAC-SHA-256(K, label || SHA-256(HELLO_i || HELLO_r)) */
static void make_proof(const handshake_t *hs, int of_initiator, uint8_t proof[WIRE_PROOF_LEN])
{
    const char *label = of_initiator ? "initiator" : "responder";
    uint8_t transcript[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state h;
    crypto_auth_hmacsha256_state mac;

    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, hs->hello_i, hs->hello_i_len);
    crypto_hash_sha256_update(&h, hs->hello_r, hs->hello_r_len);
    crypto_hash_sha256_final(&h, transcript);
    crypto_auth_hmacsha256_init(&mac, hs->key, sizeof(hs->key));
    crypto_auth_hmacsha256_update(&mac, (const uint8_t *)label, strlen(label));
    crypto_auth_hmacsha256_update(&mac, transcript, sizeof(transcript));
    crypto_auth_hmacsha256_final(&mac, proof);
}

static void out_push(hs_out_t *out, const wire_msg_t *m)
{
    out->msg[out->n++] = *m;
}

static void encode_hello(const wire_hello_t *h, uint8_t *buf, size_t *len)
{
    wire_msg_t m = {.type = WIRE_HELLO, .u.hello = *h};
    ssize_t n = wire_encode(&m, buf, WIRE_HDR_MAX);

    *len = n > 0 ? (size_t)n : 0;
}

int handshake_init(handshake_t *hs, int initiator, const uint8_t *psk, size_t psk_len,
                   const char *name, uint32_t flow_window, hs_out_t *out)
{
    wire_msg_t m = {.type = WIRE_HELLO};

    memset(hs, 0, sizeof(*hs));
    out->n = 0;
    if (sodium_init() < 0 || !wire_name_valid(name))
        return -1;
    hs->initiator = initiator;
    hs->state = HS_WAIT_HELLO;
    derive_key(hs, psk, psk_len);
    hs->mine.version = WIRE_VERSION;
    hs->mine.flow_window = flow_window;
    randombytes_buf(hs->mine.nonce, sizeof(hs->mine.nonce));
    strcpy(hs->mine.name, name);
    if (initiator) {
        encode_hello(&hs->mine, hs->hello_i, &hs->hello_i_len);
        m.u.hello = hs->mine;
        out_push(out, &m);
    }
    return 0;
}

/* Both sides check the peer's HELLO the same way. */
static int take_hello(handshake_t *hs, const wire_hello_t *h, uint16_t *code, const char **why)
{
    if (h->version != WIRE_VERSION)
        return fail(hs, code, why, WIRE_E_VERSION, "the peer speaks another protocol version");
    if (sodium_memcmp(h->nonce, hs->mine.nonce, WIRE_NONCE_LEN) == 0)
        return fail(hs, code, why, WIRE_E_AUTH, "the peer echoed our own nonce");
    hs->peer = *h;
    if (hs->initiator) {
        encode_hello(h, hs->hello_r, &hs->hello_r_len);
    } else {
        encode_hello(h, hs->hello_i, &hs->hello_i_len);
        encode_hello(&hs->mine, hs->hello_r, &hs->hello_r_len);
    }
    return 0;
}

static int on_hello(handshake_t *hs, const wire_msg_t *m, hs_out_t *out, uint16_t *code,
                    const char **why)
{
    wire_msg_t reply;

    if (take_hello(hs, &m->u.hello, code, why) < 0)
        return -1;
    hs->state = HS_WAIT_AUTH;
    if (!hs->initiator) {
        reply = (wire_msg_t){.type = WIRE_HELLO, .u.hello = hs->mine};
        out_push(out, &reply);
        reply = (wire_msg_t){.type = WIRE_AUTH};
        make_proof(hs, 0, reply.u.proof);
        out_push(out, &reply);
    }
    return 0;
}

static int on_auth(handshake_t *hs, const wire_msg_t *m, hs_out_t *out, uint16_t *code,
                   const char **why)
{
    uint8_t want[WIRE_PROOF_LEN];
    wire_msg_t reply;

    make_proof(hs, !hs->initiator, want);
    if (crypto_verify_32(want, m->u.proof) != 0)
        return fail(hs, code, why, WIRE_E_AUTH,
                    "the peer's proof does not match our key (different psk_file?)");
    if (hs->initiator) {
        reply = (wire_msg_t){.type = WIRE_AUTH};
        make_proof(hs, 1, reply.u.proof);
        out_push(out, &reply);
        hs->state = HS_WAIT_READY;
        return 0;
    }
    reply = (wire_msg_t){.type = WIRE_READY};
    out_push(out, &reply);
    hs->state = HS_DONE;
    return 1;
}

int handshake_input(handshake_t *hs, const wire_msg_t *m, hs_out_t *out, uint16_t *code,
                    const char **why)
{
    out->n = 0;
    if (m->type == WIRE_ERROR)
        return fail(hs, code, why, m->u.reason.code ? m->u.reason.code : WIRE_E_PROTOCOL,
                    "the peer gave up the handshake");
    if (hs->state == HS_WAIT_HELLO && m->type == WIRE_HELLO)
        return on_hello(hs, m, out, code, why);
    if (hs->state == HS_WAIT_AUTH && m->type == WIRE_AUTH)
        return on_auth(hs, m, out, code, why);
    if (hs->state == HS_WAIT_READY && m->type == WIRE_READY) {
        hs->state = HS_DONE;
        return 1;
    }
    return fail(hs, code, why, WIRE_E_PROTOCOL, "unexpected message during the handshake");
}

void handshake_clear(handshake_t *hs)
{
    sodium_memzero(hs->key, sizeof(hs->key));
}
