/* The request heads the metrics listener answers (http.c). */
#include "http.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static int route(const char *s)
{
    return http_route(s, strlen(s), "/metrics").status;
}

static void test_served(void)
{
    http_route_t r;

    CHECK(route("GET /metrics HTTP/1.1\r\nHost: gw:9464\r\nAccept: text/plain\r\n\r\n") == 200);
    CHECK(route("GET /metrics HTTP/1.0\r\n\r\n") == 200);
    CHECK(route("GET /metrics?name[]=x HTTP/1.1\r\n\r\n") == 200);
    CHECK(route("GET /metrics HTTP/1.1\nHost: x\n\n") == 200); /* bare LF */
    CHECK(route("GET /metrics HTTP/1.1\r\nUser-Agent: a\tb\r\n\r\n") == 200);
    r = http_route("HEAD /metrics HTTP/1.1\r\n\r\n", 27, "/metrics");
    CHECK(r.status == 200 && r.head_only == 1);
    r = http_route("GET /metrics HTTP/1.1\r\n\r\n", 26, "/metrics");
    CHECK(r.status == 200 && r.head_only == 0);
    /* what RFC 9112 asks a server to take: one empty line first, a later
     * HTTP/1 minor version read as 1.1, the target in absolute form */
    CHECK(route("\r\nGET /metrics HTTP/1.1\r\n\r\n") == 200);
    CHECK(route("\nGET /metrics HTTP/1.1\n\n") == 200);
    CHECK(route("GET /metrics HTTP/1.2\r\n\r\n") == 200);
    CHECK(route("GET /metrics HTTP/1.9\r\n\r\n") == 200);
    CHECK(route("GET http://gw/metrics HTTP/1.1\r\n\r\n") == 200);
    CHECK(route("GET http://[::1]:9464/metrics?x=1 HTTP/1.1\r\n\r\n") == 200);
    CHECK(route("GET HTTPS://gw/metrics HTTP/1.1\r\n\r\n") == 200);
    r = http_route("\r\nHEAD http://gw/metrics HTTP/1.1\r\n\r\n", 37, "/metrics");
    CHECK(r.status == 200 && r.head_only == 1);
    /* a body after the head is not looked at */
    CHECK(route("GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n\x01\x02\x03") == 200);
}

