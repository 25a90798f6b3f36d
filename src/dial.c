/* Dialling a back end (see dial.h). */
#include "dial.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A lookup that dials share: it stays in lookups->running until it
 * returns, and is freed once it has and no dial holds it. */
struct dial_lookup {
    uv_getaddrinfo_t req;
    list_t node;          /* in the running list until it returns */
    list_t waiting;       /* dial_t.wait of the dials it will answer */
    struct addrinfo *res; /* what it found */
    unsigned refs;        /* dials that wait for it or walk res */
    unsigned done : 1;    /* it has returned */
    char key[];           /* "host:port", as the dials' names */
};

void dial_lookups_init(dial_lookups_t *l)
{
    list_init(&l->running);
}

/* A dial lets go of its lookup. The last to leave one that is still queued
 * cancels it; one already on a pool thread runs to its end (the resolver's
 * own timeouts bound it) and is freed when it returns. */
static void lookup_put(dial_lookup_t *lk)
{
    if (--lk->refs)
        return;
    if (!lk->done) {
        /* Cancelled, it answers nobody: no dial may join it any more. */
        if (uv_cancel((uv_req_t *)&lk->req) == 0)
            list_remove(&lk->node);
        return;
    }
    if (lk->res)
        uv_freeaddrinfo(lk->res);
    free(lk);
}

/* Frees the dial once nothing can call back into it any more. */
static void dial_maybe_free(dial_t *d)
{
    if (d->cb || !d->timer_gone)
        return;
    if (d->lookup)
        lookup_put(d->lookup);
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

/* Every dial waiting gets the addresses, each to walk on its own. A dial
 * that leaves in its callback is freed later (its timer closes first), so
 * the lookup, held here, outlives the walk. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    dial_lookup_t *lk = req->data;

    lk->done = 1;
    lk->res = res;
    list_remove(&lk->node);
    lk->refs++;
    while (!list_empty(&lk->waiting)) {
        dial_t *d = container_of(lk->waiting.next, dial_t, wait);

        list_remove(&d->wait);
        d->next = res;
        d->left = dial_count(res);
        d->cb(d->data, DIAL_RESOLVED, status == 0 && d->left == 0 ? UV_EAI_ADDRFAMILY : status);
    }
    lookup_put(lk);
}

static dial_lookup_t *lookup_find(dial_lookups_t *lookups, const char *key)
{
    list_t *pos, *tmp;

    list_foreach_safe(pos, tmp, &lookups->running)
    {
        dial_lookup_t *lk = container_of(pos, dial_lookup_t, node);
        if (strcmp(lk->key, key) == 0)
            return lk;
    }
    return NULL;
}

/* A new lookup of key (host, port), in lookups->running, or NULL. */
static dial_lookup_t *lookup_start(dial_lookups_t *lookups, uv_loop_t *loop, const char *host,
                                   unsigned port, const char *key, int *err)
{
    /* Both families, in the order the resolver sorts them (RFC 6724), with
     * no AI_ADDRCONFIG: a back end on ::1 or 127.0.0.1 in a namespace that
     * has only loopback addresses must still be found. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_protocol = IPPROTO_TCP,
                             .ai_flags = AI_NUMERICSERV};
    dial_lookup_t *lk = calloc(1, sizeof(*lk) + strlen(key) + 1);
    char service[8];
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    sigset_t all, mask;
    int r;

    if (!lk) {
        *err = -ENOMEM;
        return NULL;
    }
    strcpy(lk->key, key);
    list_init(&lk->waiting);
    lk->req.data = lk;
    snprintf(service, sizeof(service), "%u", port);
    /* libuv's pool threads start inside the first lookup (the gateway's
     * only use of the pool) and keep this thread's signal mask: with the
     * asynchronous signals held back then, the gateway's only ever reach
     * the loop's thread (gateway_free relies on it). */
    sigfillset(&all);
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        sigdelset(&all, faults[i]);
    pthread_sigmask(SIG_SETMASK, &all, &mask);
    r = uv_getaddrinfo(loop, &lk->req, on_resolved, host, service, &hints);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    if (r < 0) {
        *err = r;
        free(lk);
        return NULL;
    }
    list_push(&lookups->running, &lk->node);
    return lk;
}

dial_t *dial_start(dial_lookups_t *lookups, uv_loop_t *loop, const char *host, unsigned port,
                   unsigned total_ms, dial_cb cb, void *data, int *err)
{
    size_t n = strlen(host) + 8;
    dial_t *d = calloc(1, sizeof(*d) + n);

    if (!d) {
        *err = -ENOMEM;
        return NULL;
    }
    snprintf(d->name, n, "%s:%u", host, port);
    d->lookup = lookup_find(lookups, d->name);
    if (!d->lookup && !(d->lookup = lookup_start(lookups, loop, host, port, d->name, err))) {
        free(d);
        return NULL;
    }
    d->lookup->refs++;
    list_push(&d->lookup->waiting, &d->wait);
    d->loop = loop;
    d->cb = cb;
    d->data = data;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->deadline = uv_now(loop) + total_ms;
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
    list_init(&d->wait);
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
    if (!d->lookup)
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
    if (!list_empty(&d->wait)) { /* the lookup has not returned */
        list_remove(&d->wait);
        lookup_put(d->lookup);
        d->lookup = NULL;
    }
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}
