/* libFuzzer target for the request heads the metrics listener reads
 * (src/http.c): anyone who can reach the metrics port sends them.
 *
 * Input: the bytes a client sent, whole. The listener asks http_route()
 * again each time more bytes arrive and answers the first status it gets,
 * so besides not misbehaving:
 *  - every status is one http.h lists; head_only only for the method
 *    HEAD (its answer has no body, whatever its status);
 *  - no answer (0) only while fewer than HTTP_HEAD_MAX bytes came: the
 *    listener's buffer is that large, so a client can never leave it full
 *    and unanswered;
 *  - an answer, once given for some bytes, stays the same whatever comes
 *    after them (the listener answers at once, so a later change of mind
 *    would mean it answered wrong);
 *  - 200 only for GET or HEAD of METRICS_PATH (alone or with a query; in
 *    origin form or after "http://" or "https://" and a host, not empty,
 *    without userinfo), in
 *    HTTP/1.d, once the head's blank line has come, the request line
 *    first or after one empty line; 505 only for an HTTP/d.d version of
 *    another major. These are checked by code of its own here, written
 *    from RFC 9112, not from http.c. */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH "/metrics"

/* Where the request line starts: after the one empty line RFC 9112 2.2
 * lets a client send first. */
static size_t line_start(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '\r' && s[1] == '\n')
        return 2;
    return len >= 1 && s[0] == '\n' ? 1 : 0;
}

static void check_form(const char *s, http_route_t r, size_t len)
{
    switch (r.status) {
    case 0:
        if (len >= HTTP_HEAD_MAX)
            abort();
        break;
    case 200:
    case 400:
    case 404:
    case 405:
    case 431:
    case 505:
        break;
    default:
        abort();
    }
    size_t at = line_start(s, len);

    if (r.head_only && (len < at + 5 || memcmp(s + at, "HEAD ", 5) != 0))
        abort();
}

/* Where the first line ends (its LF), or NULL. */
static const char *first_lf(const char *s, size_t len)
{
    return memchr(s, '\n', len);
}

/* Whether a line of just LF or CRLF comes after the first line. */
static int head_ended(const char *s, size_t len)
{
    const char *p = first_lf(s, len);

    while (p && (size_t)(p + 1 - s) < len) {
        const char *line = p + 1;
        size_t left = len - (size_t)(line - s);

        if (line[0] == '\n' || (left >= 2 && line[0] == '\r' && line[1] == '\n'))
            return 1;
        p = memchr(line, '\n', left);
    }
    return 0;
}

/* The target's path: after "http://" or "https://" (any case) and a host
 * (not empty, no userinfo: RFC 9110 4.2.1, 4.2.4) up to '/' or '?', else
 * the target itself; NULL for such a target without a valid host. */
static const char *target_path(const char *t, size_t *tlen)
{
    const char *schemes[] = {"http://", "https://"}, *end = t + *tlen;

    for (int i = 0; i < 2; i++) {
        size_t n = strlen(schemes[i]);
        const char *p = t + n, *host = t + n;

        if (*tlen < n || strncasecmp(t, schemes[i], n) != 0)
            continue;
        while (p < end && *p != '/' && *p != '?')
            p++;
        if (p == host || memchr(host, '@', (size_t)(p - host)))
            return NULL;
        *tlen = (size_t)(end - p);
        return p;
    }
    return t;
}

/* A 200 is GET or HEAD of PATH[?...] in HTTP/1.d, head complete. */
static void check_ok(const char *s, size_t len, http_route_t r)
{
    const char *lf, *sp1, *sp2, *end, *path;
    size_t mlen, tlen, plen = strlen(PATH), at = line_start(s, len);

    s += at;
    len -= at;
    lf = first_lf(s, len);
    if (!lf || !head_ended(s, len))
        abort();
    end = lf > s && lf[-1] == '\r' ? lf - 1 : lf;
    sp1 = memchr(s, ' ', (size_t)(end - s));
    if (!sp1)
        abort();
    sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2 || end - sp2 - 1 != 8)
        abort();
    mlen = (size_t)(sp1 - s);
    tlen = (size_t)(sp2 - sp1 - 1);
    path = target_path(sp1 + 1, &tlen);
    if (!path)
        abort();
    if (!(mlen == 3 && memcmp(s, "GET", 3) == 0 && !r.head_only) &&
        !(mlen == 4 && memcmp(s, "HEAD", 4) == 0 && r.head_only))
        abort();
    if (tlen < plen || memcmp(path, PATH, plen) != 0 || (tlen > plen && path[plen] != '?'))
        abort();
    if (memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' || sp2[8] > '9')
        abort();
}

/* A 505 names a well-formed version of a major other than 1. */
static void check_version(const char *s, size_t len)
{
    const char *lf, *end, *v;
    size_t at = line_start(s, len);

    s += at;
    len -= at;
    lf = first_lf(s, len);

    if (!lf)
        abort();
    end = lf > s && lf[-1] == '\r' ? lf - 1 : lf;
    if (end - s < 9)
        abort();
    v = end - 8;
    if (v[-1] != ' ' || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9' || v[5] == '1')
        abort();
}

/* Every shorter input that already got an answer got this one. All of
 * them for short inputs, a few cut points for long ones (each call reads
 * the whole input). */
static void check_prefixes(const char *s, size_t len, http_route_t whole)
{
    size_t cuts[] = {len / 4, len / 2, len - len / 4, len - 1};
    size_t n = len <= 512 ? len : sizeof(cuts) / sizeof(cuts[0]);

    for (size_t i = 0; i < n; i++) {
        size_t k = len <= 512 ? i : cuts[i];
        http_route_t r = http_route(s, k, PATH);

        check_form(s, r, k);
        if (r.status && (r.status != whole.status || r.head_only != whole.head_only))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    http_route_t r;

    if (size > 2 * HTTP_HEAD_MAX)
        return 0;
    r = http_route(s, size, PATH);
    check_form(s, r, size);
    if (r.status == 200)
        check_ok(s, size, r);
    if (r.status == 505)
        check_version(s, size);
    if (size > 0)
        check_prefixes(s, size, r);
    if (strcmp(http_reason(r.status ? r.status : 400), "Error") == 0)
        abort();
    return 0;
}
