/* hostile: a peer without the key, aimed at a gateway's SCTP listener, for
 * the integration test t_hostile. It is a real SCTP endpoint: every attack
 * runs over associations the kernel sets up like any peer's.
 *
 *   hostile --connect HOST:PORT [--bind ADDR] [options] ATTACK[+hello][:N]...
 *
 * Two layers guard the gateway (protocol 3, include/handshake.h): SCTP-AUTH
 * (RFC 4895) on every association, then the Noise NNpsk0 handshake in the
 * HELLOs and a sealed AUTH. --sctp-auth picks what the tool does at the
 * first layer:
 *   off       no SCTP-AUTH (the default): the gateway must close each
 *             association at establishment, saying why in an ERROR
 *   wrong     SCTP-AUTH with a random endpoint key: the gateway's kernel
 *             drops every authenticated chunk of ours (and ours drops the
 *             gateway's), so the gateway hears nothing and its handshake
 *             deadline must end the association
 *   key       (--auth-key-file FILE) the endpoint key derived from the
 *             gateways' key file: an insider past SCTP-AUTH (a leaked
 *             endpoint key, or a gateway with SCTP-AUTH off) who still
 *             lacks the Noise key, so the attacks below reach the handshake
 * --psk-file FILE gives the tool the key file for a valid HELLO: the model
 * of a HELLO recorded on the wire (HELLO_i proves the key but can be
 * replayed; only AUTH shows a live peer). The tool then also derives the
 * association's keys, only to open the gateway's sealed answers for the
 * report (a READY, an ERROR's text), never to pass the handshake.
 *
 * The attacks run one after the other, each on N associations (default 1)
 * opened at once, at most --burst (64) connecting at a time and at most
 * --rate connects a second (default no limit); a refused connect (the
 * listener's accept queue was full) is tried again after 100 ms, up to
 * --retries (20) times. Attacks ("sealed-looking": random bytes under the
 * sealed PPID, as a forger or a replayer of sealed messages sends them):
 *   random    random messages: random streams, PPIDs (mostly the gateway's
 *             own types and the sealed PPIDs), sizes (1 B .. 70 KB) and
 *             bytes; one association in two starts with a HELLO (valid with
 *             --psk-file, else made with a wrong key)
 *   early     OPEN and DATA on stream 1 before any handshake: in clear on
 *             even associations, sealed-looking on odd ones
 *   keep      a KEEP on stream 0 in clear before any handshake (a message
 *             of an established association, out of turn)
 *   keepflood a KEEP as above, then KEEPFLOOD_MSGS more at once: what
 *             waits unread when the gateway closes the socket turns the
 *             close into an ABORT, unless it reads all that first
 *   keepstream a KEEP as above, then more for KEEPSTREAM_S or until a send
 *             fails: still sending when the gateway closes, unless the
 *             gateway's shutdown ends it first (the peer's kernel takes no
 *             new message once SHUTDOWN arrives)
 *   sealed0   a sealed-looking message on stream 0 before any handshake
 *   wrongkey  a HELLO whose Noise message was made with a random key
 *   version   a HELLO of protocol 2 (version 2, nonce, window, name)
 *   replay    one HELLO_i, built once and sent unchanged on every
 *             association (its ephemeral secret not used to send: a
 *             replayer has none); once the gateway answers, even
 *             associations send OPEN and DATA in clear, then a
 *             sealed-looking AUTH; odd ones the AUTH first, then a
 *             sealed-looking OPEN and DATA
 *   noproof   a fresh valid HELLO; once the gateway answers, OPEN and DATA
 *             sealed properly under the new keys but no AUTH (they reach
 *             the handshake's state, not just the seal)
 *   badproof  a fresh valid HELLO, then a sealed-looking AUTH, OPEN, DATA
 *   reflect   the gateway's own HELLO_r, taken by an earlier attack of this
 *             run (replay, noproof, badproof), sent as the HELLO that opens
 *             a new association
 *   big0      a 1 MiB message on stream 0
 *   bigflow   a 1 MiB DATA message on stream 1
 *   silent    nothing at all: the association is held open, without a word
 *   earlyclose  an attack of a peer WITH the key (--auth-key-file and
 *             --psk-file: a compromised or broken peer gateway): it passes
 *             both layers (a valid HELLO, a sealed AUTH), waits for READY,
 *             then opens a flow on stream 1 (OPEN, DATA) and sends CLOSE
 *             at once, before either side's FIN: a final word the flow
 *             protocol allows only after both FINs (include/wire.h)
 *   halfrekey  with the key, likewise: at READY it starts a rekey (a sealed
 *             REKEY, include/seal.h) and never finishes it (no SWITCH)
 *   badswitch  with the key: at READY it rekeys properly but its SWITCH
 *             announces 1,000 more messages under the old keys than it
 *             sealed, which would keep them, and stop rekeys, for good
 *   lastwords  with the key, a peer gateway that dies right after it sent:
 *             at READY it opens a flow on stream 1 (OPEN, DATA), and
 *             --pause-ms later (default 2000) sends LASTWORDS_MSGS more DATA
 *             of LASTWORDS_LEN bytes and FIN, waits until the gateway's
 *             kernel has acknowledged them all, and aborts the association
 *             (the ABORT a kernel sends for a process that dies with
 *             unread data): what the gateway's kernel acknowledged must
 *             reach the back end
 *   giveup     as lastwords, but the peer gives up as a gateway does: after
 *             the FIN a sealed ERROR on stream 0 (internal error, "giving
 *             up"), then a graceful close: what came before the ERROR
 *             must reach the back end too
 *   badrst     with the key: at READY it opens a flow on stream 1 (OPEN,
 *             DATA) and ends it with an RST whose text holds a newline,
 *             which the gateway refuses as malformed; --pause-ms later
 *             (its final word in by then) it opens a new flow there. At
 *             READY it also sends REPEAT_MSGS READYs on stream 0, out of
 *             turn, which the gateway ignores
 * +hello makes early, big0 and bigflow start with a valid HELLO and wait for
 * the gateway's answer first (then big0 and bigflow are sealed-looking).
 * OPENs name --service (default "trap").
 *
 * Each association is then read until the gateway ends it (or --timeout-ms,
 * default 30000, passes): how it ended (SHUTDOWN or ABORT), whether the
 * gateway said why first (an ERROR on stream 0, in clear or sealed), and
 * how long after establishment. One line per attack goes to stdout:
 *   attack= sctp_auth= assocs= established= connect_failed= ended=
 *   shutdown= abort= still_open= told= hello_r= ready= sealed_rx=
 *   unopened= flow_replies= msgs_sent= bytes_sent= end_ms_min= end_ms_p50=
 *   end_ms_max= up_first= up_last= connects= seed= first_code=
 *   connect_error="..." first_error="..."
 * hello_r counts associations the gateway answered with its HELLO; ready
 * READY messages (opened with the derived keys); sealed_rx the gateway's
 * sealed messages, unopened those the tool could not open; flow_replies
 * any message on a flow stream; up_first and up_last when the first and
 * the last association was established (seconds since the epoch, to set
 * against a gateway's log). A gateway that lets this peer through
 * shows in ready and flow_replies. first_error is the text of the first
 * ERROR heard and first_code its code. -v prints one line per association
 * on stderr. The exit status is 0 unless the tool itself could not run
 * (bad usage, no SCTP, a key file it cannot read); what the gateway did is
 * for the caller to judge. The bytes are deterministic for a given --seed
 * (but for those sealed with keys the gateway's ephemeral key went into).
 *
 * The wire format, the key derivations and the Noise handshake are restated
 * here from libsodium's primitives, on purpose: a test tool that shared the
 * gateway's code would miss a mistake made in both. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The gateway's wire format (include/wire.h, include/seal.h), restated. */
