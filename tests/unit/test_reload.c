/* Unit tests for src/reload.c: two configurations parsed from text (with
 * fmemopen, key files in a temporary folder), diffed, and the plan checked:
 * which keys apply live, which need a restart, which listeners stop, start
 * or are kept, and what reload_keep_running leaves in the new one. */
#include "reload.h"
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A listening gateway with two accept services and one connect service;
 * CONNECT is the dialling one. Each test changes a few lines of a copy. */
#define LISTEN                                                                                     \
    "[gateway]\nname = b\npsk_file = a.key\n"                                                      \
    "[association]\nrole = listen\n"                                                               \
    "[web]\naccept = 127.0.0.1:7001\n"                                                             \
    "[ssh]\naccept = 127.0.0.1:7002\n"                                                             \
    "[db]\nconnect = 127.0.0.1:9001\n"

#define CONNECT                                                                                    \
    "[gateway]\nname = a\npsk_file = a.key\n"                                                      \
    "[association]\nrole = connect\nremote = 10.1.0.2, 10.2.0.2\nprimary = 10.1.0.2\n"             \
    "[web]\naccept = 127.0.0.1:7001\n"

static char dir[64];
static config_t old_cfg, new_cfg;

static void key_write(const char *name, unsigned char seed)
{
    unsigned char key[48];
    char path[128];
    int fd;

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 7 + seed);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, key, sizeof(key)) == (ssize_t)sizeof(key));
    if (fd >= 0)
        close(fd);
}

/* Parses text as if it were dir/site.ini. */
static int parse(const char *text, config_t *cfg)
{
    char path[128], err[1024];
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    int r;

    snprintf(path, sizeof(path), "%s/site.ini", dir);
    CHECK(fp != NULL);
    if (!fp)
        return -1;
    r = config_load_stream(fp, path, cfg, err, sizeof(err));
    fclose(fp);
    if (r < 0)
        fprintf(stderr, "unexpected error: %s\n", err);
    return r;
}

/* Diffs two texts into plan; 0 when both parsed. */
static int diff(const char *a, const char *b, reload_plan_t *plan)
{
    if (parse(a, &old_cfg) < 0 || parse(b, &new_cfg) < 0)
        return -1;
    reload_diff(&old_cfg, &new_cfg, plan);
    return 0;
}

static void test_same(void)
{
    reload_plan_t p;

    CHECK(diff(LISTEN, LISTEN, &p) == 0);
    CHECK(p.live == 0);
    CHECK_STR(p.restart, "");
    CHECK(p.n_stop == 0 && p.n_start == 0 && p.n_keep == 2);
    CHECK(p.n_added == 0 && p.n_removed == 0 && p.n_changed == 0);
    CHECK(p.keep[0].old_i == 0 && p.keep[0].new_i == 0);
    CHECK(p.keep[1].old_i == 1 && p.keep[1].new_i == 1);
}

/* The live keys, each on its own, then all at once. */
static void test_live(void)
{
    static const struct {
        const char *line;
        unsigned bit;
    } cases[] = {
        {"[gateway]\nlog_level = debug\n", RELOAD_LOG_LEVEL},
        {"[gateway]\ndrain_ms = 500\n", RELOAD_DRAIN},
        {"[gateway]\nstall_ms = 5000\n", RELOAD_STALL},
        {"[association]\nfailover_ms = 300\n", RELOAD_TIMERS},
        {"[association]\noutage_ms = 5000\n", RELOAD_TIMERS},
        {"[association]\nmax_flows = 10\n", RELOAD_MAX_FLOWS},
        {"[association]\nflow_window = 65536\n", RELOAD_WINDOW},
    };
    char text[1024];
    reload_plan_t p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* The key goes right after its section header. */
        const char *sec = strchr(cases[i].line, '\n') + 1;
        const char *at =
            strstr(LISTEN, cases[i].line[1] == 'g' ? "[gateway]\n" : "[association]\n");
        size_t head = (size_t)(strchr(at, '\n') + 1 - LISTEN);

        snprintf(text, sizeof(text), "%.*s%s%s", (int)head, LISTEN, sec, &LISTEN[head]);
        CHECK(diff(LISTEN, text, &p) == 0);
        if (p.live != cases[i].bit)
            fprintf(stderr, "case %zu: live %#x, want %#x\n", i, p.live, cases[i].bit);
        CHECK(p.live == cases[i].bit);
        CHECK_STR(p.restart, "");
    }
    CHECK(diff(CONNECT,
               "[gateway]\nname = a\npsk_file = a.key\n"
               "[association]\nrole = connect\nremote = 10.1.0.2, 10.2.0.2\nprimary = 10.2.0.2\n"
               "rekey_s = 60\n[web]\naccept = 127.0.0.1:7001\n",
               &p) == 0);
    CHECK(p.live == (RELOAD_PRIMARY | RELOAD_REKEY));
    CHECK_STR(p.restart, "");
}

