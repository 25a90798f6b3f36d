/* Noise NNpsk0: the published test vector byte for byte, then every way a
 * handshake must refuse (wrong psk or prologue, tampering, out of turn, short
 * messages, low-order keys, forged tags). */
#include "noise.h"
#include "check.h"

#include <stdint.h>
#include <string.h>
#include <sodium.h>

/* From the cacophony test vectors: repository haskell-cryptography/cacophony,
 * file vectors/cacophony.txt (commit 8ee9d41e34a1a596cfa3ab12aa4069ff87dc1247),
 * the vector whose protocol_name is "Noise_NNpsk0_25519_ChaChaPoly_SHA256".
 * Messages 0 and 1 are the handshake; from message 2 on they alternate
 * initiator to responder and back, each direction counting n from 0. */
static const char v_prologue[] = "4a6f686e2047616c74";
static const char v_psk[] = "54686973206973206d7920417573747269616e20706572737065637469766521";
static const char v_init_e[] = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char v_resp_e[] = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
static const char v_hash[] = "f4d03dc34495c95729ea6de9e1b59004b59733102488b3e24bc441e0be208eaf";

static const struct {
    const char *payload, *ciphertext;
} v_msgs[] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
     "79b962b8aff8485742ac32f905ba45369e2465fb59e138a93d67a0d1266b6a54"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
     "d6062704d5a9c422a8e834423f8c1feada7e8d0d910a1a2cd030fb584221e3"},
    {"462e20412e20486179656b", "e632c3763d7669067383433197a3baddf146e9e70ad4b4e9e59e0f"},
    {"4361726c204d656e676572", "64c6bee32ea91c8474bb4c21d7a700109ad45af77b29764ba5eb1e"},
    {"4a65616e2d426170746973746520536179",
     "e2fa0bed0603b62d3ccac2ecabbf3fe33f3e86514909b323361626266cb2471cc8"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "0c01dc9cec1fe4ddd692e8dd32188aa351088dc91183639a53b57aa4692b5ebdef8b8ca111"},
};
#define V_NMSGS (sizeof(v_msgs) / sizeof(v_msgs[0]))

typedef struct bytes {
    size_t len;
    uint8_t b[256];
} bytes_t;

static bytes_t unhex(const char *hex)
{
    bytes_t x = {0};

    CHECK(sodium_hex2bin(x.b, sizeof(x.b), hex, strlen(hex), NULL, &x.len, NULL) == 0);
    return x;
}

#define SAME(buf, n, hex)                                                                          \
    do {                                                                                           \
        bytes_t want_ = unhex(hex);                                                                \
        CHECK((size_t)(n) == want_.len && memcmp((buf), want_.b, want_.len) == 0);                 \
    } while (0)

/* Both sides set up from the vector, with a prologue and psk of our choosing
 * for the responder (NULL: the vector's). */
static void setup(noise_hs_t *i, noise_hs_t *r, const char *r_prologue, const char *r_psk)
{
    bytes_t pro = unhex(v_prologue), psk = unhex(v_psk), ie = unhex(v_init_e), re = unhex(v_resp_e);
    bytes_t rpro = unhex(r_prologue ? r_prologue : v_prologue), rpsk = unhex(r_psk ? r_psk : v_psk);

    CHECK(noise_hs_init(i, 1, pro.b, pro.len, psk.b, ie.b) == 0);
    CHECK(noise_hs_init(r, 0, rpro.b, rpro.len, rpsk.b, re.b) == 0);
}

/* One handshake message from `from` to `to`, checked against vector message k. */
static void hs_message(noise_hs_t *from, noise_hs_t *to, size_t k)
{
    bytes_t pl = unhex(v_msgs[k].payload);
    uint8_t msg[256], got[256];
    ssize_t n = noise_hs_write(from, pl.b, pl.len, msg, sizeof(msg));

    CHECK(n == (ssize_t)(pl.len + NOISE_DH_LEN + NOISE_TAG_LEN));
    SAME(msg, n, v_msgs[k].ciphertext);
    n = noise_hs_read(to, msg, n < 0 ? 0 : (size_t)n, got, sizeof(got));
    CHECK(n == (ssize_t)pl.len && memcmp(got, pl.b, pl.len) == 0);
}

