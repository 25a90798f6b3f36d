/* Address parsing and formatting. Link addresses and listeners are numeric
 * only, so the association and the listeners mean the same thing whether or
 * not DNS is reachable when the gateway starts; only a back end may be
 * named, and its name is checked here for syntax alone (flow.c resolves it
 * when each flow opens). */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Longest host text we accept: an IPv6 address plus "%" and a scope id. */
#define HOST_MAX (INET6_ADDRSTRLEN + 11)

/* Parses a port: decimal digits only, 1..65535, no sign, space or suffix. */
static int port_parse(const char *s, unsigned *out)
{
    unsigned v = 0;
    size_t n = strlen(s);

    /* Five digits are enough for 65535 and keep the sum below overflow. */
    if (n == 0 || n > 5)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Parses an optional numeric scope id ("%2") for link-local IPv6, so that
 * what addr_format prints for such an address can be read back. */
static int scope_parse(const char *s, uint32_t *out)
{
    unsigned long v = 0;

    if (*s == '\0' || strlen(s) > 10)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > UINT32_MAX)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* Parses a bare IPv6 address (no brackets), with an optional "%scope". */
static int v6_parse(const char *s, size_t n, unsigned port, addr_t *out)
{
    char host[HOST_MAX];
    char *pct;
    uint32_t scope = 0;

    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    pct = strchr(host, '%');
    if (pct) {
        *pct = '\0';
        if (scope_parse(pct + 1, &scope) < 0)
            return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET6, host, &out->v6.sin6_addr) != 1)
        return -EINVAL;
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons((uint16_t)port);
    out->v6.sin6_scope_id = scope;
    return 0;
}

/* Parses a dotted-quad IPv4 address of exactly n characters. */
static int v4_parse(const char *s, size_t n, unsigned port, addr_t *out)
{
    char host[INET_ADDRSTRLEN];

    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, &out->v4.sin_addr) != 1)
        return -EINVAL;
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons((uint16_t)port);
    return 0;
}

/* The any-IPv4 address, what "*" stands for. */
static void v4_any(unsigned port, addr_t *out)
{
    memset(out, 0, sizeof(*out));
    out->v4.sin_family = AF_INET;
    out->v4.sin_addr.s_addr = htonl(INADDR_ANY);
    out->v4.sin_port = htons((uint16_t)port);
}

int addr_parse_host(const char *s, unsigned port, addr_t *out)
{
    size_t n = strlen(s);

    if (port > 65535)
        return -EINVAL;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        return v6_parse(s + 1, n - 2, port, out);
    if (strchr(s, ':'))
        return v6_parse(s, n, port, out);
    return v4_parse(s, n, port, out);
}

int addr_parse_hostport(const char *s, addr_t *out)
{
    const char *colon;
    unsigned port;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        /* The bracket must be followed directly by ":port". */
        if (!close || close[1] != ':' || port_parse(close + 2, &port) < 0)
            return -EINVAL;
        return v6_parse(s + 1, (size_t)(close - s - 1), port, out);
    }
    colon = strrchr(s, ':');
    if (!colon || port_parse(colon + 1, &port) < 0)
        return -EINVAL;
    /* A second colon means an unbracketed IPv6 address, which is ambiguous
     * next to a port ("::1:80"), so it is refused rather than guessed. */
    if (memchr(s, ':', (size_t)(colon - s)))
        return -EINVAL;
    if (colon - s == 1 && s[0] == '*') {
        v4_any(port, out);
        return 0;
    }
    return v4_parse(s, (size_t)(colon - s), port, out);
}

/* Checks one label of a host name: 1..63 of [A-Za-z0-9_-], no '-' at
 * either end. Sets *digits when the label is all digits. */
static int label_valid(const char *s, size_t n, int *digits, const char **why)
{
    *digits = 1;
    if (n == 0)
        return *why = "an empty label (two dots in a row, or a leading dot)", -EINVAL;
    if (n > 63)
        return *why = "a label longer than 63 characters", -EINVAL;
    if (s[0] == '-' || s[n - 1] == '-')
        return *why = "a label starting or ending with '-'", -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return *why = "a character other than letters, digits, '-', '_' and '.'", -EINVAL;
        if (c < '0' || c > '9')
            *digits = 0;
    }
    return 0;
}

