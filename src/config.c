/* Configuration loading. inih splits the file into sections and key = value
 * pairs, a table of keys says how each value is parsed and where it is
 * stored, and the rules that involve several keys run once the whole file has
 * been read. Every error names the file, the line and the key at fault. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Which kind of section a key belongs to. */
typedef enum { SEC_NONE, SEC_GATEWAY, SEC_ASSOCIATION, SEC_SERVICE } section_t;

typedef struct key_def key_def_t;

/* Parses a value into the field a key describes. On error it writes what was
 * expected into msg (the caller adds file, line and key) and returns -1. */
typedef int (*key_setter_t)(const key_def_t *k, void *base, const char *value, char *msg,
                            size_t msglen);

/* One configuration key: where it may appear, how it is parsed, where it goes. */
struct key_def {
    section_t section; /* the kind of section the key belongs to */
    const char *name;  /* the key as written in the file */
    key_setter_t set;  /* parses the value and stores it */
    size_t offset;     /* the field, in config_t or (services) service_conf_t */
    size_t aux;        /* a second field: an address count or a presence flag */
    unsigned min;      /* smallest accepted number */
    unsigned max;      /* largest accepted number */
    const char *unit;  /* unit of the number, for messages, or NULL */
    const char *why;   /* the reason behind the bounds, for messages, or NULL */
    const char *deflt; /* default, parsed like a value from the file; NULL = none */
};

