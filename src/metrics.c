/* The metrics listener (see metrics.h): accept, read one request head,
 * answer it once from a reading of the gateway shared with the clients
 * that asked for the same one, close. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "gateway.h"
#include "http.h"
#include "render_prom.h"
#include "snapshot.h"

#define METRICS_PATH    "/metrics"
#define METRICS_STR_(x) #x
#define METRICS_STR(x)  METRICS_STR_(x)
#define METRICS_BUSY    METRICS_STR(METRICS_CLIENTS_MAX) " are being answered already"

typedef enum {
    MC_READING,   /* waiting for the request head */
    MC_WAITING,   /* asked for the metrics: waiting for the next reading */
    MC_WRITING,   /* the answer is being written; reading stopped */
    MC_LINGERING, /* answered and shut down: what the client still sends is dropped */
    MC_CLOSED,    /* handles closing */
} mc_state_t;

/* One reading of the gateway in the exposition format, shared by the
 * clients it answers; the last to let go frees it. */
typedef struct metrics_reading {
    unsigned refs;
    char *text;
    size_t len;
} metrics_reading_t;

typedef struct metrics_client {
    metrics_t *m;
    list_t node; /* in m->clients */
    uv_tcp_t tcp;
    uv_timer_t timer; /* the deadline of the current state */
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    mc_state_t state;
    int handles;                /* open handles; the memory goes when none is left */
    char peer[ADDR_STRLEN];     /* the client's address, for the log */
    char head[256];             /* the answer's status line and header fields */
    int head_only;              /* HEAD: the answer's head only */
    metrics_reading_t *reading; /* the body of a 200, or NULL */
    char *body;                 /* the body of another status, or NULL */
    size_t body_len;
    size_t len;              /* bytes of the request head received */
    char req[HTTP_HEAD_MAX]; /* the request head; once answered, where the rest is dropped */
} metrics_client_t;

static void reading_release(metrics_reading_t *r)
{
    if (r && --r->refs == 0) {
        free(r->text);
        free(r);
    }
}

static void on_client_closed(uv_handle_t *h)
{
    metrics_client_t *c = h->data;

    if (--c->handles > 0)
        return;
    reading_release(c->reading);
    free(c->body);
    free(c);
}

static void client_close(metrics_client_t *c)
{
    if (c->state == MC_CLOSED)
        return;
    c->state = MC_CLOSED;
    list_remove(&c->node);
    c->m->n_clients--;
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
    uv_close((uv_handle_t *)&c->timer, on_client_closed);
}

/* A snapshot of the gateway in the exposition format; NULL when memory
 * ran out. */
static metrics_reading_t *metrics_take(metrics_t *m)
{
    metrics_reading_t *r = calloc(1, sizeof(*r));
    snapshot_t snap;

    if (!r)
        return NULL;
    memset(&snap, 0, sizeof(snap));
    if (gateway_snapshot(m->gw, &snap, 0) == 0)
        r->text = render_prom(&snap, &r->len);
    snapshot_free(&snap);
    if (!r->text) {
        free(r);
        return NULL;
    }
    r->refs = 1;
    return r;
}

/* The short text body of an answer that is not the metrics. */
static int client_error_body(metrics_client_t *c, int status)
{
    int n;

    c->body = malloc(64);
    if (!c->body)
        return -1;
    n = snprintf(c->body, 64, "%d %s\n", status, http_reason(status));
    c->body_len = n > 0 ? (size_t)n : 0;
    return 0;
}

