/* Unit tests for src/config.c. Each test writes a configuration (and a key
 * file) into a fresh temporary folder, loads it, and checks either the
 * values or the exact "FILE:LINE: " prefix of the error and the key it names.
 * The shipped example configurations are loaded too, so they cannot rot. */
#include "config.h"
#include "check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A minimal valid configuration; lines added after it start at line 7. */
#define BASE                                                                                       \
    "[gateway]\n"                                                                                  \
    "name = t\n"                                                                                   \
    "psk_file = site.key\n"                                                                        \
    "[association]\n"                                                                              \
    "role = connect\n"                                                                             \
    "remote = 10.1.0.2, 10.2.0.2\n"

/* The temporary folder a test runs in, and the buffers it reuses. */
typedef struct fixture {
    char dir[64];   /* the temporary folder */
    char ini[128];  /* dir/site.ini, the configuration loaded */
    config_t *cfg;  /* the result of the last load */
    char err[1024]; /* the error of the last load */
} fixture_t;

static int file_write(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int ok;

    if (fd < 0)
        return -1;
    /* fchmod, so that the mode does not depend on the umask. */
    ok = fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* Writes a key file of len patterned bytes into the folder. */
static void key_write(const fixture_t *fx, const char *name, size_t len, mode_t mode)
{
    unsigned char key[8192];
    char path[256];

    for (size_t i = 0; i < len && i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 7 + 1);
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    CHECK(file_write(path, key, len, mode) == 0);
}

/* Writes text as dir/site.ini and loads it. */
static int load(fixture_t *fx, const char *text)
{
    CHECK(file_write(fx->ini, text, strlen(text), 0644) == 0);
    fx->err[0] = '\0';
    return config_load(fx->ini, fx->cfg, fx->err, sizeof(fx->err));
}

/* Loads text and expects an error that starts "FILE:LINE: " ("FILE: " when
 * line is 0) and contains want; says what it got when not. */
static int fails_at(fixture_t *fx, const char *text, int line, const char *want)
{
    char prefix[256];

    if (line > 0)
        snprintf(prefix, sizeof(prefix), "%s:%d: ", fx->ini, line);
    else
        snprintf(prefix, sizeof(prefix), "%s: ", fx->ini);
    if (load(fx, text) == 0) {
        fprintf(stderr, "loaded, but expected \"%s...%s...\"\n", prefix, want);
        return 0;
    }
    if (strncmp(fx->err, prefix, strlen(prefix)) != 0 || !strstr(fx->err, want)) {
        fprintf(stderr, "got \"%s\"\nwant \"%s...%s...\"\n", fx->err, prefix, want);
        return 0;
    }
    return 1;
}

/* Loads text and expects success; says why when not. */
static int loads(fixture_t *fx, const char *text)
{
    if (load(fx, text) < 0) {
        fprintf(stderr, "unexpected error: %s\n", fx->err);
        return 0;
    }
    return 1;
}

/* Line number (1-based) of the first line of text containing needle. */
static int line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    int line = 1;

    for (const char *p = text; at && p < at; p++)
        line += *p == '\n';
    return at ? line : 0;
}

static const char *fmt(const addr_t *a, char *buf)
{
    return addr_format(a, buf, ADDR_STRLEN);
}

static void test_minimal(fixture_t *fx)
{
    const config_t *cfg = fx->cfg;
    char buf[ADDR_STRLEN], path[256];

    CHECK(loads(fx, BASE));
    CHECK_STR(cfg->name, "t");
    CHECK(cfg->log_level == LOG_INFO);
    CHECK(cfg->drain_ms == 10000);
    CHECK(cfg->stall_ms == 600000);
    CHECK(cfg->role == ROLE_CONNECT);
    CHECK(cfg->n_local == 0);
    CHECK(cfg->n_remote == 2);
    CHECK_STR(fmt(&cfg->remote[0], buf), "10.1.0.2:9899");
    CHECK_STR(fmt(&cfg->remote[1], buf), "10.2.0.2:9899");
    CHECK(cfg->port == 9899 && cfg->udp_port == 0);
    CHECK(!cfg->has_primary);
    CHECK(cfg->failover_ms == 1000);
    CHECK(cfg->outage_ms == 30000);
    CHECK(cfg->max_flows == 4096);
    CHECK(cfg->flow_window == 1048576);
    CHECK(cfg->sock_buffer == 4194304);
    CHECK(cfg->encryption == 1);
    CHECK(cfg->rekey_s == 3600);
    CHECK(cfg->n_services == 0);
    CHECK(cfg->psk_len == 48);
    CHECK(cfg->psk[0] == 1 && cfg->psk[47] == (uint8_t)(47 * 7 + 1));
    snprintf(path, sizeof(path), "%s/site.key", fx->dir);
    CHECK_STR(cfg->psk_path, path);
    CHECK_STR(cfg->path, fx->ini);

    /* Without a [gateway] name the default one is used. */
    CHECK(loads(fx, "[gateway]\npsk_file = site.key\n[association]\nrole = listen\n"));
    CHECK_STR(cfg->name, "sctpgw");
    CHECK(cfg->role == ROLE_LISTEN);
}

