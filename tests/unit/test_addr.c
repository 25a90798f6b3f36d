/* Unit tests for src/addr.c: what parses, what is refused, and how
 * addresses print. */
#include "addr.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses a host and prints it back; returns the text, or "ERR" if refused. */
static const char *host_round_trip(const char *s, unsigned port, char *buf, size_t len)
{
    addr_t a;

    if (addr_parse_host(s, port, &a) < 0)
        return "ERR";
    return addr_format(&a, buf, len);
}

/* Parses host:port and prints it back; returns the text, or "ERR". */
static const char *hostport_round_trip(const char *s, char *buf, size_t len)
{
    addr_t a;

    if (addr_parse_hostport(s, &a) < 0)
        return "ERR";
    return addr_format(&a, buf, len);
}

static void test_host_accepted(void)
{
    char buf[ADDR_STRLEN];
    addr_t a;

    CHECK_STR(host_round_trip("10.1.0.1", 0, buf, sizeof(buf)), "10.1.0.1");
    CHECK_STR(host_round_trip("10.1.0.1", 9899, buf, sizeof(buf)), "10.1.0.1:9899");
    CHECK_STR(host_round_trip("2001:db8::1", 0, buf, sizeof(buf)), "2001:db8::1");
    CHECK_STR(host_round_trip("[2001:db8::1]", 0, buf, sizeof(buf)), "2001:db8::1");
    CHECK_STR(host_round_trip("2001:db8::1", 9899, buf, sizeof(buf)), "[2001:db8::1]:9899");
    CHECK_STR(host_round_trip("::", 0, buf, sizeof(buf)), "::");
    CHECK_STR(host_round_trip("fe80::1%3", 0, buf, sizeof(buf)), "fe80::1%3");
    CHECK_STR(host_round_trip("::ffff:10.0.0.1", 0, buf, sizeof(buf)), "::ffff:10.0.0.1");

    CHECK(addr_parse_host("10.1.0.1", 80, &a) == 0);
    CHECK(a.sa.sa_family == AF_INET);
    CHECK(ntohs(a.v4.sin_port) == 80);
    CHECK(addr_parse_host("[::1]", 65535, &a) == 0);
    CHECK(a.sa.sa_family == AF_INET6);
    CHECK(ntohs(a.v6.sin6_port) == 65535);
}

static void test_host_refused(void)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "10.1.0",
        "10.1.0.256",
        "10.1.0.1.5",
        "010.1.0.1",
        " 10.1.0.1",
        "10.1.0.1 ",
        "[10.1.0.1]",
        "[2001:db8::1",
        "2001:db8::1]",
        "[]",
        "2001:db8:::1",
        "2001:db8::g",
        "example.com",
        "localhost",
        "*",
        "10.1.0.1:80",
        "[::1]:80",
        "fe80::1%",
        "fe80::1%x",
        "fe80::1%99999999999",
        "::1%2%3",
    };
    addr_t a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = addr_parse_host(bad[i], 0, &a);

        if (r != -EINVAL)
            fprintf(stderr, "accepted host \"%s\"\n", bad[i]);
        CHECK(r == -EINVAL);
    }
    CHECK(addr_parse_host("10.1.0.1", 65536, &a) == -EINVAL);
}

static void test_hostport_accepted(void)
{
    char buf[ADDR_STRLEN];
    addr_t a;

    CHECK_STR(hostport_round_trip("127.0.0.1:8080", buf, sizeof(buf)), "127.0.0.1:8080");
    CHECK_STR(hostport_round_trip("[::1]:8080", buf, sizeof(buf)), "[::1]:8080");
    CHECK_STR(hostport_round_trip("*:8080", buf, sizeof(buf)), "0.0.0.0:8080");
    CHECK_STR(hostport_round_trip("[::]:8080", buf, sizeof(buf)), "[::]:8080");
    CHECK_STR(hostport_round_trip("0.0.0.0:1", buf, sizeof(buf)), "0.0.0.0:1");
    CHECK_STR(hostport_round_trip("[2001:db8::1]:65535", buf, sizeof(buf)), "[2001:db8::1]:65535");
    CHECK_STR(hostport_round_trip("[fe80::1%2]:22", buf, sizeof(buf)), "[fe80::1%2]:22");

    CHECK(addr_parse_hostport("*:8080", &a) == 0);
    CHECK(a.sa.sa_family == AF_INET);
    CHECK(a.v4.sin_addr.s_addr == htonl(INADDR_ANY));
    CHECK(ntohs(a.v4.sin_port) == 8080);
}