#define PPID_BASE      0x53470000u
#define PPID_SEALED    0x53470100u /* + the low byte of the keys' epoch (0 at first) */
#define T_HELLO        1
#define T_AUTH         2
#define T_READY        3
#define T_ERROR        4
#define T_KEEP         5
#define T_REKEY        6
#define T_SWITCH       7
#define T_OPEN         16
#define T_DATA         18
#define T_FIN          19
#define T_RST          20
#define T_CLOSE        22
#define T_LAST         22
#define E_INTERNAL     9 /* a reason code: out of memory or another local failure */
#define VERSION        3
#define F_SEALED       0x0001u
#define TAG_LEN        16            /* Poly1305 */
#define SEAL_OVER      (1 + TAG_LEN) /* a sealed message: payload, type byte, tag */
#define KEY_LEN        32
#define HELLO_MAX      (4 + 256)
#define V2_NONCE       32 /* protocol 2's HELLO: version, flags, nonce, window, name */
#define BIG_LEN        (1024 * 1024)
#define LASTWORDS_MSGS 32    /* lastwords: DATA messages before the ABORT... */
#define LASTWORDS_LEN  16384 /* ...of this many bytes (the largest sealed message sent) */
#define KEEPFLOOD_MSGS 3000  /* keepflood: small messages after the KEEP */
#define KEEPSTREAM_S   3.0   /* keepstream: how long it goes on sending */
#define REPEAT_MSGS    1000  /* badrst: READYs out of turn */
#define HELLO_NAME_MAX 32    /* of the name in our HELLO (--name) */
#define RAND_MAX_B     70000 /* above the gateway's 64 KiB message limit */

/* Key derivations (src/handshake.c): HMAC-SHA-256 keyed with a label over
 * the key file's bytes. */
static const char psk_label[] = "sctpgw noise psk v3";
static const char auth_label[] = "sctpgw sctp-auth v3";
static const char prologue_label[] = "sctpgw";
static const char protocol_name[] = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";

/* Chunks the gateway asks its peer to authenticate (src/sctp_sock.c):
 * DATA, SACK, HEARTBEAT(-ACK), ABORT, SHUTDOWN(-ACK), ERROR, ECNE, CWR,
 * I-DATA, ASCONF-ACK, RE-CONFIG, FORWARD-TSN, ASCONF, I-FORWARD-TSN. */
static const uint8_t auth_chunks[] = {0,  3,  4,  5,    6,    7,    8,    9,
                                      12, 13, 64, 0x80, 0x82, 0xc0, 0xc1, 0xc2};

enum {
    STREAMS = 16,
    SOCK_BUF = 4 * 1024 * 1024, /* a 1 MiB message must fit the send buffer */
    RBUF = 128 * 1024,
    ERR_TEXT = 160,
};

typedef enum {
    M_RANDOM,
    M_EARLY,
    M_WRONGKEY,
    M_VERSION,
    M_REPLAY,
    M_NOPROOF,
    M_BADPROOF,
    M_REFLECT,
    M_BIG0,
    M_BIGFLOW,
    M_SILENT,
    M_KEEP,
    M_EARLYCLOSE,
    M_HALFREKEY,
    M_BADSWITCH,
    M_LASTWORDS,
    M_SEALED0,
    M_GIVEUP,
    M_BADRST,
    M_KEEPFLOOD,
    M_KEEPSTREAM
} attack_t;

static const char *const mode_names[] = {
    "random",    "early",     "wrongkey", "version", "replay", "noproof",    "badproof",
    "reflect",   "big0",      "bigflow",  "silent",  "keep",   "earlyclose", "halfrekey",
    "badswitch", "lastwords", "sealed0",  "giveup",  "badrst", "keepflood",  "keepstream"};

typedef enum { AUTH_OFF, AUTH_WRONG, AUTH_KEY } auth_mode_t;

static const char *const auth_names[] = {"off", "wrong", "key"};

typedef enum {
    S_IDLE,       /* not yet dialed */
    S_CONNECTING, /* INIT sent */
    S_WAIT_PEER,  /* our HELLO sent; waiting for the gateway's HELLO */
    S_DRAIN,      /* everything sent: reading until the gateway ends it */
    S_ENDED,
} state_t;

typedef enum { END_NONE, END_SHUTDOWN, END_ABORT, END_CONNECT } end_t;

/* The initiator's side of a Noise NNpsk0 handshake (SymmetricState and the
 * ephemeral key), then the transport keys once the gateway's HELLO opened. */
typedef struct nz {
    uint8_t ck[32], h[32], k[32];
    uint8_t e_priv[32], e_pub[32];
    uint8_t i2r[KEY_LEN], r2i[KEY_LEN];
    uint64_t tx_ctr[2]; /* streams 0 and 1 */
    uint64_t rx_ctr0;
    int started, keyed;
    /* A rekey (halfrekey, badswitch): our ephemeral, then the next keys. */
    uint8_t re_priv[32], r2i_next[KEY_LEN];
    uint8_t tx_epoch; /* 1 once we switched */
    int rx_next;      /* r2i_next holds the gateway's epoch 1 */
    uint64_t sealed;  /* messages sealed under the first keys */
} nz_t;

typedef struct conn {
    int fd;
    unsigned idx; /* its place in the attack */
    state_t state;
    end_t end;
    int hello_r;         /* the gateway answered with its HELLO */
    int told;            /* the gateway sent an ERROR */
    int error_code;      /* its code */
    int ready;           /* READY messages received */
    int sealed_rx;       /* sealed messages received */
    int unopened;        /* of which the tool could not open */
    int flow_msgs;       /* messages received on a flow stream */
    unsigned msgs;       /* messages we sent */
    int send_err;        /* errno of the last send that failed, or 0 */
    size_t bytes;        /* bytes we sent */
    double t_est, t_end; /* monotonic */
    int sys_err;         /* errno of the end, or of a failed connect */
    unsigned tries;      /* connects made */
    double not_before;   /* a refused connect is tried again after a pause */
    double last_at;      /* lastwords, giveup, badrst: when to act next, or 0 */
    nz_t nz;
} conn_t;

typedef struct first {
    char text[ERR_TEXT];
    int code; /* -1: no ERROR heard yet */
} first_t;

typedef struct opts {
    struct sockaddr_in peer, local;
    int has_local;
    attack_t mode;
    auth_mode_t auth;
    uint8_t auth_key[KEY_LEN]; /* the SCTP-AUTH endpoint key (auth != off) */
    uint8_t psk[KEY_LEN];      /* the Noise psk, when has_psk */
    int has_psk;
    const char *name; /* in our HELLO: "intruder" unless --name */
    unsigned assocs, burst, timeout_ms, retries;
    unsigned rate; /* new connects per second at most, 0: no limit */
    uint64_t seed;
    int hello, verbose;
    const char *service;
    unsigned pause_ms; /* lastwords, giveup, badrst: from READY to the next step */
} opts_t;

static uint64_t rng_state;

