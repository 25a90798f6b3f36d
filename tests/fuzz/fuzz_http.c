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
 *  - 200 only for GET or HEAD of METRICS_PATH (alone or with a query), in
 *    HTTP/1.0 or 1.1, once the head's blank line has come; 505 only for
 *    another HTTP/d.d version. These are checked by code of its own here,
 *    written from RFC 9112, not from http.c. */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH "/metrics"

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
    if (r.head_only && (len < 5 || memcmp(s, "HEAD ", 5) != 0))
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

/* A 200 is GET or HEAD of PATH[?...] in HTTP/1.0 or 1.1, head complete. */
static void check_ok(const char *s, size_t len, http_route_t r)
{
    const char *lf = first_lf(s, len), *sp1, *sp2, *end;
    size_t mlen, tlen, plen = strlen(PATH);

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
    if (!(mlen == 3 && memcmp(s, "GET", 3) == 0 && !r.head_only) &&
        !(mlen == 4 && memcmp(s, "HEAD", 4) == 0 && r.head_only))
        abort();
    if (tlen < plen || memcmp(sp1 + 1, PATH, plen) != 0 || (tlen > plen && sp1[1 + plen] != '?'))
        abort();
    if (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)
        abort();
}

/* A 505 names a well-formed version that is neither 1.0 nor 1.1. */
static void check_version(const char *s, size_t len)
{
    const char *lf = first_lf(s, len), *end, *v;

    if (!lf)
        abort();
    end = lf > s && lf[-1] == '\r' ? lf - 1 : lf;
    if (end - s < 9)
        abort();
    v = end - 8;
    if (v[-1] != ' ' || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9' || (v[5] == '1' && (v[7] == '0' || v[7] == '1')))
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