/* Transport message k under key `key` and nonce n, as the vector gives it. */
static void transport_message(const uint8_t key[NOISE_KEY_LEN], uint64_t n, size_t k)
{
    bytes_t pl = unhex(v_msgs[k].payload);
    uint8_t ct[256], got[256];

    noise_encrypt(key, n, NULL, 0, pl.b, pl.len, ct);
    SAME(ct, pl.len + NOISE_TAG_LEN, v_msgs[k].ciphertext);
    CHECK(noise_decrypt(key, n, NULL, 0, ct, pl.len + NOISE_TAG_LEN, got) == 0);
    CHECK(memcmp(got, pl.b, pl.len) == 0);
}

static void test_vector(void)
{
    noise_hs_t i, r;
    noise_keys_t ki, kr;
    uint64_t n_i2r = 0, n_r2i = 0;

    setup(&i, &r, NULL, NULL);
    hs_message(&i, &r, 0);
    hs_message(&r, &i, 1);
    CHECK(noise_hs_split(&i, &ki) == 0);
    CHECK(noise_hs_split(&r, &kr) == 0);
    SAME(ki.h, sizeof(ki.h), v_hash);
    CHECK(memcmp(&ki, &kr, sizeof(ki)) == 0);
    for (size_t k = 2; k < V_NMSGS; k++) {
        if (k % 2 == 0)
            transport_message(ki.i2r, n_i2r++, k);
        else
            transport_message(ki.r2i, n_r2i++, k);
    }
    noise_hs_clear(&i);
    noise_hs_clear(&r);
}

/* Writes message 0 of the vector's initiator into msg; returns its length. */
static size_t first_message(noise_hs_t *i, uint8_t *msg, size_t cap)
{
    ssize_t n = noise_hs_write(i, (const uint8_t *)"hi", 2, msg, cap);

    CHECK(n == 2 + NOISE_DH_LEN + NOISE_TAG_LEN);
    return n < 0 ? 0 : (size_t)n;
}

static void test_wrong_psk(void)
{
    noise_hs_t i, r;
    uint8_t msg[128], pl[128];
    size_t n;

    setup(&i, &r, NULL, "00686973206973206d7920417573747269616e20706572737065637469766521");
    n = first_message(&i, msg, sizeof(msg));
    CHECK(noise_hs_read(&r, msg, n, pl, sizeof(pl)) == -1);
    CHECK(r.step == 0);
}

static void test_wrong_prologue(void)
{
    noise_hs_t i, r;
    uint8_t msg[128], pl[128];
    size_t n;

    setup(&i, &r, "4a6f686e2047616c75", NULL);
    n = first_message(&i, msg, sizeof(msg));
    CHECK(noise_hs_read(&r, msg, n, pl, sizeof(pl)) == -1);
}

/* A flipped bit anywhere in message 1 (the key or the payload) is refused,
 * and the refusal leaves the initiator able to take the genuine message. */
static void test_tampered_second(void)
{
    noise_hs_t i, r;
    noise_keys_t ki, kr;
    uint8_t m1[128], m2[128], pl[128];
    size_t n1 = 0, n2 = 0;
    ssize_t n;

    setup(&i, &r, NULL, NULL);
    n1 = first_message(&i, m1, sizeof(m1));
    CHECK(noise_hs_read(&r, m1, n1, pl, sizeof(pl)) == 2);
    n = noise_hs_write(&r, (const uint8_t *)"ok", 2, m2, sizeof(m2));
    CHECK(n == 2 + NOISE_DH_LEN + NOISE_TAG_LEN);
    n2 = n < 0 ? 0 : (size_t)n;
    for (size_t at = 0; at < n2; at += 7) {
        m2[at] ^= 0x10;
        CHECK(noise_hs_read(&i, m2, n2, pl, sizeof(pl)) == -1);
        m2[at] ^= 0x10;
    }
    CHECK(i.step == 1);
    CHECK(noise_hs_read(&i, m2, n2, pl, sizeof(pl)) == 2 && memcmp(pl, "ok", 2) == 0);
    CHECK(noise_hs_split(&i, &ki) == 0 && noise_hs_split(&r, &kr) == 0);
    CHECK(memcmp(&ki, &kr, sizeof(ki)) == 0);
}