/* The replay attack's recorded HELLO_i and the handshake state it came
 * with; the gateway's HELLO_r taken for the reflect attack. */
static uint8_t replay_hello[HELLO_MAX];
static size_t replay_len;
static nz_t replay_nz;
static uint8_t reflect_hello[HELLO_MAX];
static size_t reflect_len;

/* xorshift64*: deterministic for a seed. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static void rnd_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *s, struct sockaddr_in *sa, int need_port)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);

    if ((need_port && !colon) || hl >= sizeof(host))
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = colon ? htons((uint16_t)atoi(colon + 1)) : 0;
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- keys and the Noise handshake ------------------------------------ */

/* HMAC-SHA-256 keyed with `label` over a key file's bytes. */
static int derive_from_file(const char *path, const char *label, uint8_t out[KEY_LEN])
{
    uint8_t buf[4096];
    crypto_auth_hmacsha256_state st;
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n == 0)
        return -1;
    crypto_auth_hmacsha256_init(&st, (const uint8_t *)label, strlen(label));
    crypto_auth_hmacsha256_update(&st, buf, n);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

static void hmac(const uint8_t key[32], const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, 32);
    if (alen)
        crypto_auth_hmacsha256_update(&st, a, alen);
    if (blen)
        crypto_auth_hmacsha256_update(&st, b, blen);
    crypto_auth_hmacsha256_final(&st, out);
}

/* HKDF of the Noise specification, two or three outputs. */
static void hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t len, uint8_t o1[32],
                 uint8_t o2[32], uint8_t o3[32])
{
    uint8_t tk[32], a[32], b[32];
    const uint8_t one = 1, two = 2, three = 3;

    hmac(ck, ikm, len, NULL, 0, tk);
    hmac(tk, &one, 1, NULL, 0, a);
    hmac(tk, a, 32, &two, 1, b);
    if (o3)
        hmac(tk, b, 32, &three, 1, o3);
    memcpy(o1, a, 32);
    memcpy(o2, b, 32);
}

static void mix_hash(nz_t *z, const uint8_t *p, size_t len)
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, z->h, 32);
    crypto_hash_sha256_update(&st, p, len);
    crypto_hash_sha256_final(&st, z->h);
}

/* ChaCha20-Poly1305 with the nonce 0^32 || n (little-endian). */
static void nonce_of(uint64_t n, uint8_t out[12])
{
    memset(out, 0, 12);
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(n >> (8 * i));
}

static void aead_seal(const uint8_t k[32], uint64_t n, const uint8_t *ad, size_t adlen,
                      const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[12];

    nonce_of(n, nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, adlen, NULL, nonce, k);
}

static int aead_open(const uint8_t k[32], uint64_t n, const uint8_t *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t nonce[12];

    nonce_of(n, nonce);
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, adlen, nonce, k);
}

/* A HELLO_i (version 3, sealed flag) whose Noise message -> psk, e carries
 * the tool's wire_peer_t named `name` (at most HELLO_NAME_MAX bytes); `psk` is
 * the Noise psk, right or wrong. */
static size_t build_hello(nz_t *z, const uint8_t psk[KEY_LEN], const char *name,
                          uint8_t out[HELLO_MAX])
{
    uint8_t pro[sizeof(prologue_label) - 1 + 4], payload[9 + HELLO_NAME_MAX], tmp[32];
    size_t plen = 0, n = sizeof(prologue_label) - 1, name_len = strlen(name);

    memset(z, 0, sizeof(*z));
    rnd_fill(z->e_priv, 32);
    crypto_scalarmult_curve25519_base(z->e_pub, z->e_priv);
    crypto_hash_sha256(z->h, (const uint8_t *)protocol_name, strlen(protocol_name));
    memcpy(z->ck, z->h, 32);
    memcpy(pro, prologue_label, n);
    put16(pro + n, VERSION);
    put16(pro + n + 2, F_SEALED);
    mix_hash(z, pro, sizeof(pro));
    hkdf(z->ck, psk, KEY_LEN, z->ck, tmp, z->k); /* psk: MixKeyAndHash */
    mix_hash(z, tmp, 32);
    mix_hash(z, z->e_pub, 32); /* e, and MixKey(e) in a psk handshake */
    hkdf(z->ck, z->e_pub, 32, z->ck, z->k, NULL);
    put16(payload, VERSION); /* wire_peer_t: version, flags, window, name */
    put16(payload + 2, F_SEALED);
    payload[4] = 0; /* flow window 1 MiB */
    payload[5] = 0x10;
    payload[6] = payload[7] = 0;
    payload[8] = (uint8_t)name_len;
    memcpy(payload + 9, name, name_len);
    plen = 9 + name_len;
    put16(out, VERSION);
    put16(out + 2, F_SEALED);
    memcpy(out + 4, z->e_pub, 32);
    aead_seal(z->k, 0, z->h, 32, payload, plen, out + 36);
    mix_hash(z, out + 36, plen + TAG_LEN);
    z->started = 1;
    return 36 + plen + TAG_LEN;
}

/* The gateway's HELLO_r (<- e, ee): the transport keys, once it opens. */
static int read_hello_r(nz_t *z, const uint8_t *msg, size_t len)
{
    uint8_t dh[32], plain[256];

    if (!z->started || z->keyed || len < 4 + 32 + TAG_LEN || len - 36 > sizeof(plain) + TAG_LEN)
        return -1;
    mix_hash(z, msg + 4, 32);
    hkdf(z->ck, msg + 4, 32, z->ck, z->k, NULL);
    if (crypto_scalarmult_curve25519(dh, z->e_priv, msg + 4) != 0)
        return -1;
    hkdf(z->ck, dh, 32, z->ck, z->k, NULL);
    if (aead_open(z->k, 0, z->h, 32, msg + 36, len - 36, plain) != 0)
        return -1;
    mix_hash(z, msg + 36, len - 36);
    hkdf(z->ck, NULL, 0, z->i2r, z->r2i, NULL); /* Split() */
    z->keyed = 1;
    return 0;
}

/* seal.h: nonce = stream << 48 | counter; associated data = stream, PPID. */
static void seal_ad(uint16_t sid, uint32_t ppid, uint8_t ad[6])
{
    put16(ad, sid);
    ad[2] = (uint8_t)(ppid >> 24);
    ad[3] = (uint8_t)(ppid >> 16);
    ad[4] = (uint8_t)(ppid >> 8);
    ad[5] = (uint8_t)ppid;
}

/* ---- sending ---------------------------------------------------------- */

static int send_msg(conn_t *c, uint16_t sid, uint32_t ppid, const void *buf, size_t len)
{
    char cbuf[CMSG_SPACE(sizeof(struct sctp_sndinfo))] = {0};
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    struct sctp_sndinfo si = {.snd_sid = sid, .snd_ppid = htonl(ppid)};

    cm->cmsg_level = IPPROTO_SCTP;
    cm->cmsg_type = SCTP_SNDINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(si));
    memcpy(CMSG_DATA(cm), &si, sizeof(si));
    /* The socket blocks for sends (with SO_SNDTIMEO as a backstop): the
     * gateway may stop reading, and then an error is what we want to see. */
    if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0) {
        c->send_err = errno;
        return -errno;
    }
    c->msgs++;
    c->bytes += len;
    return 0;
}