static void on_timeout(uv_timer_t *t);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_shutdown(uv_shutdown_t *req, int status)
{
    metrics_client_t *c = req->data;

    if (status < 0 || c->state != MC_WRITING) {
        client_close(c);
        return;
    }
    /* Closing now, with the client's last bytes unread, would send a RST
     * that can destroy the answer before the client has read it. */
    c->state = MC_LINGERING;
    uv_timer_start(&c->timer, on_timeout, METRICS_LINGER_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        client_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    metrics_client_t *c = req->data;

    if (status < 0 || c->state != MC_WRITING ||
        uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        client_close(c);
}

/* Answers once (a 200 from c->reading) and stops reading until the answer
 * is written: a client that does not read it holds its buffer until
 * METRICS_WRITE_MS. */
static void client_answer(metrics_client_t *c, int status, int head_only)
{
    metrics_t *m = c->m;
    uv_buf_t bufs[2];
    int n;

    if (status == 200 && !c->reading)
        status = 500;
    if (status != 200 && client_error_body(c, status) < 0) {
        client_close(c);
        return;
    }
    n = snprintf(c->head, sizeof(c->head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                 "Connection: close\r\n\r\n",
                 status, http_reason(status),
                 status == 200 ? RENDER_PROM_CONTENT_TYPE : "text/plain; charset=utf-8",
                 status == 200 ? c->reading->len : c->body_len,
                 status == 405 ? "Allow: GET, HEAD\r\n" : "");
    m->served++;
    log_debug(&m->gw->log, "metrics", "answered %s: %d %s, %zu bytes", c->peer, status,
              http_reason(status), status == 200 ? c->reading->len : c->body_len);
    c->state = MC_WRITING;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_start(&c->timer, on_timeout, METRICS_WRITE_MS, 0);
    bufs[0] = uv_buf_init(c->head, (unsigned)n);
    bufs[1] = uv_buf_init(c->body, (unsigned)c->body_len);
    if (status == 200)
        bufs[1] = uv_buf_init(c->reading->text, (unsigned)c->reading->len);
    c->write_req.data = c;
    c->shutdown_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, bufs, head_only ? 1 : 2, on_written) < 0)
        client_close(c);
}

static void on_timeout(uv_timer_t *t)
{
    metrics_client_t *c = t->data;

    if (c->state == MC_READING) /* written within METRICS_WRITE_MS, or not at all */
        client_answer(c, 408, http_route(c->req, c->len, METRICS_PATH).head_only);
    else
        client_close(c);
}

/* Takes one reading and answers every waiting client from it. The gap
 * to the next counts from this one's end, so that a reading that takes
 * long (a hub) still leaves the loop METRICS_READ_GAP_MS to the flows. */
static void metrics_read(metrics_t *m)
{
    metrics_reading_t *r;
    list_t *pos, *tmp;
    size_t n = 0;
    uint64_t t0;

    for (pos = m->clients.next; pos != &m->clients; pos = pos->next)
        n += container_of(pos, metrics_client_t, node)->state == MC_WAITING;
    if (!n)
        return;
    uv_update_time(m->gw->loop);
    t0 = uv_now(m->gw->loop);
    r = metrics_take(m);
    uv_update_time(m->gw->loop);
    m->read_ms = uv_now(m->gw->loop);
    if (!r)
        log_warn(&m->gw->log, "metrics", "no memory for a reading: answering 500");
    else
        log_debug(&m->gw->log, "metrics", "one reading for %zu clients: %zu bytes in %llu ms", n,
                  r->len, (unsigned long long)(m->read_ms - t0));
    list_foreach_safe(pos, tmp, &m->clients)
    {
        metrics_client_t *c = container_of(pos, metrics_client_t, node);

        if (c->state != MC_WAITING)
            continue;
        if (r) {
            r->refs++;
            c->reading = r;
        }
        client_answer(c, 200, c->head_only);
    }
    reading_release(r);
}

static void on_next_read(uv_timer_t *t)
{
    metrics_read(t->data);
}

/* A client asked for the metrics: answered from the next reading, taken
 * on the loop's next turn (so requests read in one turn share it) and no
 * sooner than METRICS_READ_GAP_MS after the last ended. However many
 * clients ask, the loop reads the gateway at most once a gap, and no
 * answer is older than its request. */
static void client_ask(metrics_client_t *c, int head_only)
{
    metrics_t *m = c->m;
    uint64_t now = uv_now(m->gw->loop), due = m->read_ms + METRICS_READ_GAP_MS;

    c->state = MC_WAITING;
    c->head_only = head_only;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    if (!uv_is_active((uv_handle_t *)&m->next_read))
        uv_timer_start(&m->next_read, on_next_read, m->read_ms && now < due ? due - now : 0, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    metrics_client_t *c = h->data;

    (void)suggested;
    if (c->state == MC_READING)
        *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - c->len));
    else
        *buf = uv_buf_init(c->req, (unsigned)sizeof(c->req));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    metrics_client_t *c = s->data;
    http_route_t r;

    (void)buf;
    if (nread == UV_EOF && c->state == MC_READING && c->len > 0) {
        /* The head was cut short; the client may still read. */
        client_answer(c, 400, http_route(c->req, c->len, METRICS_PATH).head_only);
        return;
    }
    if (nread < 0) {
        client_close(c); /* an error, or EOF with nothing asked: nobody to answer */
        return;
    }
    if (nread == 0 || c->state != MC_READING)
        return;
    c->len += (size_t)nread;
    r = http_route(c->req, c->len, METRICS_PATH);
    if (r.status == 200)
        client_ask(c, r.head_only);
    else if (r.status)
        client_answer(c, r.status, r.head_only);
}

