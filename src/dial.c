/* Dialling a back end (see dial.h). */
#include "dial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frees the dial once nothing can call back into it any more. */
static void dial_maybe_free(dial_t *d)
{
    if (d->cb || d->resolving || !d->timer_gone)
        return;
    if (d->res)
        uv_freeaddrinfo(d->res);
    free(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    dial_t *d = h->data;

    d->timer_gone = 1;
    dial_maybe_free(d);
}

static void on_timer(uv_timer_t *t)
{
    dial_t *d = t->data;

    if (d->cb)
        d->cb(d->data, DIAL_TIMEOUT, UV_ETIMEDOUT);
}

/* Only the address families the gateway can connect to are kept. */
static unsigned dial_count(const struct addrinfo *ai)
{
    unsigned n = 0;

    for (; ai; ai = ai->ai_next)
        n += ai->ai_family == AF_INET || ai->ai_family == AF_INET6;
    return n;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    dial_t *d = req->data;

    d->resolving = 0;
    d->res = res;
    d->next = res;
    d->left = dial_count(res);
    if (!d->cb) {
        dial_maybe_free(d); /* the owner left while the lookup ran */
        return;
    }
    if (status == 0 && d->left == 0)
        status = UV_EAI_ADDRFAMILY;
    d->cb(d->data, DIAL_RESOLVED, status);
}

dial_t *dial_start(uv_loop_t *loop, const char *host, unsigned port, unsigned total_ms, dial_cb cb,
                   void *data, int *err)
{
    /* Both families, in the order the resolver sorts them (RFC 6724), with
     * no AI_ADDRCONFIG: a back end on ::1 or 127.0.0.1 in a namespace that
     * has only loopback addresses must still be found. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_protocol = IPPROTO_TCP,
                             .ai_flags = AI_NUMERICSERV};
    size_t n = strlen(host) + 8;
    dial_t *d = calloc(1, sizeof(*d) + n);
    char service[8];
    int r;

    if (!d) {
        *err = -ENOMEM;
        return NULL;
    }
    d->loop = loop;
    d->cb = cb;
    d->data = data;
    snprintf(d->name, n, "%s:%u", host, port);
    snprintf(service, sizeof(service), "%u", port);
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->req.data = d;
    d->deadline = uv_now(loop) + total_ms;
    r = uv_getaddrinfo(loop, &d->req, on_resolved, host, service, &hints);
    if (r < 0) {
        *err = r;
        d->cb = NULL;
        uv_close((uv_handle_t *)&d->timer, on_timer_closed);
        return NULL;
    }
    d->resolving = 1;
    uv_timer_start(&d->timer, on_timer, total_ms, 0);
    return d;
}

dial_t *dial_start_addr(uv_loop_t *loop, const addr_t *addr, unsigned total_ms, dial_cb cb,
                        void *data, int *err)
{
    dial_t *d = calloc(1, sizeof(*d) + ADDR_STRLEN);

    if (!d) {
        *err = -ENOMEM;
        return NULL;
    }
    d->loop = loop;
    d->cb = cb;
    d->data = data;
    addr_format(addr, d->name, ADDR_STRLEN);
    d->only = *addr;
    d->left = 1;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->deadline = uv_now(loop) + total_ms;
    return d;
}

/* Copies the lookup's next address of a family the gateway connects to. */
static int dial_take(dial_t *d, addr_t *out)
{
    while (d->next && d->next->ai_family != AF_INET && d->next->ai_family != AF_INET6)
        d->next = d->next->ai_next;
    if (!d->next)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    memcpy(out, d->next->ai_addr,
           d->next->ai_addrlen < sizeof(*out) ? d->next->ai_addrlen : sizeof(*out));
    d->next = d->next->ai_next;
    return 0;
}

int dial_next(dial_t *d, addr_t *out)
{
    uint64_t now = uv_now(d->loop);
    uint64_t share;

    if (d->left == 0)
        return -ENOENT;
    if (!d->res)
        *out = d->only;
    else if (dial_take(d, out) < 0)
        return -ENOENT;
    /* An address that never answers (its packets dropped) must not take
     * the time of those after it: each gets an equal share of what is left. */
    share = d->deadline > now ? (d->deadline - now) / d->left : 0;
    d->left--;
    d->tried++;
    uv_timer_start(&d->timer, on_timer, share ? share : 1, 0);
    return 0;
}

void dial_abort(dial_t *d)
{
    d->cb = NULL;
    /* A lookup still queued is dropped; one already on a pool thread runs
     * to its end (the resolver's own timeouts bound it) and on_resolved
     * then frees the dial. */
    if (d->resolving)
        uv_cancel((uv_req_t *)&d->req);
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}
