/* hostile: a peer without the key, aimed at a gateway's SCTP listener, for
 * the integration test t_hostile. It is a real SCTP endpoint: every attack
 * runs over associations the kernel sets up like any peer's.
 *
 *   hostile --connect HOST:PORT [--bind ADDR] [options] ATTACK[+hello][:N]...
 *
 * The attacks run one after the other, each on N associations (default 1)
 * opened at once, at most --burst (64) connecting at a time and at most
 * --rate connects a second (default no limit); a refused connect (the
 * listener's accept queue was full) is tried again after 100 ms, up to
 * --retries (20) times. Attacks:
 *   random    random messages: random streams, PPIDs (mostly the gateway's
 *             own types), sizes (1 B .. 70 KB) and bytes; one association in
 *             two starts with a valid HELLO, so later states are reached too
 *   early     OPEN and DATA on stream 1 before any handshake
 *   noproof   a valid HELLO; once the gateway answered (HELLO, AUTH), OPEN
 *             and DATA without the proof
 *   badproof  a valid HELLO, then a wrong proof (random bytes), OPEN, DATA
 *   reflect   a valid HELLO, then the gateway's own proof sent back as ours
 *             (the labels in the proof must stop this), OPEN, DATA
 *   big0      a 1 MiB message on stream 0
 *   bigflow   a 1 MiB DATA message on stream 1
 *   silent    nothing at all: the association is held open, without a word
 * +hello makes early, big0 and bigflow start with a valid HELLO and wait for
 * the gateway's answer first. OPENs name --service (default "trap").
 *
 * Each association is then read until the gateway ends it (or --timeout-ms,
 * default 30000, passes): how it ended (SHUTDOWN or ABORT), whether the
 * gateway said why first (an ERROR on stream 0), and how long after
 * establishment. One line per attack goes to stdout:
 *   attack= assocs= established= connect_failed= ended= shutdown= abort=
 *   still_open= told= ready= flow_replies= msgs_sent= bytes_sent=
 *   end_ms_min= end_ms_p50= end_ms_max= connects= seed= connect_error="..."
 *   first_error="..."
 * ready counts READY messages and flow_replies any message on a flow stream:
 * a gateway that lets this peer through shows there. -v prints one line per
 * association on stderr. The exit status is 0 unless the tool itself could
 * not run (bad usage, no SCTP); what the gateway did is for the caller to
 * judge. The bytes are deterministic for a given --seed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The gateway's wire format (include/wire.h), restated: a test tool that
 * shared the gateway's codec would miss a mistake made in both. */
#define PPID_BASE  0x53470000u
#define T_HELLO    1
#define T_AUTH     2
#define T_READY    3
#define T_ERROR    4
#define T_OPEN     16
#define T_DATA     18
#define T_LAST     22
#define VERSION    2
#define NONCE_LEN  32
#define PROOF_LEN  32
#define BIG_LEN    (1024 * 1024)
#define RAND_MAX_B 70000 /* above the gateway's 64 KiB message limit */

enum {
    STREAMS = 16,
    SOCK_BUF = 4 * 1024 * 1024, /* a 1 MiB message must fit the send buffer */
    RBUF = 128 * 1024,
    ERR_TEXT = 160,
};

typedef enum {
    M_RANDOM,
    M_EARLY,
    M_NOPROOF,
    M_BADPROOF,
    M_REFLECT,
    M_BIG0,
    M_BIGFLOW,
    M_SILENT
} attack_t;

static const char *const mode_names[] = {"random",  "early", "noproof", "badproof",
                                         "reflect", "big0",  "bigflow", "silent"};

typedef enum {
    S_IDLE,       /* not yet dialed */
    S_CONNECTING, /* INIT sent */
    S_WAIT_PEER,  /* our HELLO sent; waiting for the gateway's HELLO and AUTH */
    S_DRAIN,      /* everything sent: reading until the gateway ends it */
    S_ENDED,
} state_t;

typedef enum { END_NONE, END_SHUTDOWN, END_ABORT, END_CONNECT } end_t;

