/* Kernel SCTP socket calls (see sctp_sock.h). Facts from Linux 6.1:
 * options set with SCTP_FUTURE_ASSOC before connect/listen are copied into
 * each new association; the receive window is SO_RCVBUF/2, fixed then. */
#include "sctp_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/sctp.h>

#define ERR (-errno)

int sock_open(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP), zero = 0;

    if (fd < 0)
        return ERR;
    /* An IPv6 socket carries IPv4 addresses too, whatever the
     * net.ipv6.bindv6only sysctl says: a listener without `local` binds
     * [::], and address lists may mix the families. */
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
        int err = ERR;
        close(fd);
        return err;
    }
    return fd;
}

static int setopt(int fd, int level, int name, const void *val, socklen_t len)
{
    return setsockopt(fd, level, name, val, len) < 0 ? ERR : 0;
}

/* Asks for `size` bytes, beyond net.core.[rw]mem_max when we may. */
static int set_buffer(int fd, int force_opt, int opt, unsigned size)
{
    int v = (int)size;

    if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) == 0)
        return 0;
    return setopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

static int tune_timers(int fd, const tune_t *t, const char **what)
{
    struct sctp_rtoinfo rto = {.srto_assoc_id = SCTP_FUTURE_ASSOC,
                               .srto_initial = t->rto_initial,
                               .srto_max = t->rto_max,
                               .srto_min = t->rto_min};
    struct sctp_paddrparams pp = {.spp_assoc_id = SCTP_FUTURE_ASSOC,
                                  .spp_hbinterval = t->hb_interval,
                                  .spp_pathmaxrxt = (uint16_t)t->path_max_retrans,
                                  .spp_flags = SPP_HB_ENABLE};
    struct sctp_paddrthlds_v2 th = {.spt_assoc_id = SCTP_FUTURE_ASSOC,
                                    .spt_pathmaxrxt = (uint16_t)t->path_max_retrans,
                                    .spt_pathpfthld = (uint16_t)t->pf_threshold,
                                    .spt_pathcpthld = 0xffff};
    struct sctp_sack_info sack = {
        .sack_assoc_id = SCTP_FUTURE_ASSOC, .sack_delay = t->sack_delay, .sack_freq = 2};
    int r;

    /* RTO min must not exceed the current max, so set max first via one call. */
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof(rto))) < 0)
        return *what = "SCTP_RTOINFO", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp))) < 0)
        return *what = "SCTP_PEER_ADDR_PARAMS", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_PEER_ADDR_THLDS_V2, &th, sizeof(th))) < 0)
        return *what = "SCTP_PEER_ADDR_THLDS_V2", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_DELAYED_SACK, &sack, sizeof(sack))) < 0)
        return *what = "SCTP_DELAYED_SACK", r;
    return 0;
}

static int tune_limit(int fd, const tune_t *t, const char **what)
{
    struct sctp_assocparams ap = {.sasoc_assoc_id = SCTP_FUTURE_ASSOC,
                                  .sasoc_asocmaxrxt = (uint16_t)t->asoc_max_retrans};
    int r = setopt(fd, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, sizeof(ap));

    if (r < 0)
        *what = "SCTP_ASSOCINFO";
    return r;
}

/* INIT is retransmitted at most init_max_ms apart: the kernel otherwise
 * doubles the interval up to net.sctp.rto_max (60 s), so a dial made while
 * every link was down would notice them back only seconds later. */