static int set_name(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_level(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_path(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_uint(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_role(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_onoff(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_addrs(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_host(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_accept(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_listen(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_connect(const key_def_t *k, void *base, const char *v, char *msg, size_t len);
static int set_control(const key_def_t *k, void *base, const char *v, char *msg, size_t len);

#define CFG(member) offsetof(config_t, member)
#define SVC(member) offsetof(service_conf_t, member)

/* A key with a setter of its own; aux names a second field, if any. */
#define KEY(section, name, set, offset, aux, deflt)                                                \
    {                                                                                              \
        section, name, set, offset, aux, 0, 0, NULL, NULL, deflt                                   \
    }

/* A numeric key of config_t with its bounds. */
#define NUM(section, name, member, min, max, unit, why, deflt)                                     \
    {                                                                                              \
        section, name, set_uint, CFG(member), 0, min, max, unit, why, deflt                        \
    }

/* Every key the file may hold. Defaults are applied by running the setter on
 * the default text, so a default can never hold a value the file could not. */
static const key_def_t keys[] = {
    KEY(SEC_GATEWAY, "name", set_name, CFG(name), 0, "sctpgw"),
    KEY(SEC_GATEWAY, "log_level", set_level, CFG(log_level), 0, "info"),
    KEY(SEC_GATEWAY, "psk_file", set_path, CFG(psk_path), 0, NULL),
    NUM(SEC_GATEWAY, "drain_ms", drain_ms, 0, 3600000, "ms", NULL, "10000"),
    NUM(SEC_GATEWAY, "stall_ms", stall_ms, 0, 86400000, "ms", NULL, "600000"),
    KEY(SEC_GATEWAY, "metrics", set_listen, CFG(metrics), CFG(has_metrics), NULL),
    KEY(SEC_GATEWAY, "control", set_control, CFG(control), CFG(control_given), NULL),
    KEY(SEC_ASSOCIATION, "role", set_role, CFG(role), 0, NULL),
    KEY(SEC_ASSOCIATION, "local", set_addrs, CFG(local), CFG(n_local), NULL),
    KEY(SEC_ASSOCIATION, "remote", set_addrs, CFG(remote), CFG(n_remote), NULL),
    NUM(SEC_ASSOCIATION, "port", port, 1, 65535, NULL, NULL, "9899"),
    NUM(SEC_ASSOCIATION, "udp_port", udp_port, 0, 65535, NULL, NULL, "0"),
    KEY(SEC_ASSOCIATION, "primary", set_host, CFG(primary), CFG(has_primary), NULL),
    NUM(SEC_ASSOCIATION, "failover_ms", failover_ms, 100, 60000, "ms",
        "smaller gaps cannot be honoured by the kernel's timers", "1000"),
    NUM(SEC_ASSOCIATION, "outage_ms", outage_ms, 100, 3600000, "ms",
        "it must also be at least failover_ms", "30000"),
    NUM(SEC_ASSOCIATION, "max_flows", max_flows, 1, 32767, NULL, NULL, "4096"),
    NUM(SEC_ASSOCIATION, "flow_window", flow_window, 4096, 16777216, "bytes", NULL, "1048576"),
    NUM(SEC_ASSOCIATION, "sock_buffer", sock_buffer, 65536, 67108864, "bytes", NULL, "4194304"),
    KEY(SEC_ASSOCIATION, "encryption", set_onoff, CFG(encryption), 0, "on"),
    NUM(SEC_ASSOCIATION, "rekey_s", rekey_s, 1, 86400, "s", NULL, "3600"),
    KEY(SEC_SERVICE, "accept", set_accept, 0, 0, NULL),
    KEY(SEC_SERVICE, "connect", set_connect, 0, 0, NULL),
    KEY(SEC_SERVICE, "peer", set_name, SVC(peer), 0, NULL),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Everything the reader, the handler and the final checks share. */
typedef struct parse_state {
    config_t *cfg;        /* the configuration being filled */
    FILE *fp;             /* the configuration's text */
    int line;             /* number of the line last handed to inih */
    section_t section;    /* kind of the current section */
    service_conf_t *svc;  /* the current service, when section is SEC_SERVICE */
    int gateway_line;     /* line of the [gateway] header, 0 = none yet */
    int association_line; /* line of the [association] header, 0 = none yet */
    /* Line each key was set on, 0 = not set: row 0 holds [gateway] and
     * [association], row 1 + i holds service i. */
    int key_line[1 + CONFIG_MAX_SERVICES][N_KEYS];
    char *err;     /* the caller's message buffer */
    size_t errlen; /* its size */
    int failed;    /* an error has been written to err */
    int err_line;  /* the line of that error, 0 = none applies */
} parse_state_t;

/* Writes "FILE:LINE: message" (or "FILE: message" when line is 0) into the
 * caller's buffer, replacing any earlier message, and returns -1. */
__attribute__((format(printf, 3, 4))) static int parse_fail(parse_state_t *st, int line,
                                                            const char *fmt, ...)
{
    size_t used = 0;
    int n;

    if (line > 0)
        n = snprintf(st->err, st->errlen, "%s:%d: ", st->cfg->path, line);
    else
        n = snprintf(st->err, st->errlen, "%s: ", st->cfg->path);
    if (n > 0)
        used = (size_t)n;
    if (used < st->errlen) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(st->err + used, st->errlen - used, fmt, ap);
        va_end(ap);
    }
    st->failed = 1;
    st->err_line = line;
    return -1;
}

/* The field at `offset` inside a config_t or service_conf_t. */
static void *field(void *base, size_t offset)
{
    return (char *)base + offset;
}

/* Gateway and service names travel in the handshake and show in logs, so
 * they are kept to characters that need no quoting anywhere. */
static int name_valid(const char *s, size_t n)
{
    if (n == 0 || n >= CONFIG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int set_name(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    if (!name_valid(v, strlen(v))) {
        snprintf(msg, len, "expected 1 to %d characters of A-Z a-z 0-9 . _ -", CONFIG_NAME_MAX - 1);
        return -1;
    }
    strcpy(field(base, k->offset), v);
    return 0;
}

static int set_level(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    if (log_level_parse(v, field(base, k->offset)) < 0) {
        snprintf(msg, len, "expected error, warn, info or debug");
        return -1;
    }
    return 0;
}

/* Stores the path as written; it is resolved against the configuration's
 * folder once the whole file is read. */
static int set_path(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);

    if (n == 0 || n >= sizeof(((config_t *)0)->psk_path)) {
        snprintf(msg, len, "expected a file name");
        return -1;
    }
    memcpy(field(base, k->offset), v, n + 1);
    return 0;
}

/* An absolute path short enough for a unix socket's address, or "off". */
static int set_control(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    char *path = field(base, k->offset);
    size_t n = strlen(v);

    *(int *)field(base, k->aux) = 1;
    if (strcmp(v, "off") == 0) {
        path[0] = '\0';
        return 0;
    }
    if (v[0] != '/' || n >= CONFIG_CONTROL_MAX) {
        snprintf(msg, len, "expected an absolute path of at most %d bytes, or off",
                 CONFIG_CONTROL_MAX - 1);
        return -1;
    }
    memcpy(path, v, n + 1);
    return 0;
}

/* Without a control key the socket is named after the gateway, in the
 * runtime folder systemd's RuntimeDirectory= makes. */
static void control_default(config_t *cfg)
{
    if (!cfg->control_given)
        snprintf(cfg->control, sizeof(cfg->control), "%s/%.64s.sock", CONFIG_CONTROL_DIR,
                 cfg->name);
}

static int set_role(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    assoc_role_t *role = field(base, k->offset);

    if (strcmp(v, "connect") == 0)
        *role = ROLE_CONNECT;
    else if (strcmp(v, "listen") == 0)
        *role = ROLE_LISTEN;
    else {
        snprintf(msg, len, "expected connect (dial the peer) or listen (accept peers)");
        return -1;
    }
    return 0;
}

static int set_onoff(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    int *flag = field(base, k->offset);

    if (strcmp(v, "on") == 0)
        *flag = 1;
    else if (strcmp(v, "off") == 0)
        *flag = 0;
    else {
        snprintf(msg, len, "expected on or off");
        return -1;
    }
    return 0;
}

/* Parses decimal digits only: an empty string, a sign, spaces or a suffix
 * are refused. Values past UINT_MAX stop growing, so the range check still
 * reports them instead of seeing a wrapped number. */
static int uint_parse(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v <= UINT_MAX)
            v = v * 10 + (unsigned)(*s - '0');
    }
    *out = v;
    return 0;
}

static int set_uint(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    unsigned long long n;
    int bad = uint_parse(v, &n) < 0;

    if (bad || n < k->min || n > k->max) {
        snprintf(msg, len, "%s between %u and %u%s%s%s%s%s", bad ? "expected a number" : "must be",
                 k->min, k->max, k->unit ? " (" : "", k->unit ? k->unit : "", k->unit ? ")" : "",
                 k->why ? "; " : "", k->why ? k->why : "");
        return -1;
    }
    *(unsigned *)field(base, k->offset) = (unsigned)n;
    return 0;
}

/* The wildcard ("any") address of either family. */
static int addr_is_any(const addr_t *a)
{
    if (a->sa.sa_family == AF_INET)
        return a->v4.sin_addr.s_addr == htonl(INADDR_ANY);
    return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->v6.sin6_addr);
}

/* The kernel refuses a link-local IPv6 address without its interface for
 * a bind and a connect alike: said here rather than at every dial. */
static int zone_check(const addr_t *a, const char *s, char *msg, size_t len)
{
    if (!addr_zone_missing(a))
        return 0;
    snprintf(msg, len,
             "'%s' is link-local: add its interface's index, e.g. fe80::1%%2 (ip -6 addr "
             "shows it)",
             s);
    return -1;
}

/* Parses a single host for an address list or for primary: numeric, and
 * not a wildcard, since these name real link addresses. */
static int host_parse(const char *s, addr_t *out, char *msg, size_t len)
{
    if (addr_parse_host(s, 0, out) < 0) {
        snprintf(msg, len, "'%s' is not a numeric IPv4 or IPv6 address", s);
        return -1;
    }
    if (addr_is_any(out)) {
        snprintf(msg, len, "'%s' is a wildcard; list real addresses", s);
        return -1;
    }
    return zone_check(out, s, msg, len);
}

/* Copies the list item between s and end into buf, without the blanks
 * around it. Returns -1 when it is empty or too long to be an address. */
static int item_copy(const char *s, const char *end, char *buf, size_t len)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s == end || (size_t)(end - s) >= len)
        return -1;
    memcpy(buf, s, (size_t)(end - s));
    buf[end - s] = '\0';
    return 0;
}

/* Parses one item of an address list and appends it to list[*n]. */
static int item_add(const char *s, const char *end, addr_t *list, size_t *n, char *msg, size_t len)
{
    char item[ADDR_STRLEN];

    if (item_copy(s, end, item, sizeof(item)) < 0) {
        snprintf(msg, len, "expected comma-separated numeric addresses");
        return -1;
    }
    if (*n == CONFIG_MAX_ADDRS) {
        snprintf(msg, len, "more than %d addresses", CONFIG_MAX_ADDRS);
        return -1;
    }
    if (host_parse(item, &list[*n], msg, len) < 0)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        if (addr_same(&list[i], &list[*n])) {
            snprintf(msg, len, "%s is listed twice", item);
            return -1;
        }
    }
    (*n)++;
    return 0;
}

static int set_addrs(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    addr_t *list = field(base, k->offset);
    size_t n = 0;
    const char *end;

    for (;; v = end + 1) {
        end = strchr(v, ',');
        if (!end)
            end = v + strlen(v);
        if (item_add(v, end, list, &n, msg, len) < 0)
            return -1;
        if (*end == '\0')
            break;
    }
    *(size_t *)field(base, k->aux) = n;
    return 0;
}

static int set_host(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    if (host_parse(v, field(base, k->offset), msg, len) < 0)
        return -1;
    *(int *)field(base, k->aux) = 1;
    return 0;
}

/* Keeps the host as written (without brackets) and the port, for logs
 * and for the resolver. */
static void service_keep_host(service_conf_t *svc, const char *v)
{
    const char *colon = strrchr(v, ':');
    size_t n = (size_t)(colon - v);

    if (v[0] == '[') {
        v++;
        n -= 2;
    }
    if (n >= sizeof(svc->host))
        n = sizeof(svc->host) - 1;
    memcpy(svc->host, v, n);
    svc->host[n] = '\0';
    svc->port = strtoul(colon + 1, NULL, 10);
}

/* A listener binds before any flow exists and must mean one thing from
 * start to stop, so its address is numeric or a wildcard, never a name. */
static int set_accept(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    service_conf_t *svc = base;

    (void)k;
    if (addr_parse_hostport(v, &svc->addr) < 0) {
        snprintf(msg, len,
                 "expected HOST:PORT with a numeric host or a wildcard, e.g. 127.0.0.1:8080, "
                 "[::1]:8080, *:8080 (all IPv4) or [::]:8080 (all IPv4 and IPv6); an accept "
                 "address is never a name");
        return -1;
    }
    if (zone_check(&svc->addr, v, msg, len) < 0)
        return -1;
    service_keep_host(svc, v);
    svc->is_accept = 1;
    return 0;
}

/* A TCP listener of the gateway's own (metrics): HOST:PORT into the field,
 * and the presence flag set; "off", as the default, leaves both clear. */
static int set_listen(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    if (strcmp(v, "off") == 0) {
        memset(field(base, k->offset), 0, sizeof(addr_t));
        *(int *)field(base, k->aux) = 0;
        return 0;
    }
    if (addr_parse_hostport(v, field(base, k->offset)) < 0) {
        snprintf(msg, len,
                 "expected HOST:PORT with a numeric host, e.g. 127.0.0.1:9464 or "
                 "[::1]:9464, or off");
        return -1;
    }
    if (zone_check(field(base, k->offset), v, msg, len) < 0)
        return -1;
    *(int *)field(base, k->aux) = 1;
    return 0;
}

/* A numeric back end is used as it is, with no resolver involved; anything
 * else must be a well-formed host name, looked up when each flow opens. */
static int set_connect(const key_def_t *k, void *base, const char *v, char *msg, size_t len)
{
    service_conf_t *svc = base;
    const char *why;

    (void)k;
    svc->is_accept = 0;
    if (addr_parse_hostport(v, &svc->addr) == 0) {
        if (addr_is_any(&svc->addr)) {
            snprintf(msg, len, "a back end needs a real address, not a wildcard");
            return -1;
        }
        if (zone_check(&svc->addr, v, msg, len) < 0)
            return -1;
        service_keep_host(svc, v);
        svc->is_name = 0;
        return 0;
    }
    memset(&svc->addr, 0, sizeof(svc->addr));
    if (addr_parse_nameport(v, svc->host, &svc->port, &why) < 0) {
        snprintf(msg, len,
                 "%s; a back end is HOST:PORT with a numeric host (10.0.0.1:5432, "
                 "[2001:db8::1]:5432) or a host name (db.example.internal:5432)",
                 why);
        return -1;
    }
    svc->is_name = 1;
    return 0;
}

/* Index of a key in the table, or -1. */
static int key_find(section_t section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].section == section && strcmp(keys[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* Line a key was set on in [gateway] / [association] (row 0) or in a
 * service (row 1 + index), 0 when it was not set. */
static int key_line(const parse_state_t *st, size_t row, section_t section, const char *name)
{
    int i = key_find(section, name);

    return i < 0 ? 0 : st->key_line[row][i];
}

static void defaults_apply(config_t *cfg)
{
    char msg[8];

    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].deflt)
            keys[i].set(&keys[i], cfg, keys[i].deflt, msg, sizeof(msg));
    }
}

/* The current section's name as written, for messages. */
static const char *section_label(const parse_state_t *st)
{
    if (st->section == SEC_SERVICE)
        return st->svc->name;
    return st->section == SEC_GATEWAY ? "gateway" : "association";
}

/* Writes the keys a kind of section takes, "a, b, c", into buf. */
static void keys_list(section_t section, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS && used < len; i++) {
        if (keys[i].section == section) {
            int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].name);

            used += n > 0 ? (size_t)n : 0;
        }
    }
}

static int key_unknown(parse_state_t *st, const char *name)
{
    char known[160];

    keys_list(st->section, known, sizeof(known));
    return parse_fail(st, st->line, "unknown key '%s' in [%s]; expected one of: %s", name,
                      section_label(st), known);
}

/* Applies one key = value pair to the current section. */
static int pair_apply(parse_state_t *st, const char *name, const char *value)
{
    size_t row = st->section == SEC_SERVICE ? 1 + (size_t)(st->svc - st->cfg->services) : 0;
    void *base = st->section == SEC_SERVICE ? (void *)st->svc : (void *)st->cfg;
    char msg[400];
    int i;

    if (st->section == SEC_NONE)
        return parse_fail(st, st->line,
                          "%s: outside any section; keys belong under [gateway], "
                          "[association] or a service",
                          name);
    i = key_find(st->section, name);
    if (i < 0)
        return key_unknown(st, name);
    if (st->key_line[row][i])
        return parse_fail(st, st->line, "duplicate key '%s' in [%s] (first at line %d)", name,
                          section_label(st), st->key_line[row][i]);
    st->key_line[row][i] = st->line;
    if (keys[i].set(&keys[i], base, value, msg, sizeof(msg)) < 0)
        return parse_fail(st, st->line, "%s = %s: %s", name, value, msg);
    return 0;
}

/* inih's handler. inih's own section argument is not used: inih cuts long
 * section names short, and the reader has recorded the section in full. */
static int pair_handle(void *user, const char *section, const char *name, const char *value)
{
    (void)section;
    return pair_apply(user, name, value) == 0;
}

/* Opens a [gateway] or [association] section; each may appear once. */
static int section_fixed(parse_state_t *st, section_t section, int *header_line)
{
    const char *name = section == SEC_GATEWAY ? "gateway" : "association";

    if (*header_line)
        return parse_fail(st, st->line, "duplicate section [%s] (first at line %d)", name,
                          *header_line);
    *header_line = st->line;
    st->section = section;
    st->svc = NULL;
    return 0;
}

/* Opens a service section: a new, valid name, within the table's room. */
static int section_service(parse_state_t *st, const char *name, size_t n)
{
    config_t *cfg = st->cfg;
    service_conf_t *svc;

    if (!name_valid(name, n))
        return parse_fail(st, st->line,
                          "[%.*s]: a service name is 1 to %d characters of A-Z a-z 0-9 . _ -",
                          (int)n, name, CONFIG_NAME_MAX - 1);
    for (size_t i = 0; i < cfg->n_services; i++) {
        if (strlen(cfg->services[i].name) == n && memcmp(cfg->services[i].name, name, n) == 0)
            return parse_fail(st, st->line, "duplicate section [%.*s] (first at line %d)", (int)n,
                              name, cfg->services[i].line);
    }
    if (cfg->n_services == CONFIG_MAX_SERVICES)
        return parse_fail(st, st->line, "[%.*s]: more than %d services", (int)n, name,
                          CONFIG_MAX_SERVICES);
    svc = &cfg->services[cfg->n_services++];
    memcpy(svc->name, name, n);
    svc->name[n] = '\0';
    svc->line = st->line;
    st->section = SEC_SERVICE;
    st->svc = svc;
    return 0;
}

/* A misspelt [Gateway] would otherwise quietly become a service. */
static int section_miscased(const char *name, size_t n, const char *fixed)
{
    return strlen(fixed) == n && strncasecmp(name, fixed, n) == 0 && memcmp(name, fixed, n) != 0;
}

/* Handles a "[name]" line (indentation already removed). Only a comment may
 * follow the closing bracket. */
static int section_open(parse_state_t *st, const char *line)
{
    const char *name = line + 1;
    const char *close = strchr(name, ']');
    const char *rest = close ? close + 1 : NULL;
    size_t n;

    if (!close)
        return parse_fail(st, st->line, "section header without ']'");
    rest += strspn(rest, " \t\r\n");
    if (*rest != '\0' && *rest != ';')
        return parse_fail(st, st->line, "unexpected text after ']': %s", rest);
    n = (size_t)(close - name);
    if (n == strlen("gateway") && memcmp(name, "gateway", n) == 0)
        return section_fixed(st, SEC_GATEWAY, &st->gateway_line);
    if (n == strlen("association") && memcmp(name, "association", n) == 0)
        return section_fixed(st, SEC_ASSOCIATION, &st->association_line);
    if (section_miscased(name, n, "gateway") || section_miscased(name, n, "association"))
        return parse_fail(st, st->line, "[%.*s]: section names are lower case", (int)n, name);
    return section_service(st, name, n);
}

/* Refuses a line that did not fit in inih's buffer: inih would otherwise
 * read the rest of it as a line of its own. */
static int line_fits(parse_state_t *st, const char *line, int num)
{
    size_t n = strlen(line);
    int c;

    if (n > 0 && line[n - 1] == '\n')
        return 1;
    c = getc(st->fp);
    if (c == EOF)
        return 1;
    ungetc(c, st->fp);
    parse_fail(st, st->line, "line longer than %d characters", num - 2);
    return 0;
}

/* Removes a UTF-8 byte order mark on the first line and the indentation of
 * every line. inih would take an indented line for the continuation of the
 * previous value; here indentation means nothing, and a stray continuation
 * line is reported as a syntax error instead of silently joining a value. */
static void line_trim(char *line, int first)
{
    size_t skip = 0;

    if (first && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        skip = 3;
    skip += strspn(line + skip, " \t");
    memmove(line, line + skip, strlen(line + skip) + 1);
}

/* fgets, but a CR before the newline is dropped (a file written on Windows
 * gets the same line length as any other) and a NUL byte is refused (fgets
 * would hide what follows it, or make the line look too long). Returns 1, 0
 * at the end of the file, or -1 for a NUL byte. */
static int line_get(FILE *fp, char *buf, int num)
{
    int c, next, n = 0;

    while (n < num - 1 && (c = getc(fp)) != EOF) {
        if (c == '\0')
            return -1;
        if (c == '\r') {
            next = getc(fp);
            if (next == '\n')
                c = '\n';
            else if (next != EOF)
                ungetc(next, fp);
        }
        buf[n++] = (char)c;
        if (c == '\n')
            break;
    }
    buf[n] = '\0';
    return n > 0;
}

/* inih also takes "key: value" for "key = value"; the docs and every
 * message here speak of the second only, and a colon is where addresses and
 * ports live, so a line whose key ends at a colon is refused. */
static int line_colon(parse_state_t *st, const char *line)
{
    if (line[0] == ';' || line[0] == '#' || line[0] == '[')
        return 0;
    if (line[strcspn(line, "=:;")] != ':')
        return 0;
    parse_fail(st, st->line, "expected 'key = value': a key ends at '=', not ':'");
    return -1;
}

/* inih's reader: hands inih one line at a time, counting lines so that every
 * message can name one, and opening sections itself so that empty ones are
 * seen too. Returning NULL ends the parse, which is how errors stop it. */
static char *line_read(char *buf, int num, void *stream)
{
    parse_state_t *st = stream;
    int r;

    if (st->failed || (r = line_get(st->fp, buf, num)) == 0)
        return NULL;
    st->line++;
    if (r < 0) {
        parse_fail(st, st->line, "a NUL byte: not a text file?");
        return NULL;
    }
    if (!line_fits(st, buf, num))
        return NULL;
    line_trim(buf, st->line == 1);
    if (line_colon(st, buf) < 0 || (buf[0] == '[' && section_open(st, buf) < 0))
        return NULL;
    return buf;
}

static int check_role(parse_state_t *st)
{
    const config_t *cfg = st->cfg;
    int role = key_line(st, 0, SEC_ASSOCIATION, "role");
    int remote = key_line(st, 0, SEC_ASSOCIATION, "remote");
    int rekey = key_line(st, 0, SEC_ASSOCIATION, "rekey_s");

    if (!role)
        return parse_fail(st, st->association_line,
                          "role is missing in [association]; expected role = connect or listen");
    if (cfg->role == ROLE_CONNECT && cfg->n_remote == 0)
        return parse_fail(st, role, "role = connect needs remote = the peer's link addresses");
    if (cfg->role == ROLE_LISTEN && cfg->n_remote > 0)
        return parse_fail(st, remote,
                          "remote is for role = connect; a listener learns its peers' "
                          "addresses from their connections");
    /* One end paces the rekeys of both directions, so two clocks never race. */
    if (cfg->role == ROLE_LISTEN && rekey)
        return parse_fail(st, rekey,
                          "rekey_s is for role = connect: the dialling end starts the rekeys "
                          "of both directions");
    return 0;
}

static int check_primary(parse_state_t *st)
{
    const config_t *cfg = st->cfg;
    char buf[ADDR_STRLEN];

    if (!cfg->has_primary)
        return 0;
    for (size_t i = 0; i < cfg->n_remote; i++) {
        if (addr_same(&cfg->primary, &cfg->remote[i]))
            return 0;
    }
    return parse_fail(st, key_line(st, 0, SEC_ASSOCIATION, "primary"),
                      "primary = %s: must be one of remote",
                      addr_format(&cfg->primary, buf, sizeof(buf)));
}

/* A link is a pair of addresses of one family: a peer address of a family
 * none of ours has could never carry the association (no source for it). */
static int check_families(parse_state_t *st)
{
    const config_t *cfg = st->cfg;
    char buf[ADDR_STRLEN];
    int seen[2] = {0, 0};

    if (cfg->role != ROLE_CONNECT || cfg->n_local == 0)
        return 0;
    for (size_t i = 0; i < cfg->n_local; i++)
        seen[cfg->local[i].sa.sa_family == AF_INET6] = 1;
    for (size_t i = 0; i < cfg->n_remote; i++) {
        int v6 = cfg->remote[i].sa.sa_family == AF_INET6;
        if (!seen[v6])
            return parse_fail(st, key_line(st, 0, SEC_ASSOCIATION, "remote"),
                              "remote = %s: local lists no %s address, so no link could reach it",
                              addr_format(&cfg->remote[i], buf, sizeof(buf)), v6 ? "IPv6" : "IPv4");
    }
    return 0;
}

static int check_timers(parse_state_t *st)
{
    const config_t *cfg = st->cfg;
    int outage = key_line(st, 0, SEC_ASSOCIATION, "outage_ms");

    /* Below a second, the kernel's own retransmissions on a sound
     * connection would be taken for a stall. */
    if (cfg->stall_ms > 0 && cfg->stall_ms < 1000)
        return parse_fail(st, key_line(st, 0, SEC_GATEWAY, "stall_ms"),
                          "stall_ms = %u: must be 0 (never) or at least 1000", cfg->stall_ms);
    if (cfg->outage_ms >= cfg->failover_ms)
        return 0;
    if (outage)
        return parse_fail(st, outage, "outage_ms = %u: must not be below failover_ms (%u)",
                          cfg->outage_ms, cfg->failover_ms);
    return parse_fail(st, key_line(st, 0, SEC_ASSOCIATION, "failover_ms"),
                      "failover_ms = %u: exceeds outage_ms (default %u); raise outage_ms too",
                      cfg->failover_ms, cfg->outage_ms);
}

/* Joins a relative path to the folder of the configuration file. */
static int path_resolve(const char *cfg_path, const char *rel, char *out, size_t len)
{
    const char *slash = strrchr(cfg_path, '/');
    int n;

    if (rel[0] == '/' || !slash)
        n = snprintf(out, len, "%s", rel);
    else
        n = snprintf(out, len, "%.*s/%s", (int)(slash - cfg_path), cfg_path, rel);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Reads exactly len bytes into buf. */
static int fd_read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = ENODATA; /* the file shrank since fstat */
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

#define NOT_REGULAR (-2)

/* Opens a file to read, only if it is a regular file, and with O_NONBLOCK:
 * a path naming a FIFO would otherwise wait for a writer, and a mistyped
 * one hang the gateway at start, or on a reload with every flow on the
 * loop. Returns the descriptor with *sb filled, -1 with errno set, or
 * NOT_REGULAR. */
static int regular_open(const char *path, struct stat *sb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return -1;
    if (fstat(fd, sb) == 0 && S_ISREG(sb->st_mode))
        return fd;
    close(fd);
    return NOT_REGULAR;
}

/* Checks the open key file and reads it into cfg->psk. The key is secret,
 * so a file others may read is refused rather than trusted. */
static int psk_read(int fd, const struct stat *sb, config_t *cfg, char *msg, size_t len)
{
    const char *path = cfg->psk_path;

    if (sb->st_mode & 077) {
        snprintf(msg, len, "%s must not be readable by group or others; chmod 600 %s", path, path);
        return -1;
    }
    if (sb->st_size < CONFIG_PSK_MIN || sb->st_size > CONFIG_PSK_MAX) {
        snprintf(msg, len,
                 "%s holds %lld bytes; a key is %d to %d bytes: head -c 48 /dev/urandom > %s", path,
                 (long long)sb->st_size, CONFIG_PSK_MIN, CONFIG_PSK_MAX, path);
        return -1;
    }
    if (fd_read_exact(fd, cfg->psk, (size_t)sb->st_size) < 0) {
        snprintf(msg, len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    cfg->psk_len = (size_t)sb->st_size;
    return 0;
}

/* Resolves psk_file and loads the key, reporting at psk_file's line. */
static int check_psk(parse_state_t *st)
{
    config_t *cfg = st->cfg;
    int line = key_line(st, 0, SEC_GATEWAY, "psk_file");
    char written[sizeof(cfg->psk_path)];
    char msg[sizeof(cfg->psk_path) * 2 + 100];
    struct stat sb;
    int fd, r;

    if (!line)
        return parse_fail(st, st->gateway_line,
                          "psk_file is missing in [gateway]; both ends need the same key file");
    memcpy(written, cfg->psk_path, sizeof(written));
    if (path_resolve(cfg->path, written, cfg->psk_path, sizeof(cfg->psk_path)) < 0)
        return parse_fail(st, line, "psk_file = %s: path too long", written);
    fd = regular_open(cfg->psk_path, &sb);
    if (fd == NOT_REGULAR)
        return parse_fail(st, line, "psk_file = %s: %s is not a regular file", written,
                          cfg->psk_path);
    if (fd < 0)
        return parse_fail(st, line, "psk_file = %s: cannot open %s: %s", written, cfg->psk_path,
                          strerror(errno));
    r = psk_read(fd, &sb, cfg, msg, sizeof(msg));
    close(fd);
    if (r < 0)
        return parse_fail(st, line, "psk_file = %s: %s", written, msg);
    return 0;
}

/* The IPv6 wildcard listens dual-stack (acceptor_tcp_listen): it takes the port on
 * every IPv4 address as well. */
static int is_v6_any(const addr_t *a)
{
    return a->sa.sa_family == AF_INET6 && addr_is_any(a);
}

/* An IPv4-mapped address ([::ffff:10.0.0.1]) listens on the IPv4 address
 * itself (acceptor_tcp_listen binds dual-stack): it is compared as that. */
static addr_t listener_plain(const addr_t *a)
{
    addr_t v4;

    if (a->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr))
        return *a;
    memset(&v4, 0, sizeof(v4));
    v4.v4.sin_family = AF_INET;
    v4.v4.sin_port = a->v6.sin6_port;
    memcpy(&v4.v4.sin_addr, &a->v6.sin6_addr.s6_addr[12], sizeof(v4.v4.sin_addr));
    return v4;
}

/* Two listeners collide when they share a port and either address covers
 * the other (equal, or one of them is the family's wildcard, or [::] next
 * to any IPv4 address). */
static int listeners_clash(const addr_t *x, const addr_t *y)
{
    addr_t pa = listener_plain(x), pb = listener_plain(y);
    const addr_t *a = &pa, *b = &pb;

    if (a->sa.sa_family != b->sa.sa_family)
        return (is_v6_any(a) || is_v6_any(b)) &&
               (a->sa.sa_family == AF_INET ? a->v4.sin_port == b->v6.sin6_port
                                           : a->v6.sin6_port == b->v4.sin_port);
    if (a->sa.sa_family == AF_INET && a->v4.sin_port != b->v4.sin_port)
        return 0;
    if (a->sa.sa_family == AF_INET6 && a->v6.sin6_port != b->v6.sin6_port)
        return 0;
    return addr_equal(a, b) || addr_is_any(a) || addr_is_any(b);
}

/* Reports an accept address already taken by an earlier service. */
static int check_listener(parse_state_t *st, size_t i)
{
    const service_conf_t *svc = &st->cfg->services[i];
    char buf[ADDR_STRLEN];

    for (size_t j = 0; j < i; j++) {
        const service_conf_t *other = &st->cfg->services[j];

        if (other->is_accept && listeners_clash(&svc->addr, &other->addr))
            return parse_fail(st, key_line(st, 1 + i, SEC_SERVICE, "accept"),
                              "accept = %s: [%s] already accepts there (line %d)%s",
                              addr_format(&svc->addr, buf, sizeof(buf)), other->name,
                              key_line(st, 1 + j, SEC_SERVICE, "accept"),
                              is_v6_any(&svc->addr) != is_v6_any(&other->addr)
                                  ? "; [::] listens on every IPv4 address too"
                                  : "");
    }
    return 0;
}

/* The metrics listener must not take a service's accept address. */
static int check_metrics(parse_state_t *st)
{
    const config_t *cfg = st->cfg;
    char buf[ADDR_STRLEN];

    for (size_t i = 0; cfg->has_metrics && i < cfg->n_services; i++) {
        const service_conf_t *svc = &cfg->services[i];

        if (svc->is_accept && listeners_clash(&cfg->metrics, &svc->addr))
            return parse_fail(st, key_line(st, 0, SEC_GATEWAY, "metrics"),
                              "metrics = %s: [%s] already accepts there (line %d)",
                              addr_format(&cfg->metrics, buf, sizeof(buf)), svc->name,
                              key_line(st, 1 + i, SEC_SERVICE, "accept"));
    }
    return 0;
}

/* A service either accepts or connects, exactly one of the two. */
static int check_service(parse_state_t *st, size_t i)
{
    const service_conf_t *svc = &st->cfg->services[i];
    int accept = key_line(st, 1 + i, SEC_SERVICE, "accept");
    int connect = key_line(st, 1 + i, SEC_SERVICE, "connect");
    int peer = key_line(st, 1 + i, SEC_SERVICE, "peer");

    if (!accept && !connect)
        return parse_fail(st, svc->line,
                          "[%s] has neither accept nor connect; a service accepts TCP here "
                          "(accept = HOST:PORT) or connects flows to a back end "
                          "(connect = HOST:PORT)",
                          svc->name);
    if (accept && connect)
        return parse_fail(st, accept > connect ? accept : connect,
                          "%s: [%s] already has %s (line %d); a service either accepts or "
                          "connects, not both",
                          accept > connect ? "accept" : "connect", svc->name,
                          accept > connect ? "connect" : "accept",
                          accept > connect ? connect : accept);
    if (peer && connect)
        return parse_fail(st, peer, "peer: only an accepting service picks a peer; [%s] connects",
                          svc->name);
    return accept ? check_listener(st, i) : 0;
}

/* Sets the association's port on every link address. */
static void port_apply(config_t *cfg)
{
    addr_t *lists[] = {cfg->local, cfg->remote, &cfg->primary};
    const size_t counts[] = {cfg->n_local, cfg->n_remote, (size_t)cfg->has_primary};

    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            if (lists[l][i].sa.sa_family == AF_INET)
                lists[l][i].v4.sin_port = htons((uint16_t)cfg->port);
            else
                lists[l][i].v6.sin6_port = htons((uint16_t)cfg->port);
        }
    }
}

/* The rules that involve several keys, run once the whole file is read. */
static int config_check(parse_state_t *st)
{
    if (check_role(st) < 0 || check_primary(st) < 0 || check_families(st) < 0 ||
        check_timers(st) < 0 || check_psk(st) < 0)
        return -1;
    for (size_t i = 0; i < st->cfg->n_services; i++) {
        if (check_service(st, i) < 0)
            return -1;
    }
    if (check_metrics(st) < 0)
        return -1;
    port_apply(st->cfg);
    control_default(st->cfg);
    return 0;
}

/* Runs inih over the text. inih goes on after a syntax error, so its
 * first error line is compared with the first one reported here. */
static void config_parse(parse_state_t *st)
{
    int r = ini_parse_stream(line_read, st, pair_handle, st);

    if (ferror(st->fp))
        parse_fail(st, 0, "cannot read: %s", strerror(errno));
    else if (r > 0 && (!st->failed || r < st->err_line))
        parse_fail(st, r, "expected 'key = value', '[section]' or a '; comment'");
    else if (r < 0 && !st->failed)
        parse_fail(st, 0, "cannot parse: out of memory");
}

int config_load_stream(FILE *fp, const char *path, config_t *cfg, char *err, size_t errlen)
{
    parse_state_t *st = calloc(1, sizeof(*st));
    int failed;

    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", cfg->path);
        return -1;
    }
    st->cfg = cfg;
    st->fp = fp;
    st->err = err;
    st->errlen = errlen;
    defaults_apply(cfg);
    if (strlen(path) >= sizeof(cfg->path))
        parse_fail(st, 0, "path too long");
    else {
        config_parse(st);
        if (!st->failed)
            config_check(st);
    }
    failed = st->failed;
    free(st);
    if (failed)
        explicit_bzero(cfg->psk, sizeof(cfg->psk));
    return failed ? -1 : 0;
}

static FILE *config_open(const char *path, const char *shown, char *err, size_t errlen)
{
    struct stat sb;
    FILE *fp = NULL;
    int fd = regular_open(path, &sb);

    if (fd == NOT_REGULAR) {
        snprintf(err, errlen, "%s: not a regular file", shown);
        return NULL;
    }
    if (fd < 0 || !(fp = fdopen(fd, "r")))
        snprintf(err, errlen, "%s: cannot open: %s", shown, strerror(errno));
    if (!fp && fd >= 0)
        close(fd);
    return fp;
}

int config_load(const char *path, config_t *cfg, char *err, size_t errlen)
{
    FILE *fp;
    int r;

    /* Messages name cfg->path, never path: the caller may pass err as both. */
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    if (strlen(path) >= sizeof(cfg->path)) {
        snprintf(err, errlen, "%s: path too long", cfg->path);
        return -1;
    }
    if (!(fp = config_open(path, cfg->path, err, errlen)))
        return -1;
    r = config_load_stream(fp, path, cfg, err, errlen);
    fclose(fp);
    return r;
}

const service_conf_t *config_service(const config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_services; i++) {
        if (strcmp(cfg->services[i].name, name) == 0)
            return &cfg->services[i];
    }
    return NULL;
}

const addr_t *config_primary(const config_t *cfg)
{
    if (cfg->has_primary)
        return &cfg->primary;
    return cfg->n_remote ? &cfg->remote[0] : NULL;
}

const char *config_service_target(const service_conf_t *sc, char *buf, size_t len)
{
    if (sc->is_name)
        snprintf(buf, len, "%s:%u", sc->host, sc->port);
    else
        addr_format(&sc->addr, buf, len);
    return buf;
}

void config_free(config_t *cfg)
{
    if (!cfg)
        return;
    explicit_bzero(cfg->psk, sizeof(cfg->psk));
    free(cfg);
}