static void test_hostport_refused(void)
{
    static const char *const bad[] = {
        "",
        ":",
        ":80",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:123456",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "127.0.0.1:80x",
        "127.0.0.1:80 ",
        "127.0.0.1: 80",
        "127.0.0.1:0x50",
        "127.0.0.1:http",
        "127.0.0.1:80:80",
        "garbage:80",
        "example.com:80",
        "::1:8080",
        "2001:db8::1:80",
        "[::1]",
        "[::1]:",
        "[::1]8080",
        "[::1]:0",
        "[::1]:65536",
        "[::1]:80x",
        "[::1:80",
        "[10.0.0.1]:80",
        "[]:80",
        "**:80",
        "*",
        "*:0",
        "[*]:80",
        " 127.0.0.1:80",
    };
    addr_t a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = addr_parse_hostport(bad[i], &a);

        if (r != -EINVAL)
            fprintf(stderr, "accepted host:port \"%s\"\n", bad[i]);
        CHECK(r == -EINVAL);
    }
}

/* Parses name:port; returns the host, or the reason it was refused. */
static const char *nameport(const char *s, unsigned *port)
{
    static char host[ADDR_NAME_LEN];
    const char *why;

    if (addr_parse_nameport(s, host, port, &why) < 0)
        return why;
    return host;
}

static void test_nameport(void)
{
    unsigned port = 0;

    CHECK_STR(nameport("db.example.internal:5432", &port), "db.example.internal");
    CHECK(port == 5432);
    CHECK_STR(nameport("localhost:1", &port), "localhost");
    CHECK(port == 1);
    CHECK_STR(nameport("x:65535", &port), "x");
    CHECK_STR(nameport("a1.b-2.c_3.example.:80", &port), "a1.b-2.c_3.example.");
    CHECK_STR(nameport("10.example:80", &port), "10.example");
    CHECK_STR(nameport("db.example", &port), "no ':PORT' after the host");
    CHECK_STR(nameport("db.example:", &port), "the port must be 1 to 65535");
    CHECK_STR(nameport("db.example:0", &port), "the port must be 1 to 65535");
    CHECK_STR(nameport("db.example:+80", &port), "the port must be 1 to 65535");
    CHECK_STR(nameport(":80", &port), "an empty host");
    CHECK_STR(nameport(".:80", &port), "an empty host");
    CHECK_STR(nameport("a..b:80", &port), "an empty label (two dots in a row, or a leading dot)");
    CHECK_STR(nameport("a.b..:80", &port), "an empty label (two dots in a row, or a leading dot)");
    CHECK_STR(nameport("a-:80", &port), "a label starting or ending with '-'");
    CHECK_STR(nameport("a/b:80", &port),
              "a character other than letters, digits, '-', '_' and '.'");
    CHECK_STR(nameport("a\tb:80", &port),
              "a character other than letters, digits, '-', '_' and '.'");
    CHECK_STR(nameport("1.2.3:80", &port),
              "not a valid IPv4 address, and a name's last label is not all digits");
    {
        /* 253 characters (labels of 63, 63, 63, 61) is the most DNS
         * allows; a final dot does not count; 254 is refused. */
        char name[300];

        memset(name, 'a', sizeof(name));
        name[63] = name[127] = name[191] = '.';
        snprintf(name + 253, sizeof(name) - 253, ":80");
        CHECK(strlen(nameport(name, &port)) == 253);
        snprintf(name + 253, sizeof(name) - 253, ".:80");
        CHECK(strlen(nameport(name, &port)) == 254);
        snprintf(name + 253, sizeof(name) - 253, "a:80");
        CHECK_STR(nameport(name, &port), "a name longer than 253 characters");
        name[200] = '.';
        snprintf(name + 253, sizeof(name) - 253, "a:80");
        CHECK_STR(nameport(name, &port), "a name longer than 253 characters");
        memset(name, 'b', 64);
        snprintf(name + 64, sizeof(name) - 64, ".x:80");
        CHECK_STR(nameport(name, &port), "a label longer than 63 characters");
    }
    CHECK_STR(nameport("::1:80", &port), "not a valid IPv6 address (write it as [ADDR]:PORT)");
    CHECK_STR(nameport("[x]:80", &port), "not a valid IPv6 address (write it as [ADDR]:PORT)");
}

