/* libFuzzer target for the address parser (src/addr.c), which reads every
 * address of a configuration file.
 *
 * Input: port u16 (big-endian; 0xffff means 70000) | text. The text, up
 * to its first NUL, goes to both parsers: addr_parse_host with that port,
 * and addr_parse_hostport.
 * Beyond not misbehaving, the parsers must agree with inet_pton on which
 * bare hosts are addresses, refuse ports past 65535, and whatever they
 * accept must format without being cut and parse back to the same address,
 * so a log line can always be pasted back into a configuration. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned addr_port(const addr_t *a)
{
    return ntohs(a->sa.sa_family == AF_INET ? a->v4.sin_port : a->v6.sin6_port);
}

/* Formats a and parses the text back; the result must be a itself. */
static void round_trip(const addr_t *a)
{
    char buf[ADDR_STRLEN];
    addr_t back;
    unsigned port = addr_port(a);
    int r;

    addr_format(a, buf, sizeof(buf));
    if (strlen(buf) >= sizeof(buf) - 1)
        abort();
    r = port ? addr_parse_hostport(buf, &back) : addr_parse_host(buf, 0, &back);
    if (r != 0 || !addr_equal(a, &back))
        abort();
}

/* A bare host without brackets or scope is an address exactly when
 * inet_pton says so, for the family its colons tell. */
static void check_pton(const char *s, int r, const addr_t *a)
{
    unsigned char raw[sizeof(struct in6_addr)];
    int v6 = strchr(s, ':') != NULL;
    int pton;

    if (s[0] == '[' || strchr(s, '%'))
        return;
    pton = inet_pton(v6 ? AF_INET6 : AF_INET, s, raw) == 1;
    if ((r == 0) != pton)
        abort();
    if (r == 0 && a->sa.sa_family != (v6 ? AF_INET6 : AF_INET))
        abort();
}

static void check_host(const char *s, unsigned port)
{
    addr_t a;
    int r = addr_parse_host(s, port, &a);

    if (r != 0) {
        if (r != -EINVAL)
            abort();
        if (port <= 65535)
            check_pton(s, r, &a);
        return;
    }
    if (port > 65535 || addr_port(&a) != port || addr_len(&a) == 0)
        abort();
    check_pton(s, r, &a);
    round_trip(&a);
}

static void check_hostport(const char *s)
{
    addr_t a;
    int r = addr_parse_hostport(s, &a);

    if (r != 0) {
        if (r != -EINVAL)
            abort();
        return;
    }
    /* An IPv6 host is always bracketed next to a port. */
    if (addr_port(&a) == 0 || addr_len(&a) == 0 || (a.sa.sa_family == AF_INET6) != (s[0] == '['))
        abort();
    round_trip(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256];
    unsigned port;

    if (size < 2)
        return 0;
    /* 0xffff stands for a port past the range, which must be refused. */
    port = (unsigned)data[0] << 8 | data[1];
    if (port == 0xffff)
        port = 70000;
    data += 2;
    size -= 2;
    if (size >= sizeof(s))
        size = sizeof(s) - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    check_host(s, port);
    check_hostport(s);
    return 0;
}