static void test_full(fixture_t *fx)
{
    const char *text = "\xEF\xBB\xBF; a comment\n"
                       "# another comment\n"
                       "[gateway]   ; trailing comment\n"
                       "  name = site-a.1_x    ; indented, with a comment\n"
                       "log_level = debug\n"
                       "psk_file = site.key\n"
                       "drain_ms = 0\n"
                       "\n"
                       "[association]\n"
                       "role = connect\r\n"
                       "local = 2001:db8:1::1, [2001:db8:2::1], 10.9.0.1\n"
                       "remote = 10.1.0.2,10.2.0.2 , 10.3.0.2 ; three links\n"
                       "port = 5000\n"
                       "udp_port = 9899\n"
                       "primary = 10.2.0.2\n"
                       "failover_ms = 250\n"
                       "outage_ms = 250\n"
                       "max_flows = 1\n"
                       "flow_window = 4096\n"
                       "sock_buffer = 65536\n"
                       "encryption = off\n"
                       "rekey_s = 1\n"
                       "[web]\n"
                       "accept = *:8080\n"
                       "peer = site-b\n"
                       "[ssh]\n"
                       "connect = [::1]:22\n"
                       "[ssh6]\n"
                       "accept = [::]:8081\n";
    const config_t *cfg = fx->cfg;
    const service_conf_t *s;
    char buf[ADDR_STRLEN];

    CHECK(loads(fx, text));
    CHECK_STR(cfg->name, "site-a.1_x");
    CHECK(cfg->log_level == LOG_DEBUG);
    CHECK(cfg->drain_ms == 0);
    CHECK(cfg->n_local == 3);
    CHECK_STR(fmt(&cfg->local[0], buf), "[2001:db8:1::1]:5000");
    CHECK_STR(fmt(&cfg->local[1], buf), "[2001:db8:2::1]:5000");
    CHECK_STR(fmt(&cfg->local[2], buf), "10.9.0.1:5000");
    CHECK(cfg->n_remote == 3);
    CHECK_STR(fmt(&cfg->remote[2], buf), "10.3.0.2:5000");
    CHECK(cfg->has_primary);
    CHECK_STR(fmt(&cfg->primary, buf), "10.2.0.2:5000");
    CHECK(addr_equal(&cfg->primary, &cfg->remote[1]));
    CHECK(cfg->failover_ms == 250 && cfg->outage_ms == 250);
    CHECK(cfg->max_flows == 1 && cfg->flow_window == 4096 && cfg->sock_buffer == 65536);
    CHECK(cfg->encryption == 0 && cfg->rekey_s == 1);
    CHECK(cfg->udp_port == 9899);
    CHECK(cfg->n_services == 3);
    s = config_service(cfg, "web");
    CHECK(s && s->is_accept && s->line == 23);
    CHECK(s && strcmp(s->peer, "site-b") == 0);
    CHECK_STR(s ? fmt(&s->addr, buf) : NULL, "0.0.0.0:8080");
    s = config_service(cfg, "ssh");
    CHECK(s && !s->is_accept && s->peer[0] == '\0' && s->line == 26);
    CHECK_STR(s ? fmt(&s->addr, buf) : NULL, "[::1]:22");
    CHECK(config_service(cfg, "ssh6") != NULL);
    CHECK(config_service(cfg, "ftp") == NULL);
    CHECK(config_service(cfg, "") == NULL);
}

static void test_file_errors(fixture_t *fx)
{
    char err[512], want[512];

    snprintf(want, sizeof(want), "%s/absent.ini: cannot open: No such file or directory", fx->dir);
    snprintf(err, sizeof(err), "%s/absent.ini", fx->dir);
    CHECK(config_load(err, fx->cfg, err, sizeof(err)) == -1);
    CHECK_STR(err, want);

    snprintf(want, sizeof(want), "%s: not a regular file", fx->dir);
    CHECK(config_load(fx->dir, fx->cfg, err, sizeof(err)) == -1);
    CHECK_STR(err, want);

    /* A FIFO would wait for a writer: a reload would hang the gateway. */
    snprintf(err, sizeof(err), "%s/fifo.ini", fx->dir);
    snprintf(want, sizeof(want), "%s/fifo.ini: not a regular file", fx->dir);
    CHECK(mkfifo(err, 0600) == 0);
    CHECK(config_load(err, fx->cfg, err, sizeof(err)) == -1);
    CHECK_STR(err, want);
}

static void test_syntax(fixture_t *fx)
{
    char long_line[400];

    CHECK(fails_at(fx, BASE "just words\n", 7, "expected 'key = value'"));
    CHECK(fails_at(fx, "name = t\n" BASE, 1, "name: outside any section"));
    CHECK(fails_at(fx, BASE "[web\n", 7, "section header without ']'"));
    CHECK(fails_at(fx, BASE "[web] accept = *:80\n", 7, "unexpected text after ']'"));
    /* inih would join an indented line to the previous value; here it is an
     * error on the line itself. */
    CHECK(fails_at(fx, BASE "local = 10.1.0.1\n    10.2.0.1\n", 8, "expected 'key = value'"));
    /* The first error in the file wins, whoever finds it. */
    CHECK(fails_at(fx, BASE "oops\nport = 0\n", 7, "expected 'key = value'"));
    CHECK(fails_at(fx, BASE "port = 0\noops\n", 7, "port = 0"));
    /* inih's other delimiter is not taken; a colon after '=' or in a
     * comment is nobody's business but the value's. */
    CHECK(fails_at(fx, BASE "failover_ms: 500\n", 7, "a key ends at '=', not ':'"));
    CHECK(fails_at(fx, BASE "  drain_ms :500\n", 7, "a key ends at '=', not ':'"));
    CHECK(loads(fx, BASE "# note: this\n; and: that\nfailover_ms = 500\n"));

    snprintf(long_line, sizeof(long_line), "%s; %0300d\n", BASE, 0);
    CHECK(fails_at(fx, long_line, 7, "line longer than 198 characters"));
    /* 198 characters end a line with CR LF as well as with LF. */
    snprintf(long_line, sizeof(long_line), "%s; %0196d\r\n", BASE, 0);
    CHECK(loads(fx, long_line));
    snprintf(long_line, sizeof(long_line), "%s; %0197d\r\n", BASE, 0);
    CHECK(fails_at(fx, long_line, 7, "line longer than 198 characters"));
    /* A NUL byte, mid-file or on a last line with no newline. */
    for (int last = 0; last < 2; last++) {
        static const char text[] = BASE "; a\0b\nlog_level = info\n";
        size_t n = strlen(BASE);

        CHECK(file_write(fx->ini, text, last ? n + 5 : sizeof(text) - 1, 0644) == 0);
        CHECK(config_load(fx->ini, fx->cfg, fx->err, sizeof(fx->err)) < 0);
        CHECK(strstr(fx->err, ":7: a NUL byte") != NULL || !fprintf(stderr, "%s\n", fx->err));
    }
}

static void test_unknown_key(fixture_t *fx)
{
    CHECK(fails_at(fx, "[gateway]\ncolour = blue\n", 2,
                   "unknown key 'colour' in [gateway]; expected one of: name, log_level, "
                   "psk_file, drain_ms"));
    CHECK(fails_at(fx, BASE "Port = 1\n", 7, "unknown key 'Port' in [association]"));
    CHECK(fails_at(fx, BASE "[web]\nacept = *:80\n", 8,
                   "unknown key 'acept' in [web]; expected one of: accept, connect, peer"));
    /* [association] keys do not belong in [gateway]. */
    CHECK(fails_at(fx, "[gateway]\nrole = connect\n", 2, "unknown key 'role' in [gateway]"));
}