typedef struct conn {
    int fd;
    state_t state;
    end_t end;
    int saw_hello, saw_auth;
    uint8_t gw_proof[PROOF_LEN];
    int told;       /* the gateway sent an ERROR */
    int error_code; /* its code */
    int ready;      /* READY messages received */
    int flow_msgs;  /* messages received on a flow stream */
    unsigned msgs;  /* messages we sent */
    size_t bytes;   /* bytes we sent */
    double t_est, t_end;
    int sys_err;       /* errno of the end, or of a failed connect */
    unsigned tries;    /* connects made */
    double not_before; /* a refused connect is tried again after a pause */
} conn_t;

typedef struct opts {
    struct sockaddr_in peer, local;
    int has_local;
    attack_t mode;
    unsigned assocs, burst, timeout_ms, retries;
    unsigned rate; /* new connects per second at most, 0: no limit */
    uint64_t seed;
    int hello, verbose;
    const char *service;
} opts_t;

static uint64_t rng_state;

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
    if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0)
        return -errno;
    c->msgs++;
    c->bytes += len;
    return 0;
}

static void send_type(conn_t *c, uint16_t sid, unsigned type, const void *buf, size_t len)
{
    send_msg(c, sid, PPID_BASE + type, buf, len);
}

static void send_hello(conn_t *c)
{
    static const char name[] = "intruder";
    uint8_t b[2 + 2 + NONCE_LEN + 4 + 1 + sizeof(name)];
    size_t n = 0;

    b[n++] = 0;
    b[n++] = VERSION;
    b[n++] = 0;
    b[n++] = 0;
    rnd_fill(b + n, NONCE_LEN);
    n += NONCE_LEN;
    b[n++] = 0; /* flow window 1 MiB */
    b[n++] = 0x10;
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = (uint8_t)(sizeof(name) - 1);
    memcpy(b + n, name, sizeof(name) - 1);
    n += sizeof(name) - 1;
    send_type(c, 0, T_HELLO, b, n);
}

static void send_open_data(conn_t *c, const opts_t *o)
{
    uint8_t b[64];
    size_t n = strlen(o->service);

    b[0] = (uint8_t)n;
    memcpy(b + 1, o->service, n);
    send_type(c, 1, T_OPEN, b, n + 1);
    memcpy(b, "GET / HTTP/1.0\r\n\r\n", 18);
    send_type(c, 1, T_DATA, b, 18);
}

static void send_big(conn_t *c, uint16_t sid, unsigned type)
{
    uint8_t *b = malloc(BIG_LEN);

    if (!b)
        return;
    rnd_fill(b, BIG_LEN);
    send_type(c, sid, type, b, BIG_LEN);
    free(b);
}

/* One random message: mostly the gateway's own PPIDs, so the decoder's
 * every branch is reached; sometimes a plausible body for the type. */
static void send_random(conn_t *c, const opts_t *o)
{
    static uint8_t b[RAND_MAX_B];
    uint32_t pick = rnd_below(100), ppid, len;
    uint16_t sid = (uint16_t)(rnd_below(3) == 0 ? 0 : rnd_below(STREAMS));

    if (pick < 60)
        ppid = PPID_BASE + rnd_below(T_LAST + 3);
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
        len = (uint32_t)strlen(o->service) + 1;
        b[0] = (uint8_t)(len - 1);
        memcpy(b + 1, o->service, len - 1);
    } else if (rnd_below(3) == 0 && len > 1) {
        b[0] = (uint8_t)(len - 1 > 255 ? 255 : len - 1); /* a length prefix that may fit */
    }
    send_msg(c, sid, ppid, b, len);
}

/* What a mode sends as soon as the association is up. Returns 1 when it
 * must first hear the gateway's HELLO and AUTH. */
static int script_start(conn_t *c, const opts_t *o)
{
    int hello = o->hello || o->mode == M_NOPROOF || o->mode == M_BADPROOF || o->mode == M_REFLECT;

    if (o->mode == M_SILENT)
        return 0;
    if (o->mode == M_RANDOM) {
        unsigned n = 1 + rnd_below(6);
        if (rnd_below(2))
            send_hello(c);
        for (unsigned i = 0; i < n; i++)
            send_random(c, o);
        return 0;
    }
    if (hello) {
        send_hello(c);
        return 1;
    }
    return -1; /* nothing first: go straight to the main part */
}

