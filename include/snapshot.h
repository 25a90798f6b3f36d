/* A gateway's live state at one instant, as plain data: what `sctpgw status`
 * prints and /metrics serves. The event files fill it on request
 * (snapshot_take); render.c turns it into text, JSON or the Prometheus
 * exposition format without touching a socket, so every output is
 * unit-tested from a hand-built snapshot. Times are milliseconds (durations)
 * or Unix milliseconds (instants); 0 means never or unknown. */
#ifndef SCTPGW_SNAPSHOT_H
#define SCTPGW_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include "addr.h"

#define SNAP_NAME_MAX  64 /* gateway, service and peer names, incl. NUL */
#define SNAP_PATHS_MAX 16 /* paths per association */
#define SNAP_ADDRS_MAX 16 /* local or peer addresses per association */

/* A path is one peer address of an association; the kernel picks the local
 * address by route. States as SCTP_GET_PEER_ADDR_INFO reports them. */
typedef enum {
    SNAP_PATH_ACTIVE,
    SNAP_PATH_PF, /* potentially failed: errors seen, still tried */
    SNAP_PATH_INACTIVE,
    SNAP_PATH_UNCONFIRMED,
} snap_path_state_t;

typedef struct snap_path {
    char peer[ADDR_STRLEN]; /* peer address, no port */
    snap_path_state_t state;
    int primary;         /* the preferred path */
    uint32_t srtt_ms;    /* smoothed round trip, milliseconds (not jiffies) */
    uint32_t rto_ms;     /* retransmission timeout now */
    uint32_t cwnd;       /* congestion window, bytes */
    uint32_t mtu;        /* path MTU, bytes */
    uint32_t udp_port;   /* the peer's UDP port it travels inside (RFC 6951); 0: native */
    uint64_t changed_ms; /* Unix ms of its last state change (0: none since up) */
    uint64_t changes;    /* state changes since the association came up */
} snap_path_t;

typedef enum {
    SNAP_ASSOC_CONNECTING,
    SNAP_ASSOC_HANDSHAKE,
    SNAP_ASSOC_READY,
    SNAP_ASSOC_SHUTDOWN,
} snap_assoc_state_t;

typedef struct snap_assoc {
    uint64_t id;                   /* as in the logs */
    char peer_name[SNAP_NAME_MAX]; /* from the handshake; "" before it */
    snap_assoc_state_t state;
    uint64_t since_ms; /* Unix ms it entered that state */
    unsigned streams_in, streams_out;
    int idata;                               /* I-DATA (RFC 8260) in use */
    int encrypted;                           /* messages sealed and SCTP-AUTH on */
    char local[SNAP_ADDRS_MAX][ADDR_STRLEN]; /* as the kernel sees them (sctp_getladdrs) */
    size_t n_local;
    char peer[SNAP_ADDRS_MAX][ADDR_STRLEN]; /* sctp_getpaddrs */
    size_t n_peer;
    uint64_t flows_open, flows_opened;
    uint64_t bytes_out, bytes_in; /* flows' payload bytes, each way */
    /* SCTP_GET_ASSOC_STATS, accumulated since the association came up (the
     * kernel resets some fields on every read: assoc.c reads it in one
     * place and adds). */
    uint64_t rtx_chunks; /* retransmitted DATA chunks */
    uint64_t out_packets, in_packets;
    uint64_t out_ctrl_chunks, in_ctrl_chunks;
    uint64_t out_data_chunks, in_data_chunks;
    uint64_t max_rto_ms; /* largest RTO seen since the association came up */
    snap_path_t paths[SNAP_PATHS_MAX];
    size_t n_paths;
} snap_assoc_t;

typedef struct snap_service {
    char name[SNAP_NAME_MAX];
    int is_accept;                /* 1: accepts clients here; 0: connects to a back end */
    char addr[ADDR_STRLEN + 192]; /* accept or connect address as configured */
    uint64_t flows_open, flows_opened, flows_refused;
    uint64_t bytes_out, bytes_in; /* toward the peer, from the peer */
    uint64_t accept_failures;     /* its listener's rests: accept() failed */
} snap_service_t;

typedef enum {
    SNAP_FLOW_OPENING,     /* waiting for RESULT or the back end's connect */
    SNAP_FLOW_OPEN,        /* both directions open */
    SNAP_FLOW_HALF_UP,     /* client side finished sending; data still comes back */
    SNAP_FLOW_HALF_DOWN,   /* the peer finished sending; client still sends */
    SNAP_FLOW_CREDIT_WAIT, /* open, but waiting for the peer's credit */
    SNAP_FLOW_CLOSING,     /* torn down, stream not yet free */
    SNAP_FLOW_FINISHING,   /* association gone; the peer's last bytes and FIN still going out */
} snap_flow_state_t;

typedef struct snap_flow {
    uint64_t id;
    char service[SNAP_NAME_MAX];
    uint64_t assoc_id;
    uint16_t sid;
    char tcp_peer[ADDR_STRLEN + 192]; /* client (opener) or back end address, or name:port */
    uint64_t age_ms;
    uint64_t bytes_up, bytes_down; /* TCP -> SCTP, SCTP -> TCP */
    snap_flow_state_t state;
} snap_flow_t;

typedef struct snapshot {
    char name[SNAP_NAME_MAX];
    char version[32];
    char config[4096];        /* config file path */
    uint64_t now_ms;          /* Unix ms the snapshot was taken */
    uint64_t start_ms;        /* Unix ms the gateway started */
    int draining;             /* 0 running, 1 draining or stopping */
    uint64_t reloads;         /* successful reloads */
    char restart_needed[256]; /* keys changed by a reload that only a restart applies, or "" */
    uint64_t handshake_failures;
    /* The gateway's own listeners: accept() failures (each a rest of the
     * listener, clients waiting meanwhile) and clients turned away by the
     * control socket and the metrics listener (as many clients at once as
     * they serve were being answered, or no memory for one). */
    uint64_t peers_accept_failures, control_accept_failures, metrics_accept_failures;
    uint64_t control_refused, metrics_refused;
    snap_assoc_t *assocs;
    size_t n_assocs;
    snap_service_t *services;
    size_t n_services;
    snap_flow_t *flows; /* only when asked for */
    size_t n_flows;
} snapshot_t;

/* Frees the arrays of a snapshot (not the struct). */
void snapshot_free(snapshot_t *s);

/* Names for output: stable, part of the JSON and metrics schemas. */
const char *snap_path_state_name(snap_path_state_t s);
const char *snap_assoc_state_name(snap_assoc_state_t s);
const char *snap_flow_state_name(snap_flow_state_t s);

#endif
