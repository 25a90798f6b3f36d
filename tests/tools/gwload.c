/* gwload: traffic generator and back end for the integration tests and
 * benchmarks of the gateway. Plain TCP on both sides, or (--sctp) a bare
 * one-to-one SCTP socket, for the benchmark's raw-SCTP ceiling.
 *
 *   gwload server: echoes, replies after the peer's FIN, discards, or counts
 *                  and verifies a one-way bulk transfer.
 *   gwload client: opens flows that each carry a deterministic pseudo-random
 *                  byte stream, so an echo is verified byte for byte without
 *                  keeping a copy of what was sent; prints one report line.
 *
 * Both sides run a single libuv loop with large read buffers, so that the
 * tool is never the bottleneck of what it measures. An SCTP socket is a
 * stream socket to libuv: it is created here, tuned, and handed over with
 * uv_tcp_open; read, write, connect, listen and accept then work unchanged.
 * SCTP has no half-close (shutdown() ends the whole association), so over
 * SCTP a client flow sends no end-of-stream: it closes once every echo is
 * back (--no-fin does the same over TCP). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

enum {
    RBUF_SIZE = 256 * 1024,       /* one read drains a loopback burst */
    WCHUNK = 64 * 1024,           /* client write size in the bulk modes */
    WQ_HIGH = 1024 * 1024,        /* queued bytes above which nobody produces more */
    WQ_LOW = 256 * 1024,          /* the echo server reads again below this */
    REPLY_MAX = 64 * 1024 * 1024, /* what a reply-mode connection stores */
    REPLY_MIN_ROOM = 64 * 1024,   /* free space offered to each read */
    BACKLOG = 65535,              /* thousands of flows connect at once (capped by somaxconn) */
    IDLE_BYTES = 100,             /* idle mode: the proof that a flow is alive */
    EXPECT_CLOSE_BYTES = 16,      /* expect-close mode: default request size */
    ERR_LEN = 160,
    PATTERN_SIZE = 1024 * 1024,         /* bulk mode: the repeating payload */
    BULK_HDR = 16,                      /* bulk mode: magic u32 | offset u32 | length u64 */
    BULK_ACK = 8,                       /* bulk mode: the server's count of bytes, u64 */
    SCTP_BUF_DEFAULT = 4 * 1024 * 1024, /* like the gateway's sock_buffer */
};

#define BULK_MAGIC UINT32_C(0x474c4231) /* "GLB1" */

#define MS_NS UINT64_C(1000000)

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */
/* ------------------------------------------------------------------------ */

/* A uv_write request carrying its own bytes; freed by its callback. */
typedef struct wbuf {
    uv_write_t req; /* first: the callback casts back */
    void *owner;
    size_t len;
    uint8_t data[];
} wbuf_t;

static wbuf_t *wbuf_new(void *owner, size_t len)
{
    wbuf_t *w = malloc(sizeof(*w) + len);

    if (w) {
        w->owner = owner;
        w->len = len;
    }
    return w;
}

/* "HOST:PORT" or "[V6]:PORT"; an empty host means any address. Names are
 * resolved once, at start, so the event loop never blocks on them. */
static int parse_endpoint(const char *s, struct sockaddr_storage *out)
{
    struct addrinfo hints, *res;
    const char *port, *end;
    char host[256];
    size_t len;

    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        len = (size_t)(end - s - 1);
        s++;
        port = end + 2;
    } else {
        end = strrchr(s, ':');
        /* A bare IPv6 address is ambiguous: brackets are required. */
        if (!end || memchr(s, ':', (size_t)(end - s)))
            return -1;
        len = (size_t)(end - s);
        port = end + 1;
    }
    if (len >= sizeof(host) || !*port)
        return -1;
    memcpy(host, s, len);
    host[len] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (len ? 0 : AI_PASSIVE);
    if (getaddrinfo(len ? host : NULL, port, &hints, &res) != 0)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* A count with an optional binary suffix: 4M = 4 MiB. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    default:
        return -1;
    }
    if (*end && end[1])
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    uint64_t v;

    if (parse_size(s, &v) < 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Thousands of flows need thousands of descriptors: take what is allowed. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* --sctp: every socket is a one-to-one SCTP socket, tuned like the gateway's
 * (no Nagle, big buffers, so the kernel's SCTP is the only limit). */
static bool use_sctp;
static unsigned sctp_buffer = SCTP_BUF_DEFAULT;

static void sctp_tune(int fd)
{
    int one = 1, buf = (int)sctp_buffer;

    setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
    if (buf > 0) {
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    }
}

/* uv_tcp_init, plus (with --sctp) a fresh tuned SCTP socket of the family
 * opened into the handle. Returns 0 or a libuv error. */
static int stream_init(uv_loop_t *loop, uv_tcp_t *h, int family)
{
    int rc = uv_tcp_init(loop, h), fd;

    if (rc < 0 || !use_sctp)
        return rc;
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP);
    if (fd < 0)
        rc = -errno;
    else {
        sctp_tune(fd);
        rc = uv_tcp_open(h, fd);
        if (rc < 0)
            close(fd);
    }
    if (rc < 0)
        uv_close((uv_handle_t *)h, NULL);
    return rc;
}

/* Small messages are latency probes: neither Nagle nor SCTP bundling. */
static void stream_nodelay(uv_tcp_t *h)
{
    uv_os_fd_t fd;

    if (!use_sctp)
        uv_tcp_nodelay(h, 1);
    else if (uv_fileno((uv_handle_t *)h, &fd) == 0)
        sctp_tune(fd);
}

/* TCP paces a socket with a maximum rate itself, with or without the fq
 * queueing discipline. */
static void stream_pace(uv_tcp_t *h, uint64_t bytes_per_s)
{
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)h, &fd) == 0)
        setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &bytes_per_s, sizeof(bytes_per_s));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* ------------------------------------------------------------------------ */
/* The byte stream: xorshift64, eight bytes per step                        */
/* ------------------------------------------------------------------------ */

/* Sender and verifier each run one of these from the same seed; a position
 * inside the current word lets writes and reads split the stream anywhere. */
typedef struct gen {
    uint64_t state;
    uint8_t word[8];
    unsigned pos; /* bytes of word already used; 8 = none left */
} gen_t;

static void gen_init(gen_t *g, uint64_t seed, unsigned index)
{
    g->state = seed * 1000003u + index;
    if (g->state == 0)
        g->state = 0x9e3779b97f4a7c15ull; /* xorshift is stuck at zero */
    g->pos = 8;
}

static uint64_t gen_step(gen_t *g)
{
    uint64_t x = g->state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    g->state = x;
    return x;
}

static void gen_refill(gen_t *g)
{
    uint64_t x = gen_step(g);

    memcpy(g->word, &x, 8);
    g->pos = 0;
}

static void gen_fill(gen_t *g, uint8_t *p, size_t n)
{
    size_t i = 0;

    for (; i < n && g->pos < 8; i++)
        p[i] = g->word[g->pos++];
    for (; n - i >= 8; i += 8) {
        uint64_t x = gen_step(g);
        memcpy(p + i, &x, 8);
    }
    if (i < n) {
        gen_refill(g);
        for (; i < n; i++)
            p[i] = g->word[g->pos++];
    }
}

/* Returns how many leading bytes of p match the stream (n if all do). */
static size_t gen_check(gen_t *g, const uint8_t *p, size_t n)
{
    size_t i = 0;

    for (;;) {
        for (; i < n && g->pos < 8; i++, g->pos++)
            if (p[i] != g->word[g->pos])
                return i;
        if (i == n)
            return n;
        while (n - i >= 8) {
            uint64_t x = gen_step(g), y;
            memcpy(&y, p + i, 8);
            if (x != y) {
                /* Let the byte loop above find which byte differs. */
                memcpy(g->word, &x, 8);
                g->pos = 0;
                break;
            }
            i += 8;
        }
        if (i == n)
            return n;
        if (g->pos == 8)
            gen_refill(g);
    }
}

/* Bulk mode sends a fixed pseudo-random block over and over, straight from
 * memory (no generation, no copy), and the server checks it with memcmp: the
 * load generator stays far cheaper than what it loads. The block is followed
 * by its own first WCHUNK bytes, so any chunk starting inside it is one run.
 * Each flow starts at its own offset, so bytes crossing flows would show. */
static uint8_t *pattern;

static int pattern_init(void)
{
    gen_t g;

    if (pattern)
        return 0;
    pattern = malloc(PATTERN_SIZE + WCHUNK);
    if (!pattern)
        return -1;
    gen_init(&g, 0x5eed, 0);
    gen_fill(&g, pattern, PATTERN_SIZE);
    memcpy(pattern + PATTERN_SIZE, pattern, WCHUNK);
    return 0;
}