/* With METRICS_CLIENTS_MAX being answered, or with no memory for it, a
 * client is reset: it fails at once instead of waiting in the backlog.
 * Logged once per episode. */
static void metrics_refuse(metrics_t *m, int fd, const char *why)
{
    m->gw->metrics_stats.refused++;
    acceptor_refused(&m->listener, &m->refusing, why);
    acceptor_reset(fd);
}

static void client_peer(metrics_client_t *c)
{
    addr_t a;
    int len = sizeof(a);

    memset(&a, 0, sizeof(a));
    if (uv_tcp_getpeername(&c->tcp, &a.sa, &len) < 0)
        snprintf(c->peer, sizeof(c->peer), "?");
    else
        addr_format(&a, c->peer, sizeof(c->peer));
}

/* At the limit, the client that makes room: the oldest already answered,
 * else the oldest still to send its request with nothing waiting to be
 * read (acceptor_unread). So strangers that connect and say nothing cannot
 * lock scrapers out; only clients being answered do. */
static metrics_client_t *metrics_evictee(metrics_t *m)
{
    metrics_client_t *silent = NULL;
    list_t *pos;

    for (pos = m->clients.next; pos != &m->clients; pos = pos->next) {
        metrics_client_t *c = container_of(pos, metrics_client_t, node);
        if (c->state == MC_LINGERING)
            return c;
        if (c->state == MC_READING && !silent && !acceptor_unread((const uv_handle_t *)&c->tcp))
            silent = c;
    }
    return silent;
}

static void on_client(acceptor_t *ac, int fd)
{
    metrics_t *m = container_of(ac, metrics_t, listener);
    metrics_client_t *c;

    if (m->n_clients >= METRICS_CLIENTS_MAX) {
        if (!(c = metrics_evictee(m))) {
            metrics_refuse(m, fd, METRICS_BUSY);
            return;
        }
        log_debug(&m->gw->log, "metrics", "closing %s to make room: %s", c->peer,
                  c->state == MC_READING ? "no request yet" : "answered");
        client_close(c);
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        metrics_refuse(m, fd, "out of memory");
        return;
    }
    acceptor_served(&m->listener, &m->refusing);
    c->m = m;
    c->state = MC_READING;
    c->tcp.data = c->timer.data = c;
    list_push(&m->clients, &c->node);
    m->n_clients++;
    uv_tcp_init(m->gw->loop, &c->tcp);
    uv_timer_init(m->gw->loop, &c->timer);
    c->handles = 2;
    if (uv_tcp_open(&c->tcp, fd) < 0) {
        close(fd);
        client_close(c);
        return;
    }
    client_peer(c);
    uv_timer_start(&c->timer, on_timeout, METRICS_REQUEST_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        client_close(c);
}

static void on_rest(acceptor_t *ac, int err)
{
    (void)err;
    container_of(ac, metrics_t, listener)->gw->metrics_stats.accept_failures++;
}

int metrics_start(metrics_t **out, struct gateway *gw, const addr_t *addr)
{
    metrics_t *m = calloc(1, sizeof(*m));
    int fd, r;

    if (!m)
        return UV_ENOMEM;
    m->gw = gw;
    list_init(&m->clients);
    if ((fd = acceptor_tcp_listen(addr, 64)) < 0) {
        free(m);
        return fd;
    }
    if ((r = acceptor_start(&m->listener, gw->loop, fd, &gw->log, "metrics", "metrics clients",
                            on_client)) < 0) {
        close(fd);
        free(m);
        return r;
    }
    m->listener.on_rest = on_rest;
    uv_timer_init(gw->loop, &m->next_read);
    m->next_read.data = m;
    m->handles = 2;
    *out = m;
    return 0;
}

static void metrics_closed(metrics_t *m)
{
    if (--m->handles == 0)
        free(m);
}

static void on_listener_closed(acceptor_t *ac)
{
    metrics_closed(container_of(ac, metrics_t, listener));
}

static void on_timer_closed(uv_handle_t *h)
{
    metrics_closed(h->data);
}

void metrics_stop(metrics_t *m)
{
    list_t *pos, *tmp;

    if (!m)
        return;
    list_foreach_safe(pos, tmp, &m->clients)
    {
        client_close(container_of(pos, metrics_client_t, node));
    }
    uv_close((uv_handle_t *)&m->next_read, on_timer_closed);
    acceptor_close(&m->listener, on_listener_closed);
}
