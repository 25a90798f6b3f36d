/* What to answer to a request head (see http.h). The request line is read
 * as RFC 9112 says, strictly: METHOD SP TARGET SP HTTP/1.x CRLF (a bare LF
 * is accepted as the end of a line, and one empty line before the request
 * line is skipped, as the RFC allows; the target may be in origin or
 * absolute form); header fields are only checked for their form, since
 * none of them changes the answer. */
#include "http.h"

#include <string.h>
#include <strings.h>

#define METHOD_MAX 32 /* longer than any method in use */

/* RFC 9110's token characters: what a method or a field name is made of. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* A visible character, as a request target is made of. */
static int is_vchar(unsigned char c)
{
    return c > 0x20 && c < 0x7F;
}

/* The request line's parts, as offsets into the buffer. */
typedef struct line {
    size_t method_len;
    size_t target, target_len;
    size_t version, version_len;
} line_t;

/* Checks the first n bytes of a request line (all of it when `complete`,
 * the LF and a CR before it left out). Returns 0 when they can be (or are)
 * a request line, else 400. */
static int line_scan(const char *buf, size_t n, int complete, line_t *l)
{
    int part = 0; /* 0 method, 1 target, 2 version */

    memset(l, 0, sizeof(*l));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c == ' ') {
            if (part == 2 || (part == 0 && i == 0) || (part == 1 && i == l->target))
                return 400;
            part++;
            if (part == 1)
                l->target = i + 1;
            else
                l->version = i + 1;
            continue;
        }
        if (c == '\r' && !complete && i == n - 1)
            break; /* the CR of the CRLF to come */
        if (part == 0 && (!is_tchar(c) || i >= METHOD_MAX))
            return 400;
        if (part > 0 && !is_vchar(c))
            return 400;
    }
    l->method_len = part > 0 ? l->target - 1 : n;
    l->target_len = part > 1 ? l->version - 1 - l->target : part == 1 ? n - l->target : 0;
    l->version_len = part == 2 ? n - l->version : 0;
    if (complete && (part < 2 || l->version_len == 0))
        return 400;
    return 0;
}

/* 0 for HTTP/1.x (a later minor version is read as 1.1, RFC 9110 6.2),
 * 505 for another well-formed version, else 400. */
static int version_check(const char *v, size_t n)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return 400;
    return v[5] == '1' ? 0 : 505;
}

/* The path of a target in absolute form (RFC 9112 3.2.2: a server must
 * accept "http://host:port/metrics" too): what follows the authority, or an
 * empty path when nothing does. Origin form is left as it is. Returns 400
 * for an authority that is empty or carries userinfo (RFC 9110 4.2.1 and
 * 4.2.4), else 0. */
static int target_path(const char *buf, line_t *l)
{
    static const char *const schemes[] = {"http://", "https://"};
    const char *t = buf + l->target;

    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(schemes[i]), a;

        if (l->target_len < n || strncasecmp(t, schemes[i], n) != 0)
            continue;
        for (a = n; a < l->target_len && t[a] != '/' && t[a] != '?'; a++)
            if (t[a] == '@')
                return 400;
        if (a == n)
            return 400;
        l->target += a;
        l->target_len -= a;
        return 0;
    }
    return 0;
}

/* One header field line (without its line end): NAME ":" VALUE, the name
 * of token characters, the value without control characters but tab. */
static int field_check(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i == n || s[i] != ':')
        return 400;
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return 400;
    }
    return 0;
}

/* Length of the line at s without its LF and a CR before it; *next is
 * where the next line starts. -1 when the line has not ended yet. */
static long line_end(const char *s, size_t n, size_t *next)
{
    const char *lf = memchr(s, '\n', n);
    size_t len;

    if (!lf)
        return -1;
    len = (size_t)(lf - s);
    *next = len + 1;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    return (long)len;
}

/* The header fields from `at` on: 0 once the blank line that ends the head
 * is there and every field before it is well formed, -1 while more is
 * needed, else 400. */
static int fields_check(const char *buf, size_t len, size_t at)
{
    while (at < len) {
        size_t next = 0;
        long n = line_end(buf + at, len - at, &next);

        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (memchr(buf + at, '\r', (size_t)n) || field_check(buf + at, (size_t)n) != 0)
            return 400; /* a stray CR, a folded line (it starts with a space), no name */
        at += next;
    }
    return -1;
}

http_route_t http_route(const char *buf, size_t len, const char *path)
{
    http_route_t r = {0, 0};
    size_t next = 0, skip = 0, plen = strlen(path);
    long n;
    line_t l;
    int f;

    if (len > HTTP_HEAD_MAX)
        len = HTTP_HEAD_MAX; /* a head must end within them, or it is 431 */
    if (len > 0 && buf[0] == '\r' && (len == 1 || buf[1] == '\n'))
        skip = len == 1 ? 1 : 2; /* the empty line a client may send first */
    else if (len > 0 && buf[0] == '\n')
        skip = 1;
    buf += skip;
    len -= skip;
    n = line_end(buf, len, &next);
    if (line_scan(buf, n < 0 ? len : (size_t)n, n >= 0, &l)) {
        r.status = 400;
        return r;
    }
    /* A HEAD answer carries no body, whatever its status (RFC 9110 9.3.2);
     * the method is known once its line has ended. */
    r.head_only = n >= 0 && l.method_len == 4 && memcmp(buf, "HEAD", 4) == 0;
    if (n >= 0 && (r.status = version_check(buf + l.version, l.version_len)))
        return r;
    f = n < 0 ? -1 : fields_check(buf, len, next);
    if (f > 0 || (f < 0 && len + skip >= HTTP_HEAD_MAX)) {
        r.status = f > 0 ? f : 431;
        return r;
    }
    if (f < 0)
        return r;
    if ((r.status = target_path(buf, &l)))
        return r;
    if (l.target_len < plen || memcmp(buf + l.target, path, plen) != 0 ||
        (l.target_len > plen && buf[l.target + plen] != '?'))
        r.status = 404;
    else if (l.method_len == 3 && memcmp(buf, "GET", 3) == 0)
        r.status = 200;
    else if (r.head_only)
        r.status = 200;
    else
        r.status = 405;
    return r;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}
