/* The wire protocol between two gateways, and its pure codec.
 *
 * Every message is one SCTP user message. Its type rides in the PPID
 * (WIRE_PPID_BASE + type, network order on the socket); integers in the
 * payload are big-endian. Stream 0 carries the control messages of the
 * handshake; every other stream carries at most one flow at a time, and all
 * of a flow's messages travel on its stream so SCTP keeps their order.
 *
 *   stream 0 (control)
 *     HELLO   version u16 | flags u16 | noise bytes  (both sides, first
 *             message, in clear; the Noise NNpsk0 handshake message, whose
 *             encrypted payload is a wire_peer_t: see handshake.h)
 *     AUTH    0 u8      (initiator, sealed: "I hold the new keys")
 *     READY   0 u8      (responder, sealed: "I verified you, open flows")
 *     ERROR   code u16 | len u8 | text     (why the sender gives up the association)
 *     KEEP    0 u8                        (after READY: keeps the path busy when
 *                                          idle; the receiver ignores it)
 *     REKEY   key[32]   (a fresh X25519 public key: the initiator's offer,
 *                        then the responder's answer; see seal.h)
 *     SWITCH  count u64 (the sender now seals under the new keys, after
 *                        `count` messages under the old ones)
 *
 *   stream N > 0 (one flow)
 *     OPEN    len u8 | service name        (opener; DATA may follow at once)
 *     RESULT  code u16 | len u8 | text     (responder: 0 = connected, else the
 *                                          flow failed and this is its final word)
 *     DATA    raw bytes, 1..WIRE_DATA_MAX  (no framing of its own)
 *     FIN     0 u8                         (sender's direction ends: half-close)
 *     RST     code u16 | len u8 | text     (abort both directions; final word)
 *     WINDOW  increment u32 > 0            (receiver grants more credit)
 *     CLOSE   0 u8                         (final word: nothing more will follow)
 *
 * SCTP cannot carry an empty user message, so the bodiless types carry one
 * zero byte. Texts are for logs and hold no control characters.
 *
 * After the HELLOs every message is sealed (seal.h): its bytes and type are
 * encrypted and authenticated, and the PPID says only that it is sealed and
 * under which keys. With `encryption = off` only AUTH and READY are.
 *
 * A side's final word is RST, a failed RESULT, or CLOSE, sent once it has sent
 * its FIN and received the peer's (so no WINDOW is owed either way) and has
 * written out everything before the peer's FIN (so it holds no flow on the
 * stream once the peer may reuse it). A stream is reused only after its
 * allocator has both sent and received a final word; since a stream is
 * ordered, the peer always sees the old flow's final word before the next
 * OPEN on that stream.
 */
#ifndef SCTPGW_WIRE_H
#define SCTPGW_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WIRE_VERSION     3           /* 3: Noise handshake, sealed messages; 2: KEEP */
#define WIRE_PPID_BASE   0x53470000u /* "SG\0\0" */
#define WIRE_KEY_LEN     32          /* an X25519 public key */
#define WIRE_NOISE_MAX   256         /* a HELLO's handshake bytes */
#define WIRE_NAME_MAX    63          /* gateway and service names */
#define WIRE_TEXT_MAX    255         /* reason texts */
#define WIRE_DATA_MAX    65536       /* largest DATA payload */
#define WIRE_CONTROL_SID 0
#define WIRE_PEER_MAX    (2 + 2 + 4 + 1 + WIRE_NAME_MAX) /* a wire_peer_t */
#define WIRE_HDR_MAX     (2 + 2 + WIRE_NOISE_MAX)
#define WIRE_SEAL_MAX    17 /* what sealing adds: the type and a 16-byte tag */
#define WIRE_MSG_MAX     (WIRE_DATA_MAX + WIRE_SEAL_MAX) /* no message is larger */
#define WIRE_PPID_SEALED 0x53470100u                     /* + the low byte of the keys' epoch */

/* HELLO flags, bound by the handshake (a change in flight fails it). */
#define WIRE_F_SEALED 0x0001u /* encryption = on: messages sealed, SCTP-AUTH */

typedef enum {
    WIRE_HELLO = 1,
    WIRE_AUTH = 2,
    WIRE_READY = 3,
    WIRE_ERROR = 4,
    WIRE_KEEP = 5,
    WIRE_REKEY = 6,
    WIRE_SWITCH = 7,
    WIRE_OPEN = 16,
    WIRE_RESULT = 17,
    WIRE_DATA = 18,
    WIRE_FIN = 19,
    WIRE_RST = 20,
    WIRE_WINDOW = 21,
    WIRE_CLOSE = 22,
} wire_type_t;

