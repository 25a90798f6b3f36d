/* The Noise NNpsk0 handshake and its ChaChaPoly transport cipher (see noise.h). */
#include "noise.h"

#include <string.h>
#include <sodium.h>

/* 36 bytes, longer than HASHLEN, so InitializeSymmetric hashes it. */
static const char protocol_name[] = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";

/* Each handshake message carries one ephemeral key and an encrypted payload:
 * the psk token gives the first message a key already. */
#define MSG_OVERHEAD (NOISE_DH_LEN + NOISE_TAG_LEN)

static void hmac(const uint8_t key[NOISE_HASH_LEN], const uint8_t *a, size_t a_len,
                 const uint8_t *b, size_t b_len, uint8_t out[NOISE_HASH_LEN])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, NOISE_HASH_LEN);
    /* Empty inputs are skipped so that a NULL pointer never reaches libsodium. */
    if (a_len > 0)
        crypto_auth_hmacsha256_update(&st, a, a_len);
    if (b_len > 0)
        crypto_auth_hmacsha256_update(&st, b, b_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void noise_hkdf(const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
                uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN],
                uint8_t out3[NOISE_HASH_LEN])
{
    uint8_t temp_key[NOISE_HASH_LEN], o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN];
    const uint8_t one = 1, two = 2, three = 3;

    /* Outputs go through locals, so out1 may be the chaining key itself. */
    hmac(ck, ikm, ikm_len, NULL, 0, temp_key);
    hmac(temp_key, &one, 1, NULL, 0, o1);
    hmac(temp_key, o1, sizeof(o1), &two, 1, o2);
    if (out3)
        hmac(temp_key, o2, sizeof(o2), &three, 1, out3);
    memcpy(out1, o1, sizeof(o1));
    memcpy(out2, o2, sizeof(o2));
    sodium_memzero(temp_key, sizeof(temp_key));
    sodium_memzero(o1, sizeof(o1));
    sodium_memzero(o2, sizeof(o2));
}

static void make_nonce(uint64_t n, uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES])
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

void noise_encrypt(const uint8_t k[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
                   const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

    make_nonce(n, nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, ad_len, NULL, nonce, k);
}

int noise_decrypt(const uint8_t k[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

    if (len < NOISE_TAG_LEN)
        return -1;
    make_nonce(n, nonce);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, ad_len, nonce, k) !=
        0)
        return -1;
    return 0;
}

void noise_keypair(uint8_t priv[NOISE_DH_LEN], uint8_t pub[NOISE_DH_LEN])
{
    randombytes_buf(priv, NOISE_DH_LEN);
    crypto_scalarmult_curve25519_base(pub, priv);
}

int noise_dh(uint8_t out[NOISE_DH_LEN], const uint8_t priv[NOISE_DH_LEN],
             const uint8_t pub[NOISE_DH_LEN])
{
    /* libsodium refuses (-1) exactly when the shared point is all zeros. */
    return crypto_scalarmult_curve25519(out, priv, pub) == 0 ? 0 : -1;
}

/* The SymmetricState operations of section 5.2. */

/* SHA-256(h || data) into out, which may be h itself. */
static void hash_on(const uint8_t h[NOISE_HASH_LEN], const uint8_t *data, size_t len,
                    uint8_t out[NOISE_HASH_LEN])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, h, NOISE_HASH_LEN);
    if (len > 0)
        crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, out);
}

static void mix_hash(noise_sym_t *ss, const uint8_t *data, size_t len)
{
    hash_on(ss->h, data, len, ss->h);
}

static void mix_key(noise_sym_t *ss, const uint8_t *ikm, size_t len)
{
    noise_hkdf(ss->ck, ikm, len, ss->ck, ss->k, NULL);
    ss->n = 0;
    ss->has_key = 1;
}

static void mix_key_and_hash(noise_sym_t *ss, const uint8_t *ikm, size_t len)
{
    uint8_t temp_h[NOISE_HASH_LEN];

    noise_hkdf(ss->ck, ikm, len, ss->ck, temp_h, ss->k);
    mix_hash(ss, temp_h, sizeof(temp_h));
    ss->n = 0;
    ss->has_key = 1;
    sodium_memzero(temp_h, sizeof(temp_h));
}

/* Both handshake messages are sent after MixKey, so the payload is always
 * encrypted; out gets len + NOISE_TAG_LEN bytes. */
static void encrypt_and_hash(noise_sym_t *ss, const uint8_t *in, size_t len, uint8_t *out)
{
    noise_encrypt(ss->k, ss->n, ss->h, sizeof(ss->h), in, len, out);
    ss->n++;
    mix_hash(ss, out, len + NOISE_TAG_LEN);
}

/* h covers the ciphertext as received, hashed before `out` is written, and
 * moves on only once the tag verifies. */
static int decrypt_and_hash(noise_sym_t *ss, const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t h_next[NOISE_HASH_LEN];

    hash_on(ss->h, in, len, h_next);
    if (noise_decrypt(ss->k, ss->n, ss->h, sizeof(ss->h), in, len, out) < 0)
        return -1;
    ss->n++;
    memcpy(ss->h, h_next, sizeof(ss->h));
    return 0;
}