static void send_type(conn_t *c, uint16_t sid, unsigned type, const void *buf, size_t len)
{
    send_msg(c, sid, PPID_BASE + type, buf, len);
}

/* A message sealed properly under our keys: our HELLO's, or a rekey's. */
static void send_sealed(conn_t *c, uint16_t sid, unsigned type, const uint8_t *p, size_t len)
{
    uint8_t b[LASTWORDS_LEN + SEAL_OVER], ad[6];

    if (len > LASTWORDS_LEN || sid > 1 || !c->nz.keyed)
        return;
    memcpy(b, p, len);
    b[len] = (uint8_t)type;
    seal_ad(sid, PPID_SEALED | c->nz.tx_epoch, ad);
    aead_seal(c->nz.i2r, (uint64_t)sid << 48 | c->nz.tx_ctr[sid]++, ad, sizeof(ad), b, len + 1, b);
    c->nz.sealed += c->nz.tx_epoch == 0;
    send_msg(c, sid, PPID_SEALED | c->nz.tx_epoch, b, len + SEAL_OVER);
}

/* Sealed-looking: random bytes the size of a sealed `len`-byte payload. */
static void send_forged(conn_t *c, uint16_t sid, size_t len)
{
    uint8_t b[128 + SEAL_OVER];

    if (len > 128)
        return;
    rnd_fill(b, len + SEAL_OVER);
    send_msg(c, sid, PPID_SEALED, b, len + SEAL_OVER);
}

/* A valid HELLO_i with the real psk, or one made with a random psk. */
static void send_hello(conn_t *c, const opts_t *o, int valid)
{
    uint8_t b[HELLO_MAX], wrong[KEY_LEN];
    size_t n;

    rnd_fill(wrong, sizeof(wrong));
    n = build_hello(&c->nz, valid ? o->psk : wrong, o->name, b);
    if (!valid)
        c->nz.started = 0; /* its answer could not open anyway */
    send_type(c, 0, T_HELLO, b, n);
}

/* Protocol 2's HELLO: version 2, flags, nonce, flow window, name. */
static void send_hello_v2(conn_t *c)
{
    static const char name[] = "intruder";
    uint8_t b[2 + 2 + V2_NONCE + 4 + 1 + sizeof(name)];
    size_t n = 0;

    put16(b, 2);
    put16(b + 2, 0);
    n = 4;
    rnd_fill(b + n, V2_NONCE);
    n += V2_NONCE;
    b[n++] = 0; /* flow window 1 MiB */
    b[n++] = 0x10;
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = (uint8_t)(sizeof(name) - 1);
    memcpy(b + n, name, sizeof(name) - 1);
    n += sizeof(name) - 1;
    send_type(c, 0, T_HELLO, b, n);
}

static size_t open_body(const opts_t *o, uint8_t *b)
{
    size_t n = strlen(o->service);

    b[0] = (uint8_t)n;
    memcpy(b + 1, o->service, n);
    return n + 1;
}

static const char request[] = "GET / HTTP/1.0\r\n\r\n";

static void send_open_data(conn_t *c, const opts_t *o)
{
    uint8_t b[64];

    send_type(c, 1, T_OPEN, b, open_body(o, b));
    send_type(c, 1, T_DATA, request, sizeof(request) - 1);
}

static void send_open_data_sealed(conn_t *c, const opts_t *o)
{
    uint8_t b[64];

    send_sealed(c, 1, T_OPEN, b, open_body(o, b));
    send_sealed(c, 1, T_DATA, (const uint8_t *)request, sizeof(request) - 1);
}

static void send_open_data_forged(conn_t *c, const opts_t *o)
{
    send_forged(c, 1, strlen(o->service) + 1);
    send_forged(c, 1, sizeof(request) - 1);
}

static void send_big(conn_t *c, uint16_t sid, uint32_t ppid)
{
    uint8_t *b = malloc(BIG_LEN);

    if (!b)
        return;
    rnd_fill(b, BIG_LEN);
    send_msg(c, sid, ppid, b, BIG_LEN);
    free(b);
}

/* One random message: mostly the gateway's own PPIDs, clear and sealed, so
 * the decoder's and the seal's every branch is reached; sometimes a
 * plausible body for the type. */
static void send_random(conn_t *c, const opts_t *o)
{
    static uint8_t b[RAND_MAX_B];
    uint32_t pick = rnd_below(100), ppid, len;
    uint16_t sid = (uint16_t)(rnd_below(3) == 0 ? 0 : rnd_below(STREAMS));

    if (pick < 45)
        ppid = PPID_BASE + rnd_below(T_LAST + 3);
    else if (pick < 65)
        ppid = PPID_SEALED + rnd_below(3);
    else if (pick < 85)
        ppid = (uint32_t)rnd();
    else
        ppid = rnd_below(4);
    pick = rnd_below(100);
    len = pick < 60   ? 1 + rnd_below(64)
          : pick < 90 ? 65 + rnd_below(4032)
                      : 4097 + rnd_below(RAND_MAX_B - 4096);
    rnd_fill(b, len);
    if (rnd_below(3) == 0 && ppid == PPID_BASE + T_OPEN) {
        len = (uint32_t)open_body(o, b);
    } else if (rnd_below(3) == 0 && len > 1) {
        b[0] = (uint8_t)(len - 1 > 255 ? 255 : len - 1); /* a length prefix that may fit */
    }
    send_msg(c, sid, ppid, b, len);
}

/* What a mode sends as soon as the association is up. Returns 1 when it
 * must first hear the gateway's HELLO, 0 when it is done sending, -1 when
 * its main part goes at once. */
static int script_start(conn_t *c, const opts_t *o)
{
    switch (o->mode) {
    case M_SILENT:
        return 0;
    case M_RANDOM: {
        unsigned n = 1 + rnd_below(6);
        if (rnd_below(2))
            send_hello(c, o, o->has_psk);
        for (unsigned i = 0; i < n; i++)
            send_random(c, o);
        return 0;
    }
    case M_WRONGKEY:
        send_hello(c, o, 0);
        return 0;
    case M_VERSION:
        send_hello_v2(c);
        return 0;
    case M_REFLECT:
        send_type(c, 0, T_HELLO, reflect_hello, reflect_len);
        return 0;
    case M_REPLAY:
        c->nz = replay_nz; /* only to open the answers for the report */
        send_type(c, 0, T_HELLO, replay_hello, replay_len);
        return 1;
    case M_NOPROOF:
    case M_BADPROOF:
    case M_EARLYCLOSE:
    case M_HALFREKEY:
    case M_BADSWITCH:
    case M_LASTWORDS:
    case M_GIVEUP:
    case M_BADRST:
        send_hello(c, o, 1);
        return 1;
    default:
        if (!o->hello)
            return -1;
        send_hello(c, o, 1);
        return 1;
    }
}