static void test_duplicates(fixture_t *fx)
{
    CHECK(fails_at(fx, BASE "port = 1\nport = 2\n", 8,
                   "duplicate key 'port' in [association] (first at line 7)"));
    CHECK(fails_at(fx, BASE "[web]\naccept = *:80\naccept = *:81\n", 9,
                   "duplicate key 'accept' in [web] (first at line 8)"));
    CHECK(fails_at(fx, BASE "[gateway]\n", 7, "duplicate section [gateway] (first at line 1)"));
    CHECK(fails_at(fx, BASE "[association]\n", 7,
                   "duplicate section [association] (first at line 4)"));
    CHECK(fails_at(fx, BASE "[web]\naccept = *:80\n[ssh]\naccept = *:22\n[web]\n", 11,
                   "duplicate section [web] (first at line 7)"));
}

static void test_section_names(fixture_t *fx)
{
    char text[512];

    CHECK(fails_at(fx, BASE "[bad name]\n", 7, "[bad name]: a service name is 1 to 63"));
    CHECK(fails_at(fx, BASE "[]\n", 7, "[]: a service name"));
    CHECK(fails_at(fx, BASE "[a/b]\n", 7, "[a/b]: a service name"));
    CHECK(fails_at(fx, BASE "[Association]\nport = 1\n", 7,
                   "[Association]: section names are lower case"));
    CHECK(fails_at(fx, BASE "[GATEWAY]\n", 7, "[GATEWAY]: section names are lower case"));

    /* 63 characters is the longest name, longer than inih keeps itself. */
    snprintf(text, sizeof(text), BASE "[%063d]\naccept = *:80\n", 1);
    CHECK(loads(fx, text));
    CHECK(fx->cfg->n_services == 1 && strlen(fx->cfg->services[0].name) == 63);
    snprintf(text, sizeof(text), BASE "[%064d]\naccept = *:80\n", 1);
    CHECK(fails_at(fx, text, 7, "a service name is 1 to 63"));
}

static void test_too_many_services(fixture_t *fx)
{
    size_t room = strlen(BASE) + (CONFIG_MAX_SERVICES + 1) * 32;
    char *text = malloc(room);
    size_t used = (size_t)snprintf(text, room, "%s", BASE);

    for (int i = 0; i < CONFIG_MAX_SERVICES; i++)
        used +=
            (size_t)snprintf(text + used, room - used, "[s%d]\nconnect = 10.0.0.1:%d\n", i, i + 1);
    CHECK(loads(fx, text));
    CHECK(fx->cfg->n_services == CONFIG_MAX_SERVICES);
    snprintf(text + used, room - used, "[one-more]\n");
    CHECK(fails_at(fx, text, 7 + 2 * CONFIG_MAX_SERVICES, "[one-more]: more than 256 services"));
    free(text);
}

