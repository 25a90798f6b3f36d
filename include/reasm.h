/* Reassembly of SCTP messages from the pieces recvmsg returns. A message
 * larger than the buffer handed to recvmsg, or one the kernel delivers
 * partially (its partial delivery API, under receive-buffer pressure), comes
 * in several pieces of which only the last carries MSG_EOR. With I-DATA
 * (RFC 8260) and SCTP_FRAGMENT_INTERLEAVE = 2, pieces of messages of
 * different streams may arrive interleaved, so the pieces are gathered per
 * stream. Pure: the caller does the reading.
 *
 * Every read lands in one buffer; a message that came whole in one read is
 * handed out from there, uncopied (the common case). Only pieces are copied,
 * into a buffer of their stream's own. */
#ifndef SCTPGW_REASM_H
#define SCTPGW_REASM_H

#include <stddef.h>
#include <stdint.h>
#include "sctp_sock.h"

typedef struct reasm_part {
    sock_rcv_t first; /* stream, PPID and kind of the first piece */
    uint8_t *buf;
    size_t len; /* bytes gathered */
    size_t cap; /* of buf; grows up to the reasm's cap */
} reasm_part_t;

typedef struct reasm {
    uint8_t *buf;        /* where every read lands */
    size_t cap;          /* its size: the largest message accepted, plus one */
    reasm_part_t *parts; /* messages of which pieces came, one per stream */
    size_t nparts, parts_cap;
    size_t held, held_max; /* bytes in parts, and their bound */
    /* The whole message handed out by the last reasm_add() that returned 1;
     * the caller may change it in place (opening a sealed message). */
    uint8_t *msg;
    size_t len;
    sock_rcv_t first;
    size_t done_part; /* its index in parts + 1, or 0 if it is in buf */
} reasm_t;

/* Allocates room for messages of up to max bytes, of which at most held_max
 * bytes may sit in unfinished messages at once. Returns 0 or -ENOMEM. */
int reasm_init(reasm_t *r, size_t max, size_t held_max);
void reasm_free(reasm_t *r);

/* Raises the bounds to messages of up to max bytes and held_max bytes of
 * unfinished ones (never lowers them), keeping what is gathered. A message
 * handed out from the read buffer and not yet done is no longer valid.
 * Returns 0 or -ENOMEM (the reasm is then unchanged). */
int reasm_grow(reasm_t *r, size_t max, size_t held_max);

/* Where the next read goes, and how much room there is. */
uint8_t *reasm_room(const reasm_t *r, size_t *room);

/* Accounts for n bytes just read there. Returns 1 when a whole message is in
 * msg[0..len), with its stream in first (call reasm_done() after using it),
 * 0 when more pieces are due, -EMSGSIZE when the message is larger than max,
 * -ENOBUFS when unfinished messages would hold more than held_max bytes,
 * -ENOMEM. After an error the reasm is unusable but for reasm_free(). */
int reasm_add(reasm_t *r, size_t n, const sock_rcv_t *info);

/* Forgets the message just handed out. */
void reasm_done(reasm_t *r);

#endif
