/* The thin layer over the kernel's SCTP socket API (libsctp, setsockopt,
 * sendmsg/recvmsg with SCTP cmsgs). Every function returns 0 (or a count) or
 * a negative errno taken right at the system call; none of them logs. */
#ifndef SCTPGW_SCTP_SOCK_H
#define SCTPGW_SCTP_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "addr.h"
#include "tune.h"

/* What one recvmsg returned besides the bytes. */
typedef struct sock_rcv {
    uint16_t sid;     /* stream */
    uint32_t ppid;    /* host order */
    int eor;          /* the message ends with these bytes */
    int notification; /* the bytes are an SCTP notification */
} sock_rcv_t;

/* A one-to-one, non-blocking, close-on-exec SCTP socket of `family`; an
 * IPv6 one takes IPv4 addresses too, whatever net.ipv6.bindv6only says. */
int sock_open(int family);

/* Applies the derived timers, buffers and stream counts to a socket before
 * connect/listen (the association copies socket defaults). On failure *what
 * names the option that failed. */
int sock_tune(int fd, const tune_t *t, unsigned streams, unsigned buffer, const char **what);

/* Applies the timers of `t` to the live association of fd (RTO bounds,
 * heartbeat, path and PF thresholds, SACK delay, error limit). *limit_kept
 * is set when the kernel kept the association's error limit (see
 * sctp_sock.c). On failure *what names the option. */
int sock_retune(int fd, const tune_t *t, int *limit_kept, const char **what);

/* The association's error limit as the kernel has it (SCTP_ASSOCINFO's
 * asocmaxrxt), or -errno. */
int sock_max_retrans(int fd);

#define SOCK_AUTH_KEY_LEN 32

/* SCTP-AUTH (RFC 4895) for every association of fd, before connect/listen:
 * HMAC-SHA-256 over the chunks that matter (sctp_sock.c), COOKIE-ECHO too
 * when `cookie`, with `key` as the endpoint key, the well-known empty key
 * 0 deleted. */
int sock_auth(int fd, const uint8_t key[SOCK_AUTH_KEY_LEN], int cookie, const char **what);

/* No SCTP-AUTH for fd's associations to come (encryption = off). On a
 * socket accept() gave, once its association checked the peer's SCTP-AUTH,
 * it closes the association to forged restarts: that socket has an
 * endpoint of its own, which Linux 6.1 gives no key but the null key 0
 * (sctp_sock_migrate copies none, and key options on a connected
 * one-to-one socket reach its association only), and a restart is checked
 * with an association made from it; with SCTP-AUTH off there it cannot be
 * authenticated and the kernel drops the COOKIE-ECHO
 * (sctp_auth_chunk_verify). The association's own SCTP-AUTH is untouched;
 * our peers never restart one (they dial from a new port). 0 or -errno. */
int sock_auth_off(int fd);

/* While connecting: 1 while the peer has answered the INIT (the kernel sent
 * the COOKIE-ECHO and waits for its COOKIE-ACK), else 0, or -errno. */
int sock_cookie_echoed(int fd);

/* After establishment: 1 when the peer does SCTP-AUTH and authenticates
 * every chunk we require, 0 when not, or -errno. */
int sock_peer_auth(int fd);

/* What the kernel gives fd when asked for `size` bytes each way as
 * sock_tune asks (past net.core.wmem_max and rmem_max only with
 * CAP_NET_ADMIN): the smaller of the two, in the units asked (the kernel
 * doubles both for its bookkeeping). 0 if it cannot tell. */
unsigned sock_buffer_granted(int fd, unsigned size);

/* Sets SO_SNDBUF on a live association (the kernel doubles it and charges
 * every chunk until it is acknowledged). */
int sock_set_sndbuf(int fd, unsigned bytes);

/* Keeps room in every DATA chunk for the control chunks the kernel bundles
 * ahead of data (SOCK_BUNDLE_ROOM, sctp_sock.c), for the association's path
 * MTU now: SCTP_MAXSEG. With a path MTU so small that the kernel refuses the
 * smaller limit, its own stays. Returns 0, or -errno with *what the option
 * that failed. */
int sock_keep_bundle_room(int fd, const char **what);

/* From SCTP_STATUS: the peer's receive window now, less what is in flight
 * to it. */
int sock_peer_rwnd(int fd, uint32_t *peer_rwnd);

/* Bytes the kernel holds in DATA chunks, sent or not, until they are
 * acknowledged (SO_MEMINFO's queued bytes: SCTP charges each chunk until
 * its SACK frees it): 0 when all that was handed to it is acknowledged, or
 * -errno. SCTP_STATUS's unackdata is no measure of it: it changes only
 * when a SACK comes. */
int sock_unacked(int fd);

/* The length of the first message or notification waiting to be read (0:
 * none), or -errno. */
int sock_unread(int fd);

/* Subscribes to association, path, shutdown and error notifications, and
 * to the sender-dry event (everything sent has been acknowledged). */
int sock_subscribe(int fd);

/* Binds all addresses (port taken from the first; 0 = any), also those
 * the host does not have now (IP_FREEBIND): the kernel binds a list all or
 * nothing, and a link's address may be away for a while (an LTE interface
 * that drops, an IPv6 address still in duplicate detection). Its path
 * serves once the address is back. */
int sock_bind(int fd, const addr_t *addrs, size_t n);

/* Binds as sock_bind and listens. SO_REUSEADDR: a gateway started again
 * while its last run's associations still shut down in the kernel may
 * listen (those sockets inherit the option but do not listen, and two
 * listeners still clash). */