/* The mode's main part, once the gateway answered (or at once). */
static void script_main(conn_t *c, const opts_t *o)
{
    switch (o->mode) {
    case M_REPLAY:
        if (c->idx % 2 == 0) {
            send_open_data(c, o);
            send_forged(c, 0, 1);
        } else {
            send_forged(c, 0, 1); /* a recorded AUTH, under keys long gone */
            send_open_data_forged(c, o);
        }
        break;
    case M_BADPROOF:
        send_forged(c, 0, 1);
        send_open_data_forged(c, o);
        break;
    case M_NOPROOF:
        send_open_data_sealed(c, o);
        break;
    case M_EARLYCLOSE:
    case M_HALFREKEY:
    case M_BADSWITCH:
    case M_LASTWORDS:
    case M_GIVEUP:
    case M_BADRST:
        send_sealed(c, 0, T_AUTH, (const uint8_t *)"", 1); /* the proof: keys taken */
        break;
    case M_KEEP:
        send_type(c, 0, T_KEEP, "", 1);
        break;
    case M_KEEPFLOOD:
        send_type(c, 0, T_KEEP, "", 1);
        for (int m = 0; m < KEEPFLOOD_MSGS && !c->send_err; m++)
            send_type(c, 0, T_KEEP, "", 1);
        break;
    case M_KEEPSTREAM:
        send_type(c, 0, T_KEEP, "", 1);
        for (double until = now_s() + KEEPSTREAM_S; !c->send_err && now_s() < until;)
            send_type(c, 0, T_KEEP, "", 1);
        break;
    case M_SEALED0:
        send_forged(c, 0, 1);
        break;
    case M_EARLY:
        if (o->hello || c->idx % 2 == 0)
            send_open_data(c, o);
        else
            send_open_data_forged(c, o);
        break;
    case M_BIG0:
        send_big(c, 0, o->hello ? PPID_SEALED : PPID_BASE + T_HELLO);
        break;
    case M_BIGFLOW:
        send_big(c, 1, o->hello ? PPID_SEALED : PPID_BASE + T_DATA);
        break;
    default:
        break;
    }
}

/* ---- connections ------------------------------------------------------ */

/* SCTP-AUTH as the gateway does it (src/sctp_sock.c): SHA-256 (the kernel
 * insists on SHA-1 in the list too), its chunk list, our endpoint key as
 * key 1, and the empty key 0 deleted. Off: none at all. */
static int conn_auth(int fd, const opts_t *o)
{
    uint8_t hb[sizeof(struct sctp_hmacalgo) + 2 * sizeof(uint16_t)];
    uint8_t kb[sizeof(struct sctp_authkey) + KEY_LEN];
    struct sctp_hmacalgo *h = (struct sctp_hmacalgo *)hb;
    struct sctp_authkey *k = (struct sctp_authkey *)kb;
    struct sctp_assoc_value on = {.assoc_id = SCTP_FUTURE_ASSOC,
                                  .assoc_value = o->auth != AUTH_OFF};
    struct sctp_authkeyid id = {.scact_assoc_id = SCTP_FUTURE_ASSOC, .scact_keynumber = 1};

    if (o->auth == AUTH_OFF) {
        setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_SUPPORTED, &on, sizeof(on));
        return 0;
    }
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_SUPPORTED, &on, sizeof(on)) < 0 &&
        errno != ENOPROTOOPT)
        return -errno;
    h->shmac_num_idents = 2;
    h->shmac_idents[0] = SCTP_AUTH_HMAC_ID_SHA256;
    h->shmac_idents[1] = SCTP_AUTH_HMAC_ID_SHA1;
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_HMAC_IDENT, hb, sizeof(hb)) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(auth_chunks); i++) {
        struct sctp_authchunk ch = {.sauth_chunk = auth_chunks[i]};
        if (setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_CHUNK, &ch, sizeof(ch)) < 0)
            return -errno;
    }
    memset(kb, 0, sizeof(kb));
    k->sca_assoc_id = SCTP_FUTURE_ASSOC;
    k->sca_keynumber = 1;
    k->sca_keylength = KEY_LEN;
    memcpy(k->sca_key, o->auth_key, KEY_LEN);
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_KEY, kb, sizeof(kb)) < 0 ||
        setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id)) < 0)
        return -errno;
    id.scact_keynumber = 0;
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_DELETE_KEY, &id, sizeof(id)) < 0)
        return -errno;
    return 0;
}

static int conn_socket(const opts_t *o)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP);
    struct sctp_initmsg im = {.sinit_num_ostreams = STREAMS, .sinit_max_instreams = STREAMS};
    int one = 1, buf = SOCK_BUF, level = 2, r = 0;
    struct sctp_assoc_value intl = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1};

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im));
    setsockopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &one, sizeof(one));
    setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
    /* Like the gateway: I-DATA where the kernel allows it. */
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof(level)) == 0)
        setsockopt(fd, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &intl, sizeof(intl));
    if ((r = conn_auth(fd, o)) < 0 ||
        (o->has_local && bind(fd, (const struct sockaddr *)&o->local, sizeof(o->local)) < 0)) {
        int e = r < 0 ? r : -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* The associations of one attack, and their counts, kept as they change
 * (a loop over a thousand of them per event would cost more than the
 * gateway under test, in an emulated machine). */
typedef struct run {
    conn_t *cs;
    unsigned n;
    unsigned next;       /* first never dialed */
    unsigned connecting; /* INIT sent, not yet up or refused */
    unsigned live;       /* not yet ended */
    unsigned *retry;     /* refused ones to dial again, oldest first */
    unsigned rhead, rtail;
    unsigned dialed; /* connects made */
    double t0;       /* when the attack started */
} run_t;

static void conn_end(run_t *rn, conn_t *c, end_t how, int err)
{
    c->state = S_ENDED;
    c->end = how;
    c->sys_err = err;
    c->t_end = now_s();
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    rn->live--;
}

/* After a failed send: when the association is gone, that send may have
 * taken the socket's error, and then no read reports the end and epoll
 * never wakes for it (a race the gateway's ABORT wins now and then). The
 * kernel still knows that the association is gone, and how the socket
 * ends. Data still queued is read first; the end is looked for again then. */
static void conn_check_gone(run_t *rn, conn_t *c)
{
    struct sctp_status st = {0};
    socklen_t len = sizeof(st);
    uint8_t b;
    ssize_t n;

    if (!c->send_err || c->state == S_ENDED)
        return;
    if (getsockopt(c->fd, IPPROTO_SCTP, SCTP_STATUS, &st, &len) == 0 &&
        st.sstat_state != SCTP_CLOSED)
        return;
    n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        conn_end(rn, c, END_SHUTDOWN, 0);
    else if (n < 0)
        conn_end(rn, c, END_ABORT, errno == EAGAIN || errno == EWOULDBLOCK ? c->send_err : errno);
}

/* A connect failed: the listener's accept queue may have been full (the
 * kernel then refuses the INIT), so it is tried again after a pause, as a
 * determined attacker would, up to --retries times. */
static void conn_refused(run_t *rn, conn_t *c, const opts_t *o, int err)
{
    rn->connecting--;
    if (c->tries > o->retries) {
        conn_end(rn, c, END_CONNECT, err);
        return;
    }
    close(c->fd);
    c->fd = -1;
    c->sys_err = err;
    c->state = S_IDLE;
    c->not_before = now_s() + 0.1;
    rn->retry[rn->rtail++ % rn->n] = (unsigned)(c - rn->cs);
}

static void conn_dial(run_t *rn, conn_t *c, const opts_t *o, int ep)
{
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    int fd = conn_socket(o);

    c->state = S_CONNECTING;
    c->tries++;
    c->fd = fd;
    if (fd < 0) { /* no SCTP, no descriptors: trying again will not help */
        conn_end(rn, c, END_CONNECT, -fd);
        return;
    }
    rn->connecting++;
    rn->dialed++;
    if (connect(fd, (const struct sockaddr *)&o->peer, sizeof(o->peer)) < 0 &&
        errno != EINPROGRESS) {
        conn_refused(rn, c, o, errno);
        return;
    }
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Waits until the peer's kernel has acknowledged all we sent (2 s at most):
 * the kernel charges a DATA chunk to the socket until its SACK frees it
 * (SCTP_STATUS's unackdata changes only at a SACK, so it reads 0 before the
 * first one). */
static void wait_acked(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len;

    for (int i = 0; i < 200; i++) {
        len = sizeof(mem);
        if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
            len <= SK_MEMINFO_WMEM_QUEUED * sizeof(mem[0]) || mem[SK_MEMINFO_WMEM_QUEUED] == 0)
            return;
        usleep(10000);
    }
}

/* lastwords: the flow's last DATA and FIN, then an ABORT once they are
 * acknowledged; giveup: an ERROR after them, then a graceful close;
 * badrst: a new flow on the stream its malformed RST ended. */
static void run_later(run_t *rn, const opts_t *o)
{
    static uint8_t b[LASTWORDS_LEN];
    static const uint8_t error[] = {0, E_INTERNAL, 9, 'g', 'i', 'v', 'i', 'n', 'g', ' ', 'u', 'p'};
    struct linger now = {.l_onoff = 1, .l_linger = 0};

    memset(b, 'w', sizeof(b));
    for (unsigned i = 0; i < rn->n; i++) {
        conn_t *c = &rn->cs[i];

        if (!c->last_at || c->state == S_ENDED || now_s() < c->last_at)
            continue;
        c->last_at = 0;
        if (o->mode == M_BADRST) {
            send_open_data_sealed(c, o);
            continue;
        }
        for (int m = 0; m < LASTWORDS_MSGS; m++)
            send_sealed(c, 1, T_DATA, b, sizeof(b));
        send_sealed(c, 1, T_FIN, (const uint8_t *)"", 1);
        if (o->mode == M_GIVEUP)
            send_sealed(c, 0, T_ERROR, error, sizeof(error));
        wait_acked(c->fd);
        if (o->mode == M_LASTWORDS)
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
        conn_end(rn, c, o->mode == M_GIVEUP ? END_SHUTDOWN : END_ABORT, 0);
    }
}

/* Dials while fewer than --burst are connecting and --rate allows:
 * refused ones whose pause is over first, then new ones. */
static void run_dial(run_t *rn, const opts_t *o, int ep)
{
    double now = now_s();

    while (rn->connecting < o->burst && (!o->rate || rn->dialed < 1 + (now - rn->t0) * o->rate)) {
        if (rn->rhead != rn->rtail && rn->cs[rn->retry[rn->rhead % rn->n]].not_before <= now)
            conn_dial(rn, &rn->cs[rn->retry[rn->rhead++ % rn->n]], o, ep);
        else if (rn->next < rn->n)
            conn_dial(rn, &rn->cs[rn->next++], o, ep);
        else
            break;
    }
}

/* Established: run the mode's script; reads follow until the end. */
static void conn_up(run_t *rn, conn_t *c, const opts_t *o, int ep)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    struct timeval tv = {.tv_sec = 2};
    int r;

    rn->connecting--;
    c->t_est = now_s();
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    r = script_start(c, o);
    if (r < 0)
        script_main(c, o);
    c->state = r == 1 ? S_WAIT_PEER : S_DRAIN;
    conn_check_gone(rn, c);
}