static void test_other_paths_and_methods(void)
{
    CHECK(route("GET / HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET /metricsx HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET /metrics/ HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET /Metrics HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET http://gw HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET http://gw/ HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET http://gw?/metrics HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET http://gw/metricsx HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET ftp://gw/metrics HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET http:/metrics HTTP/1.1\r\n\r\n") == 404);
    CHECK(route("GET http:///metrics HTTP/1.1\r\n\r\n") == 400);       /* no host */
    CHECK(route("GET http://u:p@gw/metrics HTTP/1.1\r\n\r\n") == 400); /* userinfo */
    CHECK(route("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == 405);
    CHECK(route("PUT /metrics HTTP/1.0\r\n\r\n") == 405);
    CHECK(route("get /metrics HTTP/1.1\r\n\r\n") == 405); /* methods are case-sensitive */
    CHECK(route("DELETE /other HTTP/1.1\r\n\r\n") == 404);
}

/* A HEAD answer carries no body, whatever its status. */
static void test_head_without_body(void)
{
    static const char *heads[] = {"HEAD /other HTTP/1.1\r\n\r\n", "HEAD /metrics HTTP/2.0\r\n\r\n",
                                  "HEAD /metrics HTTP/1.1\r\nbad field\r\n\r\n"};
    static const int status[] = {404, 505, 400};
    static const char get[] = "GET /other HTTP/1.1\r\n\r\n";
    http_route_t r;

    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        r = http_route(heads[i], strlen(heads[i]), "/metrics");
        CHECK(r.status == status[i] && r.head_only == 1);
    }
    r = http_route(get, strlen(get), "/metrics");
    CHECK(r.status == 404 && r.head_only == 0);
}

static void test_incomplete(void)
{
    const char *full = "GET /metrics HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n\r\n";
    int bad = 0;

    /* every strict prefix of a good request waits for more */
    for (size_t n = 0; n < strlen(full); n++)
        bad += http_route(full, n, "/metrics").status != 0;
    CHECK(bad == 0);
    CHECK(http_route(full, strlen(full), "/metrics").status == 200);
    CHECK(route("hello wor") == 0); /* could still be a request */
    CHECK(route("\r") == 0 && route("\r\n") == 0 && route("\n") == 0 && route("\r\nGE") == 0);
}

static void test_garbage(void)
{
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

    CHECK(http_route(tls, sizeof(tls) - 1, "/metrics").status == 400); /* at once */
    CHECK(http_route("\0", 1, "/metrics").status == 400);
    CHECK(route("SSH-2.0-OpenSSH_9.2\r\n") == 400);
    CHECK(route("hello world\r\n") == 400);
    CHECK(route(" GET /metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(route("GET  /metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(route("GET /metrics  HTTP/1.1\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1 x\r\n\r\n") == 400);
    CHECK(route("GET /me\ttrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(route("GET /metrics\r\n\r\n") == 400); /* HTTP/0.9 */
    CHECK(route("GET /metrics FOO/1.1\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1x\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/2.0\r\n\r\n") == 505);
    CHECK(route("GET /metrics HTTP/0.9\r\n\r\n") == 505);
    CHECK(route("GET /metrics HTTP/1.10\r\n\r\n") == 400);
    CHECK(route("\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n") == 400); /* one empty line only */
    CHECK(route("\rGET /metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(route("GET /me\rtrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(route("\r\n\r\n") == 400);
    CHECK(route("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == 400); /* no method so long */
    /* header fields: a name and a colon, no folding, no control characters */
    CHECK(route("GET /metrics HTTP/1.1\r\nbogus\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1\r\n: x\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1\r\nA b: c\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n") == 400);
    CHECK(route("GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n") == 400);
}

static void test_too_long(void)
{
    char *buf = malloc(HTTP_HEAD_MAX + 100);
    size_t n;

    /* a header that never ends */
    n = (size_t)sprintf(buf, "GET /metrics HTTP/1.1\r\nX: ");
    memset(buf + n, 'a', HTTP_HEAD_MAX + 100 - n);
    CHECK(http_route(buf, HTTP_HEAD_MAX - 1, "/metrics").status == 0);
    CHECK(http_route(buf, HTTP_HEAD_MAX, "/metrics").status == 431);
    /* the same after the empty line a client may send first */
    buf[0] = '\r';
    buf[1] = '\n';
    n = 2 + (size_t)sprintf(buf + 2, "GET /metrics HTTP/1.1\r\nX: ");
    memset(buf + n, 'a', HTTP_HEAD_MAX + 100 - n);
    CHECK(http_route(buf, HTTP_HEAD_MAX - 1, "/metrics").status == 0);
    CHECK(http_route(buf, HTTP_HEAD_MAX, "/metrics").status == 431);
    /* a request line that never ends */
    n = (size_t)sprintf(buf, "GET /");
    memset(buf + n, 'a', HTTP_HEAD_MAX + 100 - n);
    CHECK(http_route(buf, HTTP_HEAD_MAX, "/metrics").status == 431);
    /* a head that ends, but past the limit: as if cut there */
    n = (size_t)sprintf(buf, "GET /metrics HTTP/1.1\r\nX: ");
    memset(buf + n, 'a', HTTP_HEAD_MAX + 100 - n);
    memcpy(buf + HTTP_HEAD_MAX + 100 - 4, "\r\n\r\n", 4);
    CHECK(http_route(buf, HTTP_HEAD_MAX + 100, "/metrics").status == 431);
    /* one that ends within it, a body after */
    memcpy(buf + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
    CHECK(http_route(buf, HTTP_HEAD_MAX + 100, "/metrics").status == 200);
    free(buf);
}

/* Whatever the bytes, an answer among the statuses the listener sends, and
 * no read outside the buffer (the sanitizer build of tests/check). */
static void test_random(void)
{
    static const char alphabet[] = "GET /metrics HTTP/1.1\r\n:\t\x01\xff a";
    unsigned seed = 12345;
    int bad = 0;

    for (int i = 0; i < 20000; i++) {
        size_t len = 1 + (size_t)(rand_r(&seed) % 64);
        char *buf = malloc(len);
        int st;

        for (size_t j = 0; j < len; j++)
            buf[j] = i % 2 ? (char)rand_r(&seed) : alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        st = http_route(buf, len, "/metrics").status;
        bad += !(st == 0 || st == 200 || st == 400 || st == 404 || st == 405 || st == 505);
        free(buf);
    }
    CHECK(bad == 0);
}

int main(void)
{
    test_served();
    test_other_paths_and_methods();
    test_head_without_body();
    test_incomplete();
    test_garbage();
    test_too_long();
    test_random();
    CHECK(strcmp(http_reason(404), "Not Found") == 0);
    CHECK(strcmp(http_reason(431), "Request Header Fields Too Large") == 0);
    return check_status("test_http");
}