static uint32_t pattern_offset(unsigned flow_index)
{
    return (uint32_t)(((uint64_t)flow_index * 4099u) % PATTERN_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Server                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum { SRV_ECHO, SRV_REPLY, SRV_SINK, SRV_BULK } srv_mode_t;

typedef struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    uv_timer_t lifetime;
    srv_mode_t mode;
    unsigned delay_ms;
    unsigned max_seconds;
    bool verbose;
    uint64_t next_id;
    uint8_t rbuf[RBUF_SIZE]; /* reads are consumed before the next one */
} server_t;

typedef struct conn {
    uv_tcp_t tcp;
    uv_timer_t delay;
    uv_shutdown_t sreq;
    uv_write_t wreq; /* reply mode: the stored bytes */
    server_t *srv;
    uint64_t id, rx, tx, dropped;
    uint8_t *store;
    size_t len, cap;
    int open_handles;
    bool paused, closing;
    bool echo_failed; /* echo mode: a write failed; the rest read is dropped */
    /* bulk mode */
    uint8_t hdr[BULK_HDR];
    size_t hdr_len;
    uint64_t expect, got;
    uint32_t offset;
    bool answered;
} conn_t;

static void srv_log(const server_t *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void srv_log(const server_t *srv, const char *fmt, ...)
{
    va_list ap;

    if (!srv->verbose)
        return;
    va_start(ap, fmt);
    fputs("gwload server: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;

    if (--c->open_handles > 0)
        return;
    srv_log(c->srv, "conn %" PRIu64 " closed rx=%" PRIu64 " tx=%" PRIu64 " dropped=%" PRIu64, c->id,
            c->rx, c->tx, c->dropped);
    free(c->store);
    free(c);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    if (c->open_handles > 1)
        uv_close((uv_handle_t *)&c->delay, on_conn_closed);
}

static void on_conn_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

/* Our FIN goes out once every queued write has; then the connection is done
 * (the peer already sent its FIN, or we would not be here). */
static void conn_finish(conn_t *c)
{
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_conn_shutdown) < 0)
        conn_close(c);
}

/* Reply mode reads straight into the store, growing it up to REPLY_MAX;
 * past that the bytes land in the shared buffer and are counted as dropped. */
static uv_buf_t reply_room(conn_t *c)
{
    if (c->cap - c->len < REPLY_MIN_ROOM && c->cap < REPLY_MAX) {
        size_t cap = c->cap ? c->cap * 2 : 1024 * 1024;
        uint8_t *p;

        if (cap > REPLY_MAX)
            cap = REPLY_MAX;
        p = realloc(c->store, cap);
        if (p) {
            c->store = p;
            c->cap = cap;
        }
    }
    if (c->cap > c->len)
        return uv_buf_init((char *)c->store + c->len, (unsigned)(c->cap - c->len));
    return uv_buf_init((char *)c->srv->rbuf, RBUF_SIZE);
}

static void srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = h->data;

    (void)suggested;
    if (c->srv->mode == SRV_REPLY)
        *buf = reply_room(c);
    else
        *buf = uv_buf_init((char *)c->srv->rbuf, RBUF_SIZE);
}

static void srv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_read_start(conn_t *c)
{
    if (uv_read_start((uv_stream_t *)&c->tcp, srv_alloc, srv_read) < 0)
        conn_close(c);
}

/* A failed echo (the peer reset the connection) ends the echo, not the
 * reading: what the peer sent before its reset is still in our socket, and
 * reading on, the log says how much of it came. */
static void echo_fail(conn_t *c, int err)
{
    if (!c->echo_failed)
        srv_log(c->srv, "conn %" PRIu64 " echo %s after %" PRIu64 " bytes read", c->id,
                uv_err_name(err), c->rx);
    c->echo_failed = true;
    if (c->paused && !c->closing) {
        c->paused = false;
        conn_read_start(c);
    }
}

static void on_echo_written(uv_write_t *req, int status)
{
    wbuf_t *w = (wbuf_t *)req;
    conn_t *c = w->owner;
    size_t len = w->len;

    free(w);
    if (status < 0) {
        c->dropped += len;
        echo_fail(c, status);
        return;
    }
    c->tx += len;
    if (c->paused && !c->closing && c->tcp.write_queue_size < WQ_LOW) {
        c->paused = false;
        conn_read_start(c);
    }
}

/* Writes what the socket takes at once; copies only the rest, and stops
 * reading while much is queued so a slow peer cannot grow us unbounded. */
static void echo_bytes(conn_t *c, const uint8_t *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int done;
    wbuf_t *w;

    if (c->echo_failed) {
        c->dropped += n;
        return;
    }
    done = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (done == (int)n) {
        c->tx += n;
        return;
    }
    if (done < 0 && done != UV_EAGAIN) {
        c->dropped += n;
        echo_fail(c, done);
        return;
    }
    if (done > 0)
        c->tx += (size_t)done;
    else
        done = 0;
    w = wbuf_new(c, n - (size_t)done);
    if (!w) {
        conn_close(c);
        return;
    }
    memcpy(w->data, p + done, w->len);
    b = uv_buf_init((char *)w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_echo_written) < 0) {
        free(w);
        conn_close(c);
        return;
    }
    if (c->tcp.write_queue_size > WQ_HIGH) {
        c->paused = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

static void on_bulk_ack_written(uv_write_t *req, int status)
{
    wbuf_t *w = (wbuf_t *)req;
    conn_t *c = w->owner;

    free(w);
    if (status < 0)
        conn_close(c);
    else
        c->tx += BULK_ACK;
}

static void bulk_fail(conn_t *c, const char *what)
{
    srv_log(c->srv, "conn %" PRIu64 " bulk: %s after %" PRIu64 " of %" PRIu64 " bytes", c->id, what,
            c->got, c->expect);
    if (c->closing)
        return;
    /* A reset, so the client cannot mistake this for a clean end. */
    c->closing = true;
    if (uv_tcp_close_reset(&c->tcp, on_conn_closed) < 0)
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    if (c->open_handles > 1)
        uv_close((uv_handle_t *)&c->delay, on_conn_closed);
}

/* Bulk mode: a header, then exactly `expect` bytes of the pattern; once all
 * are in and verified the server answers with their count. */
static void bulk_bytes(conn_t *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->hdr_len < BULK_HDR) {
        c->hdr[c->hdr_len++] = *p++;
        n--;
        if (c->hdr_len == BULK_HDR) {
            uint32_t magic = (uint32_t)(get_be64(c->hdr) >> 32);

            c->offset = (uint32_t)get_be64(c->hdr) % PATTERN_SIZE;
            c->expect = get_be64(c->hdr + 8);
            if (magic != BULK_MAGIC) {
                bulk_fail(c, "bad header");
                return;
            }
        }
    }
    while (n > 0) {
        size_t pos = (size_t)((c->offset + c->got) % PATTERN_SIZE);
        size_t take = n < WCHUNK ? n : WCHUNK;

        if (c->answered || take > c->expect - c->got) {
            bulk_fail(c, "bytes beyond the announced length");
            return;
        }
        if (memcmp(p, pattern + pos, take) != 0) {
            bulk_fail(c, "payload mismatch");
            return;
        }
        c->got += take;
        p += take;
        n -= take;
    }
    if (c->hdr_len == BULK_HDR && c->got == c->expect && !c->answered) {
        wbuf_t *w = wbuf_new(c, BULK_ACK);
        uv_buf_t b;

        c->answered = true; /* nothing more may come */
        if (!w) {
            conn_close(c);
            return;
        }
        put_be64(w->data, c->got);
        b = uv_buf_init((char *)w->data, BULK_ACK);
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_bulk_ack_written) < 0) {
            free(w);
            conn_close(c);
        }
    }
}

static void on_reply_written(uv_write_t *req, int status)
{
    conn_t *c = req->data;

    if (status < 0)
        conn_close(c);
    else
        c->tx += c->len;
}

static void conn_on_eof(conn_t *c)
{
    /* Once a write has failed on the peer's reset, the kernel reports the
     * end of what was received the same way whether a FIN came or not. */
    if (c->echo_failed)
        srv_log(c->srv,
                "conn %" PRIu64 " end after %" PRIu64 " bytes (after the reset: FIN unknown)",
                c->id, c->rx);
    else
        srv_log(c->srv, "conn %" PRIu64 " eof after %" PRIu64 " bytes", c->id, c->rx);
    if (c->srv->mode == SRV_REPLY && c->len > 0) {
        uv_buf_t b = uv_buf_init((char *)c->store, (unsigned)c->len);

        c->wreq.data = c;
        if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_reply_written) < 0) {
            conn_close(c);
            return;
        }
    }
    conn_finish(c);
}

static void srv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;

    if (nread < 0) {
        if (nread == UV_EOF) {
            uv_read_stop(s);
            conn_on_eof(c);
        } else {
            srv_log(c->srv, "conn %" PRIu64 " %s after %" PRIu64 " bytes", c->id,
                    uv_err_name((int)nread), c->rx);
            conn_close(c);
        }
        return;
    }
    c->rx += (uint64_t)nread;
    if (c->srv->mode == SRV_BULK)
        bulk_bytes(c, (const uint8_t *)buf->base, (size_t)nread);
    else if (c->srv->mode == SRV_ECHO)
        echo_bytes(c, (const uint8_t *)buf->base, (size_t)nread);
    else if (c->srv->mode == SRV_REPLY && (uint8_t *)buf->base == c->store + c->len)
        c->len += (size_t)nread;
    else if (c->srv->mode == SRV_REPLY)
        c->dropped += (uint64_t)nread;
}

static void on_delay_done(uv_timer_t *t)
{
    conn_t *c = t->data;

    srv_log(c->srv, "conn %" PRIu64 " starts reading", c->id);
    conn_read_start(c);
}

static void conn_log_peer(conn_t *c)
{
    struct sockaddr_storage ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int len = sizeof(ss), port = 0;

    if (!c->srv->verbose)
        return;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    srv_log(c->srv, "conn %" PRIu64 " accepted from %s port %d", c->id, host, port);
}

