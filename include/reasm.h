/* Reassembly of one SCTP message from the pieces recvmsg returns. A message
 * larger than the buffer handed to recvmsg, or one the kernel delivers
 * partially (its partial delivery API, under receive-buffer pressure), comes
 * in several pieces of which only the last carries MSG_EOR. With classic DATA
 * chunks the pieces of one message are never interleaved with another's.
 * Pure: the caller does the reading. */
#ifndef SCTPGW_REASM_H
#define SCTPGW_REASM_H

#include <stddef.h>
#include <stdint.h>
#include "sctp_sock.h"

typedef struct reasm {
    uint8_t *buf;     /* the message so far */
    size_t cap;       /* its size: the largest message accepted, plus one */
    size_t len;       /* bytes gathered */
    sock_rcv_t first; /* stream, PPID and kind of the first piece */
} reasm_t;

/* Allocates room for messages of up to max bytes. Returns 0 or -ENOMEM. */
int reasm_init(reasm_t *r, size_t max);
void reasm_free(reasm_t *r);

/* Where the next piece goes, and how much room is left there. */
uint8_t *reasm_room(const reasm_t *r, size_t *room);

/* Accounts for n bytes just read there. Returns 1 when a whole message is in
 * buf[0..len) (call reasm_done() after using it), 0 when more pieces are
 * due, -EMSGSIZE when the message is larger than max, -EPROTO when a piece
 * belongs to another stream than the message it should continue. */
int reasm_add(reasm_t *r, size_t n, const sock_rcv_t *info);

/* Forgets the message just handed out. */
void reasm_done(reasm_t *r);

#endif