static void test_turns_and_lengths(void)
{
    noise_hs_t i, r;
    noise_keys_t k;
    uint8_t m1[128], m2[128], pl[128];
    size_t n1;

    setup(&i, &r, NULL, NULL);
    CHECK(noise_hs_write(&r, NULL, 0, m2, sizeof(m2)) == -1); /* the responder speaks second */
    CHECK(noise_hs_read(&i, m1, 64, pl, sizeof(pl)) == -1);   /* nothing to read yet */
    CHECK(noise_hs_split(&i, &k) == -1);
    CHECK(noise_hs_write(&i, NULL, 0, m1, NOISE_DH_LEN + NOISE_TAG_LEN - 1) == -1); /* no room */
    CHECK(noise_hs_write(&i, pl, NOISE_MSG_MAX, m1, SIZE_MAX) == -1); /* past the Noise maximum */
    n1 = first_message(&i, m1, sizeof(m1));
    CHECK(noise_hs_write(&i, NULL, 0, m1, sizeof(m1)) == -1); /* twice in a row */
    CHECK(noise_hs_read(&r, m1, NOISE_DH_LEN + NOISE_TAG_LEN - 1, pl, sizeof(pl)) == -1);
    CHECK(noise_hs_read(&r, m1, n1, pl, 1) == -1); /* the payload does not fit */
    CHECK(r.step == 0);
    CHECK(noise_hs_read(&r, m1, n1, pl, sizeof(pl)) == 2);
    CHECK(noise_hs_read(&r, m1, n1, pl, sizeof(pl)) == -1); /* a second message 0 */
    CHECK(noise_hs_split(&r, &k) == -1);
    CHECK(noise_hs_write(&r, NULL, 0, m2, sizeof(m2)) == NOISE_DH_LEN + NOISE_TAG_LEN);
    CHECK(noise_hs_write(&r, NULL, 0, m2, sizeof(m2)) == -1); /* the handshake is over */
    CHECK(noise_hs_split(&r, &k) == 0);
    noise_hs_clear(&r);
    CHECK(sodium_is_zero((const uint8_t *)&r, sizeof(r)));
}

/* The reply a responder holding the psk would build with an all-zero
 * ephemeral key, whose ee secret is all zeros too: "e, ee" done by hand from
 * r's state after it read message 0. */
static void forge_zero_reply(const noise_hs_t *r, uint8_t m2[NOISE_DH_LEN + NOISE_TAG_LEN])
{
    uint8_t zero[NOISE_DH_LEN] = {0}, ck[NOISE_HASH_LEN], k[NOISE_KEY_LEN], h[NOISE_HASH_LEN];
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, r->ss.h, sizeof(r->ss.h));
    crypto_hash_sha256_update(&st, zero, sizeof(zero));
    crypto_hash_sha256_final(&st, h);
    noise_hkdf(r->ss.ck, zero, sizeof(zero), ck, k, NULL);
    noise_hkdf(ck, zero, sizeof(zero), ck, k, NULL);
    memcpy(m2, zero, NOISE_DH_LEN);
    noise_encrypt(k, 0, h, sizeof(h), NULL, 0, m2 + NOISE_DH_LEN);
}

/* An all-zero public key (a low-order point) gives an all-zero secret:
 * refused by noise_dh, by a responder whose peer key is such a point, and by
 * an initiator reading a reply built on one: told as such when the reply
 * was made with the key, as a reply that does not open when it was not. */