static int tune_data(int fd, unsigned streams, unsigned init_max_ms, unsigned buffer,
                     const char **what)
{
    struct sctp_initmsg im = {.sinit_num_ostreams = (uint16_t)streams,
                              .sinit_max_instreams = (uint16_t)streams,
                              .sinit_max_init_timeo = (uint16_t)init_max_ms};
    struct sctp_assoc_value sched = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = SCTP_SS_RR};
    /* Path state changes, potentially-failed included (2 = expose). */
    struct sctp_assoc_value pf = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 2};
    /* Every message is reliable: without PR-SCTP the kernel refuses a
     * FORWARD-TSN, which tells it to skip TSNs (auth_more). */
    struct sctp_assoc_value pr_off = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 0};
    int on = 1;
    int r;

    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_PR_SUPPORTED, &pr_off, sizeof(pr_off))) < 0)
        return *what = "SCTP_PR_SUPPORTED", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im))) < 0)
        return *what = "SCTP_INITMSG", r;
    if ((r = set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, buffer)) < 0)
        return *what = "SO_SNDBUF", r;
    if ((r = set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, buffer)) < 0)
        return *what = "SO_RCVBUF", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on))) < 0)
        return *what = "SCTP_NODELAY", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on))) < 0)
        return *what = "SCTP_RECVRCVINFO", r;
    /* Round-robin between streams so one bulk flow cannot monopolise the
     * send queue ahead of an interactive one. */
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_STREAM_SCHEDULER, &sched, sizeof(sched))) < 0)
        return *what = "SCTP_STREAM_SCHEDULER", r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_EXPOSE_POTENTIALLY_FAILED_STATE, &pf, sizeof(pf))) < 0)
        return *what = "SCTP_EXPOSE_POTENTIALLY_FAILED_STATE", r;
    return 0;
}

int sock_tune(int fd, const tune_t *t, unsigned streams, unsigned buffer, const char **what)
{
    int r = tune_timers(fd, t, what);

    if (r < 0 || (r = tune_limit(fd, t, what)) < 0)
        return r;
    return tune_data(fd, streams, t->rto_max, buffer, what);
}

/* On a one-to-one socket with an established association the kernel
 * ignores the association id (sctp_id2assoc) and applies each option to
 * that association and every one of its paths. */
int sock_retune(int fd, const tune_t *t, int *limit_kept, const char **what)
{
    int r = tune_timers(fd, t, what);

    *limit_kept = 0;
    if (r < 0)
        return r;
    /* On a live association with more than one path the kernel refuses an
     * error limit above the sum of the paths' own (EINVAL): the backstop
     * it was created with stays. */
    r = tune_limit(fd, t, what);
    if (r == -EINVAL) {
        *limit_kept = 1;
        return 0;
    }
    return r;
}

int sock_max_retrans(int fd)
{
    struct sctp_assocparams ap = {.sasoc_assoc_id = 0};
    socklen_t len = sizeof(ap);

    if (getsockopt(fd, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, &len) < 0)
        return ERR;
    return ap.sasoc_asocmaxrxt;
}

/* The kernel only offers I-DATA when fragment interleaving is on (level 2:
 * pieces of any stream's messages may interleave) and net.sctp.intl_enable
 * allows it; it refuses with EPERM otherwise. */
int sock_interleave(int fd)
{
    int level = 2;
    struct sctp_assoc_value on = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1};
    int r = setopt(fd, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof(level));

    return r < 0 ? r : setopt(fd, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &on, sizeof(on));
}

/* On a socket with an association this reads the peer's answer (the
 * kernel's peer.intl_capable), not our own offer. */
int sock_interleaving(int fd)
{
    struct sctp_assoc_value v = {.assoc_id = 0};
    socklen_t len = sizeof(v);

    if (getsockopt(fd, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &v, &len) < 0)
        return ERR;
    return v.assoc_value != 0;
}

/* Chunks a peer must authenticate: everything that carries, acknowledges
 * or skips data, ends the association, probes or moves paths, or steers
 * congestion control. RFC 4895 forbids INIT, INIT-ACK, SHUTDOWN-COMPLETE
 * and AUTH itself (a COOKIE-ECHO may carry it: AUTH_COOKIE_ECHO); I-DATA
 * is not implied by DATA. The peer must ask the same of us
 * (sock_peer_auth), or it would take such chunks forged. */
static const uint8_t auth_core[] = {
    0,    /* DATA */
    3,    /* SACK */
    4,    /* HEARTBEAT */
    5,    /* HEARTBEAT-ACK */
    6,    /* ABORT */
    7,    /* SHUTDOWN */
    8,    /* SHUTDOWN-ACK */
    9,    /* ERROR */
    64,   /* I-DATA */
    0x80, /* ASCONF-ACK */
    0xc1, /* ASCONF */
};