/* The gateway's ERROR: code u16 | len u8 | text. The first one heard in
 * the attack is kept for the report. */
static void conn_on_error(conn_t *c, const uint8_t *buf, size_t len, first_t *first)
{
    size_t n;

    if (len < 3)
        return;
    n = buf[2] < len - 3 ? buf[2] : len - 3;
    c->told = 1;
    c->error_code = buf[0] << 8 | buf[1];
    if (first->code < 0) {
        first->code = c->error_code;
        snprintf(first->text, sizeof(first->text), "%.*s", (int)n, (const char *)buf + 3);
    }
}

/* A rekey's first step, as the gateway's initiator takes it (seal.c). */
static void rekey_offer(conn_t *c)
{
    uint8_t pub[32];

    randombytes_buf(c->nz.re_priv, sizeof(c->nz.re_priv));
    crypto_scalarmult_curve25519_base(pub, c->nz.re_priv);
    send_sealed(c, 0, T_REKEY, pub, sizeof(pub));
}

/* The gateway's answer: ck', k_i2r', k_r2i' = HKDF(ck, DH(ours, theirs)),
 * then our SWITCH under the new keys, announcing `extra` messages more
 * under the old ones than we sealed. */
static void rekey_switch(conn_t *c, const uint8_t *key, size_t len, uint64_t extra)
{
    uint8_t dh[32], count[8];
    uint64_t n = c->nz.sealed + extra;

    if (len != 32 || crypto_scalarmult_curve25519(dh, c->nz.re_priv, key) != 0)
        return;
    hkdf(c->nz.ck, dh, sizeof(dh), c->nz.ck, c->nz.i2r, c->nz.r2i_next);
    c->nz.rx_next = 1;
    c->nz.tx_epoch = 1;
    for (int i = 0; i < 8; i++)
        count[i] = (uint8_t)(n >> (56 - 8 * i));
    send_sealed(c, 0, T_SWITCH, count, sizeof(count));
}

/* The key that opens the gateway's messages of an epoch, or NULL. */
static const uint8_t *rx_key(const conn_t *c, uint32_t ppid)
{
    if (!c->nz.keyed)
        return NULL;
    if ((ppid & 0xffu) == 0)
        return c->nz.r2i;
    return (ppid & 0xffu) == 1 && c->nz.rx_next ? c->nz.r2i_next : NULL;
}

/* What the insiders do at the gateway's READY. */
static void conn_on_ready(conn_t *c, const opts_t *o)
{
    if (o->mode == M_EARLYCLOSE) {
        send_open_data_sealed(c, o);
        send_sealed(c, 1, T_CLOSE, (const uint8_t *)"", 1);
    }
    if (o->mode == M_HALFREKEY || o->mode == M_BADSWITCH)
        rekey_offer(c);
    if (o->mode == M_LASTWORDS || o->mode == M_GIVEUP) {
        send_open_data_sealed(c, o);
        c->last_at = now_s() + o->pause_ms / 1e3;
    }
    if (o->mode == M_BADRST) {
        static const uint8_t rst[] = {0,    1,   13,  'r', 'e', 's', 'e', 't',
                                      '\n', 'f', 'o', 'r', 'g', 'e', 'd', '!'};

        send_open_data_sealed(c, o);
        send_sealed(c, 1, T_RST, rst, sizeof(rst));
        c->last_at = now_s() + o->pause_ms / 1e3;
        for (int m = 0; m < REPEAT_MSGS && !c->send_err; m++)
            send_sealed(c, 0, T_READY, (const uint8_t *)"", 1);
    }
}

/* A sealed message on stream 0: opened with the keys our HELLO gave (or a
 * rekey's), when it had them. The insiders act at the gateway's READY. */