/* Reason codes carried by RESULT, RST and ERROR. */
typedef enum {
    WIRE_OK = 0,
    WIRE_E_RESET = 1,       /* a TCP endpoint reset its connection */
    WIRE_E_REFUSED = 2,     /* the back end refused the connection */
    WIRE_E_UNREACHABLE = 3, /* the back end could not be reached */
    WIRE_E_NO_SERVICE = 4,  /* no such connect service at the responder */
    WIRE_E_PROTOCOL = 5,    /* a malformed or unexpected message */
    WIRE_E_WINDOW = 6,      /* the peer sent beyond its credit */
    WIRE_E_SHUTDOWN = 7,    /* the gateway is draining or stopping */
    WIRE_E_LIMIT = 8,       /* too many flows */
    WIRE_E_INTERNAL = 9,    /* out of memory or another local failure */
    WIRE_E_AUTH = 10,       /* the handshake failed */
    WIRE_E_VERSION = 11,    /* protocol versions differ */
    WIRE_E_LOST = 12,       /* the association carrying the flow was lost */
    WIRE_E_SEAL = 13,       /* a sealed message failed to open: forged or corrupted */
    WIRE_E_MISMATCH = 14,   /* the ends disagree on encryption */
    WIRE_E_NAME = 15,       /* the back end's name did not resolve */
} wire_code_t;

typedef struct wire_hello {
    uint16_t version;     /* WIRE_VERSION of the sender */
    uint16_t flags;       /* WIRE_F_* */
    const uint8_t *noise; /* the handshake message (into the buffer) */
    size_t noise_len;     /* 1..WIRE_NOISE_MAX */
} wire_hello_t;

/* What each side says of itself inside its encrypted handshake payload:
 * the clear fields again (so the initiator knows the responder's were not
 * changed in flight), its window and its name. */
typedef struct wire_peer {
    uint16_t version;
    uint16_t flags;
    uint32_t flow_window;         /* credit the sender grants each new flow */
    char name[WIRE_NAME_MAX + 1]; /* sender's gateway name, NUL-terminated */
} wire_peer_t;

/* A decoded message. Pointers refer into the decoded buffer. */
typedef struct wire_msg {
    wire_type_t type;
    union {
        wire_hello_t hello;        /* HELLO */
        uint8_t key[WIRE_KEY_LEN]; /* REKEY */
        uint64_t count;            /* SWITCH */
        struct {
            uint16_t code;                /* wire_code_t */
            char text[WIRE_TEXT_MAX + 1]; /* NUL-terminated, may be empty */
        } reason;                         /* ERROR, RESULT, RST */
        char service[WIRE_NAME_MAX + 1];  /* OPEN */
        struct {
            const uint8_t *bytes; /* into the decoded buffer */
            size_t len;
        } data;          /* DATA */
        uint32_t window; /* WINDOW increment */
    } u;
} wire_msg_t;

/* Checks a message received on stream `sid` with `ppid` (host order) and
 * fills `out`. Rejects unknown types, types on the wrong stream, wrong
 * lengths, bad names and zero increments. Returns 0 or -EBADMSG. */
int wire_decode(uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len, wire_msg_t *out);

/* What a message that wire_decode refused on a flow's stream still tells
 * of that stream, received by the flow's opener or not: 1 when it was its
 * sender's final word (RST, CLOSE, or to the opener a RESULT whose code is
 * not 0), 0 when more follows from the sender (the flow's other types, a
 * RESULT of 0, one to the responder, which is out of turn and no final
 * word, a type of stream 0 or one not known), -1 when the bytes cannot
 * tell (a RESULT too short for its code) or the sender holds the stream
 * free (OPEN). */
int wire_ends_flow(uint32_t ppid, const uint8_t *buf, size_t len, int to_opener);

/* Encodes every type but DATA (whose payload is sent as is) into buf.
 * Returns the length, or -EINVAL when the message cannot be encoded
 * (bad name, a zero window or flow_window, a buffer too small); what it
 * writes always decodes. Texts longer than WIRE_TEXT_MAX are cut. */
ssize_t wire_encode(const wire_msg_t *m, uint8_t *buf, size_t cap);

/* A handshake payload: encode returns its length or -EINVAL (bad name, a
 * zero window); decode returns 0 or -EBADMSG. */
ssize_t wire_peer_encode(const wire_peer_t *p, uint8_t *buf, size_t cap);
int wire_peer_decode(const uint8_t *buf, size_t len, wire_peer_t *out);

/* The PPID, in host order, of a type. */
uint32_t wire_ppid(wire_type_t type);

/* A valid gateway or service name: 1..63 of [A-Za-z0-9._-]. */
int wire_name_valid(const char *name);

/* Short names for logs. */
const char *wire_type_name(wire_type_t type);
const char *wire_code_name(uint16_t code);

#endif