static void on_connection(uv_stream_t *listener, int status)
{
    server_t *srv = listener->data;
    conn_t *c;

    if (status < 0) {
        srv_log(srv, "accept: %s", uv_strerror(status));
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c || uv_tcp_init(srv->loop, &c->tcp) < 0) {
        free(c);
        return;
    }
    c->srv = srv;
    c->id = ++srv->next_id;
    c->open_handles = 1;
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    stream_nodelay(&c->tcp); /* echoes of small chunks must not wait */
    conn_log_peer(c);
    if (srv->delay_ms == 0) {
        conn_read_start(c);
        return;
    }
    uv_timer_init(srv->loop, &c->delay);
    c->open_handles++;
    c->delay.data = c;
    uv_timer_start(&c->delay, on_delay_done, srv->delay_ms, 0);
}

/* The test harness stops servers with SIGTERM: that is a clean exit. */
static void on_stop_signal(uv_signal_t *sig, int signum)
{
    server_t *srv = sig->data;

    srv_log(srv, "signal %d, stopping", signum);
    uv_stop(srv->loop);
}

static void on_lifetime_over(uv_timer_t *t)
{
    server_t *srv = t->data;

    srv_log(srv, "max-seconds reached, stopping");
    uv_stop(srv->loop);
}

static void server_usage(FILE *out)
{
    fprintf(out,
            "usage: gwload server --listen HOST:PORT [--mode echo|reply|sink|bulk]\n"
            "                     [--delay-read-ms N] [--max-seconds S] [--sctp]\n"
            "                     [--sock-buffer B] [-v]\n"
            "  echo   write back every byte; after the peer's FIN, finish and send ours\n"
            "  reply  read to the peer's FIN (keeping up to 64 MiB), then send it all back\n"
            "  sink   read and discard\n"
            "  bulk   the other end of client --mode bulk: verify the announced bytes,\n"
            "         then answer with their count\n"
            "  --delay-read-ms  read nothing from a new connection for N ms\n"
            "  --sctp           listen on a one-to-one SCTP socket instead of TCP (bound\n"
            "                   to the wildcard address it is multihomed)\n"
            "  --sock-buffer B  SCTP send and receive buffers (default 4M; 0: the kernel's)\n");
}