/* Keys that need a new association: listed in order, never live, and
 * reload_keep_running puts the running values back. */
static void test_restart(void)
{
    reload_plan_t p;

    CHECK(diff(CONNECT,
               "[gateway]\nname = a2\npsk_file = b.key\n"
               "[association]\nrole = connect\nremote = 10.1.0.2, 10.3.0.2\nport = 9000\n"
               "primary = 10.3.0.2\nlocal = 10.1.0.1\nencryption = off\nsock_buffer = 65536\n"
               "failover_ms = 500\nudp_port = 9899\n"
               "[web]\naccept = 127.0.0.1:7001\n",
               &p) == 0);
    CHECK_STR(p.restart,
              "name, local, remote, port, udp_port, psk_file, encryption, sock_buffer, primary");
    CHECK(p.live == RELOAD_TIMERS);
    reload_keep_running(&new_cfg, &old_cfg, &p);
    /* The default control path, named after the gateway, stays with the name. */
    CHECK_STR(new_cfg.control, old_cfg.control);
    CHECK_STR(new_cfg.name, "a");
    CHECK(new_cfg.n_local == 0);
    CHECK(new_cfg.n_remote == 2 && addr_equal(&new_cfg.remote[1], &old_cfg.remote[1]));
    CHECK(new_cfg.port == 9899 && new_cfg.udp_port == 0);
    CHECK(new_cfg.psk_len == old_cfg.psk_len && memcmp(new_cfg.psk, old_cfg.psk, 48) == 0);
    CHECK(new_cfg.encryption == 1 && new_cfg.sock_buffer == old_cfg.sock_buffer);
    CHECK(addr_equal(&new_cfg.primary, &old_cfg.primary));
    CHECK(new_cfg.failover_ms == 500); /* the live key stays new */
    /* What is left to differ from what runs is the live key alone. */
    reload_diff(&old_cfg, &new_cfg, &p);
    CHECK_STR(p.restart, "");
    CHECK(p.live == RELOAD_TIMERS);

    /* The port alone (the link addresses carry it, but they did not
     * change): kept, in the addresses too. */
    CHECK(diff(CONNECT,
               "[gateway]\nname = a\npsk_file = a.key\n"
               "[association]\nrole = connect\nremote = 10.1.0.2, 10.2.0.2\nprimary = 10.1.0.2\n"
               "port = 9900\n[web]\naccept = 127.0.0.1:7001\n",
               &p) == 0);
    CHECK_STR(p.restart, "port");
    CHECK(p.live == 0);
    reload_keep_running(&new_cfg, &old_cfg, &p);
    CHECK(new_cfg.port == 9899 && addr_equal(&new_cfg.remote[0], &old_cfg.remote[0]));
    CHECK(addr_equal(&new_cfg.remote[1], &old_cfg.remote[1]));
    CHECK(addr_equal(&new_cfg.primary, &old_cfg.primary));

    /* The role: listen to connect brings remote with it. */
    CHECK(diff(LISTEN,
               "[gateway]\nname = b\npsk_file = a.key\n"
               "[association]\nrole = connect\nremote = 10.1.0.2\n"
               "[web]\naccept = 127.0.0.1:7001\n[ssh]\naccept = 127.0.0.1:7002\n"
               "[db]\nconnect = 127.0.0.1:9001\n",
               &p) == 0);
    CHECK_STR(p.restart, "role, remote");
    reload_keep_running(&new_cfg, &old_cfg, &p);
    CHECK(new_cfg.role == ROLE_LISTEN && new_cfg.n_remote == 0);

    /* Connect to listen, whose file cannot hold rekey_s: the running
     * connect role keeps its own (it took the listen file's default). */
    CHECK(diff("[gateway]\nname = a\npsk_file = a.key\n"
               "[association]\nrole = connect\nremote = 10.1.0.2\nrekey_s = 60\n"
               "[web]\naccept = 127.0.0.1:7001\n",
               "[gateway]\nname = a\npsk_file = a.key\n"
               "[association]\nrole = listen\n[web]\naccept = 127.0.0.1:7001\n",
               &p) == 0);
    CHECK_STR(p.restart, "role, remote");
    CHECK(!(p.live & RELOAD_REKEY));
    reload_keep_running(&new_cfg, &old_cfg, &p);
    CHECK(new_cfg.role == ROLE_CONNECT && new_cfg.rekey_s == 60);

    /* The same file name, another key in it. */
    key_write("a.key", 1);
    CHECK(parse(LISTEN, &old_cfg) == 0);
    key_write("a.key", 2);
    CHECK(parse(LISTEN, &new_cfg) == 0);
    reload_diff(&old_cfg, &new_cfg, &p);
    CHECK_STR(p.restart, "psk_file");
    key_write("a.key", 1);
}

