/* Telling the service manager how the gateway is doing (systemd's
 * Type=notify protocol, through libsystemd's sd_notify): READY=1 once the
 * gateway listens or dials, STATUS= with a line on its associations,
 * RELOADING=1 (with MONOTONIC_USEC=) when a reload begins and READY=1 when
 * it is over, STOPPING=1 when it begins to stop, and WATCHDOG=1 at half
 * the interval WatchdogSec= sets. Without NOTIFY_SOCKET in the environment (not started
 * by systemd) nothing is sent and no timer runs: the gateway behaves as if
 * this file did not exist. */
#ifndef SCTPGW_NOTIFY_H
#define SCTPGW_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Writes the current STATUS= text (one line) into buf. */
typedef void (*notify_status_fn)(void *arg, char *buf, size_t len);

/* Owned by the gateway; one per process. */
typedef struct notify {
    int on;                  /* NOTIFY_SOCKET is set: messages are sent */
    int stopping;            /* STOPPING=1 has been sent */
    uint64_t watchdog_ms;    /* half of WatchdogSec= (pinged at most 5 s apart), 0 = none */
    uv_timer_t timer;        /* watchdog pings and status refreshes */
    notify_status_fn status; /* composes the STATUS= text */
    void *arg;               /* ...and its argument */
    char last[128];          /* the STATUS= text last sent, not to repeat it */
} notify_t;

/* Reads the environment and sets up the timer on `loop` (which must then be
 * closed with notify_close). */
void notify_init(notify_t *n, uv_loop_t *loop, notify_status_fn status, void *arg);

/* READY=1 with the current status; starts the watchdog pings. */
void notify_ready(notify_t *n);

/* RELOADING=1 and MONOTONIC_USEC=now, as a reload begins; notify_ready
 * ends it. */
void notify_reloading(notify_t *n);

/* STATUS= again if the text has changed since it was last sent. */
void notify_status(notify_t *n);

/* STOPPING=1 with the current status, once. */
void notify_stopping(notify_t *n);

/* Stops the timer and closes its handle. */
void notify_close(notify_t *n);

#endif