int sock_listen(int fd, const addr_t *addrs, size_t n, int backlog);

/* Whether the host has the address now: 1, 0, or -errno. */
int sock_addr_here(const addr_t *a);

/* Starts a non-blocking multihomed connect: 0 or -EINPROGRESS on success. */
int sock_connect(int fd, const addr_t *addrs, size_t n);

/* The pending error of a connecting socket (SO_ERROR), as -errno or 0. */
int sock_error(int fd);

/* sock_send flags. */
#define SOCK_SACK_NOW 1u /* ask the peer to acknowledge at once (no SACK delay) */
#define SOCK_MORE     2u /* more follows at once: the kernel may hold this one (MSG_MORE) */

/* Offers I-DATA (RFC 8260) to every association of fd: 0, or -EPERM when
 * net.sctp.intl_enable is 0 in this network namespace. */
int sock_interleave(int fd);

/* 1 when the association on fd carries I-DATA, 0 when not, or -errno. */
int sock_interleaving(int fd);

/* Sends one whole message on a stream: 0, -EAGAIN when the send buffer is
 * full, or another -errno. */
int sock_send(int fd, uint16_t sid, uint32_t ppid, unsigned flags, const void *buf, size_t len);

/* Receives (a piece of) one message: the byte count, 0 at EOF, -EAGAIN, or
 * another -errno. */
ssize_t sock_recv(int fd, void *buf, size_t len, sock_rcv_t *info);

/* Negotiated stream counts of the association. */
int sock_streams(int fd, unsigned *in, unsigned *out);

/* Chooses the preferred peer address. */
int sock_set_primary(int fd, const addr_t *peer);

/* Sends a HEARTBEAT to one peer address (with the association's port) at
 * once. Only its acknowledgement takes a potentially failed path back to
 * active, and the kernel sends none on a path that carries data. */
int sock_heartbeat(int fd, const addr_t *peer);

/* The kernel's heartbeat interval for one peer address (port included). */
int sock_path_hb_interval(int fd, const addr_t *peer, unsigned ms);

/* The peer's addresses (up to max). Returns the count or -errno. */
int sock_peer_addrs(int fd, addr_t *out, size_t max);

/* The local addresses of the association (sctp_getladdrs), up to max.
 * Returns the count or -errno. */
int sock_local_addrs(int fd, addr_t *out, size_t max);

/* A path's state as SCTP_GET_PEER_ADDR_INFO reports it. */
typedef enum {
    SOCK_PATH_ACTIVE,
    SOCK_PATH_PF,
    SOCK_PATH_INACTIVE,
    SOCK_PATH_UNCONFIRMED,
} sock_path_state_t;

/* One path's telemetry, in milliseconds and bytes. */
typedef struct sock_path_info {
    sock_path_state_t state;
    uint32_t srtt_ms; /* converted from the kernel's jiffies */
    uint32_t rto_ms;
    uint32_t cwnd;
    uint32_t mtu;
    uint32_t udp_port; /* the peer's UDP port its SCTP travels inside; 0: native */
} sock_path_info_t;

/* SCTP inside UDP (RFC 6951) to the peer's UDP `port` for the association
 * this socket will make: set before connect (an association under way
 * keeps what it has). A peer that receives a dial over UDP answers over
 * UDP on every path by itself. Returns 0 or -errno. */
int sock_udp_encap(int fd, unsigned port);

/* The kernel's tick, for the values it reports in jiffies (spinfo_srtt,
 * sas_maxrto: Linux 6.1 copies them raw), from the kernel's config file
 * (/boot/config-RELEASE), or 0 when there is none to read. Read once at
 * start (gateway_t.tick_hz): a scrape of every path must not read a file
 * for each. */
unsigned sock_tick_hz(void);

/* SCTP_GET_PEER_ADDR_INFO for one peer address, jiffies converted at
 * `hz`. -EACCES for a potentially failed path while the kernel hides that
 * state. */
int sock_path_info(int fd, const addr_t *peer, unsigned hz, sock_path_info_t *out);

/* The primary peer address (SCTP_STATUS). */
int sock_primary(int fd, addr_t *out);

/* SCTP_GET_ASSOC_STATS as read: counters since the association began;
 * max_rto_ms is the largest RTO since the previous read, which resets it
 * (Linux 6.1 keeps no count of T3 expiries here). */
typedef struct sock_assoc_stats {
    uint64_t rtx_chunks;
    uint64_t out_packets, in_packets;
    uint64_t out_ctrl_chunks, in_ctrl_chunks;
    uint64_t out_data_chunks, in_data_chunks;
    uint64_t max_rto_ms;
} sock_assoc_stats_t;

/* Reads the association's statistics, and so resets max_rto_ms: only
 * assoc.c's assoc_stats_read calls it. */
int sock_assoc_stats(int fd, unsigned hz, sock_assoc_stats_t *out);

/* Reads and drops what the peer sent, as much as the receive buffer holds
 * (bounded): 1 once the association has ended (end of file, an error, or
 * nothing waits and the kernel no longer has it), 0 while it lives. */
int sock_drain(int fd);

/* Closes with a graceful SHUTDOWN, which sends what is queued first; what
 * the peer sent and nobody read is dropped (sock_drain), or the kernel
 * would abort. */
void sock_close(int fd);

/* Closes with an ABORT rather than a graceful SHUTDOWN. */
void sock_abort(int fd);

/* The name of an ERROR or ABORT chunk's cause code (host order), as RFC
 * 9260 3.3.10, RFC 5061 and RFC 4895 give it, or "unknown cause". */
const char *sock_cause_name(unsigned code);

#endif