/* Services: added, removed, moved, turned from accept to connect, a peer
 * changed: which listeners stop, start and stay. */
static void test_services(void)
{
    reload_plan_t p;

    CHECK(diff(LISTEN,
               "[gateway]\nname = b\npsk_file = a.key\n"
               "[association]\nrole = listen\nfailover_ms = 1000\n"
               "[new]\naccept = 127.0.0.1:7003\n"           /* added */
               "[ssh]\naccept = 127.0.0.1:7002\npeer = a\n" /* peer changed */
               "[web]\naccept = 127.0.0.1:7011\n"           /* moved */
               "[cache]\nconnect = 127.0.0.1:9002\n",       /* added; [db] removed */
               &p) == 0);
    CHECK(p.live == RELOAD_SERVICES);
    CHECK(p.n_added == 2 && p.n_removed == 1 && p.n_changed == 2);
    CHECK(p.n_stop == 1 && p.stop[0] == 0);                      /* web's old listener */
    CHECK(p.n_start == 2 && p.start[0] == 0 && p.start[1] == 2); /* new, web */
    CHECK(p.n_keep == 1 && p.keep[0].old_i == 1 && p.keep[0].new_i == 1);

    /* ssh turns into a connect service, db into an accept one. */
    CHECK(diff(LISTEN,
               "[gateway]\nname = b\npsk_file = a.key\n"
               "[association]\nrole = listen\nfailover_ms = 1000\n"
               "[web]\naccept = 127.0.0.1:7001\n"
               "[ssh]\nconnect = 127.0.0.1:22\n"
               "[db]\naccept = 127.0.0.1:7009\n",
               &p) == 0);
    CHECK(p.n_added == 0 && p.n_removed == 0 && p.n_changed == 2);
    CHECK(p.n_stop == 1 && p.stop[0] == 1);
    CHECK(p.n_start == 1 && p.start[0] == 2);
    CHECK(p.n_keep == 1 && p.keep[0].old_i == 0 && p.keep[0].new_i == 0);

    /* A connect service's back end moves: nothing to start or stop. */
    CHECK(diff(LISTEN,
               "[gateway]\nname = b\npsk_file = a.key\n"
               "[association]\nrole = listen\nfailover_ms = 1000\n"
               "[web]\naccept = 127.0.0.1:7001\n[ssh]\naccept = 127.0.0.1:7002\n"
               "[db]\nconnect = 127.0.0.1:9009\n",
               &p) == 0);
    CHECK(p.live == RELOAD_SERVICES && p.n_changed == 1);
    CHECK(p.n_stop == 0 && p.n_start == 0 && p.n_keep == 2);

    /* ...from one host name to another, or only its port: changed too. */
    {
        const char *named = "[gateway]\nname = b\npsk_file = a.key\n"
                            "[association]\nrole = listen\n"
                            "[web]\naccept = 127.0.0.1:7001\n[ssh]\naccept = 127.0.0.1:7002\n"
                            "[db]\nconnect = db1.example.internal:9001\n";

        CHECK(diff(LISTEN, named, &p) == 0);
        CHECK(p.live == RELOAD_SERVICES && p.n_changed == 1);
        CHECK(parse(named, &old_cfg) == 0);
        CHECK(parse("[gateway]\nname = b\npsk_file = a.key\n"
                    "[association]\nrole = listen\n"
                    "[web]\naccept = 127.0.0.1:7001\n[ssh]\naccept = 127.0.0.1:7002\n"
                    "[db]\nconnect = db2.example.internal:9001\n",
                    &new_cfg) == 0);
        reload_diff(&old_cfg, &new_cfg, &p);
        CHECK(p.live == RELOAD_SERVICES && p.n_changed == 1);
        CHECK(parse(named, &new_cfg) == 0);
        reload_diff(&old_cfg, &new_cfg, &p);
        CHECK(p.live == 0 && p.n_changed == 0);
    }

    /* web renamed www on the same address, ssh and a new one swap
     * addresses: the listeners are handed over, none closes. */
    CHECK(diff(LISTEN,
               "[gateway]\nname = b\npsk_file = a.key\n"
               "[association]\nrole = listen\n"
               "[www]\naccept = 127.0.0.1:7001\n"
               "[ssh]\naccept = 127.0.0.1:7004\n"
               "[x]\naccept = 127.0.0.1:7002\n"
               "[db]\nconnect = 127.0.0.1:9001\n",
               &p) == 0);
    CHECK(p.n_added == 2 && p.n_removed == 1 && p.n_changed == 1);
    CHECK(p.n_stop == 0);
    CHECK(p.n_start == 1 && p.start[0] == 1); /* ssh on 7004 */
    CHECK(p.n_keep == 2);
    CHECK(p.keep[0].old_i == 0 && p.keep[0].new_i == 0); /* web's listener, now www's */
    CHECK(p.keep[1].old_i == 1 && p.keep[1].new_i == 2); /* ssh's listener, now x's */

    /* Every service gone. */
    CHECK(diff(LISTEN, "[gateway]\nname = b\npsk_file = a.key\n[association]\nrole = listen\n",
               &p) == 0);
    CHECK(p.n_removed == 3 && p.n_stop == 2 && p.n_start == 0 && p.n_keep == 0);
}

