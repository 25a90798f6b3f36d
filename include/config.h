/* Configuration: an ini file parsed from a table of keys into a plain
 * struct, validated as a whole, then handed to the gateway. */
#ifndef SCTPGW_CONFIG_H
#define SCTPGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "addr.h"
#include "log.h"

#define CONFIG_MAX_ADDRS    8             /* link addresses per side */
#define CONFIG_MAX_SERVICES 256           /* service sections */
#define CONFIG_NAME_MAX     64            /* gateway and service names, bytes incl. NUL */
#define CONFIG_PSK_MIN      32            /* shortest accepted key file */
#define CONFIG_PSK_MAX      4096          /* longest accepted key file */
#define CONFIG_CONTROL_MAX  108           /* a unix socket's path, incl. NUL (sun_path) */
#define CONFIG_CONTROL_DIR  "/run/sctpgw" /* the default control socket's folder */

typedef enum { ROLE_CONNECT, ROLE_LISTEN } assoc_role_t;

/* One service section: either accepts TCP locally (carried to the peer's
 * service of the same name) or connects every flow it receives to a back end. */
typedef struct service_conf {
    char name[CONFIG_NAME_MAX]; /* section name; what OPEN carries */
    int is_accept;              /* 1: accept = ..., 0: connect = ... */
    int is_name;                /* connect only: host is a name, resolved per flow */
    addr_t addr;                /* the address; unset (AF_UNSPEC) when is_name */
    char host[ADDR_NAME_LEN];   /* the host as written, without brackets */
    unsigned port;              /* the port as written */
    char peer[CONFIG_NAME_MAX]; /* accept side: peer gateway name, "" = any */
    int line;                   /* line of the section header, for messages */
} service_conf_t;

typedef struct config {
    char path[4096]; /* the file parsed, for messages */

    /* [gateway] */
    char name[CONFIG_NAME_MAX];       /* name = ...; default "sctpgw" */
    log_level_t log_level;            /* log_level = error|warn|info|debug; default info */
    char psk_path[4096];              /* psk_file, resolved against the config's folder */
    uint8_t psk[CONFIG_PSK_MAX];      /* the key file's bytes */
    size_t psk_len;                   /* >= CONFIG_PSK_MIN */
    unsigned drain_ms;                /* drain_ms: flows' grace on SIGTERM; default 10000 */
    unsigned stall_ms;                /* stall_ms: a TCP end taking nothing this long; 0 never */
    char control[CONFIG_CONTROL_MAX]; /* control socket; "" = off; default /run/sctpgw/NAME.sock */
    int control_given;                /* control was set in the file (its failure is fatal) */
    addr_t metrics;                   /* metrics = HOST:PORT: where GET /metrics is served */
    int has_metrics;                  /* metrics is set; default off */

    /* [association] */
    assoc_role_t role;               /* role = connect|listen (required) */
    addr_t local[CONFIG_MAX_ADDRS];  /* local = a, b; port set to `port` for listen */
    size_t n_local;                  /* 0 = all addresses (wildcard) */
    addr_t remote[CONFIG_MAX_ADDRS]; /* remote = a, b; required for connect */
    size_t n_remote;
    unsigned port;     /* port = 1..65535; default 9899 */
    unsigned udp_port; /* udp_port: SCTP inside UDP to and from it (RFC 6951); 0 = native */
    addr_t primary;    /* primary = addr (one of remote) */
    int has_primary;
    unsigned failover_ms; /* default 1000; 100..60000 */
    unsigned outage_ms;   /* default 30000; >= failover_ms, <= 3600000 */
    unsigned max_flows;   /* default 4096; 1..32767 */
    unsigned flow_window; /* default 1048576; 4096..16777216 */
    unsigned sock_buffer; /* SO_SNDBUF/SO_RCVBUF; default 4194304 */
    int encryption;       /* encryption = on|off: sealed messages and SCTP-AUTH; default on */
    unsigned rekey_s;     /* rekey_s: fresh keys this often; default 3600; 1..86400 */

    service_conf_t services[CONFIG_MAX_SERVICES];
    size_t n_services;
} config_t;

/* Parses and validates `path` into `cfg`. On error returns -1 and writes
 * "FILE:LINE: message" (or "FILE: message" when no line applies) into err. */
int config_load(const char *path, config_t *cfg, char *err, size_t errlen);

/* The same for a text read from fp (an open file, or one in memory from
 * fmemopen): path names it in messages and its folder is where a relative
 * psk_file is found. The caller closes fp. */
int config_load_stream(FILE *fp, const char *path, config_t *cfg, char *err, size_t errlen);

/* Wipes the key and frees a config_t that malloc gave (NULL: nothing). */
void config_free(config_t *cfg);

/* Finds a service by name, or NULL. */
const service_conf_t *config_service(const config_t *cfg, const char *name);

/* The peer address the dialling end prefers: primary, or else the first of
 * remote (where a dial starts); NULL for a listener. */
const addr_t *config_primary(const config_t *cfg);

/* Writes where a service listens or connects, as logs and status show it:
 * its address, or a back end's name and port. Returns buf. */
const char *config_service_target(const service_conf_t *sc, char *buf, size_t len);

#endif