static int server_parse(server_t *srv, struct sockaddr_storage *addr, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"mode", required_argument, NULL, 'm'},
        {"delay-read-ms", required_argument, NULL, 'd'},
        {"max-seconds", required_argument, NULL, 's'},
        {"sctp", no_argument, NULL, 'P'},
        {"sock-buffer", required_argument, NULL, 'B'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = NULL;
    int c;

    while ((c = getopt_long(argc, argv, "l:m:d:s:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'm':
            if (!strcmp(optarg, "echo"))
                srv->mode = SRV_ECHO;
            else if (!strcmp(optarg, "reply"))
                srv->mode = SRV_REPLY;
            else if (!strcmp(optarg, "sink"))
                srv->mode = SRV_SINK;
            else if (!strcmp(optarg, "bulk"))
                srv->mode = SRV_BULK;
            else
                return -1;
            break;
        case 'P':
            use_sctp = true;
            break;
        case 'B':
            if (parse_uint(optarg, 1u << 30, &sctp_buffer) < 0)
                return -1;
            break;
        case 'd':
            if (parse_uint(optarg, 86400000u, &srv->delay_ms) < 0)
                return -1;
            break;
        case 's':
            if (parse_uint(optarg, 86400u * 365u, &srv->max_seconds) < 0)
                return -1;
            break;
        case 'v':
            srv->verbose = true;
            break;
        case 'h':
            server_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (!listen || optind != argc)
        return -1;
    if (parse_endpoint(listen, addr) < 0) {
        fprintf(stderr, "gwload server: bad or unresolvable address '%s'\n", listen);
        return -1;
    }
    return 0;
}

static int server_listen(server_t *srv, const struct sockaddr_storage *addr)
{
    int rc;

    rc = stream_init(srv->loop, &srv->listener, addr->ss_family);
    if (rc < 0) {
        fprintf(stderr, "gwload server: socket: %s\n", uv_strerror(rc));
        return -1;
    }
    srv->listener.data = srv;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, BACKLOG, on_connection);
    if (rc < 0) {
        fprintf(stderr, "gwload server: listen: %s\n", uv_strerror(rc));
        return -1;
    }
    srv_log(srv, "listening (%s), mode %s, read delay %u ms", use_sctp ? "sctp" : "tcp",
            srv->mode == SRV_ECHO    ? "echo"
            : srv->mode == SRV_REPLY ? "reply"
            : srv->mode == SRV_SINK  ? "sink"
                                     : "bulk",
            srv->delay_ms);
    return 0;
}

static void server_signals(server_t *srv)
{
    uv_signal_init(srv->loop, &srv->sigterm);
    uv_signal_init(srv->loop, &srv->sigint);
    srv->sigterm.data = srv;
    srv->sigint.data = srv;
    uv_signal_start(&srv->sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_stop_signal, SIGINT);
    if (srv->max_seconds) {
        uv_timer_init(srv->loop, &srv->lifetime);
        srv->lifetime.data = srv;
        uv_timer_start(&srv->lifetime, on_lifetime_over, srv->max_seconds * 1000ull, 0);
    }
}

/* Exits without tearing connections down: the process ending closes them. */
static int server_main(int argc, char **argv)
{
    struct sockaddr_storage addr;
    server_t *srv = calloc(1, sizeof(*srv));

    if (!srv)
        return 1;
    if (server_parse(srv, &addr, argc, argv) < 0) {
        server_usage(stderr);
        return 2;
    }
    srv->loop = uv_default_loop();
    if (srv->mode == SRV_BULK && pattern_init() < 0)
        return 1;
    if (server_listen(srv, &addr) < 0)
        return 1;
    server_signals(srv);
    uv_run(srv->loop, UV_RUN_DEFAULT);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Client                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum {
    CM_ECHO,
    CM_HALFCLOSE,
    CM_PACED,
    CM_EXPECT_CLOSE,
    CM_IDLE,
    CM_RR,
    CM_CONNECT_RATE,
    CM_BULK,
    CM_INTERACTIVE,
} cmode_t;

static const char *const cmode_names[] = {"echo", "halfclose",    "paced", "expect-close", "idle",
                                          "rr",   "connect-rate", "bulk",  "interactive"};

typedef struct client client_t;

/* One flow; in connect-rate mode, one worker that reconnects count times. */
typedef struct flow {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    client_t *cl;
    unsigned idx;
    gen_t tx, rx;
    uint64_t total;    /* bytes to send, and to get back */
    uint64_t queued;   /* handed to uv_write: nothing beyond may come back */
    uint64_t verified; /* received and matching */
    uint64_t t_start;  /* connect() began */
    uint64_t t_req;    /* rr: the current request went out */
    uint64_t t_last_rx;
    unsigned chunks;   /* paced: chunks queued */
    unsigned rounds;   /* rr, connect-rate: exchanges done */
    uint64_t *t_sent;  /* interactive: when each request went out */
    unsigned answered; /* interactive: requests fully echoed */
    uint8_t ack[BULK_ACK];
    unsigned ack_len; /* bulk: bytes of the server's answer so far */
    bool tcp_open, connected, connect_counted, fin_queued, rx_seen, finished;
    bool opened;   /* idle --open-echo: the first byte came back */
    bool released; /* idle: the hold is over for this flow */
} flow_t;

typedef struct client {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    cmode_t mode;
    unsigned nflows, count, interval_ms, timeout_ms, hold_ms, stagger_ms;
    uint64_t bytes, chunk, seed, one_bytes;
    uint64_t rate; /* --rate: bulk flows' aggregate, bytes per second, or 0 */
    bool bytes_set, verbose, open_echo;
    bool fin_late; /* SCTP: no end-of-stream; done once every echo is back */
    const char *ready_file, *timeline_file, *at_cmd;
    const char *stop_file; /* --stop-file: paced, interactive end once it exists */
    uv_timer_t stop_check;
    FILE *gap_log;       /* --gap-log: one line per gap of at least gap_min_ms */
    unsigned gap_min_ms; /* --gap-min-ms */
    double wall0;        /* the wall clock (s since the epoch) at t0 */
    unsigned at_ms;
    uv_timer_t at;
    uv_process_t at_proc;
    bool at_running; /* at_proc has not exited yet */
    bool at_early;   /* --at-early: at_cmd starts first, waits on stdin */
    int at_fd;       /* --at-early: the write end of at_cmd's stdin, or -1 */
    int at_out;      /* --at-early: the read end of its stdout, or -1 */
    uint64_t t_at;   /* when at_cmd was started (--at-early: told to go) */
    unsigned timeline_ms;
    uint64_t *timeline; /* bytes received per timeline_ms since t_open */
    size_t timeline_len;
    flow_t *flows;
    uv_timer_t deadline, pace, hold, stagger;
    unsigned started, connects_settled, opened, settled, ok, failed, refused;
    uint64_t t0, t_open, t_end, t_pace, t_hold, t_one;
    uint64_t bytes_sent, bytes_verified, max_gap_ns, max_close_ns;
    uint64_t max_gap_before_at_ns; /* the largest gap that ended before --at-cmd */
    uint64_t max_gap_after_at_ns;  /* the largest gap that ended after it */
    uint64_t *lat;                 /* rr, connect-rate: one sample per exchange, ns */
    size_t nlat, maxlat;
    size_t warmup; /* interactive: first requests, sent at the connect: no sample */
    char first_error[ERR_LEN + 32]; /* "flow N: " and the message */
    uint8_t rbuf[RBUF_SIZE];        /* reads are verified before the next one */
} client_t;

static void flow_start(flow_t *f);
static void flow_ok(flow_t *f);
static void pump(flow_t *f, unsigned max_chunks);
static void pump_bulk(flow_t *f);
static void mark_opened(flow_t *f);

/* Modes whose flows are open once a first exchange made the round trip
 * (through a proxy, the far end's connection exists then), not at the
 * connect: idle --open-echo, and interactive, whose pace starts then. */
static bool opens_by_echo(const client_t *cl)
{
    return (cl->mode == CM_IDLE && cl->open_echo) || cl->mode == CM_INTERACTIVE;
}

static void flow_fail(flow_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void maybe_late_fin(flow_t *f);

static void on_flow_closed(uv_handle_t *h)
{
    flow_t *f = h->data;

    f->tcp_open = false;
    if (f->finished)
        return;
    /* Only connect-rate closes an unfinished flow: on to the next round. */
    if (f->rounds >= f->cl->count)
        flow_ok(f);
    else
        flow_start(f);
}

static void flow_settle(flow_t *f)
{
    client_t *cl = f->cl;

    f->finished = true;
    if (f->tcp_open && !uv_is_closing((uv_handle_t *)&f->tcp))
        uv_close((uv_handle_t *)&f->tcp, on_flow_closed);
    if (++cl->settled == cl->nflows) {
        cl->t_end = uv_hrtime();
        uv_stop(cl->loop);
    }
}

static void flow_ok(flow_t *f)
{
    if (f->finished)
        return;
    f->cl->ok++;
    flow_settle(f);
}

static void flow_fail(flow_t *f, const char *fmt, ...)
{
    client_t *cl = f->cl;
    char msg[ERR_LEN];
    va_list ap;

    if (f->finished)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!cl->first_error[0])
        snprintf(cl->first_error, sizeof(cl->first_error), "flow %u: %s", f->idx, msg);
    if (cl->verbose)
        fprintf(stderr, "gwload client: flow %u: %s\n", f->idx, msg);
    cl->failed++;
    flow_settle(f);
    if (opens_by_echo(cl))
        mark_opened(f); /* a failed flow must not hold the others back */
}

/* expect-close: the other end closing is the success being waited for. */
static void flow_closed_ok(flow_t *f)
{
    uint64_t took = uv_hrtime() - f->t_start;

    if (took > f->cl->max_close_ns)
        f->cl->max_close_ns = took;
    flow_ok(f);
}

static void record_latency(client_t *cl, uint64_t ns)
{
    if (cl->nlat < cl->maxlat)
        cl->lat[cl->nlat++] = ns;
}

static void on_flow_written(uv_write_t *req, int status)
{
    wbuf_t *w = (wbuf_t *)req;
    flow_t *f = w->owner;
    size_t len = w->len;

    free(w);
    /* Counted even after the flow settled: the bytes did leave. */
    if (status == 0)
        f->cl->bytes_sent += len;
    if (f->finished)
        return;
    if (status < 0) {
        if (f->cl->mode == CM_EXPECT_CLOSE && (status == UV_EPIPE || status == UV_ECONNRESET))
            flow_closed_ok(f);
        else
            flow_fail(f, "write %s at offset %" PRIu64, uv_err_name(status), f->verified);
        return;
    }
    if (f->cl->mode == CM_ECHO || f->cl->mode == CM_HALFCLOSE ||
        (f->cl->mode == CM_IDLE && f->released))
        pump(f, UINT32_MAX);
    else if (f->cl->mode == CM_BULK)
        pump_bulk(f);
}

static int send_chunk(flow_t *f, size_t n)
{
    wbuf_t *w = wbuf_new(f, n);
    uv_buf_t b;
    int rc;

    if (!w) {
        flow_fail(f, "out of memory");
        return -1;
    }
    gen_fill(&f->tx, w->data, n);
    b = uv_buf_init((char *)w->data, (unsigned)n);
    rc = uv_write(&w->req, (uv_stream_t *)&f->tcp, &b, 1, on_flow_written);
    if (rc < 0) {
        free(w);
        flow_fail(f, "write %s at offset %" PRIu64, uv_err_name(rc), f->queued);
        return -1;
    }
    f->queued += n;
    return 0;
}

static void on_fin_sent(uv_shutdown_t *req, int status)
{
    flow_t *f = req->data;

    /* What comes back decides the outcome; this is only worth a note. */
    if (status < 0 && status != UV_ECANCELED && f->cl->verbose)
        fprintf(stderr, "gwload client: flow %u: shutdown %s\n", f->idx, uv_err_name(status));
}

static void send_fin(flow_t *f)
{
    int rc;

    f->fin_queued = true;
    f->sreq.data = f;
    rc = uv_shutdown(&f->sreq, (uv_stream_t *)&f->tcp, on_fin_sent);
    if (rc < 0)
        flow_fail(f, "shutdown %s", uv_err_name(rc));
}

/* Bulk sending: keep about WQ_HIGH bytes queued until all are, then FIN. */
static void pump(flow_t *f, unsigned max_chunks)
{
    while (!f->finished && f->queued < f->total && f->tcp.write_queue_size < WQ_HIGH &&
           max_chunks-- > 0) {
        uint64_t left = f->total - f->queued;

        if (send_chunk(f, left < WCHUNK ? (size_t)left : WCHUNK) < 0)
            return;
    }
    if (!f->finished && f->queued == f->total && !f->fin_queued && !f->cl->fin_late)
        send_fin(f);
}

/* Bulk mode: the announced length, then the pattern straight from memory. */
static void send_bulk_header(flow_t *f)
{
    wbuf_t *w = wbuf_new(f, BULK_HDR);
    uv_buf_t b;
    int rc;

    if (!w) {
        flow_fail(f, "out of memory");
        return;
    }
    put_be64(w->data, (uint64_t)BULK_MAGIC << 32 | pattern_offset(f->idx));
    put_be64(w->data + 8, f->total);
    b = uv_buf_init((char *)w->data, BULK_HDR);
    rc = uv_write(&w->req, (uv_stream_t *)&f->tcp, &b, 1, on_flow_written);
    if (rc < 0) {
        free(w);
        flow_fail(f, "write %s", uv_err_name(rc));
    }
}

static void pump_bulk(flow_t *f)
{
    uint32_t off0 = pattern_offset(f->idx);

    while (!f->finished && f->queued < f->total && f->tcp.write_queue_size < WQ_HIGH) {
        uint64_t left = f->total - f->queued;
        size_t n = left < WCHUNK ? (size_t)left : WCHUNK;
        wbuf_t *w = wbuf_new(f, 0); /* the bytes stay in the pattern */
        uv_buf_t b;
        int rc;

        if (!w) {
            flow_fail(f, "out of memory");
            return;
        }
        w->len = n;
        b = uv_buf_init((char *)pattern + (off0 + f->queued) % PATTERN_SIZE, (unsigned)n);
        rc = uv_write(&w->req, (uv_stream_t *)&f->tcp, &b, 1, on_flow_written);
        if (rc < 0) {
            free(w);
            flow_fail(f, "write %s at offset %" PRIu64, uv_err_name(rc), f->queued);
            return;
        }
        f->queued += n;
    }
}

/* The paced flows start together once all have connected; chunks due are
 * computed from the clock, so a late timer catches up instead of drifting. */
static void on_pace_tick(uv_timer_t *t)
{
    client_t *cl = t->data;
    uint64_t due = (uv_hrtime() - cl->t_pace) / (cl->interval_ms * MS_NS) + 1;
    bool more = false;

    if (due > cl->count)
        due = cl->count;
    for (unsigned i = 0; i < cl->nflows; i++) {
        flow_t *f = &cl->flows[i];

        if (f->finished || !f->connected)
            continue;
        while (f->chunks < due) {
            if (f->t_sent)
                f->t_sent[f->chunks] = uv_hrtime();
            if (send_chunk(f, cl->chunk) < 0)
                break;
            f->chunks++;
        }
        if (!f->finished && f->chunks == cl->count && !f->fin_queued && !cl->fin_late)
            send_fin(f);
        more = more || f->chunks < cl->count;
    }
    if (!more)
        uv_timer_stop(t);
}

static void release_flow(flow_t *f)
{
    if (f->released || f->finished || !f->connected)
        return;
    f->released = true;
    pump(f, UINT32_MAX);
}

/* The hold is over: every flow proves it is alive, or (--one-bytes) flow 0
 * makes its transfer alone first and the others follow once it is back. */
static void on_hold_over(uv_timer_t *t)
{
    client_t *cl = t->data;

    cl->t_hold = uv_hrtime();
    if (cl->one_bytes) {
        release_flow(&cl->flows[0]);
        if (!cl->flows[0].finished)
            return;
    }
    for (unsigned i = 0; i < cl->nflows; i++)
        release_flow(&cl->flows[i]);
}

static void on_one_done(client_t *cl, uint64_t now)
{
    if (cl->t_one)
        return;
    cl->t_one = now;
    for (unsigned i = 0; i < cl->nflows; i++)
        release_flow(&cl->flows[i]);
}

static void touch_ready_file(client_t *cl)
{
    int fd;

    if (!cl->ready_file)
        return;
    fd = open(cl->ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "gwload client: %s: %s\n", cl->ready_file, strerror(errno));
        return;
    }
    dprintf(fd, "%" PRIu64 "\n", (cl->t_open - cl->t0) / MS_NS);
    close(fd);
}

static void on_at_cmd_exit(uv_process_t *p, int64_t status, int signum)
{
    client_t *cl = p->data;

    if ((status != 0 || signum != 0) && cl->verbose)
        fprintf(stderr, "gwload client: --at-cmd exited with %" PRId64 " (signal %d)\n", status,
                signum);
    cl->at_running = false;
    if (cl->at_out >= 0)
        close(cl->at_out);
    cl->at_out = -1;
    uv_close((uv_handle_t *)p, NULL);
}

/* Runs --at-cmd with `in` and `out` (or nothing) as its stdin and stdout. */
static int at_spawn(client_t *cl, int in, int out)
{
    char *args[] = {"/bin/sh", "-c", (char *)cl->at_cmd, NULL};
    uv_stdio_container_t io[3] = {{.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
    uv_process_options_t o;
    int rc;

    memset(&o, 0, sizeof(o));
    if (in >= 0) {
        io[0].flags = io[1].flags = io[2].flags = UV_INHERIT_FD;
        io[0].data.fd = in;
        io[1].data.fd = out;
        io[2].data.fd = STDERR_FILENO;
    }
    o.file = args[0];
    o.args = args;
    o.stdio = io;
    o.stdio_count = 3;
    o.exit_cb = on_at_cmd_exit;
    cl->at_proc.data = cl;
    rc = uv_spawn(cl->loop, &cl->at_proc, &o);
    if (rc < 0)
        fprintf(stderr, "gwload client: --at-cmd: %s\n", uv_strerror(rc));
    cl->at_running = rc == 0;
    return rc;
}

/* Reads until a newline or end of file, for up to 60 s: 1 when a line came. */
static int at_wait_ready(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    for (;;) {
        if (poll(&p, 1, 60000) <= 0)
            return 0;
        if (read(fd, &c, 1) != 1)
            return 0;
        if (c == '\n')
            return 1;
    }
}

/* --at-early: the command starts before the flows and says when it is
 * ready with a line on its stdout; at --at-ms it is told to go with a line
 * on its stdin. Its start-up (a shell, a script, tc: up to two seconds of
 * the test bed's emulated CPUs) then stalls no flow, and the event lands
 * at --at-ms. Returns 0, or -1 when it never got ready. */
static int at_start_early(client_t *cl)
{
    int in[2], out[2], rc;

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        fprintf(stderr, "gwload client: --at-early: %s\n", strerror(errno));
        return -1;
    }
    rc = at_spawn(cl, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    cl->at_fd = in[1];
    cl->at_out = out[0];
    if (rc == 0 && at_wait_ready(cl->at_out))
        return 0;
    fprintf(stderr, "gwload client: --at-early: the command never said it was ready\n");
    return -1;
}

/* Ends --at-early's wait: a line says go, end of file says never. */
static void at_release(client_t *cl, bool go)
{
    if (cl->at_fd < 0)
        return;
    if (go && write(cl->at_fd, "\n", 1) != 1)
        fprintf(stderr, "gwload client: --at-early: %s\n", strerror(errno));
    close(cl->at_fd);
    cl->at_fd = -1;
}

/* --at-ms: an event (a link cut, say) at a set time of the run, started
 * from here so it is not late by a process start and a polling loop. */
static void on_at(uv_timer_t *t)
{
    client_t *cl = t->data;

    cl->t_at = uv_hrtime();
    if (cl->at_early)
        at_release(cl, true);
    else
        (void)at_spawn(cl, -1, -1);
}

/* The flows are done but --at-cmd may still be running (a link cut under
 * way): the caller's next step, restoring the link, must not race it and
 * lose, leaving the link cut. Nothing else is scheduled from here on. */
static void client_wait_at(client_t *cl)
{
    uv_timer_stop(&cl->at);
    uv_timer_stop(&cl->deadline);
    uv_timer_stop(&cl->pace);
    uv_timer_stop(&cl->hold);
    uv_timer_stop(&cl->stagger);
    uv_timer_stop(&cl->stop_check);
    at_release(cl, false);
    while (cl->at_running)
        uv_run(cl->loop, UV_RUN_ONCE);
}

/* --stop-file exists: no chunk is sent any more, and each flow ends as
 * it would have after --count, once what it sent has come back. */
static void client_stop(client_t *cl)
{
    uv_timer_stop(&cl->pace);
    for (unsigned i = 0; i < cl->nflows; i++) {
        flow_t *f = &cl->flows[i];

        if (f->finished || !f->connected)
            continue;
        f->total = f->queued;
        if (!f->fin_queued && !cl->fin_late)
            send_fin(f);
        maybe_late_fin(f);
    }
}

static void on_stop_check(uv_timer_t *t)
{
    client_t *cl = t->data;

    if (access(cl->stop_file, F_OK) != 0)
        return;
    uv_timer_stop(t);
    client_stop(cl);
}

static void on_all_connected(client_t *cl)
{
    cl->t_open = uv_hrtime();
    touch_ready_file(cl);
    if (cl->at_cmd)
        uv_timer_start(&cl->at, on_at, cl->at_ms, 0);
    if (cl->mode == CM_PACED || cl->mode == CM_INTERACTIVE) {
        cl->t_pace = cl->t_open;
        uv_timer_start(&cl->pace, on_pace_tick, 0, cl->interval_ms);
        if (cl->stop_file)
            uv_timer_start(&cl->stop_check, on_stop_check, 100, 100);
    } else if (cl->mode == CM_IDLE) {
        uv_timer_start(&cl->hold, on_hold_over, cl->hold_ms, 0);
    }
}

/* Each flow's first connect attempt, whatever its outcome, counts once. */
static void note_connect_settled(flow_t *f)
{
    if (f->connect_counted)
        return;
    f->connect_counted = true;
    if (++f->cl->connects_settled == f->cl->nflows && !opens_by_echo(f->cl))
        on_all_connected(f->cl);
}

/* idle --open-echo: a flow is open once its first byte made the round trip
 * (through a gateway, the far end's connection exists then). */
static void mark_opened(flow_t *f)
{
    if (f->opened)
        return;
    f->opened = true;
    if (++f->cl->opened == f->cl->nflows)
        on_all_connected(f->cl);
}

static void on_rr_echoed(flow_t *f, uint64_t now)
{
    client_t *cl = f->cl;

    record_latency(cl, now - f->t_req);
    if (++f->rounds < cl->count) {
        f->t_req = now;
        send_chunk(f, cl->chunk);
    } else if (!cl->fin_late) {
        send_fin(f);
    }
}

/* Everything sent so far came back: the turn-based modes move on. */
static void on_all_echoed(flow_t *f, uint64_t now)
{
    if (f->cl->mode == CM_RR) {
        on_rr_echoed(f, now);
    } else if (f->cl->mode == CM_CONNECT_RATE) {
        record_latency(f->cl, now - f->t_start);
        f->rounds++;
        uv_close((uv_handle_t *)&f->tcp, on_flow_closed);
    }
}

/* --gap-log: the gap's start and end on the wall clock, so that a script
 * can tell which event (a link cut, say) it followed; written at once, so a
 * run that is killed still leaves its gaps. */
static void log_gap(flow_t *f, uint64_t now)
{
    client_t *cl = f->cl;
    uint64_t gap = now - f->t_last_rx;

    if (!cl->gap_log || gap < cl->gap_min_ms * MS_NS)
        return;
    fprintf(cl->gap_log, "%.3f %.3f %.1f %u\n", cl->wall0 + (double)(f->t_last_rx - cl->t0) / 1e9,
            cl->wall0 + (double)(now - cl->t0) / 1e9, (double)gap / 1e6, f->idx);
    fflush(cl->gap_log);
}

/* A gap that ends now: the largest overall, before --at-cmd (what the load
 * costs by itself, beside which a cut's gap is read) and after it. */
static void note_gap(client_t *cl, uint64_t gap)
{
    if (gap > cl->max_gap_ns)
        cl->max_gap_ns = gap;
    if (cl->at_cmd && !cl->t_at && gap > cl->max_gap_before_at_ns)
        cl->max_gap_before_at_ns = gap;
    if (cl->t_at && gap > cl->max_gap_after_at_ns)
        cl->max_gap_after_at_ns = gap;
}

static void note_rx_gap(flow_t *f, uint64_t now)
{
    client_t *cl = f->cl;

    if (f->rx_seen) {
        note_gap(cl, now - f->t_last_rx);
        log_gap(f, now);
    }
    f->rx_seen = true;
    f->t_last_rx = now;
}

static void note_timeline(client_t *cl, uint64_t now, size_t n)
{
    uint64_t base = cl->t_open ? cl->t_open : cl->t0;
    size_t i = now > base ? (size_t)((now - base) / (cl->timeline_ms * MS_NS)) : 0;

    if (i >= cl->timeline_len)
        i = cl->timeline_len - 1;
    cl->timeline[i] += n;
}

/* Bulk mode: all that comes back is the server's count of what it got. */
static void bulk_on_data(flow_t *f, const uint8_t *p, size_t n)
{
    if (n > BULK_ACK - f->ack_len) {
        flow_fail(f, "extra bytes after the answer");
        return;
    }
    memcpy(f->ack + f->ack_len, p, n);
    f->ack_len += (unsigned)n;
    if (f->ack_len < BULK_ACK)
        return;
    if (get_be64(f->ack) != f->total) {
        flow_fail(f, "server counted %" PRIu64 " of %" PRIu64 " bytes", get_be64(f->ack), f->total);
        return;
    }
    f->verified = f->total;
    f->cl->bytes_verified += f->total;
    flow_ok(f);
}

/* interactive: each request whose echo is complete yields one sample, but
 * the first: sent at the connect, before the pace, its round trip holds the
 * end-to-end connection's set-up (a proxy's own dial, a lost INIT and its
 * 3 s timeout), which a direct connection finished before the pace began.
 * The flow is open once it is back (mark_opened). */
static void note_answers(flow_t *f, uint64_t now)
{
    client_t *cl = f->cl;

    while (f->answered < f->chunks && (f->answered + 1) * cl->chunk <= f->verified) {
        if (f->answered == 0)
            cl->warmup++;
        else
            record_latency(cl, now - f->t_sent[f->answered]);
        f->answered++;
    }
    if (f->answered > 0)
        mark_opened(f);
}

/* Over SCTP a flow ends once everything came back: it then simply closes
 * (a graceful SCTP SHUTDOWN). It cannot send an end-of-stream earlier and
 * wait for the server's: an SCTP shutdown() ends the association both ways,
 * and the side that started it is never told when it completed. */
static void maybe_late_fin(flow_t *f)
{
    cmode_t m = f->cl->mode;

    if (f->cl->fin_late && !f->finished && f->queued == f->total && f->verified == f->total &&
        (m == CM_ECHO || m == CM_PACED || m == CM_INTERACTIVE || m == CM_IDLE || m == CM_RR))
        flow_ok(f);
}

static void flow_on_data(flow_t *f, const uint8_t *p, size_t n)
{
    client_t *cl = f->cl;
    uint64_t now = uv_hrtime();
    uint64_t room = f->queued - f->verified;
    size_t take = n < room ? n : (size_t)room, good;

    note_rx_gap(f, now);
    if (cl->timeline)
        note_timeline(cl, now, n);
    if (cl->mode == CM_EXPECT_CLOSE) {
        flow_fail(f, "unexpected data (%zu bytes)", n);
        return;
    }
    if (cl->mode == CM_BULK) {
        bulk_on_data(f, p, n);
        return;
    }
    good = gen_check(&f->rx, p, take);
    f->verified += good;
    cl->bytes_verified += good;
    if (good < take) {
        flow_fail(f, "mismatch at offset %" PRIu64, f->verified);
        return;
    }
    if (take < n) {
        flow_fail(f, "extra bytes at offset %" PRIu64, f->verified);
        return;
    }
    if (f->t_sent)
        note_answers(f, now);
    if (cl->mode == CM_IDLE && cl->open_echo && f->verified >= 1)
        mark_opened(f);
    if (cl->mode == CM_IDLE && cl->one_bytes && f->idx == 0 && f->verified == f->total)
        on_one_done(cl, now);
    if (f->verified == f->queued)
        on_all_echoed(f, now);
    maybe_late_fin(f);
}

/* A reset's error goes to the first call that meets it: when that was a
 * write, whose callback comes a loop turn later, the read after it sees an
 * end of file. The socket's state tells them apart: a peer's FIN leaves it
 * in CLOSE_WAIT, a reset closed, as long as we sent no FIN ourselves. */
static int flow_was_reset(flow_t *f)
{
    struct tcp_info ti;
    socklen_t n = sizeof(ti);
    uv_os_fd_t fd;

    return !f->fin_queued && uv_fileno((uv_handle_t *)&f->tcp, &fd) == 0 &&
           getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0 && ti.tcpi_state == TCP_CLOSE;
}

static void flow_on_eof(flow_t *f)
{
    if (f->cl->mode == CM_BULK)
        flow_fail(f, "early EOF (%u bytes of the answer)", f->ack_len);
    else if (f->cl->mode == CM_EXPECT_CLOSE)
        flow_closed_ok(f);
    else if (f->cl->mode != CM_CONNECT_RATE && f->fin_queued && f->verified == f->total)
        flow_ok(f);
    else if (flow_was_reset(f))
        flow_fail(f, "reset at offset %" PRIu64 " (a write met it first)", f->verified);
    else
        flow_fail(f, "early EOF at offset %" PRIu64, f->verified);
}

static void flow_on_read_error(flow_t *f, int err)
{
    if (f->cl->mode == CM_EXPECT_CLOSE && err == UV_ECONNRESET)
        flow_closed_ok(f);
    else if (err == UV_ECONNRESET)
        flow_fail(f, "reset at offset %" PRIu64, f->verified);
    else
        flow_fail(f, "%s at offset %" PRIu64, uv_err_name(err), f->verified);
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    flow_t *f = h->data;

    (void)suggested;
    *buf = uv_buf_init((char *)f->cl->rbuf, RBUF_SIZE);
}

static void on_flow_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    flow_t *f = s->data;

    if (f->finished || nread == 0)
        return;
    if (nread > 0)
        flow_on_data(f, (const uint8_t *)buf->base, (size_t)nread);
    else if (nread == UV_EOF)
        flow_on_eof(f);
    else
        flow_on_read_error(f, (int)nread);
}

static void flow_connected(flow_t *f)
{
    client_t *cl = f->cl;
    int rc;

    f->connected = true;
    stream_nodelay(&f->tcp); /* small chunks are latency probes */
    if (cl->rate)
        stream_pace(&f->tcp, cl->rate / cl->nflows);
    rc = uv_read_start((uv_stream_t *)&f->tcp, client_alloc, on_flow_read);
    if (rc < 0) {
        flow_fail(f, "read %s", uv_err_name(rc));
        return;
    }
    note_connect_settled(f);
    if (f->finished)
        return;
    if (cl->mode == CM_ECHO || cl->mode == CM_HALFCLOSE) {
        /* One chunk for now: a loopback write is costly, and a full burst
         * here would delay the other flows' connect callbacks. */
        pump(f, 1);
    } else if (cl->mode == CM_EXPECT_CLOSE && cl->bytes > 0) {
        send_chunk(f, (size_t)cl->bytes);
    } else if (cl->mode == CM_RR) {
        f->t_req = uv_hrtime();
        send_chunk(f, cl->chunk);
    } else if (cl->mode == CM_CONNECT_RATE) {
        send_chunk(f, 1);
    } else if (cl->mode == CM_BULK) {
        send_bulk_header(f);
        pump_bulk(f);
    } else if (cl->mode == CM_IDLE && cl->open_echo) {
        send_chunk(f, 1);
    } else if (cl->mode == CM_INTERACTIVE) {
        f->t_sent[0] = uv_hrtime(); /* the first request: see note_answers */
        if (send_chunk(f, cl->chunk) == 0)
            f->chunks = 1;
    }
}

static void flow_connect_failed(flow_t *f, int status)
{
    client_t *cl = f->cl;

    note_connect_settled(f);
    /* A reset racing the handshake is as much a close as one after it;
     * a refusal (nothing listening) is counted apart, as a test may need
     * to tell a gateway that turned the client away from no gateway. */
    if (cl->mode == CM_EXPECT_CLOSE && (status == UV_ECONNREFUSED || status == UV_ECONNRESET)) {
        cl->refused += status == UV_ECONNREFUSED;
        flow_closed_ok(f);
    } else {
        flow_fail(f, "connect %s", uv_err_name(status));
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    flow_t *f = req->data;

    if (f->finished)
        return;
    if (status < 0)
        flow_connect_failed(f, status);
    else
        flow_connected(f);
}

static void flow_start(flow_t *f)
{
    client_t *cl = f->cl;
    int rc;

    if (f->finished)
        return;
    rc = stream_init(cl->loop, &f->tcp, cl->addr.ss_family);
    if (rc < 0) {
        flow_fail(f, "socket %s", uv_err_name(rc));
        return;
    }
    f->tcp_open = true;
    f->connected = false;
    f->fin_queued = false;
    f->tcp.data = f;
    f->creq.data = f;
    f->t_start = uv_hrtime();
    rc = uv_tcp_connect(&f->creq, &f->tcp, (const struct sockaddr *)&cl->addr, on_connect);
    if (rc < 0)
        flow_connect_failed(f, rc);
}

static void on_stagger(uv_timer_t *t)
{
    client_t *cl = t->data;

    if (cl->started < cl->nflows)
        flow_start(&cl->flows[cl->started++]);
    if (cl->started == cl->nflows)
        uv_timer_stop(t);
}

static void on_deadline(uv_timer_t *t)
{
    client_t *cl = t->data;
    uint64_t now = uv_hrtime();

    for (unsigned i = 0; i < cl->nflows; i++) {
        flow_t *f = &cl->flows[i];

        /* A flow stalled for good: its silence up to now is a gap too. */
        if (!f->finished && f->rx_seen)
            note_gap(cl, now - f->t_last_rx);
        if (cl->mode == CM_EXPECT_CLOSE)
            flow_fail(f, "not closed by the deadline");
        else
            flow_fail(f, "timeout at offset %" PRIu64 " of %" PRIu64, f->verified, f->total);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Nearest rank, in microseconds. */
static double percentile_us(const uint64_t *v, size_t n, unsigned pct)
{
    size_t rank = (n * pct + 99) / 100;

    if (n == 0)
        return 0;
    return (double)v[rank ? rank - 1 : 0] / 1000.0;
}

static void print_latencies(client_t *cl, double elapsed_s)
{
    const char *prefix = cl->mode == CM_CONNECT_RATE ? "setup_" : "";

    qsort(cl->lat, cl->nlat, sizeof(cl->lat[0]), cmp_u64);
    if (cl->mode == CM_CONNECT_RATE)
        printf(" connects=%zu connects_per_s=%.1f", cl->nlat,
               elapsed_s > 0 ? (double)cl->nlat / elapsed_s : 0.0);
    else
        printf(" exchanges=%zu", cl->nlat);
    if (cl->mode == CM_INTERACTIVE)
        printf(" warmup=%zu", cl->warmup);
    printf(" %sp50_us=%.1f %sp99_us=%.1f %smax_us=%.1f", prefix,
           percentile_us(cl->lat, cl->nlat, 50), prefix, percentile_us(cl->lat, cl->nlat, 99),
           prefix, cl->nlat ? (double)cl->lat[cl->nlat - 1] / 1000.0 : 0.0);
}

/* One line of key=value tokens; first_error is last and made one token. */
static void print_report(client_t *cl)
{
    uint64_t elapsed = cl->t_end - cl->t0;
    uint64_t open = cl->t_open ? cl->t_open - cl->t0 : 0;

    for (char *p = cl->first_error; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '=')
            *p = '_';
    printf("mode=%s flows=%u ok=%u failed=%u bytes_sent=%" PRIu64 " bytes_verified=%" PRIu64
           " elapsed_ms=%" PRIu64 " max_gap_ms=%.1f open_ms=%" PRIu64 " close_ms=%" PRIu64,
           cmode_names[cl->mode], cl->nflows, cl->ok, cl->failed, cl->bytes_sent,
           cl->bytes_verified, elapsed / MS_NS, (double)cl->max_gap_ns / 1e6, open / MS_NS,
           cl->max_close_ns / MS_NS);
    if (cl->mode == CM_EXPECT_CLOSE)
        printf(" refused=%u", cl->refused);
    if (cl->mode == CM_BULK)
        printf(" mbit_s=%.1f", elapsed ? (double)cl->bytes_verified * 8e3 / (double)elapsed : 0.0);
    if (cl->at_cmd)
        printf(" at_ms=%.1f max_gap_before_at_ms=%.1f max_gap_after_at_ms=%.1f",
               cl->t_at ? (double)(cl->t_at - cl->t_open) / 1e6 : -1.0,
               (double)cl->max_gap_before_at_ns / 1e6, (double)cl->max_gap_after_at_ns / 1e6);
    if (cl->mode == CM_IDLE && cl->one_bytes)
        printf(" one_ms=%.1f", cl->t_one ? (double)(cl->t_one - cl->t_hold) / 1e6 : -1.0);
    if (cl->mode == CM_RR || cl->mode == CM_CONNECT_RATE || cl->mode == CM_INTERACTIVE)
        print_latencies(cl, (double)elapsed / 1e9);
    printf(" first_error=%s\n", cl->first_error[0] ? cl->first_error : "none");
    fflush(stdout);
}

/* --timeline: "ms bytes" per bucket since all flows were open, up to the
 * last bucket that saw data (or the end of the run). */
static void write_timeline(client_t *cl)
{
    uint64_t base = cl->t_open ? cl->t_open : cl->t0;
    size_t last = cl->t_end > base ? (size_t)((cl->t_end - base) / (cl->timeline_ms * MS_NS)) : 0;
    FILE *out;

    if (!cl->timeline_file)
        return;
    out = fopen(cl->timeline_file, "w");
    if (!out) {
        fprintf(stderr, "gwload client: %s: %s\n", cl->timeline_file, strerror(errno));
        return;
    }
    if (last >= cl->timeline_len)
        last = cl->timeline_len - 1;
    for (size_t i = 0; i <= last; i++)
        fprintf(out, "%zu %" PRIu64 "\n", i * cl->timeline_ms, cl->timeline[i]);
    fclose(out);
}

static void client_usage(FILE *out)
{
    fprintf(out, "usage: gwload client --connect HOST:PORT [options]\n"
                 "  --mode M        echo (default), halfclose, paced, expect-close, idle, rr,\n"
                 "                  connect-rate, bulk, interactive\n"
                 "                  bulk: send B bytes one way to a 'server --mode bulk',\n"
                 "                  which verifies them and answers with their count;\n"
                 "                  reports mbit_s = all flows' bytes / whole run time\n"
                 "                  interactive: like paced, against an echo server, and\n"
                 "                  reports each request's round trip (p50_us, p99_us)\n"
                 "                  but the first's (warmup), sent at the connect: the\n"
                 "                  pace starts once it is back (a proxy's set-up done)\n"
                 "  --flows N       concurrent flows (default 1)\n"
                 "  --bytes B       per flow; suffixes K M G (default 1M; expect-close 16;\n"
                 "                  idle 100)\n"
                 "  --chunk SIZE    paced, interactive, rr: bytes per send (default 1024)\n"
                 "  --interval-ms   paced, interactive: time between chunks (default 10)\n"
                 "  --count C       paced, interactive: chunks per flow; rr: exchanges per\n"
                 "                  flow; connect-rate: connections per flow (default 100)\n"
                 "  --seed S        stream seed (default 1)\n"
                 "  --timeout-ms T  overall deadline (default 60000)\n"
                 "  --hold-ms H     idle: keep the flows open H ms before the echo check\n"
                 "  --open-echo     idle: a flow is open once a first byte made the round\n"
                 "                  trip (open_ms then counts end to end)\n"
                 "  --one-bytes B   idle: after the hold, flow 0 alone echoes B bytes first\n"
                 "                  (one_ms), then the others send theirs\n"
                 "  --ready-file F  create F once every flow is open (paced: the pace starts)\n"
                 "  --timeline F    write 'ms bytes' received per bucket since that moment\n"
                 "  --timeline-ms M bucket width (default 100)\n"
                 "  --gap-log F     append 'start end gap_ms flow' to F for every gap between\n"
                 "                  two reads of a flow of at least --gap-min-ms (default\n"
                 "                  100); start and end in seconds since the epoch\n"
                 "  --stop-file F   paced, interactive: once F exists (looked for every\n"
                 "                  100 ms), no more chunks; each flow ends as after --count\n"
                 "  --at-cmd CMD    run 'sh -c CMD' --at-ms after every flow is open (at_ms\n"
                 "  --at-ms T       in the report: when it started, since that moment;\n"
                 "                  max_gap_before_at_ms: the largest gap that ended before,\n"
                 "                  max_gap_after_at_ms: after)\n"
                 "  --at-early      start CMD before the flows instead and wait for a line on\n"
                 "                  its stdout; at --at-ms write one line to its stdin (CMD\n"
                 "                  reads it, then acts: its start-up stalls no flow)\n"
                 "  --stagger-ms D  delay between starting flows (default 0)\n"
                 "  --sctp          connect over a one-to-one SCTP socket instead of TCP\n"
                 "                  (no halfclose mode: SCTP has no half-close)\n"
                 "  --sock-buffer B SCTP send and receive buffers (default 4M; 0: the kernel's)\n"
                 "  --rate R        bulk over TCP: the flows' aggregate paced at R bytes per\n"
                 "                  second (suffixes K M G), each at R / N (the kernel's\n"
                 "                  SO_MAX_PACING_RATE): load that leaves the CPUs room\n"
                 "  --no-fin        echo, paced, interactive, idle, rr: no half-close; a flow\n"
                 "                  closes once every echo is back (as over SCTP), so proxies\n"
                 "                  that end both directions on a half-close are measured too\n"
                 "  -v              one line per failed flow on stderr\n"
                 "prints one report line; exit status 0 iff no flow failed\n");
}

static int client_set_mode(client_t *cl, const char *name)
{
    for (size_t i = 0; i < sizeof(cmode_names) / sizeof(cmode_names[0]); i++) {
        if (!strcmp(name, cmode_names[i])) {
            cl->mode = (cmode_t)i;
            return 0;
        }
    }
    return -1;
}

static int client_option(client_t *cl, int c, const char *arg)
{
    switch (c) {
    case 'c':
        return parse_endpoint(arg, &cl->addr);
    case 'n':
        return parse_uint(arg, 1000000u, &cl->nflows);
    case 'b':
        cl->bytes_set = true;
        return parse_size(arg, &cl->bytes);
    case 'm':
        return client_set_mode(cl, arg);
    case 'k':
        return parse_size(arg, &cl->chunk);
    case 'i':
        return parse_uint(arg, 3600000u, &cl->interval_ms);
    case 'C':
        return parse_uint(arg, 1000000000u, &cl->count);
    case 's':
        return parse_size(arg, &cl->seed);
    case 't':
        return parse_uint(arg, 86400000u, &cl->timeout_ms);
    case 'H':
        return parse_uint(arg, 86400000u, &cl->hold_ms);
    case 'S':
        return parse_uint(arg, 3600000u, &cl->stagger_ms);
    case 'v':
        cl->verbose = true;
        return 0;
    case 'P':
        use_sctp = true;
        return 0;
    case 'B':
        return parse_uint(arg, 1u << 30, &sctp_buffer);
    case 'O':
        cl->open_echo = true;
        return 0;
    case 'F':
        cl->fin_late = true;
        return 0;
    case '1':
        return parse_size(arg, &cl->one_bytes);
    case 'R':
        cl->ready_file = arg;
        return 0;
    case 'T':
        cl->timeline_file = arg;
        return 0;
    case 'M':
        return parse_uint(arg, 60000u, &cl->timeline_ms);
    case 'a':
        return parse_uint(arg, 86400000u, &cl->at_ms);
    case 'A':
        cl->at_cmd = arg;
        return 0;
    case 'E':
        cl->at_early = true;
        return 0;
    case 'g':
        cl->gap_log = fopen(arg, "a");
        if (!cl->gap_log)
            fprintf(stderr, "gwload client: %s: %s\n", arg, strerror(errno));
        return cl->gap_log ? 0 : -1;
    case 'G':
        return parse_uint(arg, 86400000u, &cl->gap_min_ms);
    case 'X':
        cl->stop_file = arg;
        return 0;
    case 'r':
        return parse_size(arg, &cl->rate);
    default:
        return -1;
    }
}

/* Sizes that depend on the mode, and the limits that keep them sane. */
static int client_finish_options(client_t *cl)
{
    if (!cl->bytes_set)
        cl->bytes = cl->mode == CM_EXPECT_CLOSE ? EXPECT_CLOSE_BYTES
                    : cl->mode == CM_IDLE       ? IDLE_BYTES
                                                : 1024 * 1024;
    if (cl->nflows == 0 || cl->interval_ms == 0 || cl->chunk == 0 || cl->chunk > UINT32_MAX ||
        cl->timeline_ms == 0)
        return -1;
    if (cl->mode == CM_EXPECT_CLOSE && cl->bytes > UINT32_MAX)
        return -1;
    if ((cl->mode == CM_PACED || cl->mode == CM_RR || cl->mode == CM_CONNECT_RATE ||
         cl->mode == CM_INTERACTIVE) &&
        cl->count == 0)
        return -1;
    if (cl->mode == CM_BULK && cl->bytes == 0)
        return -1;
    if (cl->rate && (cl->mode != CM_BULK || use_sctp || cl->rate < cl->nflows)) {
        fprintf(stderr, "gwload client: --rate paces TCP bulk flows, at least 1 B/s each\n");
        return -1;
    }
    if (use_sctp && cl->mode == CM_HALFCLOSE) {
        fprintf(stderr, "gwload client: SCTP has no half-close\n");
        return -1;
    }
    if ((cl->open_echo || cl->one_bytes) && (cl->mode != CM_IDLE || cl->bytes == 0))
        return -1;
    if (cl->fin_late && cl->mode == CM_HALFCLOSE)
        return -1;
    if (cl->at_early && !cl->at_cmd) {
        fprintf(stderr, "gwload client: --at-early needs --at-cmd\n");
        return -1;
    }
    cl->fin_late = cl->fin_late || use_sctp;
    return 0;
}

static int client_parse(client_t *cl, int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"flows", required_argument, NULL, 'n'},
        {"bytes", required_argument, NULL, 'b'},
        {"mode", required_argument, NULL, 'm'},
        {"chunk", required_argument, NULL, 'k'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'C'},
        {"seed", required_argument, NULL, 's'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"hold-ms", required_argument, NULL, 'H'},
        {"stagger-ms", required_argument, NULL, 'S'},
        {"sctp", no_argument, NULL, 'P'},
        {"sock-buffer", required_argument, NULL, 'B'},
        {"open-echo", no_argument, NULL, 'O'},
        {"no-fin", no_argument, NULL, 'F'},
        {"one-bytes", required_argument, NULL, '1'},
        {"ready-file", required_argument, NULL, 'R'},
        {"timeline", required_argument, NULL, 'T'},
        {"timeline-ms", required_argument, NULL, 'M'},
        {"at-ms", required_argument, NULL, 'a'},
        {"at-cmd", required_argument, NULL, 'A'},
        {"at-early", no_argument, NULL, 'E'},
        {"gap-log", required_argument, NULL, 'g'},
        {"gap-min-ms", required_argument, NULL, 'G'},
        {"stop-file", required_argument, NULL, 'X'},
        {"rate", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool have_addr = false;
    int c;

    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        if (c == 'h') {
            client_usage(stdout);
            exit(0);
        }
        if (client_option(cl, c, optarg) < 0) {
            if (c != '?')
                fprintf(stderr, "gwload client: bad value '%s'\n", optarg ? optarg : "");
            return -1;
        }
        have_addr = have_addr || c == 'c';
    }
    if (!have_addr || optind != argc)
        return -1;
    return client_finish_options(cl);
}

static uint64_t flow_total(const client_t *cl)
{
    switch (cl->mode) {
    case CM_PACED:
    case CM_INTERACTIVE:
    case CM_RR:
        return cl->chunk * cl->count;
    case CM_CONNECT_RATE:
        return cl->count;
    default:
        return cl->bytes;
    }
}

static int client_setup(client_t *cl)
{
    cl->flows = calloc(cl->nflows, sizeof(*cl->flows));
    if (!cl->flows)
        return -1;
    for (unsigned i = 0; i < cl->nflows; i++) {
        flow_t *f = &cl->flows[i];

        f->cl = cl;
        f->idx = i;
        f->total = flow_total(cl);
        gen_init(&f->tx, cl->seed, i);
        gen_init(&f->rx, cl->seed, i);
        if (cl->mode == CM_INTERACTIVE) {
            f->t_sent = calloc(cl->count, sizeof(*f->t_sent));
            if (!f->t_sent)
                return -1;
        }
    }
    if (cl->mode == CM_IDLE && cl->one_bytes)
        cl->flows[0].total = cl->one_bytes;
    if (cl->mode == CM_RR || cl->mode == CM_CONNECT_RATE || cl->mode == CM_INTERACTIVE) {
        cl->maxlat = (size_t)cl->nflows * cl->count;
        cl->lat = malloc(cl->maxlat * sizeof(*cl->lat));
        if (!cl->lat)
            return -1;
    }
    if (cl->mode == CM_BULK && pattern_init() < 0)
        return -1;
    if (cl->timeline_file) {
        cl->timeline_len = cl->timeout_ms / cl->timeline_ms + 2;
        cl->timeline = calloc(cl->timeline_len, sizeof(*cl->timeline));
        if (!cl->timeline)
            return -1;
    }
    cl->loop = uv_default_loop();
    uv_timer_init(cl->loop, &cl->deadline);
    uv_timer_init(cl->loop, &cl->pace);
    uv_timer_init(cl->loop, &cl->hold);
    uv_timer_init(cl->loop, &cl->stagger);
    uv_timer_init(cl->loop, &cl->at);
    uv_timer_init(cl->loop, &cl->stop_check);
    cl->deadline.data = cl->pace.data = cl->hold.data = cl->stagger.data = cl->at.data = cl;
    cl->stop_check.data = cl;
    return 0;
}

static void client_run(client_t *cl)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    cl->t0 = uv_hrtime();
    cl->wall0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    uv_timer_start(&cl->deadline, on_deadline, cl->timeout_ms, 0);
    if (cl->stagger_ms) {
        uv_timer_start(&cl->stagger, on_stagger, 0, cl->stagger_ms);
    } else {
        for (cl->started = 0; cl->started < cl->nflows;)
            flow_start(&cl->flows[cl->started++]);
    }
    if (cl->settled < cl->nflows)
        uv_run(cl->loop, UV_RUN_DEFAULT);
    if (!cl->t_end)
        cl->t_end = uv_hrtime();
    client_wait_at(cl);
}

static int client_main(int argc, char **argv)
{
    client_t *cl = calloc(1, sizeof(*cl));

    if (!cl)
        return 1;
    cl->nflows = 1;
    cl->chunk = 1024;
    cl->interval_ms = 10;
    cl->count = 100;
    cl->seed = 1;
    cl->timeout_ms = 60000;
    cl->timeline_ms = 100;
    cl->gap_min_ms = 100;
    cl->at_fd = cl->at_out = -1;
    if (client_parse(cl, argc, argv) < 0) {
        client_usage(stderr);
        return 2;
    }
    if (client_setup(cl) < 0) {
        fprintf(stderr, "gwload client: out of memory\n");
        return 1;
    }
    if (cl->at_early && at_start_early(cl) < 0) {
        client_wait_at(cl);
        return 1;
    }
    client_run(cl);
    print_report(cl);
    write_timeline(cl);
    return cl->failed == 0 && cl->ok == cl->nflows ? 0 : 1;
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out, "usage: gwload server --listen HOST:PORT [options]   (see gwload server -h)\n"
                 "       gwload client --connect HOST:PORT [options]  (see gwload client -h)\n");
}

int main(int argc, char **argv)
{
    /* Writes to a peer that reset must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (argc >= 2 && !strcmp(argv[1], "server"))
        return server_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "client"))
        return client_main(argc - 1, argv + 1);
    usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
    return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
