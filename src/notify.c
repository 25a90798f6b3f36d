/* The service manager's view of the gateway (see notify.h). libsystemd's
 * sd_notify speaks the protocol; this file only decides what to say and
 * when. */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

/* How often STATUS= is brought up to date (the flow counts change between
 * associations coming and going); sent only when its text changed. */
#define STATUS_REFRESH_MS 5000

static void notify_send(notify_t *n, const char *what)
{
    char status[sizeof(n->last)], msg[sizeof(n->last) + 64];

    n->status(n->arg, status, sizeof(status));
    snprintf(msg, sizeof(msg), "%s%sSTATUS=%s", what, what[0] ? "\n" : "", status);
    /* A failure (the manager went away) is not the gateway's to act on. */
    (void)sd_notify(0, msg);
    memcpy(n->last, status, sizeof(n->last));
}

static void on_notify_timer(uv_timer_t *t)
{
    notify_t *n = t->data;

    if (n->watchdog_ms)
        (void)sd_notify(0, "WATCHDOG=1");
    notify_status(n);
}

void notify_init(notify_t *n, uv_loop_t *loop, notify_status_fn status, void *arg)
{
    uint64_t usec = 0;
    const char *sock = getenv("NOTIFY_SOCKET");

    memset(n, 0, sizeof(*n));
    n->status = status;
    n->arg = arg;
    n->on = sock && sock[0];
    /* sd_watchdog_enabled also checks WATCHDOG_PID against our own pid:
     * a variable inherited from a parent's watchdog does not count. */
    if (n->on && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        n->watchdog_ms = usec / 2000 ? usec / 2000 : 1;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
}

void notify_ready(notify_t *n)
{
    uint64_t every = STATUS_REFRESH_MS;

    if (!n->on)
        return;
    notify_send(n, "READY=1");
    if (n->watchdog_ms && n->watchdog_ms < every)
        every = n->watchdog_ms;
    /* Started once: READY=1 also ends every reload, and restarting the
     * timer there would push the next ping back each time, so reloads
     * closer together than a ping's interval would starve the watchdog. */
    if (!uv_is_active((uv_handle_t *)&n->timer))
        uv_timer_start(&n->timer, on_notify_timer, every, every);
}

void notify_reloading(notify_t *n)
{
    struct timespec ts;
    char what[64];

    if (!n->on)
        return;
    /* Type=notify-reload wants the time the reload began, on the monotonic
     * clock, in the same message as RELOADING=1. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(what, sizeof(what), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(n, what);
}

void notify_status(notify_t *n)
{
    char status[sizeof(n->last)];

    if (!n->on)
        return;
    n->status(n->arg, status, sizeof(status));
    if (strcmp(status, n->last) != 0)
        notify_send(n, "");
}

void notify_stopping(notify_t *n)
{
    if (!n->on || n->stopping)
        return;
    n->stopping = 1;
    notify_send(n, "STOPPING=1");
}

void notify_close(notify_t *n)
{
    uv_close((uv_handle_t *)&n->timer, NULL);
}
