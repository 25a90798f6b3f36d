/* sctpstreams: bulk transfer over ONE SCTP association carrying many
 * streams, for the benchmark's second raw-SCTP ceiling. gwload --sctp opens
 * one association per flow; sctpgw carries every flow on one association.
 * Measuring both bare shows what one association costs apart from what the
 * gateway costs.
 *
 *   sctpstreams server --listen HOST:PORT
 *       accepts associations one at a time, checks every byte of every
 *       stream and, when the client says it is done, answers with the
 *       number of bytes that were right.
 *   sctpstreams client --connect HOST:PORT [--streams N] [--bytes B]
 *       sends B bytes on each of N streams (64 KiB messages, round robin,
 *       I-DATA when the kernel allows), then waits for the count; prints
 *       one report line in gwload's format (mbit_s, bytes_verified, ...).
 *
 * Stream s carries bytes (offset * 7) ^ s, so the receiver checks each
 * without a copy of what was sent. Stream 0 carries the end (PPID END, the
 * total sent) and the answer (the total verified), 8 bytes big-endian. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    MSG = 64 * 1024,
    STREAMS_MAX = 1024,
    BUF = 4 * 1024 * 1024,
    PPID_DATA = 1,
    PPID_END = 2,
};

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');

    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static uint64_t parse_size(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 10);

    if (*end == 'K' || *end == 'k')
        v <<= 10;
    else if (*end == 'M' || *end == 'm')
        v <<= 20;
    else if (*end == 'G' || *end == 'g')
        v <<= 30;
    return v;
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

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Buffers, no bundling delay, the streams, and I-DATA where allowed (the
 * gateway runs with it, so the ceiling should too). */
static int tune(int fd, unsigned streams)
{
    int one = 1, buf = BUF, level = 2;
    struct sctp_initmsg im = {.sinit_num_ostreams = (uint16_t)streams,
                              .sinit_max_instreams = (uint16_t)streams};
    struct sctp_assoc_value intl = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1};
    struct sctp_assoc_value rr = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = SCTP_SS_RR};

    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &one, sizeof(one));
    setsockopt(fd, IPPROTO_SCTP, SCTP_STREAM_SCHEDULER, &rr, sizeof(rr));
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof(level)) == 0)
        setsockopt(fd, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &intl, sizeof(intl));
    return setsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im));
}

static int send_msg(int fd, uint16_t sid, uint32_t ppid, const void *buf, size_t len)
{
    char cbuf[CMSG_SPACE(sizeof(struct sctp_sndinfo))] = {0};
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    struct sctp_sndinfo si = {.snd_sid = sid, .snd_ppid = htonl(ppid)};

    c->cmsg_level = IPPROTO_SCTP;
    c->cmsg_type = SCTP_SNDINFO;
    c->cmsg_len = CMSG_LEN(sizeof(si));
    memcpy(CMSG_DATA(c), &si, sizeof(si));
    return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* One piece of a message: its stream and PPID; 0 at the end, or -errno. */
static ssize_t recv_piece(int fd, uint8_t *buf, size_t len, uint16_t *sid, uint32_t *ppid)
{
    char cbuf[CMSG_SPACE(sizeof(struct sctp_rcvinfo))];
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n = recvmsg(fd, &mh, 0);

    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_SCTP && c->cmsg_type == SCTP_RCVINFO) {
            struct sctp_rcvinfo ri;
            memcpy(&ri, CMSG_DATA(c), sizeof(ri));
            *sid = ri.rcv_sid;
            *ppid = ntohl(ri.rcv_ppid);
        }
    }
    return n;
}

static void pattern(uint8_t *p, size_t len, uint64_t off, uint16_t sid)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(((off + i) * 7) ^ sid);
}

/* Counts the bytes of one association that match the pattern. Streams are
 * not ordered with each other, so the end on stream 0 may overtake the last
 * data: the answer waits until as many bytes as the end announced came. */