static void test_low_order(void)
{
    noise_hs_t i, r;
    uint8_t zero[NOISE_DH_LEN] = {0}, priv[NOISE_DH_LEN], pub[NOISE_DH_LEN], out[NOISE_DH_LEN];
    uint8_t m1[128], m2[NOISE_DH_LEN + NOISE_TAG_LEN], pl[128];
    size_t n1;

    noise_keypair(priv, pub);
    CHECK(noise_dh(out, priv, zero) == -1);
    CHECK(noise_dh(out, priv, pub) == 0);
    setup(&i, &r, NULL, NULL);
    n1 = first_message(&i, m1, sizeof(m1));
    CHECK(noise_hs_read(&r, m1, n1, pl, sizeof(pl)) == 2);
    forge_zero_reply(&r, m2);
    m2[sizeof(m2) - 1] ^= 1; /* without the key: its tag fails first */
    CHECK(noise_hs_read(&i, m2, sizeof(m2), pl, sizeof(pl)) == -1);
    m2[sizeof(m2) - 1] ^= 1;
    CHECK(noise_hs_read(&i, m2, sizeof(m2), pl, sizeof(pl)) == NOISE_E_DH);
    CHECK(i.step == 1);
    memset(r.re, 0, sizeof(r.re));
    CHECK(noise_hs_write(&r, NULL, 0, m2, sizeof(m2)) == NOISE_E_DH);
    CHECK(r.step == 1);
}

static void test_forged_tag(void)
{
    uint8_t key[NOISE_KEY_LEN], ct[32 + NOISE_TAG_LEN], pt[32];
    const uint8_t msg[32] = "transport message under test";

    randombytes_buf(key, sizeof(key));
    noise_encrypt(key, 5, NULL, 0, msg, sizeof(msg), ct);
    CHECK(noise_decrypt(key, 5, NULL, 0, ct, sizeof(ct), pt) == 0);
    CHECK(memcmp(pt, msg, sizeof(msg)) == 0);
    CHECK(noise_decrypt(key, 6, NULL, 0, ct, sizeof(ct), pt) == -1); /* another nonce */
    ct[sizeof(ct) - 1] ^= 1;
    CHECK(noise_decrypt(key, 5, NULL, 0, ct, sizeof(ct), pt) == -1);
    CHECK(noise_decrypt(key, 5, NULL, 0, ct, NOISE_TAG_LEN - 1, pt) == -1); /* shorter than a tag */
}

/* Fresh key pairs from noise_keypair complete the handshake too. */
static void test_random_keys(void)
{
    noise_hs_t i, r;
    noise_keys_t ki, kr;
    uint8_t psk[NOISE_KEY_LEN], ie[NOISE_DH_LEN], re[NOISE_DH_LEN], pub[NOISE_DH_LEN];
    uint8_t m1[64], m2[64], pl[64];

    randombytes_buf(psk, sizeof(psk));
    noise_keypair(ie, pub);
    noise_keypair(re, pub);
    CHECK(noise_hs_init(&i, 1, NULL, 0, psk, ie) == 0);
    CHECK(noise_hs_init(&r, 0, NULL, 0, psk, re) == 0);
    CHECK(noise_hs_write(&i, NULL, 0, m1, sizeof(m1)) == 48);
    CHECK(noise_hs_read(&r, m1, 48, pl, sizeof(pl)) == 0);
    CHECK(noise_hs_write(&r, NULL, 0, m2, sizeof(m2)) == 48);
    CHECK(noise_hs_read(&i, m2, 48, pl, sizeof(pl)) == 0);
    CHECK(noise_hs_split(&i, &ki) == 0 && noise_hs_split(&r, &kr) == 0);
    CHECK(memcmp(&ki, &kr, sizeof(ki)) == 0);
    CHECK(memcmp(ki.i2r, ki.r2i, NOISE_KEY_LEN) != 0);
}

int main(void)
{
    CHECK(sodium_init() >= 0);
    test_vector();
    test_wrong_psk();
    test_wrong_prologue();
    test_tampered_second();
    test_turns_and_lengths();
    test_low_order();
    test_forged_tag();
    test_random_keys();
    return check_status("test_noise");
}
