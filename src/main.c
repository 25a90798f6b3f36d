/* sctpgw: carries TCP connections as streams of one multihomed SCTP
 * association between two gateways. This file is the command line only. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "addr.h"
#include "config.h"
#include "control.h"
#include "gateway.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sctpgw -c FILE         run a gateway in the foreground, logging to stderr\n"
            "       sctpgw --check -c FILE validate a configuration and exit\n"
            "       sctpgw status [-c FILE | -s SOCKET] [--json] [--flows]\n"
            "                              show a running gateway's associations, paths,\n"
            "                              services (and flows)\n"
            "       sctpgw primary ADDR [-c FILE | -s SOCKET]\n"
            "                              make the peer address ADDR the preferred path\n"
            "       sctpgw reload [-c FILE | -s SOCKET]\n"
            "                              what SIGHUP does, with the outcome printed\n"
            "       sctpgw --version | --help\n"
            "\n"
            "exit status: 0 clean stop, 1 runtime failure, 2 configuration error;\n"
            "status, primary and reload: 0 done, 1 refused by the gateway, 2 usage or\n"
            "configuration error, 3 gateway unreachable or its answer cut short,\n"
            "4 the answer could not be written out (see sctpgw(8))\n"
            "SIGTERM or SIGINT: stop accepting, let open flows finish for drain_ms,\n"
            "then shut the association down; a second signal stops at once.\n"
            "SIGHUP: read FILE again and apply what can change without a restart\n"
            "(an invalid file changes nothing; see sctpgw(8)).\n");
}

/* Runs the gateway, which owns cfg from here on. */
static int run(config_t *cfg)
{
    uv_loop_t loop;
    gateway_t gw;
    int code, left;

    signal(SIGPIPE, SIG_IGN);
    /* libuv runs lookups on at most half its pool's threads (4 by default),
     * and a name whose DNS hangs holds one until the resolver gives up:
     * room for eight such names before the others wait (dial.h). */
    setenv("UV_THREADPOOL_SIZE", "16", 0);
    if (uv_loop_init(&loop) < 0) {
        fprintf(stderr, "sctpgw: cannot start the event loop\n");
        config_free(cfg);
        return EXIT_RUNTIME;
    }
    if (gateway_start(&gw, &loop, cfg) < 0) {
        gateway_stop(&gw);
        gw.exit_code = EXIT_RUNTIME;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    code = gw.exit_code;
    left = gw.lookup_left;
    gateway_free(&gw);
    /* libuv joins its pool's threads at exit, and would wait for the hung
     * lookup after all. */
    if (left) {
        fflush(NULL);
        _exit(code);
    }
    uv_loop_close(&loop);
    return code;
}

/* The control socket a client command talks to: -s, else the one the
 * config names, else the only one in the default folder. */
static int ctl_socket(const char *sock, const char *file, char *out, size_t len)
{
    char err[1024];
    config_t *cfg;

    if (sock) {
        /* Cut short, it would name another socket (another gateway's). */
        if ((size_t)snprintf(out, len, "%s", sock) < len)
            return 0;
        fprintf(stderr, "sctpgw: -s %s: path too long for a socket (at most %zu bytes)\n", sock,
                len - 1);
        return -1;
    }
    if (!file)
        return ctl_find_socket(CONFIG_CONTROL_DIR, out, len);
    if (!(cfg = calloc(1, sizeof(*cfg))) || config_load(file, cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", cfg ? err : "sctpgw: out of memory");
        free(cfg);
        return -1;
    }
    explicit_bzero(cfg->psk, sizeof(cfg->psk));
    if (!cfg->control[0])
        fprintf(stderr, "sctpgw: %s: control = off: this gateway has no control socket\n", file);
    snprintf(out, len, "%s", cfg->control);
    free(cfg);
    return out[0] ? 0 : -1;
}

/* sctpgw status ..., sctpgw primary ADDR ... and sctpgw reload ...: argv[0]
 * is the command. */
static int ctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},         {"flows", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *sock = NULL, *cmd = argv[0];
    int status = strcmp(cmd, "status") == 0, json = 0, flows = 0, c;
    int args = strcmp(cmd, "primary") == 0; /* operands after the options */
    char path[CONFIG_CONTROL_MAX], req[CONTROL_REQ_MAX], prog[32];
    addr_t host;

    /* getopt names argv[0] in its messages: "sctpgw status: ...". */
    snprintf(prog, sizeof(prog), "sctpgw %s", cmd);
    argv[0] = prog;
    while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        if (c == 'c' || c == 's')
            *(c == 'c' ? &file : &sock) = optarg;
        else if (status && (c == 'j' || c == 'f'))
            *(c == 'j' ? &json : &flows) = 1;
        else if (c == 'h')
            return usage(stdout), CTL_EXIT_OK;
        else
            return usage(stderr), CTL_EXIT_USAGE;
    }
    if ((file && sock) || optind != argc - args)
        return usage(stderr), CTL_EXIT_USAGE;
    if (args && addr_parse_host(argv[optind], 0, &host) < 0) {
        fprintf(stderr, "sctpgw primary: '%s' is not an IP address\n", argv[optind]);
        return CTL_EXIT_USAGE;
    }
    if (ctl_socket(sock, file, path, sizeof(path)) < 0)
        return CTL_EXIT_USAGE;
    if (status)
        snprintf(req, sizeof(req), "status%s%s", json ? " json" : "", flows ? " flows" : "");
    else if (args)
        snprintf(req, sizeof(req), "primary %.200s", argv[optind]);
    else
        snprintf(req, sizeof(req), "reload");
    return ctl_request(path, req);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int check = 0, c;
    char err[1024];
    config_t *cfg;

    if (argc > 1 && (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "primary") == 0 ||
                     strcmp(argv[1], "reload") == 0))
        return ctl_main(argc - 1, argv + 1);
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'V':
            printf("sctpgw %s\n", SCTPGW_VERSION);
            return EXIT_OK;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return EXIT_CONFIG;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        fprintf(stderr, "sctpgw: out of memory\n");
        return EXIT_RUNTIME;
    }
    /* A reload asked before the loop's handler is in place would kill the
     * gateway (SIGHUP's default), and a unit restarting on failure takes
     * that for a clean end: the file about to be read is the new one. */
    if (!check)
        signal(SIGHUP, SIG_IGN);
    if (config_load(path, cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        config_free(cfg);
        return EXIT_CONFIG;
    }
    if (!check)
        return run(cfg);
    printf("%s: ok (%s role, %zu services)\n", path,
           cfg->role == ROLE_CONNECT ? "connect" : "listen", cfg->n_services);
    config_free(cfg);
    return EXIT_OK;
}
