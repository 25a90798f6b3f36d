/* Reload: what changes when the configuration file is read again. Pure
 * code, like nginx's reload: the file is parsed into a second config_t,
 * reload_diff() compares it with the running one and says what to do, and
 * gateway_reload() (gateway.c) applies that in one place, or nothing.
 *
 * What is applied live: services added (a listener opens), removed (the
 * listener closes, open flows finish; a connect service refuses new OPENs)
 * or changed; log_level; failover_ms and outage_ms (the live associations
 * are re-tuned); primary; max_flows; flow_window (associations made after
 * the reload: the window is announced once, in the handshake); drain_ms;
 * stall_ms (flows opened after the reload); rekey_s; metrics and control
 * (the listener or the socket moves). What only a new association or a new
 * process can change (name, role, local, remote, port, udp_port, psk_file
 * and the key in it, encryption, sock_buffer) is reported and kept as it
 * runs, never applied half-way. */
#ifndef SCTPGW_RELOAD_H
#define SCTPGW_RELOAD_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

/* Live changes, as bits of reload_plan_t.live. */
enum {
    RELOAD_LOG_LEVEL = 1u << 0, /* log_level */
    RELOAD_TIMERS = 1u << 1,    /* failover_ms or outage_ms: re-tune */
    RELOAD_PRIMARY = 1u << 2,   /* primary */
    RELOAD_MAX_FLOWS = 1u << 3, /* max_flows */
    RELOAD_WINDOW = 1u << 4,    /* flow_window */
    RELOAD_DRAIN = 1u << 5,     /* drain_ms */
    RELOAD_REKEY = 1u << 6,     /* rekey_s */
    RELOAD_SERVICES = 1u << 7,  /* a service was added, removed or changed */
    RELOAD_METRICS = 1u << 8,   /* metrics: the listener moves, starts or stops */
    RELOAD_CONTROL = 1u << 9,   /* control: the socket moves, starts or stops */
    RELOAD_STALL = 1u << 10,    /* stall_ms */
};

/* An accept service's listener carried over: old index, new index. */
typedef struct reload_keep {
    uint16_t old_i;
    uint16_t new_i;
} reload_keep_t;

typedef struct reload_plan {
    unsigned live; /* RELOAD_* bits */

    /* Listeners: old accept services whose listener closes (removed, turned
     * into a connect service, or moved to another address), new ones that
     * open one, and those that keep theirs (same name and address, or the
     * old one's address taken by a new service, which takes its listener). */
    uint16_t stop[CONFIG_MAX_SERVICES];
    size_t n_stop;
    uint16_t start[CONFIG_MAX_SERVICES];
    size_t n_start;
    reload_keep_t keep[CONFIG_MAX_SERVICES];
    size_t n_keep;

    /* By name, for the log: services only in the new file, only in the old
     * one, and in both but set differently. */
    size_t n_added, n_removed, n_changed;

    /* Keys that differ but need a restart, "role, port" ("" = none); the
     * running values stay (reload_keep_running). */
    char restart[256];
} reload_plan_t;

/* Compares the running configuration with a freshly loaded one. Never
 * fails: every difference is either live or listed in out->restart. */
void reload_diff(const config_t *old, const config_t *new, reload_plan_t *out);

/* Copies into `new` the running values of the keys plan->restart lists,
 * so that `new` describes exactly what will run once the plan is applied. */
void reload_keep_running(config_t *new, const config_t *old, const reload_plan_t *plan);

/* Writes what the plan changes live, for a person: "services 1 added,
 * 0 removed, 0 changed, log_level" or "nothing changed". */
void reload_describe(const reload_plan_t *p, char *buf, size_t len);

#endif