/* Checks the syntax of a host name of n characters (see addr.h). */
static int name_valid(const char *s, size_t n, const char **why)
{
    const char *end;
    int digits = 0;

    if (n == 0)
        return *why = "an empty host", -EINVAL;
    if (s[n - 1] == '.')
        n--; /* an absolute name: the root's empty label */
    if (n == 0 || n > ADDR_NAME_MAX)
        return *why = n ? "a name longer than 253 characters" : "an empty host", -EINVAL;
    for (const char *p = s; p <= s + n; p = end + 1) {
        end = memchr(p, '.', (size_t)(s + n - p));
        if (!end)
            end = s + n;
        if (label_valid(p, (size_t)(end - p), &digits, why) < 0)
            return -EINVAL;
    }
    if (digits)
        return *why = "not a valid IPv4 address, and a name's last label is not all digits",
               -EINVAL;
    return 0;
}

int addr_parse_nameport(const char *s, char *host, unsigned *port, const char **why)
{
    const char *colon = strrchr(s, ':');
    size_t n;

    *why = "no ':PORT' after the host";
    if (!colon)
        return -EINVAL;
    n = (size_t)(colon - s);
    if (port_parse(colon + 1, port) < 0)
        return *why = "the port must be 1 to 65535", -EINVAL;
    if (memchr(s, ':', n) || s[0] == '[')
        return *why = "not a valid IPv6 address (write it as [ADDR]:PORT)", -EINVAL;
    if (name_valid(s, n, why) < 0)
        return -EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    return 0;
}

socklen_t addr_len(const addr_t *a)
{
    switch (a->sa.sa_family) {
    case AF_INET:
        return sizeof(a->v4);
    case AF_INET6:
        return sizeof(a->v6);
    default:
        return 0;
    }
}

/* Writes an IPv6 address, bracketed when a port follows. */
static void v6_format(const addr_t *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    char scope[12] = "";
    unsigned port = ntohs(a->v6.sin6_port);

    inet_ntop(AF_INET6, &a->v6.sin6_addr, host, sizeof(host));
    if (a->v6.sin6_scope_id)
        snprintf(scope, sizeof(scope), "%%%u", (unsigned)a->v6.sin6_scope_id);
    if (port)
        snprintf(buf, len, "[%s%s]:%u", host, scope, port);
    else
        snprintf(buf, len, "%s%s", host, scope);
}

const char *addr_format(const addr_t *a, char *buf, size_t len)
{
    char host[INET_ADDRSTRLEN];
    unsigned port;

    if (len == 0)
        return buf;
    switch (a->sa.sa_family) {
    case AF_INET:
        port = ntohs(a->v4.sin_port);
        inet_ntop(AF_INET, &a->v4.sin_addr, host, sizeof(host));
        if (port)
            snprintf(buf, len, "%s:%u", host, port);
        else
            snprintf(buf, len, "%s", host);
        break;
    case AF_INET6:
        v6_format(a, buf, len);
        break;
    default:
        snprintf(buf, len, "-");
        break;
    }
    return buf;
}

uint32_t addr_v4(const addr_t *a)
{
    if (a->sa.sa_family == AF_INET)
        return a->v4.sin_addr.s_addr;
    if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr))
        return a->v6.sin6_addr.s6_addr32[3];
    return 0;
}

const char *addr_format_host(const addr_t *a, char *buf, size_t len)
{
    addr_t h = *a;

    if (a->sa.sa_family == AF_INET6 && addr_v4(a)) {
        memset(&h, 0, sizeof(h));
        h.v4.sin_family = AF_INET;
        h.v4.sin_addr.s_addr = addr_v4(a);
    }
    h.v4.sin_port = 0; /* same offset in both families */
    return addr_format(&h, buf, len);
}

int addr_same(const addr_t *a, const addr_t *b)
{
    uint32_t va = addr_v4(a), vb = addr_v4(b);

    if (va || vb) /* sin_port and sin6_port share their offset */
        return va == vb && a->v4.sin_port == b->v4.sin_port;
    return addr_equal(a, b);
}

int addr_zone_missing(const addr_t *a)
{
    return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a->v6.sin6_addr) &&
           a->v6.sin6_scope_id == 0;
}

int addr_equal(const addr_t *a, const addr_t *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return 0;
    switch (a->sa.sa_family) {
    case AF_INET:
        return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
    case AF_INET6:
        return a->v6.sin6_port == b->v6.sin6_port && a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
               memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(a->v6.sin6_addr)) == 0;
    default:
        return 0;
    }
}
