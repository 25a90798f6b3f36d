/* Mutual proof of a shared key between two gateways, before any flow.
 *
 *   initiator (connect role)          responder (listen role)
 *   HELLO_i  ------------------------>
 *            <------------------------ HELLO_r, AUTH_r
 *   AUTH_i   ------------------------>
 *            <------------------------ READY
 *
 * Each HELLO carries a fresh 32-byte random nonce. With K derived from the key
 * file and T = SHA-256(HELLO_i || HELLO_r) (the encoded messages, so names,
 * windows and versions are bound too), AUTH_r = HMAC-SHA-256(K, "responder" T)
 * and AUTH_i = HMAC-SHA-256(K, "initiator" T); the labels stop a proof from
 * being reflected back, the nonces from being replayed. The initiator opens
 * flows once READY arrives, which tells it the responder has verified it (a
 * flow message on another stream could otherwise overtake AUTH_i); the
 * responder once it has verified AUTH_i and knows READY arrived (assoc.c:
 * READY acknowledged, or anything else heard from the initiator), for the
 * same reason the other way. Crypto is libsodium's; this module is pure
 * state: messages in, messages out, no I/O.
 */
#ifndef SCTPGW_HANDSHAKE_H
#define SCTPGW_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
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
    uint8_t key[32];               /* K, derived from the key file */
    wire_hello_t mine;             /* our HELLO */
    wire_hello_t peer;             /* the peer's HELLO, once received */
    uint8_t hello_i[WIRE_HDR_MAX]; /* encoded HELLOs, for the transcript */
    size_t hello_i_len;
    uint8_t hello_r[WIRE_HDR_MAX];
    size_t hello_r_len;
} handshake_t;

/* Messages the handshake wants sent on stream 0, in order. */
typedef struct hs_out {
    int n;
    wire_msg_t msg[2];
} hs_out_t;

/* Starts a handshake. The initiator's HELLO is put in `out`. Returns 0 or
 * -1 when the crypto library cannot start. */
int handshake_init(handshake_t *hs, int initiator, const uint8_t *psk, size_t psk_len,
                   const char *name, uint32_t flow_window, hs_out_t *out);

/* Feeds one decoded stream-0 message. Returns 1 when the handshake has just
 * completed, 0 when it goes on, -1 when it failed: then *code and *why say
 * why (for the log and for an ERROR message to the peer). */
int handshake_input(handshake_t *hs, const wire_msg_t *m, hs_out_t *out, uint16_t *code,
                    const char **why);

/* Wipes the key. */
void handshake_clear(handshake_t *hs);

#endif