/* Asked of the peer as well, but not required of it, so a gateway from
 * before they were added still connects. A forged FORWARD-TSN would make
 * the receiver acknowledge TSNs never sent, and the sender abort: PR-SCTP
 * is off at this end (tune_data), which turns it off for both, so an older
 * peer's kernel refuses the chunk too. A forged ECNE would halve a path's
 * window: an older peer's own stays open to that. Not RE-CONFIG: the
 * gateway never enables stream resets, so the kernel denies every request
 * one carries. */
static const uint8_t auth_more[] = {
    12,   /* ECNE */
    13,   /* CWR */
    0xc0, /* FORWARD-TSN */
    0xc2, /* I-FORWARD-TSN */
};

/* A COOKIE-ECHO sent to a live association from its peer's address and
 * port restarts it, every flow reset, and anyone on the path can answer
 * the INIT-ACK of an INIT they sent in the peer's name. Asked for, the
 * kernel drops one without AUTH (t_crypto forges a restart); but only
 * where net.sctp.auth_enable is 1 can it check one at all
 * (gateway_check_cookie_auth). One with AUTH under the null key 0 is the
 * accepted socket's to refuse (sock_auth_off, see sctp_sock.h). */
#define AUTH_COOKIE_ECHO 10

/* The kernel copies the list into each association's cookie, which holds
 * 16 (SCTP_AUTH_MAX_CHUNKS): it refuses a 17th, and kernels before that
 * check overflowed the copy. */
_Static_assert(sizeof(auth_core) + sizeof(auth_more) + 1 <= 16,
               "at most 16 chunks to authenticate");

static int auth_chunk(int fd, uint8_t type)
{
    struct sctp_authchunk c = {.sauth_chunk = type};

    return setopt(fd, IPPROTO_SCTP, SCTP_AUTH_CHUNK, &c, sizeof(c));
}

static int auth_key(int fd, const uint8_t key[SOCK_AUTH_KEY_LEN])
{
    uint8_t buf[sizeof(struct sctp_authkey) + SOCK_AUTH_KEY_LEN];
    struct sctp_authkey *k = (struct sctp_authkey *)buf;
    struct sctp_authkeyid id = {.scact_assoc_id = SCTP_FUTURE_ASSOC, .scact_keynumber = 1};
    int r;

    memset(buf, 0, sizeof(buf));
    k->sca_assoc_id = SCTP_FUTURE_ASSOC;
    k->sca_keynumber = 1;
    k->sca_keylength = SOCK_AUTH_KEY_LEN;
    memcpy(k->sca_key, key, SOCK_AUTH_KEY_LEN);
    r = setopt(fd, IPPROTO_SCTP, SCTP_AUTH_KEY, buf, sizeof(buf));
    explicit_bzero(buf, sizeof(buf));
    if (r < 0)
        return r;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id))) < 0)
        return r;
    /* Key 0 is the empty key every endpoint starts with: anyone knows it. */
    id.scact_keynumber = 0;
    return setopt(fd, IPPROTO_SCTP, SCTP_AUTH_DELETE_KEY, &id, sizeof(id));
}

int sock_auth(int fd, const uint8_t key[SOCK_AUTH_KEY_LEN], int cookie, const char **what)
{
    struct sctp_assoc_value on = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1};
    /* SHA-256 preferred; the kernel insists on SHA-1 in the list too. */
    uint8_t hb[sizeof(struct sctp_hmacalgo) + 2 * sizeof(uint16_t)];
    struct sctp_hmacalgo *h = (struct sctp_hmacalgo *)hb;
    int r;

    /* On for this socket whatever net.sctp.auth_enable says (Linux 5.4;
     * the gateway needs 5.5 for tune_data's options anyway). */
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_AUTH_SUPPORTED, &on, sizeof(on))) < 0)
        return *what = "SCTP_AUTH_SUPPORTED", r;
    h->shmac_num_idents = 2;
    h->shmac_idents[0] = SCTP_AUTH_HMAC_ID_SHA256;
    h->shmac_idents[1] = SCTP_AUTH_HMAC_ID_SHA1;
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_HMAC_IDENT, hb, sizeof(hb))) < 0)
        return *what = "SCTP_HMAC_IDENT", r;
    for (size_t i = 0; i < sizeof(auth_core); i++)
        if ((r = auth_chunk(fd, auth_core[i])) < 0)
            return *what = "SCTP_AUTH_CHUNK", r;
    for (size_t i = 0; i < sizeof(auth_more); i++)
        if ((r = auth_chunk(fd, auth_more[i])) < 0)
            return *what = "SCTP_AUTH_CHUNK", r;
    if (cookie && (r = auth_chunk(fd, AUTH_COOKIE_ECHO)) < 0)
        return *what = "SCTP_AUTH_CHUNK", r;
    if ((r = auth_key(fd, key)) < 0)
        return *what = "SCTP_AUTH_KEY", r;
    return 0;
}