static int rm_dir(void)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/a.key", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/b.key", dir);
    unlink(path);
    return rmdir(dir);
}

/* The gateway's own listeners move live: metrics on, moved, off; control
 * to another path or off; the same values are no change. */
static void test_own_listeners(void)
{
    char text[1024], line[128], want[128];
    reload_plan_t p;
    static const struct {
        const char *old_line, *new_line;
        unsigned live;
    } cases[] = {
        {"", "metrics = 127.0.0.1:9464\n", RELOAD_METRICS},
        {"metrics = 127.0.0.1:9464\n", "metrics = 127.0.0.1:9465\n", RELOAD_METRICS},
        {"metrics = 127.0.0.1:9464\n", "", RELOAD_METRICS},
        {"metrics = 127.0.0.1:9464\n", "metrics = 127.0.0.1:9464\n", 0},
        {"", "control = /run/x/b.sock\n", RELOAD_CONTROL},
        {"control = /run/x/b.sock\n", "control = off\n", RELOAD_CONTROL},
        {"control = /run/x/b.sock\n", "control = /run/x/b.sock\n", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text),
                 "[gateway]\nname = b\npsk_file = a.key\n%s[association]\nrole = listen\n",
                 cases[i].old_line);
        CHECK(parse(text, &old_cfg) == 0);
        snprintf(text, sizeof(text),
                 "[gateway]\nname = b\npsk_file = a.key\n%s[association]\nrole = listen\n",
                 cases[i].new_line);
        CHECK(parse(text, &new_cfg) == 0);
        reload_diff(&old_cfg, &new_cfg, &p);
        /* As text, so a failure says which case and what came. */
        snprintf(line, sizeof(line), "case %zu: live %#x", i, p.live);
        snprintf(want, sizeof(want), "case %zu: live %#x", i, cases[i].live);
        CHECK_STR(line, want);
        CHECK_STR(p.restart, "");
    }
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_reload.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    key_write("a.key", 1);
    key_write("b.key", 9);
    test_same();
    test_live();
    test_restart();
    test_services();
    test_own_listeners();
    rm_dir();
    return check_status("test_reload");
}
