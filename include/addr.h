/* Address parsing and formatting: pure helpers shared by config and logs. */
#ifndef SCTPGW_ADDR_H
#define SCTPGW_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* An IPv4 or IPv6 socket address; the family says which member is valid. */
typedef union addr {
    struct sockaddr sa;     /* generic view, for the socket calls */
    struct sockaddr_in v4;  /* AF_INET */
    struct sockaddr_in6 v6; /* AF_INET6 */
} addr_t;

/* Long enough for "[ipv6%scope]:65535". */
#define ADDR_STRLEN 80

/* Parses a numeric host without a port ("10.1.0.1", "2001:db8::1"; brackets
 * are accepted around IPv6). The port is set to `port`. Returns 0 or -EINVAL. */
int addr_parse_host(const char *s, unsigned port, addr_t *out);

/* Parses "host:port" where host is numeric IPv4, "[IPv6]" or "*" (any IPv4)
 * and port is 1..65535. Returns 0 or -EINVAL. */
int addr_parse_hostport(const char *s, addr_t *out);

/* Longest host name, as DNS allows (RFC 1035: 253 characters written out,
 * without the optional final dot), and the room it needs with its NUL. */
#define ADDR_NAME_MAX 253
#define ADDR_NAME_LEN (ADDR_NAME_MAX + 2)

/* Parses "name:port" where name is a DNS host name: 1..253 characters
 * (one final dot may follow), labels of 1..63 letters, digits, '-' or '_'
 * that neither start nor end with '-', and a last label that is not all
 * digits (so a mistyped IPv4 address such as "10.1.0:80" is refused rather
 * than looked up). port is 1..65535. On success copies the name into
 * host[ADDR_NAME_LEN] and returns 0; otherwise returns -EINVAL and points
 * *why at a short reason for messages. */
int addr_parse_nameport(const char *s, char *host, unsigned *port, const char **why);

/* Socket length of the address for its family. */
socklen_t addr_len(const addr_t *a);

/* Writes "1.2.3.4:80" or "[::1]:80" (port omitted when 0) into buf. */
const char *addr_format(const addr_t *a, char *buf, size_t len);

/* The IPv4 address (network order) of an AF_INET address or of an
 * IPv4-mapped AF_INET6 one (how an IPv6 socket reports IPv4 peers); 0 for
 * any other. */
uint32_t addr_v4(const addr_t *a);

/* Writes the host alone, "10.2.0.1" or "fd00:1::2%2", into buf; an
 * IPv4-mapped address (how an IPv6 socket reports IPv4 peers) as the IPv4
 * address an operator writes. */
const char *addr_format_host(const addr_t *a, char *buf, size_t len);

/* Same host and port (and family). */
int addr_equal(const addr_t *a, const addr_t *b);

/* Same host and port as the kernel sees them: 10.0.0.1 and
 * ::ffff:10.0.0.1 are one address to an IPv6 SCTP socket. */
int addr_same(const addr_t *a, const addr_t *b);

/* An IPv6 link-local address without its interface (fe80::1, not
 * fe80::1%2): the kernel refuses it for a bind and for a connect. */
int addr_zone_missing(const addr_t *a);

#endif