/* The mode's main part, once the gateway answered (or at once). */
static void script_main(conn_t *c, const opts_t *o)
{
    uint8_t proof[PROOF_LEN];

    switch (o->mode) {
    case M_BADPROOF:
        rnd_fill(proof, sizeof(proof));
        send_type(c, 0, T_AUTH, proof, sizeof(proof));
        send_open_data(c, o);
        break;
    case M_REFLECT:
        send_type(c, 0, T_AUTH, c->gw_proof, sizeof(c->gw_proof));
        send_open_data(c, o);
        break;
    case M_NOPROOF:
    case M_EARLY:
        send_open_data(c, o);
        break;
    case M_BIG0:
        send_big(c, 0, T_HELLO);
        break;
    case M_BIGFLOW:
        send_big(c, 1, T_DATA);
        break;
    default:
        break;
    }
}

/* ---- connections ------------------------------------------------------ */

static int conn_socket(const opts_t *o)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP);
    struct sctp_initmsg im = {.sinit_num_ostreams = STREAMS, .sinit_max_instreams = STREAMS};
    int one = 1, buf = SOCK_BUF, level = 2;
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
    if (o->has_local && bind(fd, (const struct sockaddr *)&o->local, sizeof(o->local)) < 0) {
        int e = -errno;
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
    if (r == 1) {
        c->state = S_WAIT_PEER;
        return;
    }
    if (r < 0)
        script_main(c, o);
    c->state = S_DRAIN;
}

/* One message from the gateway. */
static void conn_on_msg(conn_t *c, const opts_t *o, uint16_t sid, uint32_t ppid, const uint8_t *buf,
                        size_t len, char *first_error)
{
    uint32_t t = ppid - PPID_BASE;

    if (sid != 0) {
        c->flow_msgs++;
        return;
    }
    if (t == T_HELLO)
        c->saw_hello = 1;
    if (t == T_AUTH && len == PROOF_LEN) {
        c->saw_auth = 1;
        memcpy(c->gw_proof, buf, PROOF_LEN);
    }
    if (t == T_READY)
        c->ready++;
    if (t == T_ERROR && len >= 3) {
        size_t n = buf[2] < len - 3 ? buf[2] : len - 3;
        c->told = 1;
        c->error_code = buf[0] << 8 | buf[1];
        if (!first_error[0])
            snprintf(first_error, ERR_TEXT, "%.*s", (int)n, (const char *)buf + 3);
    }
    if (c->state == S_WAIT_PEER && c->saw_hello && c->saw_auth) {
        c->state = S_DRAIN;
        script_main(c, o);
    }
}

static void conn_read(run_t *rn, conn_t *c, const opts_t *o, char *first_error)
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
            return;
        }
        if (mh.msg_flags & MSG_NOTIFICATION)
            continue;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == IPPROTO_SCTP && cm->cmsg_type == SCTP_RCVINFO)
                memcpy(&ri, CMSG_DATA(cm), sizeof(ri));
        conn_on_msg(c, o, ri.rcv_sid, ntohl(ri.rcv_ppid), buf, (size_t)n, first_error);
        if (c->state == S_ENDED)
            return;
    }
}

static void conn_event(run_t *rn, conn_t *c, const opts_t *o, int ep, uint32_t events,
                       char *first_error)
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
        conn_read(rn, c, o, first_error);
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