int sock_auth_off(int fd)
{
    struct sctp_assoc_value off = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 0};

    return setopt(fd, IPPROTO_SCTP, SCTP_AUTH_SUPPORTED, &off, sizeof(off));
}

/* The peer must authenticate what we listed, and ask the same of us: a
 * peer without AUTH would otherwise have its chunks taken unauthenticated. */
int sock_peer_auth(int fd)
{
    struct sctp_assoc_value v = {.assoc_id = 0};
    uint8_t buf[sizeof(struct sctp_authchunks) + 256];
    struct sctp_authchunks *c = (struct sctp_authchunks *)buf;
    socklen_t len = sizeof(v);

    if (getsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_SUPPORTED, &v, &len) < 0)
        return ERR;
    if (!v.assoc_value)
        return 0;
    memset(buf, 0, sizeof(buf));
    len = sizeof(buf);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_PEER_AUTH_CHUNKS, buf, &len) < 0)
        return ERR;
    for (size_t i = 0; i < sizeof(auth_core); i++)
        if (!memchr(c->gauth_chunks, auth_core[i], c->gauth_number_of_chunks))
            return 0;
    return 1;
}

unsigned sock_buffer_granted(int fd, unsigned size)
{
    int snd = 0, rcv = 0;
    socklen_t len = sizeof(snd);

    if (set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, size) < 0 ||
        set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, size) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len) < 0)
        return 0;
    return (unsigned)(snd < rcv ? snd : rcv) / 2;
}

int sock_set_sndbuf(int fd, unsigned bytes)
{
    return set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
}

static int sock_status(int fd, struct sctp_status *st)
{
    socklen_t len = sizeof(*st);

    memset(st, 0, sizeof(*st));
    return getsockopt(fd, IPPROTO_SCTP, SCTP_STATUS, st, &len) < 0 ? ERR : 0;
}

/* SCTP_STATUS finds a one-to-one socket's association only once it is
 * established; /proc/net/sctp/assocs lists it from its INIT on, with the
 * socket's inode and the kernel's state (net/sctp/proc.c: ASSOC SOCK STY
 * SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE ...; ST 2 is
 * SCTP_STATE_COOKIE_ECHOED). */
#define PROC_ASSOCS         "/proc/net/sctp/assocs"
#define STATE_COOKIE_ECHOED 2

int sock_cookie_echoed(int fd)
{
    struct stat st;
    char *line = NULL;
    size_t cap = 0;
    unsigned state;
    unsigned long inode;
    int found = 0;
    FILE *f;

    if (fstat(fd, &st) < 0 || !(f = fopen(PROC_ASSOCS, "re")))
        return ERR;
    while (!found && getline(&line, &cap, f) > 0)
        if (sscanf(line, "%*s %*s %*d %*d %u %*d %*d %*d %*d %*u %lu", &state, &inode) == 2 &&
            inode == (unsigned long)st.st_ino)
            found = state == STATE_COOKIE_ECHOED ? 1 : -1;
    free(line);
    fclose(f);
    return found == 1;
}

