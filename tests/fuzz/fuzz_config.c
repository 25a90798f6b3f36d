/* libFuzzer target for the configuration parser (src/config.c): the input
 * is a whole file's text, parsed by config_load_stream from memory as if it
 * were DIR/fuzz.ini.
 *
 * DIR is a temporary folder made at start with the key files a text can
 * name: site.key (valid, 48 bytes, mode 600), short.key (31 bytes),
 * loose.key (mode 644), a folder keydir and a FIFO fifo.key, so the key
 * checks are fuzzed too (a FIFO once hung the parser).
 *
 * Beyond not misbehaving, leaking or waiting, a failed parse must say why in the
 * FILE:LINE form (the line one of the text's), and leave no key bytes
 * behind; a successful one must hold everything config.h and the README
 * promise: values in their ranges, a role with the right address lists, no
 * wildcard or duplicate link address, the port on every link address, a
 * primary among the remotes, valid distinct service names, each service
 * either accepting or connecting (to an address, or to a host name that is
 * only looked up later), no two accepting services on one address. */
#include "config.h"
#include "wire.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[256];
static char ini[300];

static void fail_if(int cond)
{
    if (cond)
        abort();
}

static void key_write(const char *name, size_t len, mode_t mode)
{
    char path[512];
    uint8_t key[64];
    int fd;

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fail_if(fd < 0 || fchmod(fd, mode) != 0 || write(fd, key, len) != (ssize_t)len);
    close(fd);
}

static int entry_remove(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void dir_remove(void)
{
    nftw(dir, entry_remove, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];

    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/sctpgw-fuzz-XXXXXX", tmp && strlen(tmp) < 200 ? tmp : "/tmp");
    fail_if(!mkdtemp(dir));
    atexit(dir_remove);
    snprintf(ini, sizeof(ini), "%s/fuzz.ini", dir);
    key_write("site.key", 48, 0600);
    key_write("short.key", 31, 0600);
    key_write("loose.key", 48, 0644);
    snprintf(path, sizeof(path), "%s/keydir", dir);
    fail_if(mkdir(path, 0700) != 0);
    snprintf(path, sizeof(path), "%s/fifo.key", dir);
    fail_if(mkfifo(path, 0600) != 0);
    return 0;
}

/* "FILE:LINE: message" with LINE one of the text's lines, or "FILE: message". */
static void check_error(const char *err, const uint8_t *data, size_t size)
{
    size_t n = strlen(ini), lines = 1;
    const char *p = err + n;
    char *end;
    long line;

    fail_if(strncmp(err, ini, n) != 0 || (p[0] != ':'));
    if (p[1] == ' ') {
        fail_if(p[2] == '\0');
        return;
    }
    line = strtol(p + 1, &end, 10);
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    fail_if(end == p + 1 || line < 1 || (size_t)line > lines || end[0] != ':' || end[1] != ' ' ||
            end[2] == '\0');
}

static int is_any(const addr_t *a)
{
    if (a->sa.sa_family == AF_INET)
        return a->v4.sin_addr.s_addr == 0;
    return IN6_IS_ADDR_UNSPECIFIED(&a->v6.sin6_addr);
}

static unsigned port_of(const addr_t *a)
{
    return ntohs(a->sa.sa_family == AF_INET ? a->v4.sin_port : a->v6.sin6_port);
}

/* A list of link addresses: real, distinct, on the association's port. */
static void check_links(const config_t *c, const addr_t *list, size_t n)
{
    fail_if(n > CONFIG_MAX_ADDRS);
    for (size_t i = 0; i < n; i++) {
        fail_if(addr_len(&list[i]) == 0 || is_any(&list[i]) || port_of(&list[i]) != c->port);
        for (size_t j = 0; j < i; j++)
            fail_if(addr_equal(&list[i], &list[j]));
    }
}

static void check_services(const config_t *c)
{
    fail_if(c->n_services > CONFIG_MAX_SERVICES);
    for (size_t i = 0; i < c->n_services; i++) {
        const service_conf_t *s = &c->services[i];

        fail_if(!wire_name_valid(s->name) || s->line < 1);
        fail_if(s->peer[0] && (!wire_name_valid(s->peer) || !s->is_accept));
        fail_if(s->port < 1 || s->port > 65535 || !s->host[0]);
        /* A back end by name: no address until a flow looks it up. */
        if (s->is_name) {
            fail_if(s->is_accept || addr_len(&s->addr) != 0 || strlen(s->host) > 253);
            fail_if(config_service(c, s->name) != s);
            continue;
        }
        fail_if(addr_len(&s->addr) == 0 || port_of(&s->addr) != s->port);
        fail_if(!s->is_accept && is_any(&s->addr));
        fail_if(config_service(c, s->name) != s);
        for (size_t j = 0; j < i; j++)
            fail_if(s->is_accept && c->services[j].is_accept &&
                    addr_equal(&s->addr, &c->services[j].addr));
    }
}

static void check_config(const config_t *c)
{
    int primary_found = 0;

    fail_if(strcmp(c->path, ini) != 0 || !wire_name_valid(c->name));
    fail_if((unsigned)c->log_level > LOG_DEBUG);
    fail_if(c->psk_len < CONFIG_PSK_MIN || c->psk_len > CONFIG_PSK_MAX);
    fail_if(c->drain_ms > 3600000);
    fail_if(c->role != ROLE_CONNECT && c->role != ROLE_LISTEN);
    fail_if(c->role == ROLE_CONNECT ? c->n_remote == 0 : c->n_remote != 0);
    fail_if(c->port < 1 || c->port > 65535);
    fail_if(c->failover_ms < 100 || c->failover_ms > 60000 || c->outage_ms < c->failover_ms ||
            c->outage_ms > 3600000);
    fail_if(c->max_flows < 1 || c->max_flows > 32767);
    fail_if(c->flow_window < 4096 || c->flow_window > 16777216);
    fail_if(c->sock_buffer < 65536 || c->sock_buffer > 67108864);
    check_links(c, c->local, c->n_local);
    check_links(c, c->remote, c->n_remote);
    for (size_t i = 0; i < c->n_remote; i++)
        primary_found |= addr_equal(&c->primary, &c->remote[i]);
    fail_if(c->has_primary && !primary_found);
    check_services(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static config_t cfg;
    static uint8_t zero[CONFIG_PSK_MAX];
    struct timespec t0, t1;
    char err[1024];
    uint8_t *text = malloc(size ? size : 1);
    FILE *fp;
    int r;

    /* The parser opens psk_file as named. Without a '/', a name can only
     * reach the fixture folder's files (or . and ..), never a device whose
     * mere opening has effects (/dev/watchdog): the fuzzer runs as root. */
    fail_if(!text);
    for (size_t i = 0; i < size; i++)
        text[i] = data[i] == '/' ? '_' : data[i];
    fp = fmemopen(size ? (void *)text : (void *)"", size, "r");
    fail_if(!fp);
    err[0] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = config_load_stream(fp, ini, &cfg, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fclose(fp);
    free(text);
    fail_if(r != 0 && r != -1);
    /* Parsing never waits for anything. A FIFO as psk_file once blocked in
     * open(); libFuzzer's timeout timer (SIGALRM) interrupts such a wait,
     * so it would pass for a slow input unless its length is checked. */
    fail_if(t1.tv_sec - t0.tv_sec > 2);
    if (r == 0) {
        check_config(&cfg);
    } else {
        check_error(err, data, size);
        fail_if(memcmp(cfg.psk, zero, sizeof(zero)) != 0);
    }
    return 0;
}