int noise_hs_init(noise_hs_t *hs, int initiator, const uint8_t *prologue, size_t prologue_len,
                  const uint8_t psk[NOISE_KEY_LEN], const uint8_t e_priv[NOISE_DH_LEN])
{
    memset(hs, 0, sizeof(*hs));
    if (sodium_init() < 0)
        return -1;
    hs->initiator = initiator ? 1 : 0;
    memcpy(hs->psk, psk, NOISE_KEY_LEN);
    memcpy(hs->e_priv, e_priv, NOISE_DH_LEN);
    crypto_scalarmult_curve25519_base(hs->e_pub, hs->e_priv);
    crypto_hash_sha256(hs->ss.h, (const uint8_t *)protocol_name, strlen(protocol_name));
    memcpy(hs->ss.ck, hs->ss.h, NOISE_HASH_LEN);
    mix_hash(&hs->ss, prologue, prologue_len);
    return 0;
}

/* The initiator writes message 0 and reads message 1; the responder the other way round. */
static int my_turn_to_write(const noise_hs_t *hs)
{
    return hs->step < 2 && (hs->step == 0) == (hs->initiator == 1);
}

static int my_turn_to_read(const noise_hs_t *hs)
{
    return hs->step < 2 && !my_turn_to_write(hs);
}

/* The key tokens of message `step`, the same for writer and reader once the
 * sender's ephemeral key `e` is known: "psk, e" then "e, ee". The psk
 * pattern makes `e` a MixKey as well (section 9.2). */
static void mix_tokens(noise_hs_t *hs, const uint8_t e[NOISE_DH_LEN], int *low_order)
{
    uint8_t dh[NOISE_DH_LEN];

    *low_order = 0;
    if (hs->step == 0)
        mix_key_and_hash(&hs->ss, hs->psk, sizeof(hs->psk));
    mix_hash(&hs->ss, e, NOISE_DH_LEN);
    mix_key(&hs->ss, e, NOISE_DH_LEN);
    if (hs->step == 1) {
        /* X25519 refuses a low-order point. The secret is then all zeros,
         * as the peer's own would be: a reply forged without the key still
         * fails its tag (and is said to), and only one made with the key
         * is told as a low-order key. */
        if (noise_dh(dh, hs->e_priv, hs->re) < 0) {
            memset(dh, 0, sizeof(dh));
            *low_order = 1;
        }
        mix_key(&hs->ss, dh, sizeof(dh));
        sodium_memzero(dh, sizeof(dh));
    }
}

/* Write and read work on a copy that replaces the state only on success, so
 * a refused message leaves the handshake as it was. */
ssize_t noise_hs_write(noise_hs_t *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                       size_t cap)
{
    noise_hs_t next;
    ssize_t rc = NOISE_E_DH;
    int low_order;

    if (!my_turn_to_write(hs) || payload_len > NOISE_MSG_MAX - MSG_OVERHEAD ||
        payload_len + MSG_OVERHEAD > cap)
        return -1;
    next = *hs;
    mix_tokens(&next, next.e_pub, &low_order);
    if (!low_order) {
        memcpy(out, next.e_pub, NOISE_DH_LEN);
        encrypt_and_hash(&next.ss, payload, payload_len, out + NOISE_DH_LEN);
        next.step++;
        *hs = next;
        rc = (ssize_t)(payload_len + MSG_OVERHEAD);
    }
    sodium_memzero(&next, sizeof(next));
    return rc;
}

ssize_t noise_hs_read(noise_hs_t *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap)
{
    noise_hs_t next;
    ssize_t rc = -1;
    int low_order;

    if (!my_turn_to_read(hs) || len < MSG_OVERHEAD || len > NOISE_MSG_MAX ||
        len - MSG_OVERHEAD > cap)
        return -1;
    next = *hs;
    memcpy(next.re, msg, NOISE_DH_LEN);
    mix_tokens(&next, next.re, &low_order);
    if (decrypt_and_hash(&next.ss, msg + NOISE_DH_LEN, len - NOISE_DH_LEN, payload) < 0)
        rc = -1;
    else if (low_order)
        rc = NOISE_E_DH;
    else {
        next.step++;
        *hs = next;
        rc = (ssize_t)(len - MSG_OVERHEAD);
    }
    sodium_memzero(&next, sizeof(next));
    return rc;
}

int noise_hs_split(noise_hs_t *hs, noise_keys_t *out)
{
    if (hs->step != 2)
        return -1;
    noise_hkdf(hs->ss.ck, NULL, 0, out->i2r, out->r2i, NULL);
    memcpy(out->ck, hs->ss.ck, sizeof(out->ck));
    memcpy(out->h, hs->ss.h, sizeof(out->h));
    return 0;
}

void noise_hs_clear(noise_hs_t *hs)
{
    sodium_memzero(hs, sizeof(*hs));
}
