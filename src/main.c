/* sctpgw: carries TCP connections as streams of one multihomed SCTP
 * association between two gateways. This file is the command line only. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "config.h"
#include "gateway.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sctpgw -c FILE         run a gateway in the foreground, logging to stderr\n"
            "       sctpgw --check -c FILE validate a configuration and exit\n"
            "       sctpgw --version | --help\n"
            "\n"
            "exit status: 0 clean stop, 1 runtime failure, 2 configuration error\n"
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
    int code;

    signal(SIGPIPE, SIG_IGN);
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
    gateway_free(&gw);
    uv_loop_close(&loop);
    return code;
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