static void conn_on_sealed(conn_t *c, const opts_t *o, uint32_t ppid, uint8_t *buf, size_t len,
                           first_t *first)
{
    const uint8_t *key = rx_key(c, ppid);
    uint8_t ad[6];

    c->sealed_rx++;
    seal_ad(0, ppid, ad);
    if (!key || len < SEAL_OVER ||
        aead_open(key, c->nz.rx_ctr0, ad, sizeof(ad), buf, len, buf) != 0) {
        c->unopened++;
        return;
    }
    c->nz.rx_ctr0++;
    len -= SEAL_OVER;
    if (buf[len] == T_READY && ++c->ready == 1)
        conn_on_ready(c, o);
    if (buf[len] == T_REKEY && o->mode == M_BADSWITCH && !c->nz.rx_next)
        rekey_switch(c, buf, len, 1000);
    if (buf[len] == T_ERROR)
        conn_on_error(c, buf, len, first);
}

/* One message from the gateway. */
static void conn_on_msg(conn_t *c, const opts_t *o, uint16_t sid, uint32_t ppid, uint8_t *buf,
                        size_t len, first_t *first)
{
    if (sid != 0) {
        c->flow_msgs++;
        return;
    }
    if ((ppid & ~0xffu) == PPID_SEALED) {
        conn_on_sealed(c, o, ppid, buf, len, first);
        return;
    }
    if (ppid == PPID_BASE + T_ERROR)
        conn_on_error(c, buf, len, first);
    if (ppid != PPID_BASE + T_HELLO || c->hello_r)
        return;
    c->hello_r = 1;
    if (!reflect_len && len <= sizeof(reflect_hello)) {
        memcpy(reflect_hello, buf, len);
        reflect_len = len;
    }
    read_hello_r(&c->nz, buf, len);
    if (c->state == S_WAIT_PEER) {
        c->state = S_DRAIN;
        script_main(c, o);
    }
}

static void conn_read(run_t *rn, conn_t *c, const opts_t *o, first_t *first)
{
    static uint8_t buf[RBUF];
    char cbuf[CMSG_SPACE(sizeof(struct sctp_rcvinfo))];

    for (;;) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        struct sctp_rcvinfo ri = {0};
        ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);

        if (n == 0) {
            conn_end(rn, c, END_SHUTDOWN, 0);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_end(rn, c, END_ABORT, errno);
            else
                conn_check_gone(rn, c);
            return;
        }
        if (mh.msg_flags & MSG_NOTIFICATION)
            continue;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == IPPROTO_SCTP && cm->cmsg_type == SCTP_RCVINFO)
                memcpy(&ri, CMSG_DATA(cm), sizeof(ri));
        conn_on_msg(c, o, ri.rcv_sid, ntohl(ri.rcv_ppid), buf, (size_t)n, first);
        if (c->state == S_ENDED)
            return;
    }
}

static void conn_event(run_t *rn, conn_t *c, const opts_t *o, int ep, uint32_t events,
                       first_t *first)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (c->state == S_CONNECTING) {
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            conn_refused(rn, c, o, err);
        else if (events & EPOLLOUT)
            conn_up(rn, c, o, ep);
        return;
    }
    if (c->state != S_ENDED)
        conn_read(rn, c, o, first);
}

/* ---- report ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static const char *end_name(const conn_t *c)
{
    static const char *const names[] = {"still open", "shutdown", "abort", "connect failed"};

    return names[c->end];
}

/* What one attack's associations saw, summed. */
typedef struct tally {
    unsigned est, cfail, shut, abrt, open, told, hello_r, ready, sealed, unopened, flow, msgs,
        tries;
    size_t bytes;
    const char *cerr;
} tally_t;

static void tally_add(tally_t *t, const conn_t *c)
{
    t->est += c->t_est > 0;
    t->cfail += c->end == END_CONNECT;
    t->shut += c->end == END_SHUTDOWN;
    t->abrt += c->end == END_ABORT;
    t->open += c->t_est > 0 && c->end == END_NONE;
    t->told += (unsigned)c->told;
    t->hello_r += (unsigned)c->hello_r;
    t->ready += (unsigned)c->ready;
    t->sealed += (unsigned)c->sealed_rx;
    t->unopened += (unsigned)c->unopened;
    t->flow += (unsigned)c->flow_msgs;
    t->msgs += c->msgs;
    t->tries += c->tries;
    t->bytes += c->bytes;
    if (c->t_est == 0 && c->sys_err)
        t->cerr = strerror(c->sys_err);
}

static void conn_describe(unsigned i, const conn_t *c)
{
    fprintf(stderr,
            "hostile: assoc %u: sent %u msgs (%zu bytes); %s; %d sealed (%d unopened)%s; "
            "gateway error %d; %s (%s) after %.0f ms\n",
            i, c->msgs, c->bytes, c->hello_r ? "gateway HELLO" : "no gateway HELLO", c->sealed_rx,
            c->unopened, c->ready ? ", READY!" : "", c->told ? c->error_code : -1, end_name(c),
            c->sys_err ? strerror(c->sys_err) : "-",
            c->t_est > 0 && c->t_end > 0 ? (c->t_end - c->t_est) * 1e3 : -1.0);
}

/* CLOCK_MONOTONIC's reading `t` on the wall clock. */
static double wall_of(double t)
{
    struct timespec ts;

    if (t <= 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &ts);
    return t - now_s() + (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const opts_t *o, const char *name, conn_t *cs, const first_t *first)
{
    tally_t t = {.cerr = "none"};
    unsigned ne = 0;
    double up_first = 0, up_last = 0;
    double *ms = calloc(o->assocs + 1, sizeof(double));

    for (unsigned i = 0; i < o->assocs; i++) {
        tally_add(&t, &cs[i]);
        if (cs[i].t_est > 0 && (up_first == 0 || cs[i].t_est < up_first))
            up_first = cs[i].t_est;
        if (cs[i].t_est > up_last)
            up_last = cs[i].t_est;
        if (cs[i].end == END_SHUTDOWN || cs[i].end == END_ABORT)
            ms[ne++] = (cs[i].t_end - cs[i].t_est) * 1e3;
        if (o->verbose)
            conn_describe(i, &cs[i]);
    }
    qsort(ms, ne, sizeof(double), cmp_double);
    printf("attack=%s sctp_auth=%s assocs=%u established=%u connect_failed=%u ended=%u "
           "shutdown=%u abort=%u still_open=%u told=%u hello_r=%u ready=%u sealed_rx=%u "
           "unopened=%u flow_replies=%u msgs_sent=%u bytes_sent=%zu end_ms_min=%.0f "
           "end_ms_p50=%.0f end_ms_max=%.0f up_first=%.3f up_last=%.3f connects=%u seed=%llu "
           "first_code=%d connect_error=\"%s\" first_error=\"%s\"\n",
           name, auth_names[o->auth], o->assocs, t.est, t.cfail, t.shut + t.abrt, t.shut, t.abrt,
           t.open, t.told, t.hello_r, t.ready, t.sealed, t.unopened, t.flow, t.msgs, t.bytes,
           ne ? ms[0] : -1.0, ne ? ms[ne / 2] : -1.0, ne ? ms[ne - 1] : -1.0, wall_of(up_first),
           wall_of(up_last), t.tries, (unsigned long long)o->seed, first->code, t.cerr,
           first->text);
    fflush(stdout);
    free(ms);
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: hostile --connect HOST:PORT [--bind ADDR] [--burst N] [--rate N]\n"
                 "               [--retries N] [--seed S] [--service NAME] [--timeout-ms T]\n"
                 "               [--sctp-auth off|wrong | --auth-key-file FILE]\n"
                 "               [--psk-file FILE] [--name NAME] [--pause-ms T] [-v]\n"
                 "               ATTACK[+hello][:N]...\n"
                 "attacks: random early wrongkey version replay noproof badproof reflect\n"
                 "         big0 bigflow silent keep earlyclose halfrekey badswitch lastwords\n"
                 "         sealed0 giveup badrst keepflood keepstream\n"
                 "(see the comment at the top of tests/tools/hostile.c)\n");
}