static void test_bad_addresses(fixture_t *fx)
{
    char text[1024];

    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\n[association]\nrole = connect\n"
                   "remote = 10.1.0.2, 10.2.0\n",
                   5, "remote = 10.1.0.2, 10.2.0: '10.2.0' is not a numeric IPv4 or IPv6 address"));
    CHECK(fails_at(fx, BASE "local = gw.example.com\n", 7,
                   "local = gw.example.com: 'gw.example.com' is not a numeric"));
    CHECK(fails_at(fx, BASE "local = 10.1.0.1,,10.2.0.1\n", 7,
                   "local = 10.1.0.1,,10.2.0.1: expected comma-separated numeric addresses"));
    CHECK(fails_at(fx, BASE "local =\n", 7, "local = : expected comma-separated"));
    CHECK(
        fails_at(fx, BASE "local = 10.1.0.1:9899\n", 7, "local = 10.1.0.1:9899: '10.1.0.1:9899'"));
    CHECK(fails_at(fx, BASE "local = 0.0.0.0\n", 7, "local = 0.0.0.0: '0.0.0.0' is a wildcard"));
    CHECK(fails_at(fx, BASE "local = 10.1.0.1, 10.1.0.1\n", 7,
                   "local = 10.1.0.1, 10.1.0.1: 10.1.0.1 is listed twice"));
    /* One address to the kernel, which refused the second bind at start. */
    CHECK(fails_at(fx, BASE "local = 10.1.0.1, ::ffff:10.1.0.1\n", 7,
                   "::ffff:10.1.0.1 is listed twice"));
    /* The kernel refuses a link-local address without its interface. */
    CHECK(fails_at(fx, BASE "local = 10.1.0.1, fe80::1\n", 7,
                   "'fe80::1' is link-local: add its interface's index"));
    CHECK(fails_at(fx, BASE "[web]\naccept = [fe80::1]:80\n", 8, "is link-local"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = [fe80::2]:5432\n", 8, "is link-local"));
    CHECK(loads(fx, BASE "local = 10.1.0.1, fe80::1%1\n[db]\nconnect = [fe80::2%1]:5432\n"));
    CHECK(fails_at(fx, BASE "primary = 10.1.0.300\n", 7, "primary = 10.1.0.300: '10.1.0.300'"));
    CHECK(fails_at(fx, BASE "[web]\naccept = localhost:8080\n", 8,
                   "accept = localhost:8080: expected HOST:PORT"));
    CHECK(fails_at(fx, BASE "[web]\naccept = ::1:8080\n", 8, "accept = ::1:8080: expected"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = 10.0.0.1\n", 8,
                   "connect = 10.0.0.1: no ':PORT' after the host; a back end is HOST:PORT"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = *:80\n", 8,
                   "connect = *:80: a back end needs a real address"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = [::]:80\n", 8, "connect = [::]:80: a back end"));

    /* CONFIG_MAX_ADDRS addresses fit; one more does not. */
    snprintf(text, sizeof(text), "%slocal = %s\n", BASE,
             "10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8");
    CHECK(loads(fx, text));
    CHECK(fx->cfg->n_local == CONFIG_MAX_ADDRS);
    snprintf(text, sizeof(text), "%slocal = %s\n", BASE,
             "10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8, "
             "10.0.0.9");
    CHECK(fails_at(fx, text, 7, ": more than 8 addresses"));
    CHECK(strstr(fx->err, "local = 10.0.0.1,") != NULL);

    /* Address families may differ between the two sides. */
    CHECK(loads(fx, BASE "local = 2001:db8::1, 10.9.0.1\n"));
}

static void test_bad_ports(fixture_t *fx)
{
    CHECK(fails_at(fx, BASE "port = 0\n", 7, "port = 0: must be between 1 and 65535"));
    CHECK(fails_at(fx, BASE "port = 65536\n", 7, "port = 65536: must be between 1 and 65535"));
    CHECK(fails_at(fx, BASE "port = 98x9\n", 7, "port = 98x9: expected a number between 1"));
    CHECK(fails_at(fx, BASE "port = -1\n", 7, "port = -1: expected a number"));
    CHECK(fails_at(fx, BASE "port =\n", 7, "port = : expected a number"));
    CHECK(fails_at(fx, BASE "[web]\naccept = 127.0.0.1:0\n", 8, "accept = 127.0.0.1:0: expected"));
    CHECK(fails_at(fx, BASE "[web]\naccept = 127.0.0.1:65536\n", 8, "accept = 127.0.0.1:65536"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = [::1]:22x\n", 8,
                   "connect = [::1]:22x: the port must be 1 to 65535"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = db.example:0\n", 8,
                   "connect = db.example:0: the port must be 1 to 65535"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = db.example:65536\n", 8,
                   "connect = db.example:65536: the port must be"));
    CHECK(loads(fx, BASE "port = 65535\n[web]\naccept = 127.0.0.1:65535\n"));
}

/* One numeric key's bounds, and what else must change for them to be valid
 * on their own (outage_ms must stay at least failover_ms). */
typedef struct range_case {
    const char *key;   /* the key tested */
    int in_gateway;    /* 1: the key goes in [gateway] */
    unsigned min;      /* smallest accepted value */
    unsigned max;      /* largest accepted value */
    const char *extra; /* more [association] lines, e.g. to satisfy cross rules */
} range_case_t;

/* Builds a configuration with key = value in the right section. */
static void range_text(const range_case_t *rc, const char *value, char *buf, size_t len)
{
    snprintf(buf, len,
             "[gateway]\npsk_file = site.key\n%s%s%s%s[association]\nrole = connect\n"
             "remote = 10.1.0.2\n%s%s%s%s%s",
             rc->in_gateway ? rc->key : "", rc->in_gateway ? " = " : "",
             rc->in_gateway ? value : "", rc->in_gateway ? "\n" : "", rc->extra,
             rc->in_gateway ? "" : rc->key, rc->in_gateway ? "" : " = ",
             rc->in_gateway ? "" : value, rc->in_gateway ? "" : "\n");
}

static void range_check(fixture_t *fx, const range_case_t *rc)
{
    char text[512], value[32], want[256];
    unsigned long long outside[] = {rc->min - 1ULL, rc->max + 1ULL};
    const char *unit = strstr(rc->key, "_ms") ? " (ms)" : "";

    for (int i = 0; i < 2; i++) {
        snprintf(value, sizeof(value), "%u", i ? rc->max : rc->min);
        range_text(rc, value, text, sizeof(text));
        CHECK(loads(fx, text));
        if (i == 0 && rc->min == 0)
            continue;
        snprintf(value, sizeof(value), "%llu", outside[i]);
        range_text(rc, value, text, sizeof(text));
        snprintf(want, sizeof(want), "%s = %s: must be between %u and %u%s", rc->key, value,
                 rc->min, rc->max, unit);
        CHECK(fails_at(fx, text, line_of(text, rc->key), want));
    }
    for (int i = 0; i < 5; i++) {
        static const char *const junk[] = {"12abc", "-1", "", "0x10", "1 000"};

        range_text(rc, junk[i], text, sizeof(text));
        snprintf(want, sizeof(want), "%s = %s: expected a number between %u and %u", rc->key,
                 junk[i], rc->min, rc->max);
        CHECK(fails_at(fx, text, line_of(text, rc->key), want));
    }
    range_text(rc, "99999999999999999999999", text, sizeof(text));
    CHECK(fails_at(fx, text, line_of(text, rc->key), "must be between"));
}

static void test_ranges(fixture_t *fx)
{
    static const range_case_t cases[] = {
        {"drain_ms", 1, 0, 3600000, ""},
        {"stall_ms", 1, 0, 86400000, ""},
        {"port", 0, 1, 65535, ""},
        {"udp_port", 0, 0, 65535, ""},
        {"failover_ms", 0, 100, 60000, "outage_ms = 3600000\n"},
        {"outage_ms", 0, 100, 3600000, "failover_ms = 100\n"},
        {"max_flows", 0, 1, 32767, ""},
        {"flow_window", 0, 4096, 16777216, ""},
        {"sock_buffer", 0, 65536, 67108864, ""},
        {"rekey_s", 0, 1, 86400, ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        range_check(fx, &cases[i]);
}

static void test_timers(fixture_t *fx)
{
    CHECK(fails_at(fx, BASE "failover_ms = 50\n", 7,
                   "failover_ms = 50: must be between 100 and 60000 (ms); smaller gaps cannot be "
                   "honoured by the kernel's timers"));
    CHECK(fails_at(fx, BASE "failover_ms = 1000\noutage_ms = 500\n", 8,
                   "outage_ms = 500: must not be below failover_ms (1000)"));
    CHECK(fails_at(fx, BASE "outage_ms = 999\n", 7,
                   "outage_ms = 999: must not be below failover_ms (1000)"));
    CHECK(fails_at(fx, BASE "failover_ms = 40000\n", 7,
                   "failover_ms = 40000: exceeds outage_ms (default 30000)"));
    CHECK(loads(fx, BASE "failover_ms = 40000\noutage_ms = 40000\n"));
    /* A stall bound below a second would take retransmissions for one. */
    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\nstall_ms = 999\n[association]\n"
                   "role = connect\nremote = 10.1.0.2\n",
                   3, "stall_ms = 999: must be 0 (never) or at least 1000"));
    CHECK(loads(fx, "[gateway]\npsk_file = site.key\nstall_ms = 0\n[association]\n"
                    "role = connect\nremote = 10.1.0.2\n"));
    CHECK(fx->cfg->stall_ms == 0);
    CHECK(loads(fx, "[gateway]\npsk_file = site.key\nstall_ms = 1000\n[association]\n"
                    "role = connect\nremote = 10.1.0.2\n"));
    CHECK(fx->cfg->stall_ms == 1000);
}

static void test_enums_and_names(fixture_t *fx)
{
    CHECK(fails_at(fx, "[gateway]\nlog_level = loud\n", 2,
                   "log_level = loud: expected error, warn, info or debug"));
    CHECK(fails_at(fx, "[gateway]\nlog_level = INFO\n", 2, "log_level = INFO: expected"));
    CHECK(fails_at(fx, "[gateway]\nname = site a\n", 2,
                   "name = site a: expected 1 to 63 characters of A-Z a-z 0-9 . _ -"));
    CHECK(fails_at(fx, "[gateway]\nname =\n", 2, "name = : expected 1 to 63"));
    CHECK(fails_at(fx, "[gateway]\npsk_file =\n", 2, "psk_file = : expected a file name"));
    CHECK(fails_at(fx, BASE "[web]\naccept = *:80\npeer = a:b\n", 9, "peer = a:b: expected 1"));
    CHECK(fails_at(fx, BASE "encryption = yes\n", 7, "encryption = yes: expected on or off"));
    CHECK(fails_at(fx, BASE "encryption = ON\n", 7, "encryption = ON: expected on or off"));
    CHECK(fails_at(fx, BASE "encryption =\n", 7, "encryption = : expected on or off"));
    CHECK(loads(fx, BASE "encryption = on\n") && fx->cfg->encryption == 1);
    CHECK(loads(fx, BASE "encryption = off\n") && fx->cfg->encryption == 0);
}

static void test_role(fixture_t *fx)
{
    CHECK(fails_at(fx, "[gateway]\npsk_file = site.key\n[association]\nport = 1\n", 3,
                   "role is missing in [association]; expected role = connect or listen"));
    CHECK(fails_at(fx, "[gateway]\npsk_file = site.key\n", 0, "role is missing"));
    CHECK(fails_at(fx, "[association]\nrole = dial\n", 2,
                   "role = dial: expected connect (dial the peer) or listen (accept peers)"));
    CHECK(fails_at(fx, "[gateway]\npsk_file = site.key\n[association]\nrole = connect\n", 4,
                   "role = connect needs remote = the peer's link addresses"));
    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\n[association]\nrole = listen\n"
                   "local = 10.1.0.2\nremote = 10.1.0.1\n",
                   6, "remote is for role = connect"));
    CHECK(
        fails_at(fx, BASE "primary = 10.9.0.2\n", 7, "primary = 10.9.0.2: must be one of remote"));
    CHECK(loads(fx, BASE "primary = ::ffff:10.2.0.2\n")); /* 10.2.0.2, as the kernel sees it */
    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\n[association]\nrole = listen\n"
                   "rekey_s = 60\n",
                   5, "rekey_s is for role = connect: the dialling end starts the rekeys"));
    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\n[association]\nrole = listen\n"
                   "primary = 10.1.0.1\n",
                   5, "primary = 10.1.0.1: must be one of remote"));
    /* a peer address of a family none of ours has: no link could reach it */
    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\n[association]\nrole = connect\n"
                   "local = 10.1.0.1, 10.2.0.1\nremote = 10.1.0.2, fd00::2\n",
                   6, "remote = fd00::2: local lists no IPv6 address, so no link could reach it"));
    CHECK(fails_at(fx,
                   "[gateway]\npsk_file = site.key\n[association]\nrole = connect\n"
                   "remote = 10.1.0.2\nlocal = fd00::1\n",
                   5, "remote = 10.1.0.2: local lists no IPv4 address"));
    CHECK(loads(fx, "[gateway]\npsk_file = site.key\n[association]\nrole = connect\n"
                    "local = 10.1.0.1, fd00::1\nremote = 10.1.0.2, fd00::2\n"));
    CHECK(loads(fx, BASE)); /* no local: every address of the host */
    /* the preferred peer address: primary, else remote's first */
    CHECK(config_primary(fx->cfg) == &fx->cfg->remote[0]);
    CHECK(loads(fx, BASE "primary = 10.2.0.2\n") && config_primary(fx->cfg) == &fx->cfg->primary);
    CHECK(loads(fx, "[gateway]\npsk_file = site.key\n[association]\nrole = listen\n") &&
          config_primary(fx->cfg) == NULL);
}

