/*
 * sctp_probe: a small SCTP test tool for the test bed.
 *
 *   sctp_probe socket
 *       Try to open an SCTP socket. Exit 0 if the kernel has SCTP, 3 if not.
 *
 *   sctp_probe server --bind A[,B...] --port P [--tuned] [--report FILE]
 *                     [--ready FILE] [--idle-timeout SEC]
 *       Accept one association, receive the client's messages, check their
 *       sequence numbers, sizes and contents, and print
 *           messages=N bytes=N max_gap=S max_gap_seq=N max_latency=S duration=S
 *           peers=N ok=0|1
 *       (max_gap: the largest time between two consecutive arrivals, in
 *       seconds; max_gap_seq: the message that ended it; peers: the number of
 *       client addresses of the association). Exit 0 only if every message
 *       announced by the client arrived intact.
 *
 *   sctp_probe client --bind A[,B...] --connect A[,B...] --port P [--tuned]
 *                     [--count N] [--interval-ms MS] [--size BYTES]
 *       Open one one-to-one association bound to all local addresses and
 *       connected to all remote ones (the first remote address is the primary
 *       path), send N sequence-numbered, timestamped messages paced every MS
 *       milliseconds, then shut down gracefully. Prints
 *           sent=N bytes=N elapsed=S peers=N
 *       The client retries the connection for --idle-timeout seconds (default
 *       30) while the server is not listening yet; the server gives up after
 *       as long without an association or data.
 *
 * --tuned sets, before listen/connect, heartbeats every 100 ms with path max
 * retransmissions 1 (SCTP_PEER_ADDR_PARAMS) and RTO min 20, max 200, initial
 * 200 ms (SCTP_RTOINFO). Without it the kernel's defaults stay. Both modes set
 * SCTP_NODELAY, so that each paced message leaves at once.
 *
 * Exit status: 0 ok, 1 error, 2 bad usage, 3 no SCTP in the kernel,
 * 4 data lost or corrupted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_ERR     1
#define EXIT_USAGE   2
#define EXIT_NOSCTP  3
#define EXIT_BADDATA 4
#define MAX_ADDRS    8
#define MAX_MSG      65536
#define HDR_SIZE     32
#define PROBE_MAGIC  0x53475042u /* "SGPB" */
#define DEFAULT_IDLE 30

struct addr_list {
    struct sockaddr_storage addr[MAX_ADDRS];
    int count;
    bool any_v6;
};

struct options {
    struct addr_list bind;
    struct addr_list connect;
    int port;
    bool tuned;
    long count;
    long interval_ms;
    long size;
    long idle_timeout;
    const char *report;
    const char *ready;
    bool verbose;
};

/* Message header, big-endian on the wire; the payload after it is a pattern
 * derived from the sequence number. */
struct msg_hdr {
    uint32_t magic;
    uint32_t seq;
    uint32_t total;
    uint32_t size;
    uint64_t sent_ns;
    uint64_t reserved;
};

static const char *prog = "sctp_probe";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s socket\n"
            "       %s server --bind A[,B..] --port P [--tuned] [--report FILE]\n"
            "                 [--ready FILE] [--idle-timeout SEC] [-v]\n"
            "       %s client --bind A[,B..] --connect A[,B..] --port P [--tuned]\n"
            "                 [--count N] [--interval-ms MS] [--size BYTES] [-v]\n",
            prog, prog, prog);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static unsigned char pattern_byte(uint32_t seq, size_t i)
{
    return (unsigned char)((seq * 131u + (uint32_t)i * 7u + (uint32_t)(i >> 8)) & 0xffu);
}

static void encode_msg(unsigned char *buf, const struct msg_hdr *h)
{
    put32(buf, h->magic);
    put32(buf + 4, h->seq);
    put32(buf + 8, h->total);
    put32(buf + 12, h->size);
    put64(buf + 16, h->sent_ns);
    put64(buf + 24, h->reserved);
    for (size_t i = HDR_SIZE; i < h->size; i++)
        buf[i] = pattern_byte(h->seq, i);
}

static void decode_hdr(const unsigned char *buf, struct msg_hdr *h)
{
    h->magic = get32(buf);
    h->seq = get32(buf + 4);
    h->total = get32(buf + 8);
    h->size = get32(buf + 12);
    h->sent_ns = get64(buf + 16);
    h->reserved = get64(buf + 24);
}

