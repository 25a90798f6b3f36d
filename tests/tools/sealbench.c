/* sealbench: what encryption costs the CPU by itself, without sockets or
 * the kernel. Seals COUNT messages of SIZE bytes (default 64 KiB, the
 * largest DATA message) with src/seal.c as the sending gateway does, and
 * opens each as the receiving one does; and, for the kernel's side of
 * encryption = on, HMAC-SHA-256 over 1,452-byte packets, the work SCTP-AUTH
 * does per packet at each end (libsodium's code here, the kernel's in the
 * gateways, so an indication only); and, for comparison, libsodium's
 * AES-256-GCM over the same messages where the CPU has AES-NI. Run it on the
 * host and inside the test bed (tests/vm/run) to see what the emulated CPU
 * costs the crypto.
 *
 * Usage: sealbench [COUNT] [SIZE]
 * Prints one line: key=value, bytes per second as MiB/s and CPU seconds per
 * GiB (thread CPU time, so other load on the machine matters little).
 * Exits 1 when a message fails to open or comes back changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "seal.h"

#define PACKET 1452 /* an SCTP packet's chunks on a 1500-byte path */

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct figures {
    double seal_s, open_s, hmac_s, gcm_s; /* gcm_s < 0: no AES-NI */
} figures_t;

/* Seals and opens every message in place; 0 when each came back intact. */
static int run_seal(seal_t *tx, seal_t *rx, uint8_t *buf, const uint8_t *ref, size_t size,
                    long count, figures_t *f)
{
    for (long i = 0; i < count; i++) {
        uint32_t ppid;
        wire_type_t type;
        size_t plen, n;
        double t0 = cpu_now(), t1, t2;

        n = seal_msg(tx, (uint16_t)(1 + i % 7), WIRE_DATA, buf, size, &ppid);
        t1 = cpu_now();
        if (n != size + SEAL_OVERHEAD ||
            seal_open(rx, (uint16_t)(1 + i % 7), ppid, buf, n, &type, &plen) != SEAL_OK ||
            type != WIRE_DATA || plen != size)
            return -1;
        t2 = cpu_now();
        f->seal_s += t1 - t0;
        f->open_s += t2 - t1;
    }
    return memcmp(buf, ref, size) == 0 ? 0 : -1;
}

/* HMAC-SHA-256 over the bytes cut into packets, as SCTP-AUTH signs them. */
static void run_hmac(const uint8_t *ref, size_t size, long count, figures_t *f)
{
    uint8_t key[crypto_auth_hmacsha256_KEYBYTES], mac[crypto_auth_hmacsha256_BYTES];
    double t0;

    randombytes_buf(key, sizeof(key));
    t0 = cpu_now();
    for (long i = 0; i < count; i++)
        for (size_t off = 0; off < size; off += PACKET)
            crypto_auth_hmacsha256(mac, ref + off, size - off < PACKET ? size - off : PACKET, key);
    f->hmac_s = cpu_now() - t0;
}

/* AES-256-GCM: encrypts and decrypts every message, in place. */
static void run_gcm(uint8_t *buf, size_t size, long count, figures_t *f)
{
    uint8_t key[crypto_aead_aes256gcm_KEYBYTES], nonce[crypto_aead_aes256gcm_NPUBBYTES] = {0};
    double t0;

    f->gcm_s = -1;
    if (!crypto_aead_aes256gcm_is_available())
        return;
    randombytes_buf(key, sizeof(key));
    t0 = cpu_now();
    for (long i = 0; i < count; i++) {
        unsigned long long n;

        nonce[0] = (uint8_t)i;
        crypto_aead_aes256gcm_encrypt(buf, &n, buf, size, NULL, 0, NULL, nonce, key);
        if (crypto_aead_aes256gcm_decrypt(buf, NULL, NULL, buf, n, NULL, 0, nonce, key) != 0) {
            f->gcm_s = -1;
            return;
        }
    }
    f->gcm_s = cpu_now() - t0;
}

static double mib_s(double bytes, double s)
{
    return s > 0 ? bytes / s / 1048576.0 : 0;
}

static double s_gib(double bytes, double s)
{
    return bytes > 0 ? s / (bytes / 1073741824.0) : 0;
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 4096;
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : WIRE_DATA_MAX;
    noise_keys_t keys;
    seal_t tx, rx;
    figures_t f = {0};
    uint8_t *buf, *ref;
    double bytes;

    if (count <= 0 || size == 0 || size > WIRE_DATA_MAX || sodium_init() < 0) {
        fprintf(stderr, "usage: sealbench [COUNT > 0] [SIZE 1..%d]\n", WIRE_DATA_MAX);
        return 2;
    }
    randombytes_buf(&keys, sizeof(keys));
    buf = malloc(size + SEAL_OVERHEAD);
    ref = malloc(size);
    if (!buf || !ref || seal_init(&tx, 1, &keys, 0) < 0 || seal_init(&rx, 0, &keys, 0) < 0 ||
        seal_streams(&tx, 8) < 0 || seal_streams(&rx, 8) < 0) {
        fprintf(stderr, "sealbench: out of memory\n");
        return 1;
    }
    randombytes_buf(ref, size);
    memcpy(buf, ref, size);
    if (run_seal(&tx, &rx, buf, ref, size, count, &f) < 0) {
        fprintf(stderr, "sealbench: a message did not come back intact\n");
        return 1;
    }
    run_hmac(ref, size, count, &f);
    run_gcm(buf, size, count, &f);
    bytes = (double)count * (double)size;
    printf("sealbench: msgs=%ld size=%zu seal_mib_s=%.1f open_mib_s=%.1f "
           "seal_open_cpu_s_gib=%.2f hmac_mib_s=%.1f hmac_cpu_s_gib=%.2f",
           count, size, mib_s(bytes, f.seal_s), mib_s(bytes, f.open_s),
           s_gib(bytes, f.seal_s + f.open_s), mib_s(bytes, f.hmac_s), s_gib(bytes, f.hmac_s));
    if (f.gcm_s >= 0)
        printf(" aes256gcm_cpu_s_gib=%.2f\n", s_gib(bytes, f.gcm_s));
    else
        printf(" aes256gcm_cpu_s_gib=n/a\n");
    seal_free(&tx);
    seal_free(&rx);
    free(buf);
    free(ref);
    return 0;
}