/* Room kept in every DATA chunk for the control chunks bundled ahead of it:
 * a SACK with up to twelve gap blocks or duplicate TSNs, or a HEARTBEAT or
 * HEARTBEAT-ACK (those go to idle paths, so rarely beside data). The kernel
 * sizes a chunk to fill the path MTU with its AUTH chunk; a packet that
 * holds a SACK but no data yet then takes such a chunk anyway, marks itself
 * fit for IP fragmentation and goes on filling up to the GSO size (Linux
 * 6.1, sctp_packet_will_fit in net/sctp/output.c). Without this room
 * t_bulk's transfer had site a create 28,480 IPv4 fragments and
 * t_ipv6_both_ways 8,716 IPv6 ones; captures of the benchmark's W5b load
 * showed up to five fragments a packet. A link that drops fragments (a
 * firewall, a NAT) loses every such packet, and one lost fragment costs
 * the whole packet. */
#define SOCK_BUNDLE_ROOM 64

int sock_keep_bundle_room(int fd, const char **what)
{
    struct sctp_assoc_value v = {.assoc_id = 0, .assoc_value = 0};
    struct sctp_status st;
    int r;

    /* Without a limit of ours the kernel's point is the path MTU's. */
    if ((r = setopt(fd, IPPROTO_SCTP, SCTP_MAXSEG, &v, sizeof(v))) < 0)
        return *what = "SCTP_MAXSEG", r;
    if ((r = sock_status(fd, &st)) < 0)
        return *what = "SCTP_STATUS", r;
    v.assoc_value = st.sstat_fragmentation_point - SOCK_BUNDLE_ROOM;
    r = setopt(fd, IPPROTO_SCTP, SCTP_MAXSEG, &v, sizeof(v));
    if (r == -EINVAL)
        return 0; /* a path MTU so small that the kernel's minimum is the limit */
    if (r < 0)
        *what = "SCTP_MAXSEG";
    return r;
}

int sock_peer_rwnd(int fd, uint32_t *peer_rwnd)
{
    struct sctp_status st;
    int r = sock_status(fd, &st);

    if (r < 0)
        return r;
    *peer_rwnd = st.sstat_rwnd;
    return 0;
}

int sock_unacked(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);

    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
        return ERR;
    return len > SK_MEMINFO_WMEM_QUEUED * sizeof(mem[0]) ? (int)mem[SK_MEMINFO_WMEM_QUEUED]
                                                         : -EINVAL;
}

int sock_unread(int fd)
{
    int n = 0;

    return ioctl(fd, SIOCINQ, &n) < 0 ? ERR : n;
}

int sock_subscribe(int fd)
{
    static const uint16_t types[] = {SCTP_ASSOC_CHANGE, SCTP_PEER_ADDR_CHANGE, SCTP_REMOTE_ERROR,
                                     SCTP_SHUTDOWN_EVENT, SCTP_SENDER_DRY_EVENT};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = types[i], .se_on = 1};
        int r = setopt(fd, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev));
        if (r < 0)
            return r;
    }
    return 0;
}

/* libsctp wants the addresses packed back to back. */
static size_t pack(const addr_t *addrs, size_t n, unsigned char *buf)
{
    size_t off = 0;

    for (size_t i = 0; i < n; i++) {
        socklen_t len = addr_len(&addrs[i]);
        memcpy(buf + off, &addrs[i], len);
        off += len;
    }
    return off;
}

int sock_bind(int fd, const addr_t *addrs, size_t n)
{
    unsigned char buf[16 * sizeof(struct sockaddr_in6)];
    int on = 1;

    if (n == 0 || n > 16)
        return -EINVAL;
    pack(addrs, n, buf);
    if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on)) < 0)
        return ERR;
    return sctp_bindx(fd, (struct sockaddr *)buf, (int)n, SCTP_BINDX_ADD_ADDR) < 0 ? ERR : 0;
}

int sock_listen(int fd, const addr_t *addrs, size_t n, int backlog)
{
    int on = 1, r;

    if ((r = setopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on))) < 0 ||
        (r = sock_bind(fd, addrs, n)) < 0)
        return r;
    return listen(fd, backlog) < 0 ? ERR : 0;
}