static void test_services(fixture_t *fx)
{
    CHECK(fails_at(fx, BASE "[web]\naccept = *:80\nconnect = 10.0.0.1:80\n", 9,
                   "connect: [web] already has accept (line 8); a service either accepts or "
                   "connects, not both"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = 10.0.0.1:80\naccept = *:80\n", 9,
                   "accept: [web] already has connect (line 8)"));
    CHECK(fails_at(fx, BASE "[web]\n[ssh]\naccept = *:22\n", 7,
                   "[web] has neither accept nor connect"));
    CHECK(fails_at(fx, BASE "[ssh]\naccept = *:22\n[web]\n", 9,
                   "[web] has neither accept nor connect"));
    CHECK(fails_at(fx, BASE "[web]\npeer = site-b\n", 7, "[web] has neither accept nor connect"));
    CHECK(fails_at(fx, BASE "[web]\nconnect = 10.0.0.1:80\npeer = site-b\n", 9,
                   "peer: only an accepting service picks a peer; [web] connects"));

    /* The same listener twice: reported at the second, naming the first. */
    CHECK(fails_at(fx, BASE "[web]\naccept = 127.0.0.1:8080\n[web2]\naccept = 127.0.0.1:8080\n", 10,
                   "accept = 127.0.0.1:8080: [web] already accepts there (line 8)"));
    CHECK(fails_at(fx, BASE "[web]\naccept = *:8080\n[web2]\naccept = 127.0.0.1:8080\n", 10,
                   "accept = 127.0.0.1:8080: [web] already accepts there (line 8)"));
    CHECK(fails_at(fx,
                   BASE "[web]\naccept = [::1]:80\n[x]\nconnect = 10.0.0.1:1\n[web2]\n"
                        "accept = [::]:80\n",
                   12, "accept = [::]:80: [web] already accepts there (line 8)"));
    /* Different ports, addresses or families do not collide; nor do a
     * connect and an accept on the same address. */
    CHECK(loads(fx, BASE "[a]\naccept = 127.0.0.1:80\n[b]\naccept = 127.0.0.1:81\n"
                         "[c]\naccept = 127.0.0.2:80\n[d]\naccept = [::]:82\n"
                         "[e]\nconnect = 127.0.0.1:80\n"));
    CHECK(fx->cfg->n_services == 5);
}

/* A back end may be a host name, kept as written and looked up per flow;
 * a numeric one stays an address with no resolver involved. */