static void report(const opts_t *o, const char *name, conn_t *cs, const char *first_error)
{
    unsigned est = 0, cfail = 0, ended = 0, shut = 0, abrt = 0, open = 0, told = 0, ready = 0,
             flow = 0, msgs = 0, ne = 0, tries = 0;
    const char *cerr = "none";
    size_t bytes = 0;
    double *ms = calloc(o->assocs + 1, sizeof(double));

    for (unsigned i = 0; i < o->assocs; i++) {
        conn_t *c = &cs[i];
        est += c->t_est > 0;
        cfail += c->end == END_CONNECT;
        shut += c->end == END_SHUTDOWN;
        abrt += c->end == END_ABORT;
        open += c->t_est > 0 && c->end == END_NONE;
        told += c->told;
        ready += (unsigned)c->ready;
        flow += (unsigned)c->flow_msgs;
        msgs += c->msgs;
        tries += c->tries;
        if (c->t_est == 0 && c->sys_err)
            cerr = strerror(c->sys_err);
        bytes += c->bytes;
        if (c->end == END_SHUTDOWN || c->end == END_ABORT)
            ms[ne++] = (c->t_end - c->t_est) * 1e3;
        if (o->verbose)
            fprintf(stderr,
                    "hostile: assoc %u: sent %u msgs (%zu bytes); %s%s; gateway error %d; "
                    "%s (%s) after %.0f ms\n",
                    i, c->msgs, c->bytes, c->saw_hello ? "gateway HELLO" : "no gateway HELLO",
                    c->ready ? ", READY!" : "", c->told ? c->error_code : -1, end_name(c),
                    c->sys_err ? strerror(c->sys_err) : "-",
                    c->t_est > 0 && c->t_end > 0 ? (c->t_end - c->t_est) * 1e3 : -1.0);
    }
    ended = shut + abrt;
    qsort(ms, ne, sizeof(double), cmp_double);
    printf("attack=%s assocs=%u established=%u connect_failed=%u ended=%u shutdown=%u abort=%u "
           "still_open=%u told=%u ready=%u flow_replies=%u msgs_sent=%u bytes_sent=%zu "
           "end_ms_min=%.0f end_ms_p50=%.0f end_ms_max=%.0f connects=%u seed=%llu "
           "connect_error=\"%s\" first_error=\"%s\"\n",
           name, o->assocs, est, cfail, ended, shut, abrt, open, told, ready, flow, msgs, bytes,
           ne ? ms[0] : -1.0, ne ? ms[ne / 2] : -1.0, ne ? ms[ne - 1] : -1.0, tries,
           (unsigned long long)o->seed, cerr, first_error);
    fflush(stdout);
    free(ms);
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: hostile --connect HOST:PORT [--bind ADDR] [--burst N] [--rate N]\n"
                 "               [--retries N] [--seed S] [--service NAME] [--timeout-ms T]\n"
                 "               [-v]\n"
                 "               ATTACK[+hello][:N]...\n"
                 "attacks: random early noproof badproof reflect big0 bigflow silent\n"
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
        {"connect", required_argument, NULL, 'c'}, {"bind", required_argument, NULL, 'b'},
        {"burst", required_argument, NULL, 'B'},   {"retries", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},    {"rate", required_argument, NULL, 'R'},
        {"service", required_argument, NULL, 'S'}, {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int c, have_peer = 0;

    *o = (opts_t){.burst = 64, .timeout_ms = 30000, .retries = 20, .seed = 1, .service = "trap"};
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
        case 't':
            o->timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
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
    for (int i = optind; i < argc; i++)
        if (parse_attack(argv[i], o) < 0)
            return -1;
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
    char first_error[ERR_TEXT] = "";
    struct epoll_event evs[256];
    double deadline = now_s() + o->timeout_ms / 1e3;
    int ep = epoll_create1(EPOLL_CLOEXEC), n;

    rn.cs = calloc(rn.n, sizeof(*rn.cs));
    rn.retry = calloc(rn.n, sizeof(*rn.retry));
    if (!rn.cs || !rn.retry || ep < 0) {
        perror("hostile");
        return -1;
    }
    raise_fd_limit(rn.n);
    for (;;) {
        run_dial(&rn, o, ep);
        if (!rn.live || now_s() >= deadline)
            break;
        n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++)
            conn_event(&rn, evs[i].data.ptr, o, ep, evs[i].events, first_error);
    }
    if (rn.cs[0].end == END_CONNECT && rn.cs[0].sys_err == EPROTONOSUPPORT) {
        fprintf(stderr, "hostile: this kernel has no SCTP\n");
        return -1;
    }
    report(o, name, rn.cs, first_error);
    for (unsigned i = 0; i < rn.n; i++)
        if (rn.cs[i].fd >= 0)
            close(rn.cs[i].fd);
    close(ep);
    free(rn.cs);
    free(rn.retry);
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;

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