static void test_len_and_equal(void)
{
    addr_t a, b, c, none = {0};

    CHECK(addr_parse_hostport("10.0.0.1:80", &a) == 0);
    CHECK(addr_parse_host("10.0.0.1", 80, &b) == 0);
    CHECK(addr_equal(&a, &b));
    CHECK(addr_len(&a) == sizeof(struct sockaddr_in));
    CHECK(addr_parse_host("10.0.0.1", 81, &c) == 0);
    CHECK(!addr_equal(&a, &c));
    CHECK(addr_parse_host("10.0.0.2", 80, &c) == 0);
    CHECK(!addr_equal(&a, &c));

    CHECK(addr_parse_hostport("[::1]:80", &a) == 0);
    CHECK(addr_parse_host("::1", 80, &b) == 0);
    CHECK(addr_equal(&a, &b));
    CHECK(addr_len(&a) == sizeof(struct sockaddr_in6));
    CHECK(addr_parse_host("::2", 80, &c) == 0);
    CHECK(!addr_equal(&a, &c));
    CHECK(addr_parse_host("::ffff:127.0.0.1", 80, &c) == 0);
    CHECK(addr_parse_hostport("127.0.0.1:80", &b) == 0);
    CHECK(!addr_equal(&b, &c));
    /* ...but one address to an IPv6 socket */
    CHECK(addr_same(&b, &c) && addr_same(&c, &b));
    CHECK(addr_parse_host("::ffff:127.0.0.1", 81, &c) == 0);
    CHECK(!addr_same(&b, &c));
    CHECK(addr_parse_host("::ffff:127.0.0.2", 80, &c) == 0);
    CHECK(!addr_same(&b, &c));
    CHECK(addr_parse_host("::1", 80, &c) == 0 && addr_parse_host("::1", 80, &b) == 0);
    CHECK(addr_same(&b, &c));
    CHECK(addr_parse_host("fe80::1", 0, &c) == 0 && addr_zone_missing(&c));
    CHECK(addr_parse_host("fe80::1%2", 0, &c) == 0 && !addr_zone_missing(&c));
    CHECK(addr_parse_host("fd00::1", 0, &c) == 0 && !addr_zone_missing(&c));
    CHECK(addr_parse_host("10.0.0.1", 0, &c) == 0 && !addr_zone_missing(&c));

    CHECK(addr_len(&none) == 0);
    CHECK(!addr_equal(&none, &none));
}

static void test_format_edges(void)
{
    char buf[ADDR_STRLEN], small[6];
    addr_t a, none = {0};

    CHECK_STR(addr_format(&none, buf, sizeof(buf)), "-");
    CHECK(addr_parse_host("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295", 65535, &a) == 0);
    CHECK_STR(addr_format(&a, buf, sizeof(buf)),
              "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
    CHECK(addr_parse_hostport("192.168.100.100:8080", &a) == 0);
    CHECK_STR(addr_format(&a, small, sizeof(small)), "192.1");
}

/* A path's host, as status and the log show it: no port, and an IPv4 peer
 * an IPv6 socket reports mapped as the IPv4 address an operator writes. */
static void test_format_host(void)
{
    char buf[ADDR_STRLEN];
    addr_t a;

    CHECK(addr_parse_host("::ffff:10.2.0.1", 9899, &a) == 0);
    CHECK_STR(addr_format(&a, buf, sizeof(buf)), "[::ffff:10.2.0.1]:9899");
    CHECK_STR(addr_format_host(&a, buf, sizeof(buf)), "10.2.0.1");
    CHECK(addr_parse_host("10.2.0.1", 9899, &a) == 0);
    CHECK_STR(addr_format_host(&a, buf, sizeof(buf)), "10.2.0.1");
    CHECK(addr_parse_host("fe80::1%3", 9899, &a) == 0);
    CHECK_STR(addr_format_host(&a, buf, sizeof(buf)), "fe80::1%3");
    CHECK(addr_parse_host("::1", 9899, &a) == 0);
    CHECK_STR(addr_format_host(&a, buf, sizeof(buf)), "::1");
}

int main(void)
{
    test_host_accepted();
    test_host_refused();
    test_hostport_accepted();
    test_hostport_refused();
    test_nameport();
    test_len_and_equal();
    test_format_edges();
    test_format_host();
    return check_status("addr");
}