int sock_addr_here(const addr_t *a)
{
    addr_t probe = *a;
    int fd = socket(probe.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 1;

    if (fd < 0)
        return ERR;
    probe.v4.sin_port = 0; /* the same field in both families */
    if (bind(fd, &probe.sa, addr_len(&probe)) < 0)
        r = errno == EADDRNOTAVAIL ? 0 : ERR;
    close(fd);
    return r;
}

int sock_connect(int fd, const addr_t *addrs, size_t n)
{
    unsigned char buf[16 * sizeof(struct sockaddr_in6)];
    sctp_assoc_t id;

    if (n == 0 || n > 16)
        return -EINVAL;
    pack(addrs, n, buf);
    return sctp_connectx(fd, (struct sockaddr *)buf, (int)n, &id) < 0 ? ERR : 0;
}

int sock_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return ERR;
    return -err;
}

int sock_send(int fd, uint16_t sid, uint32_t ppid, unsigned flags, const void *buf, size_t len)
{
    char cbuf[CMSG_SPACE(sizeof(struct sctp_sndinfo))] = {0};
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    struct sctp_sndinfo si = {.snd_sid = sid,
                              .snd_flags = flags & SOCK_SACK_NOW ? SCTP_SACK_IMMEDIATELY : 0,
                              .snd_ppid = htonl(ppid)};

    c->cmsg_level = IPPROTO_SCTP;
    c->cmsg_type = SCTP_SNDINFO;
    c->cmsg_len = CMSG_LEN(sizeof(si));
    memcpy(CMSG_DATA(c), &si, sizeof(si));
    if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT | (flags & SOCK_MORE ? MSG_MORE : 0)) < 0)
        return ERR;
    return 0;
}

ssize_t sock_recv(int fd, void *buf, size_t len, sock_rcv_t *info)
{
    char cbuf[CMSG_SPACE(sizeof(struct sctp_rcvinfo))];
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

    memset(info, 0, sizeof(*info));
    if (n < 0)
        return ERR;
    info->eor = (mh.msg_flags & MSG_EOR) != 0;
    info->notification = (mh.msg_flags & MSG_NOTIFICATION) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_SCTP && c->cmsg_type == SCTP_RCVINFO) {
            struct sctp_rcvinfo ri;
            memcpy(&ri, CMSG_DATA(c), sizeof(ri));
            info->sid = ri.rcv_sid;
            info->ppid = ntohl(ri.rcv_ppid);
        }
    }
    return n;
}

int sock_streams(int fd, unsigned *in, unsigned *out)
{
    struct sctp_status st;
    int r = sock_status(fd, &st);

    if (r < 0)
        return r;
    *in = st.sstat_instrms;
    *out = st.sstat_outstrms;
    return 0;
}

int sock_set_primary(int fd, const addr_t *peer)
{
    struct sctp_prim p;

    memset(&p, 0, sizeof(p));
    memcpy(&p.ssp_addr, peer, addr_len(peer));
    return setopt(fd, IPPROTO_SCTP, SCTP_PRIMARY_ADDR, &p, sizeof(p));
}

/* SCTP_PEER_ADDR_PARAMS for one peer address; fields left 0 stay as they are. */
static int path_params(int fd, const addr_t *peer, uint32_t flags, uint32_t hb_ms)
{
    struct sctp_paddrparams pp;

    memset(&pp, 0, sizeof(pp));
    memcpy(&pp.spp_address, peer, addr_len(peer));
    pp.spp_hbinterval = hb_ms;
    pp.spp_flags = flags;
    return setopt(fd, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp));
}

/* SPP_HB_DEMAND: one HEARTBEAT to this address now, whatever the path's
 * heartbeat timer says. */
int sock_heartbeat(int fd, const addr_t *peer)
{
    return path_params(fd, peer, SPP_HB_DEMAND, 0);
}

int sock_path_hb_interval(int fd, const addr_t *peer, unsigned ms)
{
    return path_params(fd, peer, SPP_HB_ENABLE, ms);
}

/* Copies up to max of the n packed addresses libsctp returned. */
static int addrs_copy(const struct sockaddr *list, int n, addr_t *out, size_t max)
{
    size_t off = 0;
    int kept = 0;

    for (int i = 0; i < n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)((const char *)list + off);
        size_t len =
            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if ((size_t)kept < max) {
            memset(&out[kept], 0, sizeof(out[kept]));
            memcpy(&out[kept++], sa, len);
        }
        off += len;
    }
    return kept;
}

