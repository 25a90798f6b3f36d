/* The Noise protocol framework (revision 34), as much of it as sctpgw uses:
 * the handshake pattern NNpsk0 with 25519, ChaChaPoly and SHA256, built only
 * from libsodium's primitives (crypto_scalarmult_curve25519,
 * crypto_aead_chacha20poly1305_ietf, crypto_hash_sha256 and
 * crypto_auth_hmacsha256 for HKDF). Pure: keys and bytes in, bytes out; the
 * ephemeral private key is given by the caller (fresh random ones in the
 * gateway, fixed ones in the test of the published vectors).
 *
 *   NNpsk0:
 *     -> psk, e
 *     <- e, ee
 *
 * Why NNpsk0: both gateways hold one shared key file and no long-term key
 * pairs, so the pre-shared key is the only identity (NN with psk); psk0 mixes
 * it in before the first message, so the initiator's first payload already
 * proves the key to the responder and a peer without it learns nothing; the
 * ee exchange gives every association fresh keys, so a key file stolen later
 * does not open recorded traffic (forward secrecy) from the second message
 * on. The first message's payload is sealed under the psk and the public e
 * alone: a stolen key file opens a recorded one (in sctpgw: the dialling
 * gateway's name, window and flags, no flow byte). The first message can be
 * replayed; the responder trusts the initiator only once a transport
 * message under the new keys arrives (handshake.h).
 */
#ifndef SCTPGW_NOISE_H
#define SCTPGW_NOISE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NOISE_KEY_LEN  32 /* cipher keys, chaining keys, psk */
#define NOISE_HASH_LEN 32 /* SHA-256 */
#define NOISE_DH_LEN   32 /* X25519 public and private keys */
#define NOISE_TAG_LEN  16 /* Poly1305 */
#define NOISE_MSG_MAX  65535

/* SymmetricState (section 5.2) with its CipherState. */
typedef struct noise_sym {
    uint8_t k[NOISE_KEY_LEN];
    uint64_t n;
    int has_key;
    uint8_t ck[NOISE_HASH_LEN];
    uint8_t h[NOISE_HASH_LEN];
} noise_sym_t;

/* HandshakeState (section 5.3) for NNpsk0. */
typedef struct noise_hs {
    int initiator;
    int step; /* messages written or read so far: 0, 1, 2 */
    noise_sym_t ss;
    uint8_t psk[NOISE_KEY_LEN];
    uint8_t e_priv[NOISE_DH_LEN];
    uint8_t e_pub[NOISE_DH_LEN];
    uint8_t re[NOISE_DH_LEN]; /* the peer's ephemeral public key */
} noise_hs_t;

/* What Split() and the handshake hand on to the transport. */
typedef struct noise_keys {
    uint8_t i2r[NOISE_KEY_LEN]; /* initiator to responder */
    uint8_t r2i[NOISE_KEY_LEN]; /* responder to initiator */
    uint8_t ck[NOISE_HASH_LEN]; /* the final chaining key (for rekeying) */
    uint8_t h[NOISE_HASH_LEN];  /* the handshake hash */
} noise_keys_t;

/* Initialize(): protocol name, prologue, psk, our ephemeral private key (its
 * public key is computed here). Returns 0, or -1 when libsodium cannot start. */
int noise_hs_init(noise_hs_t *hs, int initiator, const uint8_t *prologue, size_t prologue_len,
                  const uint8_t psk[NOISE_KEY_LEN], const uint8_t e_priv[NOISE_DH_LEN]);

/* What write and read return when the peer's ephemeral key is a low-order
 * point: their DH result would be all zeros, which X25519 refuses. Read
 * says so only of a message that authenticates (made with the key); one
 * forged without it fails as any other, -1. */
#define NOISE_E_DH (-2)

/* WriteMessage(): the next handshake message of our side, its payload
 * encrypted, into out. Returns its length, -1 (not our turn, no room) or
 * NOISE_E_DH. */
ssize_t noise_hs_write(noise_hs_t *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                       size_t cap);

/* ReadMessage(): the peer's next handshake message; its payload goes to
 * `payload`. Returns the payload length, -1 (not its turn, too short, a
 * payload that fails to decrypt: a different psk or prologue, tampering)
 * or NOISE_E_DH. */
ssize_t noise_hs_read(noise_hs_t *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap);

/* Split() after both messages: the transport keys, the chaining key and the
 * handshake hash. Returns 0, or -1 when the handshake is not complete. */
int noise_hs_split(noise_hs_t *hs, noise_keys_t *out);

/* Wipes every secret of the handshake. */
void noise_hs_clear(noise_hs_t *hs);

/* ENCRYPT(k, n, ad, plaintext) of ChaChaPoly: 96-bit nonce of 32 zero bits
 * and n little-endian; out gets len + NOISE_TAG_LEN bytes (may equal in). */
void noise_encrypt(const uint8_t k[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
                   const uint8_t *in, size_t len, uint8_t *out);

/* DECRYPT(): 0 and len - NOISE_TAG_LEN bytes in out, or -1 when the tag
 * does not verify (out then holds nothing of use). */
int noise_decrypt(const uint8_t k[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t len, uint8_t *out);

/* HKDF(chaining_key, input_key_material, num_outputs) with HMAC-SHA256;
 * out3 may be NULL for two outputs. */
void noise_hkdf(const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
                uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN],
                uint8_t out3[NOISE_HASH_LEN]);

/* A fresh X25519 key pair from libsodium's random source. */
void noise_keypair(uint8_t priv[NOISE_DH_LEN], uint8_t pub[NOISE_DH_LEN]);

/* DH(): 0, or -1 when the result is all zeros (a low-order public key). */
int noise_dh(uint8_t out[NOISE_DH_LEN], const uint8_t priv[NOISE_DH_LEN],
             const uint8_t pub[NOISE_DH_LEN]);

#endif