static bool payload_ok(const unsigned char *buf, const struct msg_hdr *h)
{
    for (size_t i = HDR_SIZE; i < h->size; i++) {
        if (buf[i] != pattern_byte(h->seq, i))
            return false;
    }
    return true;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parses "A,B,..." (IPv4 or IPv6 literals) into list; the port comes later. */
static int parse_addrs(const char *arg, struct addr_list *list)
{
    char *copy = strdup(arg);
    char *save = NULL;
    if (!copy)
        return -1;
    list->count = 0;
    list->any_v6 = false;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (list->count == MAX_ADDRS) {
            fprintf(stderr, "%s: at most %d addresses\n", prog, MAX_ADDRS);
            free(copy);
            return -1;
        }
        struct sockaddr_storage *ss = &list->addr[list->count];
        memset(ss, 0, sizeof(*ss));
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, tok, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, tok, &sin6->sin6_addr) == 1) {
            sin6->sin6_family = AF_INET6;
            list->any_v6 = true;
        } else {
            fprintf(stderr, "%s: not an IP address: %s\n", prog, tok);
            free(copy);
            return -1;
        }
        list->count++;
    }
    free(copy);
    if (list->count == 0) {
        fprintf(stderr, "%s: empty address list\n", prog);
        return -1;
    }
    return 0;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void set_port(struct addr_list *list, int port)
{
    for (int i = 0; i < list->count; i++) {
        struct sockaddr_storage *ss = &list->addr[i];
        if (ss->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    }
}

/* Packs the list into the array of sockaddrs that sctp_bindx/connectx take. */
static size_t pack_addrs(const struct addr_list *list, unsigned char *buf)
{
    size_t off = 0;
    for (int i = 0; i < list->count; i++) {
        socklen_t len = addr_len(&list->addr[i]);
        memcpy(buf + off, &list->addr[i], len);
        off += len;
    }
    return off;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    const void *src = ss->ss_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if (!inet_ntop(ss->ss_family, src, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}

static int open_sctp(bool v6)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    if (fd < 0) {
        int err = errno;
        fprintf(stderr, "%s: socket(%s, SOCK_STREAM, IPPROTO_SCTP): %s (errno %d)\n", prog,
                v6 ? "AF_INET6" : "AF_INET", strerror(err), err);
        errno = err;
    }
    return fd;
}

static int set_opt(int fd, int opt, const void *val, socklen_t len, const char *name)
{
    if (setsockopt(fd, IPPROTO_SCTP, opt, val, len) < 0) {
        fprintf(stderr, "%s: setsockopt(%s): %s\n", prog, name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Socket defaults that every association created from fd inherits. */
static int configure(int fd, bool tuned)
{
    int one = 1;
    if (set_opt(fd, SCTP_NODELAY, &one, sizeof(one), "SCTP_NODELAY") < 0)
        return -1;
    if (!tuned)
        return 0;

    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof(pp));
    pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    pp.spp_hbinterval = 100;
    pp.spp_pathmaxrxt = 1;
    pp.spp_flags = SPP_HB_ENABLE;
    if (set_opt(fd, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp), "SCTP_PEER_ADDR_PARAMS") < 0)
        return -1;

    struct sctp_rtoinfo rto;
    memset(&rto, 0, sizeof(rto));
    rto.srto_assoc_id = SCTP_FUTURE_ASSOC;
    rto.srto_initial = 200;
    rto.srto_max = 200;
    rto.srto_min = 20;
    return set_opt(fd, SCTP_RTOINFO, &rto, sizeof(rto), "SCTP_RTOINFO");
}

static int bind_all(int fd, struct addr_list *list)
{
    unsigned char buf[MAX_ADDRS * sizeof(struct sockaddr_in6)];
    pack_addrs(list, buf);
    if (sctp_bindx(fd, (struct sockaddr *)buf, list->count, SCTP_BINDX_ADD_ADDR) < 0) {
        fprintf(stderr, "%s: sctp_bindx: %s\n", prog, strerror(errno));
        return -1;
    }
    return 0;
}

static int cmd_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    if (fd < 0) {
        int err = errno;
        printf("sctp: unavailable: %s (errno %d%s)\n", strerror(err), err,
               err == EPROTONOSUPPORT ? ", EPROTONOSUPPORT" : "");
        return EXIT_NOSCTP;
    }
    close(fd);
    printf("sctp: available\n");
    return 0;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    fputs(text, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Receives one whole message or notification (until MSG_EOR) into buf, its
 * recvmsg flags into *flags. Returns its length, 0 on orderly shutdown, -1 on
 * error, -2 on idle timeout. */
static ssize_t recv_msg(int fd, unsigned char *buf, size_t cap, int idle_ms, int *flags)
{
    size_t have = 0;
    *flags = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, idle_ms);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (pr == 0)
            return -2;
        struct iovec iov = {.iov_base = buf + have, .iov_len = cap - have};
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (n == 0)
            return have ? -1 : 0;
        have += (size_t)n;
        *flags = mh.msg_flags;
        if (mh.msg_flags & MSG_EOR)
            return (ssize_t)have;
        if (have == cap) {
            errno = EMSGSIZE;
            return -1;
        }
    }
}

/* Number of peer addresses of the association on fd (one-to-one socket). */
static int count_peers(int fd)
{
    struct sockaddr *addrs = NULL;
    int n = sctp_getpaddrs(fd, 0, &addrs);
    if (n > 0)
        sctp_freepaddrs(addrs);
    return n;
}

static int cmd_server(struct options *o)
{
    int lfd = open_sctp(o->bind.any_v6);
    if (lfd < 0)
        return errno == EPROTONOSUPPORT ? EXIT_NOSCTP : EXIT_ERR;
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    set_port(&o->bind, o->port);
    if (configure(lfd, o->tuned) < 0 || bind_all(lfd, &o->bind) < 0)
        return EXIT_ERR;
    if (listen(lfd, 4) < 0) {
        fprintf(stderr, "%s: listen: %s\n", prog, strerror(errno));
        return EXIT_ERR;
    }
    if (o->ready && write_file(o->ready, "listening\n") < 0)
        return EXIT_ERR;
    if (o->verbose)
        fprintf(stderr, "%s: server listening on port %d\n", prog, o->port);

    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)o->idle_timeout * 1000);
    if (pr <= 0) {
        fprintf(stderr, "%s: no association within %lds\n", prog, o->idle_timeout);
        return EXIT_ERR;
    }
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
        return EXIT_ERR;
    }
    close(lfd);
    int peers = count_peers(fd);

    static unsigned char buf[MAX_MSG];
    uint64_t messages = 0, bytes = 0, first = 0, last = 0, max_gap = 0, max_lat = 0;
    uint32_t expect_seq = 0, total = 0, max_gap_seq = 0;
    int status = 0;
    for (;;) {
        int flags;
        ssize_t n = recv_msg(fd, buf, sizeof(buf), (int)o->idle_timeout * 1000, &flags);
        if (n == 0)
            break;
        if (n > 0 && (flags & MSG_NOTIFICATION))
            continue;
        if (n == -2) {
            fprintf(stderr, "%s: nothing received for %lds\n", prog, o->idle_timeout);
            status = EXIT_BADDATA;
            break;
        }
        if (n < 0) {
            fprintf(stderr, "%s: receive: %s\n", prog, strerror(errno));
            status = EXIT_BADDATA;
            break;
        }
        uint64_t t = now_ns();
        struct msg_hdr h;
        if (n < HDR_SIZE) {
            fprintf(stderr, "%s: short message (%zd bytes) after seq %" PRIu32 "\n", prog, n,
                    expect_seq);
            status = EXIT_BADDATA;
            break;
        }
        decode_hdr(buf, &h);
        if (h.magic != PROBE_MAGIC || h.size != (uint32_t)n || !payload_ok(buf, &h)) {
            fprintf(stderr, "%s: corrupted message (%zd bytes, header seq %" PRIu32 ")\n", prog, n,
                    h.seq);
            status = EXIT_BADDATA;
            break;
        }
        if (h.seq != expect_seq) {
            fprintf(stderr, "%s: expected seq %" PRIu32 ", got %" PRIu32 "\n", prog, expect_seq,
                    h.seq);
            status = EXIT_BADDATA;
            break;
        }
        total = h.total;
        if (messages == 0) {
            first = t;
        } else if (t - last > max_gap) {
            max_gap = t - last;
            max_gap_seq = h.seq;
        }
        if (t > h.sent_ns && t - h.sent_ns > max_lat)
            max_lat = t - h.sent_ns;
        last = t;
        messages++;
        bytes += (uint64_t)n;
        expect_seq++;
    }
    close(fd);
    if (status == 0 && messages != total) {
        fprintf(stderr, "%s: received %" PRIu64 " of %" PRIu32 " messages\n", prog, messages,
                total);
        status = EXIT_BADDATA;
    }
    if (status == 0 && messages == 0) {
        fprintf(stderr, "%s: no messages\n", prog);
        status = EXIT_BADDATA;
    }

    char line[256];
    snprintf(line, sizeof(line),
             "messages=%" PRIu64 " bytes=%" PRIu64 " max_gap=%.3f max_gap_seq=%" PRIu32
             " max_latency=%.3f duration=%.3f peers=%d ok=%d\n",
             messages, bytes, (double)max_gap / 1e9, max_gap_seq, (double)max_lat / 1e9,
             (double)(last - first) / 1e9, peers, status == 0);
    fputs(line, stdout);
    fflush(stdout);
    if (o->report && write_file(o->report, line) < 0 && status == 0)
        status = EXIT_ERR;
    return status;
}