int sock_peer_addrs(int fd, addr_t *out, size_t max)
{
    struct sockaddr *list;
    int n = sctp_getpaddrs(fd, 0, &list), kept;

    if (n < 0)
        return ERR;
    kept = addrs_copy(list, n, out, max);
    sctp_freepaddrs(list);
    return kept;
}

int sock_local_addrs(int fd, addr_t *out, size_t max)
{
    struct sctp_status st;
    socklen_t len = sizeof(st);
    struct sockaddr *list;
    int n, kept;

    /* Id 0 asks for the endpoint's addresses (every address of the host
     * for a wildcard bind); the association's own take its id. */
    memset(&st, 0, sizeof(st));
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0)
        return ERR;
    n = sctp_getladdrs(fd, st.sstat_assoc_id, &list);

    if (n < 0)
        return ERR;
    kept = addrs_copy(list, n, out, max);
    sctp_freeladdrs(list);
    return kept;
}

int sock_udp_encap(int fd, unsigned port)
{
    struct sctp_udpencaps e;

    /* An address of zeroes: the socket's own, for every path. */
    memset(&e, 0, sizeof(e));
    e.sue_assoc_id = SCTP_FUTURE_ASSOC;
    e.sue_port = htons((uint16_t)port);
    return setopt(fd, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &e, sizeof(e));
}

unsigned sock_tick_hz(void)
{
    static const char key[] = "CONFIG_HZ=";
    struct utsname u;
    char path[128 + sizeof(u.release)], line[128];
    unsigned hz = 0;
    FILE *f;

    if (uname(&u) < 0)
        return hz;
    snprintf(path, sizeof(path), "/boot/config-%s", u.release);
    if (!(f = fopen(path, "r")))
        return hz;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, sizeof(key) - 1) == 0 && atoi(line + sizeof(key) - 1) > 0)
            hz = (unsigned)atoi(line + sizeof(key) - 1);
    fclose(f);
    return hz;
}

static uint32_t jiffies_to_ms(uint64_t j, unsigned hz)
{
    return (uint32_t)(j * 1000 / (hz ? hz : 250));
}

static sock_path_state_t path_state(int32_t s)
{
    switch (s) {
    case SCTP_INACTIVE:
        return SOCK_PATH_INACTIVE;
    case SCTP_PF:
        return SOCK_PATH_PF;
    case SCTP_UNCONFIRMED:
        return SOCK_PATH_UNCONFIRMED;
    default: /* SCTP_ACTIVE, and SCTP_UNKNOWN which the kernel means as active */
        return SOCK_PATH_ACTIVE;
    }
}

/* The peer's UDP port a path's packets travel to, 0 when native (or the
 * kernel, older than 5.11, has no such option). */
static uint32_t sock_path_udp(int fd, const addr_t *peer)
{
    struct sctp_udpencaps e;
    socklen_t len = sizeof(e);

    memset(&e, 0, sizeof(e));
    memcpy(&e.sue_address, peer, addr_len(peer));
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &e, &len) < 0)
        return 0;
    return ntohs(e.sue_port);
}

int sock_path_info(int fd, const addr_t *peer, unsigned hz, sock_path_info_t *out)
{
    struct sctp_paddrinfo pi;
    socklen_t len = sizeof(pi);

    memset(&pi, 0, sizeof(pi));
    memcpy(&pi.spinfo_address, peer, addr_len(peer));
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_GET_PEER_ADDR_INFO, &pi, &len) < 0)
        return ERR;
    out->state = path_state(pi.spinfo_state);
    out->srtt_ms = jiffies_to_ms(pi.spinfo_srtt, hz);
    out->rto_ms = pi.spinfo_rto; /* already milliseconds (jiffies_to_msecs) */
    out->cwnd = pi.spinfo_cwnd;
    out->mtu = pi.spinfo_mtu;
    out->udp_port = sock_path_udp(fd, peer);
    return 0;
}

int sock_primary(int fd, addr_t *out)
{
    struct sctp_status st;
    int r = sock_status(fd, &st);
    const struct sockaddr *sa = (const struct sockaddr *)&st.sstat_primary.spinfo_address;

    if (r < 0)
        return r;
    memset(out, 0, sizeof(*out));
    memcpy(out, sa, sa->sa_family == AF_INET6 ? sizeof(out->v6) : sizeof(out->v4));
    return 0;
}