static void test_names(fixture_t *fx)
{
    const service_conf_t *s;
    char text[1024], name[300];

    CHECK(loads(fx,
                BASE "[db]\nconnect = db.example.internal:5432\n"
                     "[num]\nconnect = 10.0.0.1:80\n[num6]\nconnect = [2001:db8::1]:80\n"
                     "[fq]\nconnect = Back-End_1.example.:8080\n[one]\nconnect = localhost:22\n"));
    s = config_service(fx->cfg, "db");
    CHECK(s && !s->is_accept && s->is_name && s->port == 5432);
    CHECK_STR(s ? s->host : NULL, "db.example.internal");
    CHECK(s && s->addr.sa.sa_family == AF_UNSPEC);
    s = config_service(fx->cfg, "num");
    CHECK(s && !s->is_name && s->port == 80 && s->addr.sa.sa_family == AF_INET);
    CHECK_STR(s ? s->host : NULL, "10.0.0.1");
    s = config_service(fx->cfg, "num6");
    CHECK(s && !s->is_name && s->port == 80 && s->addr.sa.sa_family == AF_INET6);
    CHECK_STR(s ? s->host : NULL, "2001:db8::1");
    s = config_service(fx->cfg, "fq");
    CHECK(s && s->is_name && s->port == 8080);
    CHECK_STR(s ? s->host : NULL, "Back-End_1.example.");
    s = config_service(fx->cfg, "one");
    CHECK(s && s->is_name);
    CHECK_STR(config_service_target(config_service(fx->cfg, "db"), text, sizeof(text)),
              "db.example.internal:5432");
    CHECK_STR(config_service_target(config_service(fx->cfg, "num6"), text, sizeof(text)),
              "[2001:db8::1]:80");

    /* A line holds at most 198 characters (inih's buffer, in the system
     * library), so a name of more than about 180 cannot be written at all:
     * the line is refused with its number. addr_parse_nameport's own bound
     * of 253 is tested in test_addr. */
    memset(name, 'a', sizeof(name));
    name[63] = name[127] = '.';
    name[180] = '\0';
    snprintf(text, sizeof(text), BASE "[db]\nconnect = %s:1\n", name);
    CHECK(loads(fx, text));
    CHECK(strlen(config_service(fx->cfg, "db")->host) == 180);
    name[180] = 'a';
    name[254] = '\0';
    snprintf(text, sizeof(text), BASE "[db]\nconnect = %s:1\n", name);
    CHECK(fails_at(fx, text, 8, "line longer than 198 characters"));

    CHECK(fails_at(fx, BASE "[db]\nconnect = :5432\n", 8, "connect = :5432: an empty host"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = .:5432\n", 8, "connect = .:5432: an empty host"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = db..example:5432\n", 8, "an empty label"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = .db:5432\n", 8, "an empty label"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = db_host!:5432\n", 8,
                   "connect = db_host!:5432: a character other than letters, digits"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = db host:5432\n", 8, "a character other than"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = -db.example:5432\n", 8,
                   "a label starting or ending with '-'"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = db-.example:5432\n", 8, "starting or ending"));
    snprintf(text, sizeof(text), BASE "[db]\nconnect = %064d.example:1\n", 1);
    CHECK(fails_at(fx, text, 8, "a label longer than 63 characters"));
    /* A mistyped IPv4 address is not looked up as a name. */
    CHECK(fails_at(fx, BASE "[db]\nconnect = 10.1.0:5432\n", 8,
                   "connect = 10.1.0:5432: not a valid IPv4 address"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = 10.1.0.256:5432\n", 8, "not a valid IPv4 address"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = [db.example]:5432\n", 8,
                   "not a valid IPv6 address (write it as [ADDR]:PORT)"));
    CHECK(fails_at(fx, BASE "[db]\nconnect = 2001:db8::1:5432\n", 8, "not a valid IPv6 address"));

    /* A listener stays numeric or a wildcard. */
    CHECK(fails_at(fx, BASE "[web]\naccept = web.example:8080\n", 8,
                   "accept = web.example:8080: expected HOST:PORT with a numeric host or a "
                   "wildcard"));
    CHECK(strstr(fx->err, "an accept address is never a name") != NULL);
    CHECK(loads(fx, BASE "[v4]\naccept = *:8080\n[all]\naccept = [::]:8081\n"));
    s = config_service(fx->cfg, "v4");
    CHECK(s && s->is_accept && !s->is_name && s->addr.sa.sa_family == AF_INET);
    s = config_service(fx->cfg, "all");
    CHECK(s && s->is_accept && !s->is_name && s->addr.sa.sa_family == AF_INET6);
    /* [::] is dual-stack: it takes the port on every IPv4 address too. */
    CHECK(fails_at(fx, BASE "[a]\naccept = 127.0.0.1:80\n[d]\naccept = [::]:80\n", 10,
                   "accept = [::]:80: [a] already accepts there (line 8); [::] listens on every "
                   "IPv4 address too"));
    CHECK(fails_at(fx, BASE "[d]\naccept = [::]:80\n[a]\naccept = *:80\n", 10,
                   "accept = 0.0.0.0:80: [d] already accepts there (line 8)"));
    /* An IPv4-mapped address listens on the IPv4 address itself. */
    CHECK(fails_at(fx, BASE "[a]\naccept = 127.0.0.1:80\n[m]\naccept = [::ffff:127.0.0.1]:80\n", 10,
                   "accept = [::ffff:127.0.0.1]:80: [a] already accepts there (line 8)"));
    CHECK(strstr(fx->err, "[::] listens") == NULL);
    CHECK(fails_at(fx, BASE "[a]\naccept = 127.0.0.1:80\n[m]\naccept = [::ffff:0.0.0.0]:80\n", 10,
                   "[a] already accepts there (line 8)"));
    CHECK(loads(fx, BASE "[a]\naccept = 127.0.0.1:80\n[m]\naccept = [::ffff:127.0.0.2]:80\n"));
}

static void test_psk(fixture_t *fx)
{
    char path[256], text[512];

    CHECK(fails_at(fx, "[gateway]\nname = a\n[association]\nrole = listen\n", 1,
                   "psk_file is missing in [gateway]"));
    CHECK(fails_at(fx, "[association]\nrole = listen\n", 0, "psk_file is missing"));

    CHECK(fails_at(fx, "[gateway]\npsk_file = absent.key\n[association]\nrole = listen\n", 2,
                   "psk_file = absent.key: cannot open "));
    CHECK(strstr(fx->err, "/absent.key: No such file or directory") != NULL);

    snprintf(path, sizeof(path), "%s/keydir", fx->dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(fails_at(fx, "[gateway]\npsk_file = keydir\n[association]\nrole = listen\n", 2,
                   "psk_file = keydir: "));
    CHECK(strstr(fx->err, "/keydir is not a regular file") != NULL);
    rmdir(path);

    /* A FIFO is refused at once; opening it must not wait for a writer. */
    snprintf(path, sizeof(path), "%s/fifo.key", fx->dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(fails_at(fx, "[gateway]\npsk_file = fifo.key\n[association]\nrole = listen\n", 2,
                   "psk_file = fifo.key: "));
    CHECK(strstr(fx->err, "/fifo.key is not a regular file") != NULL);
    unlink(path);

    /* Root reads files whatever their mode, so this case needs a user. */
    key_write(fx, "locked.key", 48, 0000);
    if (geteuid() != 0) {
        CHECK(fails_at(fx, "[gateway]\npsk_file = locked.key\n[association]\nrole = listen\n", 2,
                       "psk_file = locked.key: cannot open "));
        CHECK(strstr(fx->err, ": Permission denied") != NULL);
    }

    key_write(fx, "short.key", 31, 0600);
    CHECK(fails_at(fx, "[gateway]\npsk_file = short.key\n[association]\nrole = listen\n", 2,
                   "psk_file = short.key: "));
    CHECK(strstr(fx->err, "/short.key holds 31 bytes; a key is 32 to 4096 bytes") != NULL);

    key_write(fx, "long.key", CONFIG_PSK_MAX + 1, 0600);
    CHECK(fails_at(fx, "[gateway]\npsk_file = long.key\n[association]\nrole = listen\n", 2,
                   "/long.key holds 4097 bytes"));

    key_write(fx, "group.key", 48, 0640);
    CHECK(fails_at(fx, "[gateway]\npsk_file = group.key\n[association]\nrole = listen\n", 2,
                   "psk_file = group.key: "));
    CHECK(strstr(fx->err, "/group.key must not be readable by group or others; chmod 600") != NULL);
    key_write(fx, "world.key", 48, 0604);
    CHECK(fails_at(fx, "[gateway]\npsk_file = world.key\n[association]\nrole = listen\n", 2,
                   "must not be readable by group or others; chmod 600"));

    /* The bounds themselves are fine; whitespace bytes are part of the key. */
    key_write(fx, "min.key", CONFIG_PSK_MIN, 0600);
    CHECK(loads(fx, "[gateway]\npsk_file = min.key\n[association]\nrole = listen\n"));
    CHECK(fx->cfg->psk_len == CONFIG_PSK_MIN);
    key_write(fx, "max.key", CONFIG_PSK_MAX, 0400);
    CHECK(loads(fx, "[gateway]\npsk_file = max.key\n[association]\nrole = listen\n"));
    CHECK(fx->cfg->psk_len == CONFIG_PSK_MAX);
    snprintf(path, sizeof(path), "%s/ws.key", fx->dir);
    CHECK(file_write(path, "  key with spaces and a newline, 40 bytes\n", 42, 0600) == 0);
    CHECK(loads(fx, "[gateway]\npsk_file = ws.key\n[association]\nrole = listen\n"));
    CHECK(fx->cfg->psk_len == 42 && fx->cfg->psk[0] == ' ' && fx->cfg->psk[41] == '\n');

    /* An absolute path is used as it is. */
    snprintf(text, sizeof(text), "[gateway]\npsk_file = %s/min.key\n[association]\nrole = listen\n",
             fx->dir);
    CHECK(loads(fx, text));
    CHECK(fx->cfg->psk_len == CONFIG_PSK_MIN);
}

/* A configuration loaded by a relative path: messages and the key path
 * keep it relative, and the key is found next to the configuration. */
static void test_relative_path(fixture_t *fx)
{
    char cwd[4096], err[256];

    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK(loads(fx, BASE));
    CHECK(chdir(fx->dir) == 0);
    CHECK(config_load("site.ini", fx->cfg, err, sizeof(err)) == 0);
    CHECK_STR(fx->cfg->psk_path, "site.key");
    CHECK(config_load("./site.ini", fx->cfg, err, sizeof(err)) == 0);
    CHECK_STR(fx->cfg->psk_path, "./site.key");
    CHECK(load(fx, BASE "failover_ms = 50\n") == -1);
    CHECK(config_load("site.ini", fx->cfg, err, sizeof(err)) == -1);
    CHECK_STR(err, "site.ini:7: failover_ms = 50: must be between 100 and 60000 (ms); smaller "
                   "gaps cannot be honoured by the kernel's timers");
    CHECK(chdir(cwd) == 0);
}

/* A text in memory loads like a file of that name: the same values, the
 * key found in the name's folder, and errors in the same FILE:LINE form. */
static void test_stream(fixture_t *fx)
{
    static const char ok[] = BASE "[web]\naccept = 127.0.0.1:8080\n";
    static const char bad[] = BASE "failover_ms = 50\n";
    char name[256], err[512], want[512];
    FILE *fp;

    snprintf(name, sizeof(name), "%s/memory.ini", fx->dir);
    fp = fmemopen((void *)ok, sizeof(ok) - 1, "r");
    CHECK(fp && config_load_stream(fp, name, fx->cfg, err, sizeof(err)) == 0);
    CHECK(fx->cfg->n_remote == 2 && fx->cfg->n_services == 1 && fx->cfg->psk_len == 48);
    CHECK_STR(fx->cfg->path, name);
    if (fp)
        fclose(fp);

    fp = fmemopen((void *)bad, sizeof(bad) - 1, "r");
    CHECK(fp && config_load_stream(fp, name, fx->cfg, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "%s:7: failover_ms = 50: must be between 100 and 60000", name);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    if (fp)
        fclose(fp);
}

/* Copies a shipped configuration into the folder; returns 0 or -1. */
static int shipped_copy(const fixture_t *fx, const char *src_dir, const char *name)
{
    char src[4096], dst[256], buf[16384];
    FILE *f;
    size_t n;

    snprintf(src, sizeof(src), "%s/%s", src_dir, name);
    snprintf(dst, sizeof(dst), "%s/%s", fx->dir, name);
    f = fopen(src, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", src);
        return -1;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return file_write(dst, buf, n, 0644);
}

/* Loads config/NAME from the source tree; the caller owns the result. */
static config_t *shipped_load(const fixture_t *fx, const char *src_dir, const char *name)
{
    config_t *cfg = calloc(1, sizeof(*cfg));
    char path[256], err[1024];

    if (!cfg) {
        perror("calloc");
        exit(1);
    }
    CHECK(shipped_copy(fx, src_dir, name) == 0);
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    if (config_load(path, cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        CHECK(!"shipped configuration loads");
    }
    return cfg;
}

/* Every service site A accepts must be connected at site B. */
static void shipped_pair_check(const config_t *a, const config_t *b)
{
    for (size_t i = 0; i < a->n_services; i++) {
        const service_conf_t *far = config_service(b, a->services[i].name);

        CHECK(a->services[i].is_accept);
        CHECK(far && !far->is_accept);
    }
    CHECK(a->n_services == b->n_services);
}

/* The source tree's config/ folder: SCTPGW_TEST_DATA is tests/unit/data
 * (which need not exist), else the tests run from the source tree. */
static void shipped_dir(char *buf, size_t len)
{
    const char *data = getenv("SCTPGW_TEST_DATA");
    char *cut;

    snprintf(buf, len, "%s", data ? data : "./tests/unit/data");
    for (int up = 0; up < 3 && (cut = strrchr(buf, '/')); up++)
        *cut = '\0';
    snprintf(buf + strlen(buf), len - strlen(buf), "/config");
}

/* metrics = HOST:PORT: off by default (and when it says so), IPv4 or
 * IPv6, and never on a service's accept address. */
static void test_metrics(fixture_t *fx)
{
#define GW_METRICS(v) "[gateway]\nname = t\npsk_file = site.key\nmetrics = " v "\n"
#define ASSOC         "[association]\nrole = listen\n"
    const config_t *cfg = fx->cfg;
    char buf[ADDR_STRLEN];

    CHECK(loads(fx, BASE));
    CHECK(!cfg->has_metrics);
    CHECK(loads(fx, GW_METRICS("127.0.0.1:9464") ASSOC));
    CHECK(cfg->has_metrics);
    CHECK_STR(fmt(&cfg->metrics, buf), "127.0.0.1:9464");
    CHECK(loads(fx, GW_METRICS("[::1]:9464") ASSOC));
    CHECK(cfg->has_metrics);
    CHECK_STR(fmt(&cfg->metrics, buf), "[::1]:9464");
    CHECK(loads(fx, GW_METRICS("off") ASSOC "[web]\naccept = *:9464\n"));
    CHECK(!cfg->has_metrics);
    CHECK(fails_at(fx, GW_METRICS("off") "metrics = 127.0.0.1:9464\n" ASSOC, 5,
                   "duplicate key 'metrics'"));
    CHECK(fails_at(fx, GW_METRICS("9464") ASSOC, 4, "metrics = 9464: expected HOST:PORT"));
    CHECK(fails_at(fx, GW_METRICS("Off") ASSOC, 4, "or off"));
    CHECK(fails_at(fx, GW_METRICS("localhost:9464") ASSOC, 4, "e.g. 127.0.0.1:9464"));
    CHECK(fails_at(fx, GW_METRICS("127.0.0.1:0") ASSOC, 4, "metrics = 127.0.0.1:0"));
    CHECK(fails_at(fx, GW_METRICS("127.0.0.1:70000") ASSOC, 4, "metrics = 127.0.0.1:70000"));
    CHECK(fails_at(fx, GW_METRICS("") ASSOC, 4, "metrics = : expected HOST:PORT"));
    CHECK(fails_at(fx, GW_METRICS("127.0.0.1:9464") "metrics = [::1]:9464\n" ASSOC, 5,
                   "duplicate key 'metrics'"));
    CHECK(fails_at(fx, GW_METRICS("127.0.0.1:7001") ASSOC "[web]\naccept = *:7001\n", 4,
                   "metrics = 127.0.0.1:7001: [web] already accepts there (line 8)"));
    CHECK(loads(fx, GW_METRICS("127.0.0.1:7002") ASSOC "[web]\naccept = *:7001\n"));
#undef GW_METRICS
#undef ASSOC
}

static void test_shipped(fixture_t *fx)
{
    char src_dir[4096], buf[ADDR_STRLEN];
    config_t *a, *b, *hub;

    shipped_dir(src_dir, sizeof(src_dir));
    key_write(fx, "site.key", 48, 0600);
    a = shipped_load(fx, src_dir, "site-a.ini");
    b = shipped_load(fx, src_dir, "site-b.ini");
    hub = shipped_load(fx, src_dir, "hub.ini");

    CHECK_STR(a->name, "site-a");
    CHECK(a->role == ROLE_CONNECT && a->n_local == 2 && a->n_remote == 2 && a->has_primary);
    CHECK_STR(fmt(&a->primary, buf), "10.1.0.2:9899");
    CHECK_STR(config_service(a, "web") ? fmt(&config_service(a, "web")->addr, buf) : NULL,
              "127.0.0.1:8080");
    CHECK_STR(b->name, "site-b");
    CHECK(b->role == ROLE_LISTEN && b->n_local == 2 && b->n_remote == 0);
    CHECK(a->port == b->port);
    /* Site A dials the addresses site B listens on. */
    for (size_t i = 0; i < a->n_remote && i < b->n_local; i++)
        CHECK(addr_equal(&a->remote[i], &b->local[i]));
    CHECK(memcmp(a->psk, b->psk, a->psk_len) == 0 && a->psk_len == b->psk_len);
    shipped_pair_check(a, b);

    CHECK_STR(hub->name, "hub");
    CHECK(hub->role == ROLE_LISTEN && hub->n_remote == 0);
    CHECK(hub->n_services >= 3);
    free(a);
    free(b);
    free(hub);
}

static int entry_remove(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    fixture_t fx = {.cfg = calloc(1, sizeof(config_t))};
    const char *tmp = getenv("TMPDIR");

    snprintf(fx.dir, sizeof(fx.dir), "%s/sctpgw-test-XXXXXX",
             tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!fx.cfg || !mkdtemp(fx.dir)) {
        perror("test setup");
        return 1;
    }
    snprintf(fx.ini, sizeof(fx.ini), "%s/site.ini", fx.dir);
    key_write(&fx, "site.key", 48, 0600);

    test_minimal(&fx);
    test_full(&fx);
    test_file_errors(&fx);
    test_syntax(&fx);
    test_unknown_key(&fx);
    test_duplicates(&fx);
    test_section_names(&fx);
    test_too_many_services(&fx);
    test_bad_addresses(&fx);
    test_bad_ports(&fx);
    test_ranges(&fx);
    test_timers(&fx);
    test_enums_and_names(&fx);
    test_role(&fx);
    test_services(&fx);
    test_names(&fx);
    test_psk(&fx);
    test_relative_path(&fx);
    test_stream(&fx);
    test_metrics(&fx);
    test_shipped(&fx);

    nftw(fx.dir, entry_remove, 8, FTW_DEPTH | FTW_PHYS);
    free(fx.cfg);
    return check_status("config");
}