/* ATTACK[+hello][:N] */
static int parse_attack(const char *spec, opts_t *o)
{
    char name[32];
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    char *plus;

    if (len >= sizeof(name))
        return -1;
    memcpy(name, spec, len);
    name[len] = '\0';
    o->hello = 0;
    if ((plus = strchr(name, '+')) != NULL) {
        if (strcmp(plus, "+hello") != 0)
            return -1;
        *plus = '\0';
        o->hello = 1;
    }
    o->assocs = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 1;
    if (o->assocs == 0 || o->assocs > 100000)
        return -1;
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
        if (!strcmp(name, mode_names[i])) {
            o->mode = (attack_t)i;
            return 0;
        }
    }
    return -1;
}

static int parse_opts(opts_t *o, int argc, char **argv)
{
    static const struct option lo[] = {
        {"connect", required_argument, NULL, 'c'},
        {"bind", required_argument, NULL, 'b'},
        {"burst", required_argument, NULL, 'B'},
        {"retries", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"rate", required_argument, NULL, 'R'},
        {"service", required_argument, NULL, 'S'},
        {"name", required_argument, NULL, 'N'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"pause-ms", required_argument, NULL, 'p'},
        {"sctp-auth", required_argument, NULL, 'A'},
        {"auth-key-file", required_argument, NULL, 'K'},
        {"psk-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, have_peer = 0;

    *o = (opts_t){.burst = 64,
                  .timeout_ms = 30000,
                  .pause_ms = 2000,
                  .retries = 20,
                  .seed = 1,
                  .service = "trap",
                  .name = "intruder"};
    while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (parse_addr(optarg, &o->peer, 1) < 0)
                return -1;
            have_peer = 1;
            break;
        case 'b':
            if (parse_addr(optarg, &o->local, 0) < 0)
                return -1;
            o->has_local = 1;
            break;
        case 'r':
            o->retries = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'R':
            o->rate = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'B':
            o->burst = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->seed = strtoull(optarg, NULL, 10);
            break;
        case 'S':
            if (strlen(optarg) == 0 || strlen(optarg) > 63)
                return -1;
            o->service = optarg;
            break;
        case 'N':
            if (strlen(optarg) == 0 || strlen(optarg) > HELLO_NAME_MAX)
                return -1;
            o->name = optarg;
            break;
        case 't':
            o->timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o->pause_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'A':
            if (strcmp(optarg, "off") && strcmp(optarg, "wrong"))
                return -1;
            o->auth = optarg[0] == 'o' ? AUTH_OFF : AUTH_WRONG;
            if (o->auth == AUTH_WRONG)
                randombytes_buf(o->auth_key, sizeof(o->auth_key));
            break;
        case 'K':
            if (derive_from_file(optarg, auth_label, o->auth_key) < 0) {
                fprintf(stderr, "hostile: cannot read the key file %s\n", optarg);
                return -1;
            }
            o->auth = AUTH_KEY;
            break;
        case 'P':
            if (derive_from_file(optarg, psk_label, o->psk) < 0) {
                fprintf(stderr, "hostile: cannot read the key file %s\n", optarg);
                return -1;
            }
            o->has_psk = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (!have_peer || optind == argc || o->burst == 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        if (parse_attack(argv[i], o) < 0)
            return -1;
        if (!o->has_psk && (o->hello || o->mode == M_REPLAY || o->mode == M_NOPROOF ||
                            o->mode == M_BADPROOF || o->mode == M_REFLECT)) {
            fprintf(stderr, "hostile: %s needs a valid HELLO: give --psk-file\n", argv[i]);
            return -1;
        }
        if ((o->mode == M_EARLYCLOSE || o->mode == M_HALFREKEY || o->mode == M_BADSWITCH ||
             o->mode == M_LASTWORDS || o->mode == M_GIVEUP || o->mode == M_BADRST) &&
            (!o->has_psk || o->auth != AUTH_KEY)) {
            fprintf(stderr, "hostile: %s needs the key: give --psk-file and --auth-key-file\n",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Room for one descriptor per association, and some. */
static void raise_fd_limit(unsigned want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want + 64)
        return;
    rl.rlim_cur = want + 64;
    if (rl.rlim_max < rl.rlim_cur)
        rl.rlim_max = rl.rlim_cur; /* root may raise the hard limit too */
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* One attack on o->assocs associations, to its end; prints its report.
 * Returns 0, or -1 when the tool itself cannot run. */
static int attack(const opts_t *o, const char *name)
{
    run_t rn = {.n = o->assocs, .live = o->assocs, .t0 = now_s()};
    first_t first = {.code = -1};
    struct epoll_event evs[256];
    double deadline = now_s() + o->timeout_ms / 1e3;
    int ep = epoll_create1(EPOLL_CLOEXEC), n;

    rn.cs = calloc(rn.n, sizeof(*rn.cs));
    rn.retry = calloc(rn.n, sizeof(*rn.retry));
    if (!rn.cs || !rn.retry || ep < 0) {
        perror("hostile");
        return -1;
    }
    if (o->mode == M_REFLECT && !reflect_len) {
        fprintf(stderr, "hostile: reflect needs an earlier attack that got the gateway's HELLO\n");
        return -1;
    }
    if (o->mode == M_REPLAY)
        replay_len = build_hello(&replay_nz, o->psk, o->name, replay_hello);
    for (unsigned i = 0; i < rn.n; i++)
        rn.cs[i].idx = i;
    raise_fd_limit(rn.n);
    for (;;) {
        run_dial(&rn, o, ep);
        run_later(&rn, o);
        if (!rn.live || now_s() >= deadline)
            break;
        n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++)
            conn_event(&rn, evs[i].data.ptr, o, ep, evs[i].events, &first);
    }
    if (rn.cs[0].end == END_CONNECT && rn.cs[0].sys_err == EPROTONOSUPPORT) {
        fprintf(stderr, "hostile: this kernel has no SCTP\n");
        return -1;
    }
    report(o, name, rn.cs, &first);
    for (unsigned i = 0; i < rn.n; i++) /* those still open: an ABORT */
        if (rn.cs[i].fd >= 0) {
            struct linger now = {.l_onoff = 1, .l_linger = 0};
            setsockopt(rn.cs[i].fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
            close(rn.cs[i].fd);
        }
    close(ep);
    free(rn.cs);
    free(rn.retry);
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;

    if (sodium_init() < 0) {
        fprintf(stderr, "hostile: libsodium cannot start\n");
        return 1;
    }
    if (parse_opts(&o, argc, argv) < 0) {
        usage(stderr);
        return 2;
    }
    rng_state = o.seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    for (int i = optind; i < argc; i++) {
        const char *colon = strchr(argv[i], ':');
        char name[32];

        parse_attack(argv[i], &o);
        snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - argv[i]) : 31, argv[i]);
        if (attack(&o, name) < 0)
            return 1;
    }
    return 0;
}
