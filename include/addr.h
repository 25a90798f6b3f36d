/* Address parsing and formatting: pure helpers shared by config and logs. */
#ifndef SCTPGW_ADDR_H
#define SCTPGW_ADDR_H

#include <stddef.h>
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

/* Socket length of the address for its family. */
socklen_t addr_len(const addr_t *a);

/* Writes "1.2.3.4:80" or "[::1]:80" (port omitted when 0) into buf. */
const char *addr_format(const addr_t *a, char *buf, size_t len);

/* Same host and port (and family). */
int addr_equal(const addr_t *a, const addr_t *b);

#endif
