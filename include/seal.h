/* Sealing of every message after the handshake, and rekeying without a
 * pause. Pure: keys and bytes in, bytes out, no I/O.
 *
 * A sealed message is ChaCha20-Poly1305 (noise_encrypt) over the message's
 * bytes followed by its type byte, so the type is hidden too:
 *
 *   ciphertext(payload || type) || tag[16]      PPID = WIRE_PPID_SEALED + epoch
 *
 * Keys: one per direction, from the handshake's Split(). Nonce: never sent;
 * n = stream << 48 | counter, where each stream has its own counter per
 * direction that starts at 0 and only grows, through every flow the stream
 * carries and every rekey. SCTP keeps a stream's messages in order, so the
 * receiver knows the next counter of each stream: a replayed, skipped or
 * reordered message uses another nonce and fails to open, as does one
 * moved to another stream. The associated data is the stream and the PPID.
 * The stream sits in the nonce's top 16 bits, so no two streams share a
 * nonce; a counter would need 2^48 messages on one stream to reach them.
 *
 * Rekey (epoch e to e+1), started by the association's initiator every
 * rekey_s seconds or after SEAL_REKEY_BYTES sealed or opened, all on
 * stream 0 and sealed:
 *   initiator  REKEY(E_i) ->            responder derives the new keys,
 *                                       will open e+1 from now on
 *              <- REKEY(E_r)            (still sealing under e)
 *   initiator derives, seals under e+1 from now on:
 *              SWITCH(n_i) ->           n_i: messages it sealed under e
 *   responder seals under e+1:
 *              <- SWITCH(n_r)
 * The new keys: ck', k_i2r', k_r2i' = HKDF(ck, DH(E_i, E_r), 3), the
 * chaining of the handshake's final key with a fresh exchange, so one
 * compromised traffic key opens neither earlier nor later traffic. Messages
 * of other streams sealed under e may still arrive after SWITCH (SCTP orders
 * streams separately): the receiver keeps the old key until it has opened
 * all n of them, then wipes it. No flow waits: each side seals under the
 * old key until it switches.
 */
#ifndef SCTPGW_SEAL_H
#define SCTPGW_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include "noise.h"
#include "wire.h"

#define SEAL_OVERHEAD    (1 + NOISE_TAG_LEN) /* == WIRE_SEAL_MAX */
#define SEAL_REKEY_BYTES (64ull << 30)       /* traffic under one key pair */

/* Why a message failed to open. */
typedef enum {
    SEAL_OK = 0,
    SEAL_E_SHORT,  /* shorter than the overhead */
    SEAL_E_STREAM, /* a stream beyond the association's */
    SEAL_E_EPOCH,  /* keys not (or no longer) held */
    SEAL_E_TAG,    /* forged, corrupted, replayed, reordered or misplaced */
    SEAL_E_REKEY,  /* a REKEY or SWITCH out of turn, or a low-order key */
} seal_err_t;

/* One receive key: the current one, or the old one while its last
 * messages are still under way, or the next one during a rekey. */
typedef struct seal_rx {
    uint8_t key[NOISE_KEY_LEN];
    uint32_t epoch;
    int live;
    uint64_t opened; /* messages opened with it */
    uint64_t last;   /* how many the peer sealed with it, once known */
    int last_known;
} seal_rx_t;

typedef enum {
    SEAL_IDLE,     /* one key each way */
    SEAL_OFFERED,  /* initiator: sent REKEY, waits for the answer */
    SEAL_ANSWERED, /* responder: answered, waits for SWITCH */
    SEAL_SWITCHED, /* initiator: switched, waits for the responder's SWITCH */
} seal_phase_t;

typedef struct seal {
    int initiator;
    unsigned nstreams; /* counters held for streams 0..nstreams-1 */
    uint64_t *tx_ctr;  /* next counter per stream, each way */
    uint64_t *rx_ctr;
    uint8_t tx_key[NOISE_KEY_LEN];
    uint32_t tx_epoch;
    uint64_t tx_sealed; /* messages sealed with tx_key */
    uint8_t tx_next[NOISE_KEY_LEN];
    seal_rx_t rx[2];    /* by epoch parity */
    uint32_t rx_newest; /* the newest receive key's epoch */
    uint32_t rx_last;   /* the epoch of the last message opened */
    uint8_t ck[NOISE_HASH_LEN];
    seal_phase_t phase;
    uint8_t e_priv[NOISE_DH_LEN]; /* our rekey ephemeral, while in use */
    uint8_t offer[WIRE_KEY_LEN];  /* responder: an offer that must wait */
    int offer_waits;
    uint64_t bytes;    /* sealed and opened since the last rekey */
    uint64_t rekey_at; /* bytes that make a rekey due */
    uint64_t rekeys;   /* completed, for logs */
} seal_t;

/* Takes the handshake's keys (wiped by the caller afterwards); counters for
 * stream 0 only. Returns 0 or -ENOMEM. */
int seal_init(seal_t *s, int initiator, const noise_keys_t *k, uint64_t rekey_bytes);

/* Holds counters for `n` streams (kept: the counters already in use). */
int seal_streams(seal_t *s, unsigned n);

/* Wipes every key and frees the counters. */
void seal_free(seal_t *s);

/* Seals the `len` bytes at buf, which has SEAL_OVERHEAD bytes of room
 * after them, as a message of `type` on stream sid. Returns the new length
 * and the PPID to send it with; 0 when sid is beyond the counters. */
size_t seal_msg(seal_t *s, uint16_t sid, wire_type_t type, uint8_t *buf, size_t len,
                uint32_t *ppid);

/* Opens a message in place. On success returns SEAL_OK with its type and
 * payload length; otherwise nothing is consumed and the association must go. */
seal_err_t seal_open(seal_t *s, uint16_t sid, uint32_t ppid, uint8_t *buf, size_t len,
                     wire_type_t *type, size_t *plen);

/* Whether a PPID is a sealed message's. */
int seal_is_sealed(uint32_t ppid);

/* Initiator: starts a rekey when none is under way and the old receive
 * key is gone. Returns 1 with the REKEY to send, 0 when not now. */
int seal_rekey_start(seal_t *s, wire_msg_t *out);

/* Whether the traffic bound calls for a rekey (initiator). */
int seal_rekey_due(const seal_t *s);

/* Takes an opened REKEY or SWITCH. Returns 1 with a message to send, 0
 * with none, or -1 (SEAL_E_REKEY: out of turn, or a bad key). An offer
 * that must wait (seal_pending) has its key checked at once. */
int seal_on_control(seal_t *s, const wire_msg_t *m, wire_msg_t *out);

/* Responder: an offer that had to wait for the old key to go, now
 * answerable. Returns 1 with the REKEY to send, else 0. */
int seal_pending(seal_t *s, wire_msg_t *out);

/* Whether the peer's old receive key is still held after its SWITCH, for
 * the messages it said it sealed with it: 1 with how many it announced and
 * how many have been opened, else 0. */
int seal_old_waits(const seal_t *s, uint64_t *announced, uint64_t *opened);

/* Short texts for logs. */
const char *seal_err_name(seal_err_t e);

#endif
