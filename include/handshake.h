/* The gateways' handshake: mutual proof of the shared key and fresh keys
 * for the association, before any flow. Noise NNpsk0 (noise.h) carried in
 * the HELLOs, then one sealed message each way:
 *
 *   initiator (connect role)          responder (listen role)
 *   HELLO_i  ------------------------>       -> psk, e   + payload
 *            <------------------------ HELLO_r  <- e, ee + payload
 *   AUTH     ------------------------>  (sealed under the new keys)
 *            <------------------------ READY (sealed)
 *
 * Each HELLO is `version | flags | Noise message`; each payload a
 * wire_peer_t (version, flags, flow window, name), so names and windows are
 * encrypted (HELLO_i's under the key file alone: it has no forward secrecy,
 * noise.h). The prologue is "sctpgw" and HELLO_i's clear version and flags,
 * so a change to them in flight (a downgrade to `encryption = off`, say)
 * makes HELLO_i fail to open; the responder repeats its own inside its
 * payload for the initiator to compare. The Noise psk is HKDF-Extract of
 * the key file with its own label; SCTP-AUTH gets another (handshake_auth_key).
 *
 * HELLO_i proves the key to the responder but can be replayed; only AUTH,
 * sealed with a key that needs the initiator's ephemeral secret, shows a
 * live peer, so the responder opens no flow and no back end before it. The
 * initiator knows the responder once HELLO_r opens, and opens flows once
 * READY arrives, which tells it the responder has verified it (a flow
 * message on another stream could otherwise overtake AUTH); the responder
 * once it knows READY arrived (assoc.c: READY acknowledged, or anything else
 * heard from the initiator), for the same reason the other way. The module
 * is pure state: messages in, messages out, no I/O; assoc.c seals and opens.
 */
#ifndef SCTPGW_HANDSHAKE_H
#define SCTPGW_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include "noise.h"
#include "wire.h"

typedef enum {
    HS_WAIT_HELLO, /* waiting for the peer's HELLO */
    HS_WAIT_AUTH,  /* waiting for the peer's proof */
    HS_WAIT_READY, /* initiator: proof sent, waiting for READY */
    HS_DONE,       /* both sides proven: flows may open */
    HS_FAILED,     /* gave up; the association must go */
} hs_state_t;

typedef struct handshake {
    int initiator; /* 1 on the connecting side */
    hs_state_t state;
    noise_hs_t noise;
    uint8_t psk[NOISE_KEY_LEN];        /* for the Noise handshake */
    wire_peer_t mine;                  /* what we say of ourselves */
    wire_peer_t peer;                  /* what the peer said, once known */
    uint8_t out_noise[WIRE_NOISE_MAX]; /* our Noise message, for hs_out */
    int keys_ready;                    /* keys holds the new keys: seal from now on */
    noise_keys_t keys;                 /* taken (and wiped) by the caller */
    char why[80];                      /* a failure's reason, when it has details */
} handshake_t;

/* Messages the handshake wants sent on stream 0, in order. */
typedef struct hs_out {
    int n;
    wire_msg_t msg[2];
} hs_out_t;

/* Starts a handshake with `flags` (WIRE_F_*) as configured. The initiator's
 * HELLO is put in `out` (its noise bytes point into hs). Returns 0 or -1
 * when the crypto library cannot start. */
int handshake_init(handshake_t *hs, int initiator, const uint8_t *psk, size_t psk_len,
                   const char *name, uint32_t flow_window, uint16_t flags, hs_out_t *out);

/* Feeds one decoded stream-0 message (AUTH and READY only once opened by
 * the caller with the keys this handshake gave). Returns 1 when the
 * handshake has just completed, 0 when it goes on, -1 when it failed: then
 * *code and *why say why (for the log and for an ERROR message to the peer).
 * When keys_ready turns 1 the caller takes the keys and seals every message
 * it sends from then on but HELLO and ERROR. */
int handshake_input(handshake_t *hs, const wire_msg_t *m, hs_out_t *out, uint16_t *code,
                    const char **why);

/* Wipes every secret. */
void handshake_clear(handshake_t *hs);

/* The SCTP-AUTH endpoint key: HKDF-Extract of the key file under its own
 * label, so it says nothing of the Noise psk. */
void handshake_auth_key(const uint8_t *psk, size_t psk_len, uint8_t out[32]);

#endif