static void print_paths(int fd, sctp_assoc_t id, const struct addr_list *peers)
{
    for (int i = 0; i < peers->count; i++) {
        struct sctp_paddrinfo pi;
        memset(&pi, 0, sizeof(pi));
        pi.spinfo_assoc_id = id;
        memcpy(&pi.spinfo_address, &peers->addr[i], addr_len(&peers->addr[i]));
        socklen_t len = sizeof(pi);
        char a[INET6_ADDRSTRLEN];
        if (getsockopt(fd, IPPROTO_SCTP, SCTP_GET_PEER_ADDR_INFO, &pi, &len) < 0) {
            fprintf(stderr, "%s: path %s: %s\n", prog, addr_str(&peers->addr[i], a, sizeof(a)),
                    strerror(errno));
            continue;
        }
        fprintf(stderr, "%s: path %s state=%d srtt=%u rto=%u cwnd=%u\n", prog,
                addr_str(&peers->addr[i], a, sizeof(a)), pi.spinfo_state, pi.spinfo_srtt,
                pi.spinfo_rto, pi.spinfo_cwnd);
    }
}

static int connect_all(struct options *o, sctp_assoc_t *id)
{
    unsigned char buf[MAX_ADDRS * sizeof(struct sockaddr_in6)];
    pack_addrs(&o->connect, buf);
    uint64_t deadline = now_ns() + (uint64_t)o->idle_timeout * 1000000000u;
    for (;;) {
        int fd = open_sctp(o->bind.any_v6 || o->connect.any_v6);
        if (fd < 0)
            return -1;
        set_port(&o->bind, 0);
        struct sctp_event ev = {
            .se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = SCTP_ASSOC_CHANGE, .se_on = 1};
        if (configure(fd, o->tuned) < 0 ||
            set_opt(fd, SCTP_EVENT, &ev, sizeof(ev), "SCTP_EVENT") < 0 ||
            bind_all(fd, &o->bind) < 0) {
            close(fd);
            return -1;
        }
        if (sctp_connectx(fd, (struct sockaddr *)buf, o->connect.count, id) == 0)
            return fd;
        int err = errno;
        close(fd);
        /* The server may not be listening yet: retry until the deadline. */
        if ((err != ECONNREFUSED && err != ETIMEDOUT && err != ECONNRESET) || now_ns() > deadline) {
            fprintf(stderr, "%s: sctp_connectx: %s\n", prog, strerror(err));
            return -1;
        }
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static int cmd_client(struct options *o)
{
    if (o->connect.count == 0) {
        fprintf(stderr, "%s: client needs --connect\n", prog);
        return EXIT_USAGE;
    }
    set_port(&o->connect, o->port);
    sctp_assoc_t id = 0;
    int fd = connect_all(o, &id);
    if (fd < 0)
        return errno == EPROTONOSUPPORT ? EXIT_NOSCTP : EXIT_ERR;

    /* The first --connect address is the primary path. */
    struct sctp_prim prim;
    memset(&prim, 0, sizeof(prim));
    prim.ssp_assoc_id = id;
    memcpy(&prim.ssp_addr, &o->connect.addr[0], addr_len(&o->connect.addr[0]));
    if (set_opt(fd, SCTP_PRIMARY_ADDR, &prim, sizeof(prim), "SCTP_PRIMARY_ADDR") < 0)
        return EXIT_ERR;

    int peers = count_peers(fd);
    static unsigned char buf[MAX_MSG];
    uint64_t start = now_ns();
    uint64_t step = (uint64_t)o->interval_ms * 1000000u;
    for (long i = 0; i < o->count; i++) {
        uint64_t due = start + (uint64_t)i * step;
        struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        struct msg_hdr h = {
            .magic = PROBE_MAGIC,
            .seq = (uint32_t)i,
            .total = (uint32_t)o->count,
            .size = (uint32_t)o->size,
            .sent_ns = now_ns(),
        };
        encode_msg(buf, &h);
        ssize_t n;
        do {
            n = send(fd, buf, (size_t)o->size, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n != (ssize_t)o->size) {
            fprintf(stderr, "%s: send of message %ld: %s\n", prog, i,
                    n < 0 ? strerror(errno) : "short send");
            close(fd);
            return EXIT_ERR;
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    if (o->verbose)
        print_paths(fd, id, &o->connect);

    /* Graceful end: SHUTDOWN goes out once all data is acknowledged; the
     * initiator sees no EOF, so wait for the SHUTDOWN_COMP notification. */
    if (shutdown(fd, SHUT_WR) < 0) {
        fprintf(stderr, "%s: shutdown: %s\n", prog, strerror(errno));
        close(fd);
        return EXIT_ERR;
    }
    int status = 0;
    for (;;) {
        int flags;
        ssize_t n = recv_msg(fd, buf, sizeof(buf), (int)o->idle_timeout * 1000, &flags);
        if (n == 0)
            break;
        if (n < 0) {
            fprintf(stderr, "%s: waiting for the shutdown to complete: %s\n", prog,
                    n == -2 ? "timed out" : strerror(errno));
            status = EXIT_ERR;
            break;
        }
        if (!(flags & MSG_NOTIFICATION) || (size_t)n < sizeof(struct sctp_assoc_change))
            continue;
        const struct sctp_assoc_change *sac = (const struct sctp_assoc_change *)buf;
        if (sac->sac_type != SCTP_ASSOC_CHANGE)
            continue;
        if (sac->sac_state == SCTP_SHUTDOWN_COMP)
            break;
        if (sac->sac_state == SCTP_COMM_LOST) {
            fprintf(stderr, "%s: association lost during shutdown\n", prog);
            status = EXIT_ERR;
            break;
        }
    }
    close(fd);
    printf("sent=%ld bytes=%ld elapsed=%.3f peers=%d\n", o->count, o->count * o->size, elapsed,
           peers);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "socket") == 0) {
        if (argc != 2) {
            usage(stderr);
            return EXIT_USAGE;
        }
        return cmd_socket();
    }
    bool server = strcmp(cmd, "server") == 0;
    if (!server && strcmp(cmd, "client") != 0) {
        fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
        usage(stderr);
        return EXIT_USAGE;
    }

    struct options o;
    memset(&o, 0, sizeof(o));
    o.count = 500;
    o.interval_ms = 10;
    o.size = 1024;
    o.idle_timeout = DEFAULT_IDLE;
    long port = -1;

    enum {
        OPT_BIND = 256,
        OPT_CONNECT,
        OPT_PORT,
        OPT_TUNED,
        OPT_COUNT,
        OPT_INTERVAL,
        OPT_SIZE,
        OPT_REPORT,
        OPT_READY,
        OPT_IDLE
    };
    static const struct option longopts[] = {
        {"bind", required_argument, NULL, OPT_BIND},
        {"connect", required_argument, NULL, OPT_CONNECT},
        {"port", required_argument, NULL, OPT_PORT},
        {"tuned", no_argument, NULL, OPT_TUNED},
        {"count", required_argument, NULL, OPT_COUNT},
        {"interval-ms", required_argument, NULL, OPT_INTERVAL},
        {"size", required_argument, NULL, OPT_SIZE},
        {"report", required_argument, NULL, OPT_REPORT},
        {"ready", required_argument, NULL, OPT_READY},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case OPT_BIND:
            bad = parse_addrs(optarg, &o.bind);
            break;
        case OPT_CONNECT:
            bad = parse_addrs(optarg, &o.connect);
            break;
        case OPT_PORT:
            bad = parse_long(optarg, 1, 65535, &port);
            break;
        case OPT_TUNED:
            o.tuned = true;
            break;
        case OPT_COUNT:
            bad = parse_long(optarg, 1, 100000000, &o.count);
            break;
        case OPT_INTERVAL:
            bad = parse_long(optarg, 0, 3600000, &o.interval_ms);
            break;
        case OPT_SIZE:
            bad = parse_long(optarg, HDR_SIZE, MAX_MSG, &o.size);
            break;
        case OPT_REPORT:
            o.report = optarg;
            break;
        case OPT_READY:
            o.ready = optarg;
            break;
        case OPT_IDLE:
            bad = parse_long(optarg, 1, 86400, &o.idle_timeout);
            break;
        case 'v':
            o.verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "%s: bad value for option: %s\n", prog, optarg);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return EXIT_USAGE;
    }
    if (o.bind.count == 0 || port < 0) {
        fprintf(stderr, "%s: %s needs --bind and --port\n", prog, cmd);
        return EXIT_USAGE;
    }
    o.port = (int)port;
    return server ? cmd_server(&o) : cmd_client(&o);
}