static void serve(int fd)
{
    static uint64_t off[STREAMS_MAX];
    static uint8_t buf[MSG + 64];
    uint64_t good = 0, got = 0, announced = UINT64_MAX;
    uint16_t sid = 0;
    uint32_t ppid = 0;
    uint8_t answer[8];
    ssize_t n;

    memset(off, 0, sizeof(off));
    while ((n = recv_piece(fd, buf, sizeof(buf), &sid, &ppid)) > 0) {
        if (ppid == PPID_END && n == 8) {
            announced = get_be64(buf);
        } else if (sid < STREAMS_MAX) {
            for (ssize_t i = 0; i < n; i++)
                good += buf[i] == (uint8_t)(((off[sid] + (uint64_t)i) * 7) ^ sid);
            off[sid] += (uint64_t)n;
            got += (uint64_t)n;
        }
        if (got >= announced) {
            put_be64(answer, good);
            send_msg(fd, 0, PPID_END, answer, sizeof(answer));
            announced = UINT64_MAX;
        }
    }
}

static int server(const char *listen_at)
{
    struct sockaddr_in sa;
    int one = 1, ls, fd;

    if (parse_addr(listen_at, &sa) < 0) {
        fprintf(stderr, "sctpstreams server: bad address %s\n", listen_at);
        return 2;
    }
    ls = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    if (ls < 0 || tune(ls, STREAMS_MAX) < 0 ||
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
        fprintf(stderr, "sctpstreams server: %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    while ((fd = accept(ls, NULL, NULL)) >= 0) {
        serve(fd);
        close(fd);
    }
    fprintf(stderr, "sctpstreams server: accept: %s\n", strerror(errno));
    return 1;
}

static void report(unsigned streams, int ok, uint64_t sent, uint64_t good, double secs,
                   const char *err)
{
    printf("mode=streams flows=%u ok=%u failed=%u bytes_sent=%" PRIu64 " bytes_verified=%" PRIu64
           " elapsed_ms=%.0f mbit_s=%.1f first_error=%s\n",
           streams, ok ? streams : 0, ok ? 0 : streams, sent, good, secs * 1000,
           secs > 0 ? (double)good * 8 / secs / 1e6 : 0.0, err);
}

static int client(const char *to, unsigned streams, uint64_t bytes)
{
    static uint8_t buf[MSG];
    struct sockaddr_in sa;
    uint64_t off = 0, sent = 0, good = 0;
    uint8_t end[8];
    uint16_t sid = 0;
    uint32_t ppid = 0;
    double t0;
    int fd, r;

    if (parse_addr(to, &sa) < 0 || streams == 0 || streams >= STREAMS_MAX) {
        fprintf(stderr, "sctpstreams client: bad address or stream count\n");
        return 2;
    }
    fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    if (fd < 0 || tune(fd, streams + 1) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        report(streams, 0, 0, 0, 0, "connect");
        return 1;
    }
    t0 = now_s();
    /* Round robin over streams 1..N, one 64 KiB message each in turn. */
    for (off = 0; off < bytes; off += MSG) {
        size_t len = bytes - off < MSG ? (size_t)(bytes - off) : MSG;
        for (unsigned s = 1; s <= streams; s++) {
            pattern(buf, len, off, (uint16_t)s);
            if ((r = send_msg(fd, (uint16_t)s, PPID_DATA, buf, len)) < 0) {
                report(streams, 0, sent, 0, now_s() - t0, "send");
                return 1;
            }
            sent += len;
        }
    }
    put_be64(end, sent);
    if (send_msg(fd, 0, PPID_END, end, sizeof(end)) < 0 ||
        recv_piece(fd, end, sizeof(end), &sid, &ppid) != (ssize_t)sizeof(end) || ppid != PPID_END) {
        report(streams, 0, sent, 0, now_s() - t0, "no_count");
        return 1;
    }
    good = get_be64(end);
    report(streams, good == sent, sent, good, now_s() - t0, good == sent ? "none" : "mismatch");
    close(fd);
    return good == sent ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    unsigned streams = 64;
    uint64_t bytes = 1 << 20;

    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen") || !strcmp(argv[i], "--connect"))
            addr = argv[i + 1];
        else if (!strcmp(argv[i], "--streams"))
            streams = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--bytes"))
            bytes = parse_size(argv[i + 1]);
    }
    if (argc >= 2 && addr && !strcmp(argv[1], "server"))
        return server(addr);
    if (argc >= 2 && addr && !strcmp(argv[1], "client"))
        return client(addr, streams, bytes);
    fprintf(stderr, "usage: sctpstreams server --listen HOST:PORT\n"
                    "       sctpstreams client --connect HOST:PORT [--streams N] [--bytes B]\n");
    return 2;
}