int sock_assoc_stats(int fd, unsigned hz, sock_assoc_stats_t *out)
{
    struct sctp_assoc_stats sas;
    socklen_t len = sizeof(sas);

    memset(&sas, 0, sizeof(sas));
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_GET_ASSOC_STATS, &sas, &len) < 0)
        return ERR;
    out->rtx_chunks = sas.sas_rtxchunks;
    out->out_packets = sas.sas_opackets;
    out->in_packets = sas.sas_ipackets;
    out->out_ctrl_chunks = sas.sas_octrlchunks;
    out->in_ctrl_chunks = sas.sas_ictrlchunks;
    out->out_data_chunks = sas.sas_oodchunks + sas.sas_ouodchunks;
    out->in_data_chunks = sas.sas_iodchunks + sas.sas_iuodchunks;
    out->max_rto_ms = jiffies_to_ms(sas.sas_maxrto, hz);
    return 0;
}

/* The kernel turns a close() with messages unread into an ABORT
 * (sctp_close), which throws away what is still queued to send, such as
 * the ERROR saying why the association ends: what waits is read and
 * dropped first. A recv takes one message, however small, so the bound is
 * what the receive buffer can hold: its bytes twice over, and as many
 * messages as fit in it at the kernel's smallest charge for one. Bounded,
 * so a peer that keeps sending cannot hold the loop; a message that lands
 * after the last read still makes an ABORT, which is why a socket closed
 * after its last word is shut down and read to its end first (assoc.c,
 * closer_t). */
#define CLOSE_READ_BYTES  16384
#define CLOSE_MSG_CHARGE  256 /* bytes of receive buffer a message costs at least */
#define CLOSE_READS_FLOOR 1024

/* A one-to-one socket that shut its association down itself never reads
 * end of file (the kernel marks the receive side shut only when the peer
 * sends SHUTDOWN): once nothing waits, the association is over when the
 * kernel no longer has it. */
int sock_drain(int fd)
{
    struct sctp_status st;
    char buf[CLOSE_READ_BYTES];
    int rcvbuf = 0;
    socklen_t len = sizeof(rcvbuf);
    size_t reads = CLOSE_READS_FLOOR, bytes = 0, bytes_max;
    ssize_t n;

    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) < 0 || rcvbuf < 0)
        rcvbuf = 0;
    reads += (size_t)rcvbuf / CLOSE_MSG_CHARGE;
    bytes_max = 2 * (size_t)rcvbuf + CLOSE_READS_FLOOR * sizeof(buf);
    while (reads-- > 0 && bytes < bytes_max) {
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            bytes += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return 1;
        else if (errno != EINTR)
            return sock_status(fd, &st) < 0 || st.sstat_state == SCTP_CLOSED;
    }
    return 0;
}

void sock_close(int fd)
{
    (void)sock_drain(fd);
    close(fd);
}

void sock_abort(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

const char *sock_cause_name(unsigned code)
{
    static const struct {
        unsigned code;
        const char *name;
    } causes[] = {
        {1, "invalid stream identifier"},
        {2, "missing mandatory parameter"},
        {3, "stale cookie"},
        {4, "out of resource"},
        {5, "unresolvable address"},
        {6, "unrecognized chunk type"},
        {7, "invalid mandatory parameter"},
        {8, "unrecognized parameters"},
        {9, "no user data"},
        {10, "cookie received while shutting down"},
        {11, "restart of an association with new addresses"},
        {12, "user-initiated abort"},
        {13, "protocol violation"},
        {0x00A0, "request to delete the last remaining IP address"},
        {0x00A1, "operation refused due to resource shortage"},
        {0x00A2, "request to delete the source IP address"},
        {0x00A3, "association aborted due to an illegal ASCONF-ACK"},
        {0x00A4, "request refused: no authorization"},
        {0x0105, "unsupported HMAC identifier"},
    };

    for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
        if (causes[i].code == code)
            return causes[i].name;
    return "unknown cause";
}
