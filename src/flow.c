/* One TCP connection carried on one stream (see flow.h). */
#include "flow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "assoc.h"
#include "dial.h"
#include "gateway.h"

/* How long a back end may take to connect, a name's lookup and every
 * address tried included, before the flow is reset: longer than one
 * resolver timeout (5 s by default in resolv.conf), short enough for a
 * client to see the failure rather than wonder. */
#define DIAL_TOTAL_MS 10000

/* A back end's failures less than this far apart are one episode
 * (flow_backend_failed): said as over at the first flow that connects
 * later than that after the last failure, or, when a failure comes first,
 * said as over and a new one warned of. A back end that refuses some flows
 * and takes others is one warning, not a pair of lines per failure. */
#define BACKEND_QUIET_MS 60000

/* What a finishing flow reads at a time from its endpoint, to drop it. */
#define DROP_READ_BYTES 16384u

/* Smaller messages for a TCP end that is not keeping up are gathered into
 * buffers of this size. A write request of its own costs about 220 bytes
 * beside its data, so a peer sending 1-byte messages to a stalled back end
 * would otherwise hold some 240 bytes of memory per byte of its window. */
#define WRITE_GATHER_BYTES 4096u

/* A uv_write request with the bytes it writes. */
typedef struct flow_write {
    uv_write_t req;
    flow_t *flow;
    struct flow_write *next; /* while held */
    uint32_t len;
    uint32_t cap; /* room in data */
    uint8_t data[];
} flow_write_t;

static void flow_read_start(flow_t *f);
static void flow_check_final(flow_t *f);

static void flow_log(const flow_t *f, log_level_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void flow_log(const flow_t *f, log_level_t lvl, const char *fmt, ...)
{
    char prefix[WIRE_NAME_MAX + 64];
    va_list ap;

    if (!log_enabled(&f->gw->log, lvl))
        return;
    snprintf(prefix, sizeof(prefix), "flow %llu [%s] sid %u: ", (unsigned long long)f->id,
             f->service, f->sid);
    va_start(ap, fmt);
    log_vwrite(&f->gw->log, lvl, "flow", prefix, fmt, ap);
    va_end(ap);
}

static void flow_send(flow_t *f, const wire_msg_t *m)
{
    if (f->assoc)
        assoc_send_flow_msg(f->assoc, &f->sendq, f->sid, m);
}

static void flow_send_reason(flow_t *f, wire_type_t type, uint16_t code, const char *why)
{
    wire_msg_t m = {.type = type};

    m.u.reason.code = code;
    snprintf(m.u.reason.text, sizeof(m.u.reason.text), "%s", why);
    flow_send(f, &m);
}

static void flow_send_empty(flow_t *f, wire_type_t type)
{
    wire_msg_t m = {.type = type};

    flow_send(f, &m);
}

/* Its bytes go to its service's totals as it leaves its association
 * (freed from its table, or detached when the association went): they no
 * longer change from then on, and a detached flow's memory may outlive it
 * until its TCP handle has closed, in no list a snapshot reads. So a flow
 * with no association is in the totals, and a service's bytes never dip
 * (a scrape would read a counter reset). */
static void flow_count_done(const flow_t *f)
{
    svc_stats_t *st = gateway_svc_stats(f->gw, f->service);

    if (!st)
        return;
    st->done_out += f->bytes_up;
    st->done_in += f->bytes_down;
}

/* A closed flow leaves its stream as soon as both final words have been
 * exchanged and ours has gone to the kernel, without waiting for its TCP
 * handle's close callback (later in the loop turn): from then on the
 * stream's allocator may OPEN a new flow on it, and that OPEN must not find
 * this one in the table. The flow is freed once every part of it is over. */
static void flow_maybe_free(flow_t *f)
{
    gateway_t *gw = f->gw;

    if (!f->closed)
        return;
    if (f->assoc && f->sent_final && f->got_final && !f->sendq.head) {
        assoc_remove_flow(f->assoc, f);
        f->assoc = NULL;
        flow_count_done(f);
    }
    if (f->assoc || !f->tcp_gone)
        return;
    free(f);
    gateway_on_flow_gone(gw);
}

static void on_tcp_closed(uv_handle_t *h)
{
    flow_t *f = container_of(h, flow_t, tcp);

    f->tcp_gone = 1;
    flow_maybe_free(f);
}

/* A connected TCP end: no Nagle, and a bound on a stall. An end that
 * takes none of the bytes sent to it for stall_ms (its window shut, or its
 * host gone) is given up by the kernel (TCP_USER_TIMEOUT, which its
 * zero-window probes obey too), and the flow ends as any failed connection
 * does, saying so (flow_tcp_why): a client that stops reading cannot hold
 * its flow, its window's bytes and both ends' sockets for ever. */
static void flow_tcp_setup(flow_t *f)
{
    unsigned ms = f->gw->cfg->stall_ms;
    uv_os_fd_t fd;

    uv_tcp_nodelay(&f->tcp, 1);
    if (ms && uv_fileno((uv_handle_t *)&f->tcp, &fd) == 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)) == 0)
        f->stall_ms = ms;
}

/* What a TCP error (a UV_* code) says of the end, a stall named as such,
 * in buf or a constant string. */
static const char *flow_tcp_error(const flow_t *f, int err, char *buf, size_t len)
{
    if (err != UV_ETIMEDOUT || !f->stall_ms)
        return uv_strerror(err);
    snprintf(buf, len, "took none of the bytes sent to it for %u ms (stall_ms)", f->stall_ms);
    return buf;
}

/* Why a TCP error ended the flow: "DOING WHO: error". */
static void flow_tcp_why(const flow_t *f, const char *doing, int err, char *why, size_t len)
{
    char buf[80];

    snprintf(why, len, "%s%s: %s", doing, f->opener ? "client" : "back end",
             flow_tcp_error(f, err, buf, sizeof(buf)));
}

/* Closes the TCP side, with a reset when the flow failed so the endpoint
 * sees the failure rather than a clean end. The linger of zero is set here
 * rather than by uv_tcp_close_reset, which refuses while a half-close waits
 * for writes: the peer's FIN passed on, then its RST, and the endpoint saw
 * the bytes cut short end with a clean FIN. */
static void flow_tcp_release(flow_t *f, int reset)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    uv_os_fd_t fd;

    if (!f->tcp_init) {
        f->tcp_gone = 1;
        return;
    }
    if (uv_is_closing((uv_handle_t *)&f->tcp))
        return;
    if (reset && f->connected && uv_fileno((uv_handle_t *)&f->tcp, &fd) == 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    uv_close((uv_handle_t *)&f->tcp, on_tcp_closed);
}

/* The dial is over (connected or closed); what it held goes with it unless
 * the connection takes it. */
static void flow_dial_end(flow_t *f)
{
    if (f->dial)
        dial_abort(f->dial);
    f->dial = NULL;
    if (!f->closed)
        return;
    while (f->held) {
        flow_write_t *w = f->held;

        f->held = w->next;
        free(w);
    }
}

static void flow_read_stop(flow_t *f)
{
    if (f->reading)
        uv_read_stop((uv_stream_t *)&f->tcp);
    f->reading = 0;
}

/* A flow reset or refused has nothing left to carry: only its stream
 * waits for the peer's last word. A drain stops waiting for it, or a peer
 * that keeps opening flows (each refused) would hold the drain to drain_ms.
 * A clean end still has bytes queued and stays live until freed. */
static void flow_mark_ending(flow_t *f, uint16_t code)
{
    assoc_t *a = f->assoc;

    if (code == WIRE_OK || !a || a->flows[f->sid] != f)
        return;
    f->ending = 1;
    a->n_ending++;
    gateway_on_flow_gone(f->gw);
}

void flow_close(flow_t *f, uint16_t code, const char *why)
{
    if (f->closed)
        return;
    f->closed = 1;
    if (f->assoc && f->assoc->flows[f->sid] == f) {
        f->closed_in = 1;
        f->assoc->n_closed++;
    }
    if (!list_empty(&f->finishing)) {
        list_remove(&f->finishing);
        f->gw->n_finishing--;
    }
    flow_dial_end(f);
    if (code == WIRE_OK)
        flow_log(f, LOG_INFO, "closed: %s (%llu bytes up, %llu down)", why,
                 (unsigned long long)f->bytes_up, (unsigned long long)f->bytes_down);
    else
        flow_log(f, code == WIRE_E_LOST ? LOG_DEBUG : LOG_INFO,
                 "reset: %s (%llu bytes up, %llu down)", why, (unsigned long long)f->bytes_up,
                 (unsigned long long)f->bytes_down);
    flow_read_stop(f);
    flow_mark_ending(f, code);
    if (code != WIRE_OK && f->assoc && !f->sent_final) {
        /* A reset aborts, and an abort flushes what is queued (RFC 9293
         * 3.10.5): the reset overtakes the data still waiting here, or
         * hundreds of abandoned clients hold their back ends for seconds
         * while their last bytes queue behind one another. A FIN waiting
         * goes too: behind discarded data it would end the stream cleanly
         * short of its bytes. */
        assoc_discard_data(f->assoc, &f->sendq);
        if (f->got_final)
            flow_send_empty(f, WIRE_CLOSE);
        else
            flow_send_reason(f, f->opener || f->result_sent ? WIRE_RST : WIRE_RESULT, code, why);
        f->sent_final = 1;
    }
    flow_tcp_release(f, code != WIRE_OK);
    flow_maybe_free(f);
}

/* A finishing flow still reads what its endpoint sends, and drops it:
 * nothing can carry it now, and an endpoint blocked writing to a socket
 * nobody reads may stop reading the peer's last bytes, which then never
 * leave. flow_finish_check tells the endpoint with a reset. */
static void on_drop_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    char *p = malloc(DROP_READ_BYTES);

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(p, p ? DROP_READ_BYTES : 0);
}

static void on_drop_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    flow_t *f = container_of(s, flow_t, tcp);
    char why[200], err[80];

    free(buf->base);
    if (nread >= 0) {
        f->dropped += (uint64_t)nread;
        return;
    }
    flow_read_stop(f);
    if (nread == UV_EOF) {
        f->read_eof = 1;
        flow_finish_check(f);
        return;
    }
    snprintf(why, sizeof(why), "%s: %s after its association went",
             f->opener ? "client" : "back end",
             nread == UV_ENOBUFS ? "no memory for a read"
                                 : flow_tcp_error(f, (int)nread, err, sizeof(err)));
    flow_close(f, WIRE_E_RESET, why);
}

static void flow_drop_start(flow_t *f)
{
    flow_read_stop(f);
    if (!f->read_eof && uv_read_start((uv_stream_t *)&f->tcp, on_drop_alloc, on_drop_read) == 0)
        f->reading = 1;
}

/* The error that ended the connection, or 0 while it lives. Once the
 * endpoint has half-closed, nothing reads or writes the socket and libuv
 * watches it no more; a reset (or a peer the kernel gave up on) then shows
 * only in the socket's state, while SIOCOUTQ keeps counting the bytes it
 * will never acknowledge. */
static int flow_tcp_gone_error(uv_os_fd_t fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    int err = 0;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || ti.tcpi_state != TCP_CLOSE)
        return 0;
    len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0)
        err = ECONNRESET;
    return err;
}

/* Closing a socket with bytes unread makes the kernel reset the connection
 * at once and throw away what it had yet to deliver (tcp(7), RFC 2525
 * 2.17), so a finishing flow closes only once everything it wrote and its
 * FIN are acknowledged. If the endpoint sent anything meanwhile, it went
 * nowhere, and the reset tells it so. */
int flow_finish_check(flow_t *f)
{
    uv_os_fd_t fd;
    const char *who = f->opener ? "client" : "back end";
    int queued = 0, unread = 0, err;
    char why[200], tail[96] = "", text[80];

    if (f->closed || !f->tcp_shut)
        return 0;
    if (uv_fileno((uv_handle_t *)&f->tcp, &fd) == 0) {
        if (ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0) {
            if (!(err = flow_tcp_gone_error(fd))) {
                gateway_finish_later(f->gw);
                return 0;
            }
            snprintf(why, sizeof(why),
                     "%s: %s with %d bytes unacknowledged, after its "
                     "association went",
                     who, flow_tcp_error(f, -err, text, sizeof(text)), queued);
            flow_close(f, WIRE_E_RESET, why);
            return 1;
        }
        if (ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)
            f->dropped += (uint64_t)unread;
    }
    if (f->unsent)
        snprintf(tail, sizeof(tail), "; the %s's last messages went with it, unsent", who);
    else if (f->dropped)
        snprintf(tail, sizeof(tail), "; %llu bytes from the %s after it had nowhere to go",
                 (unsigned long long)f->dropped, who);
    snprintf(why, sizeof(why), "the peer's bytes and FIN passed on after its association went%s",
             tail);
    flow_close(f, tail[0] ? WIRE_E_RESET : WIRE_OK, why);
    return tail[0] != 0;
}

int flow_detach(flow_t *f, int lost, const char *why)
{
    /* What the endpoint sent that was still queued here goes with the
     * association: if the flow finishes, its endpoint must not see a clean
     * end (flow_finish_check). */
    f->unsent = f->sendq.head != NULL || lost;
    if (f->assoc)
        fairq_drop(&f->assoc->fairq, &f->sendq);
    f->assoc = NULL;
    flow_count_done(f);
    /* A flow closed already may have waited only for the peer's final
     * word, which will never come now. */
    if (f->closed) {
        flow_maybe_free(f);
        return 0;
    }
    /* The peer's direction is whole: its bytes still queued, here or in
     * the socket, and its FIN go on, unless the gateway is stopping. A
     * reset now would throw them away. The flow finishes once the kernel
     * has delivered them (flow_finish_check). */
    if (f->fin_recv && f->connected && f->gw->state <= GW_DRAINING) {
        list_push(&f->gw->finishing, &f->finishing);
        f->gw->n_finishing++;
        flow_log(f, LOG_DEBUG, "%s; passing on the peer's last %zu bytes and its FIN", why,
                 f->write_pending);
        flow_drop_start(f);
        return flow_finish_check(f); /* at once, when nothing is left to write */
    }
    flow_close(f, WIRE_E_LOST, why);
    return 1;
}

/* Both TCP directions finished: the flow ends cleanly. */
static void flow_check_tcp_done(flow_t *f)
{
    if (f->read_eof && f->tcp_shut)
        flow_close(f, WIRE_OK, "both directions finished");
}

/* Our final word once nothing more is owed either way (see wire.h) and the
 * peer's FIN has been passed on, every byte before it written: once the
 * stream's allocator has both final words it may OPEN a new flow on the
 * stream, which must find this one gone from it, not still writing to a
 * slow TCP reader. */
static void flow_check_final(flow_t *f)
{
    if (!f->sent_final && f->read_eof && f->fin_recv && f->tcp_shut && f->assoc) {
        flow_send_empty(f, WIRE_CLOSE);
        f->sent_final = 1;
    }
    flow_maybe_free(f);
}

/* ---- TCP -> SCTP ---------------------------------------------------- */

/* Each read fills one DATA message: as large as the association's messages
 * are now (pace.h), within the flow's credit.
 * Without an association a byte is still read, and on_read ends the flow. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    flow_t *f = container_of(h, flow_t, tcp);
    size_t max = f->assoc ? f->assoc->pace.msg : 1;
    size_t cap = f->credit.send < max ? f->credit.send : max;
    outmsg_t *m = cap ? assoc_data_alloc(cap) : NULL;

    (void)suggested;
    *buf = uv_buf_init(m ? (char *)m->data : NULL, m ? (unsigned)cap : 0);
}

static void flow_on_eof(flow_t *f)
{
    flow_read_stop(f);
    f->read_eof = 1;
    flow_send_empty(f, WIRE_FIN);
    flow_check_final(f);
    flow_check_tcp_done(f);
}

/* A short read in a buffer sized for a whole message gives the rest back:
 * a flow's queue is bounded in bytes, and 4 KiB reads each holding a 64 KiB
 * buffer made 1,000 flows of a slow back end cost 137 MB instead of 35. */
static outmsg_t *flow_msg_shrink(outmsg_t *m, size_t len)
{
    outmsg_t *small = realloc(m, sizeof(*m) + len + WIRE_SEAL_MAX); /* room to seal it */

    return small ? small : m;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    flow_t *f = container_of(s, flow_t, tcp);
    outmsg_t *m = buf->base ? container_of((uint8_t *)buf->base, outmsg_t, data) : NULL;
    char why[160];

    if (nread > 0 && !f->assoc)
        nread = UV_ECONNABORTED;
    if (nread > 0 && (size_t)nread < buf->len / 2)
        m = flow_msg_shrink(m, (size_t)nread);
    if (nread > 0) {
        credit_sent(&f->credit, (uint32_t)nread);
        f->bytes_up += (uint64_t)nread;
        assoc_send_data(f->assoc, &f->sendq, f->sid, m, (uint32_t)nread);
        if (f->assoc && (f->credit.send == 0 || !assoc_has_room(f->assoc, &f->sendq)))
            flow_read_stop(f);
        return;
    }
    free(m);
    if (nread == 0)
        return;
    if (nread == UV_EOF) {
        flow_on_eof(f);
        return;
    }
    if (nread == UV_ENOBUFS) {
        /* on_alloc found no memory (a flow without credit is not read):
         * libuv keeps watching the socket, so returning would spin. */
        flow_close(f, WIRE_E_INTERNAL, "out of memory for a read");
        return;
    }
    flow_tcp_why(f, "", (int)nread, why, sizeof(why));
    flow_close(f, WIRE_E_RESET, why);
}

static void flow_read_start(flow_t *f)
{
    if (f->reading || f->read_eof || f->closed || !f->connected || !f->assoc || f->credit.send == 0)
        return;
    if (!assoc_has_room(f->assoc, &f->sendq))
        return; /* flow_on_sent() starts it once the queue drains */
    if (uv_read_start((uv_stream_t *)&f->tcp, on_alloc, on_read) == 0)
        f->reading = 1;
}

void flow_on_sent(flow_t *f)
{
    flow_read_start(f);
    flow_maybe_free(f);
}

/* A socket nobody reads or writes does not report its reset: a flow that
 * stopped reading for credit would carry all it had read to the far end,
 * and hold the far end's connection, until its credit came back, seconds
 * behind a busy association (hundreds of abandoned clients took 15-20 s).
 * The socket's pending error says so at once. */
void flow_check_stalled(flow_t *f)
{
    int fd, err = 0;
    socklen_t len = sizeof(err);
    char why[200], text[80];

    if (f->reading || f->closed || !f->connected || f->tcp_gone)
        return;
    if (uv_fileno((const uv_handle_t *)&f->tcp, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err == 0)
        return;
    snprintf(why, sizeof(why), "the %s's connection failed while the flow waited: %s",
             f->opener ? "client" : "back end", flow_tcp_error(f, -err, text, sizeof(text)));
    flow_close(f, WIRE_E_RESET, why);
}

/* ---- SCTP -> TCP ---------------------------------------------------- */

/* Bytes reached the TCP socket: give the credit back, in batches. */
static void flow_consumed(flow_t *f, uint32_t n)
{
    uint32_t grant = credit_consumed(&f->credit, n);
    wire_msg_t m = {.type = WIRE_WINDOW};

    if (grant && !f->fin_recv && !f->sent_final && !f->closed) {
        m.u.window = grant;
        flow_send(f, &m);
    }
}

static void flow_release_held(flow_t *f);

static void on_write(uv_write_t *req, int status)
{
    flow_write_t *w = container_of(req, flow_write_t, req);
    flow_t *f = w->flow;
    uint32_t len = w->len;
    char why[160];

    free(w);
    f->write_pending -= len;
    f->writes--;
    if (f->closed)
        return;
    if (status < 0) {
        flow_tcp_why(f, "writing to the ", status, why, sizeof(why));
        flow_close(f, WIRE_E_RESET, why);
        return;
    }
    flow_consumed(f, len);
    if (!f->closed && !f->dial && f->writes == 0)
        flow_release_held(f);
}

/* Keeps a copy of the peer's bytes that the socket did not take. They
 * stay held while the back end has not connected (no TCP connection exists
 * to queue them on, and a failed address's connection would cancel what
 * was queued on it), or while they are small and writes are under way;
 * they fill what the last held buffer has left before taking a new one, so
 * that what is held costs its bytes, whatever the messages' sizes. */
static void flow_hold(flow_t *f, const uint8_t *bytes, uint32_t len)
{
    flow_write_t *last = f->held ? container_of(f->held_tail, flow_write_t, next) : NULL;
    flow_write_t *w;
    uint32_t cap, n;

    if (last && last->cap > last->len) {
        n = last->cap - last->len < len ? last->cap - last->len : len;
        memcpy(last->data + last->len, bytes, n);
        last->len += n;
        f->write_pending += n;
        bytes += n;
        if (!(len -= n))
            return;
    }
    /* The first bytes held with no write under way (the peer's first while
     * the back end connects, or what a full socket left) take what they
     * need: room to gather is for those that follow. */
    cap = len;
    if (f->held || f->writes)
        cap = len > WRITE_GATHER_BYTES ? len : WRITE_GATHER_BYTES;
    if (!(w = malloc(sizeof(*w) + cap))) {
        flow_close(f, WIRE_E_INTERNAL, "out of memory");
        return;
    }
    w->flow = f;
    w->len = len;
    w->cap = cap;
    w->next = NULL;
    memcpy(w->data, bytes, len);
    if (!f->held)
        f->held_tail = &f->held;
    *f->held_tail = w;
    f->held_tail = &w->next;
    f->write_pending += len;
}

static int flow_submit(flow_t *f, flow_write_t *w)
{
    uv_buf_t b = uv_buf_init((char *)w->data, w->len);

    if (uv_write(&w->req, (uv_stream_t *)&f->tcp, &b, 1, on_write) < 0) {
        f->write_pending -= w->len;
        free(w);
        flow_close(f, WIRE_E_RESET, "cannot write to the TCP connection");
        return -1;
    }
    f->writes++;
    return 0;
}

/* What was held is written, in order: the back end connected, the writes
 * under way are done, or a larger message or the FIN must follow it. */
static void flow_release_held(flow_t *f)
{
    while (f->held && !f->closed) {
        flow_write_t *w = f->held;

        f->held = w->next;
        if (flow_submit(f, w) < 0)
            return;
    }
}

/* Writes what the socket takes now and holds a copy of the rest, written
 * at once when it is large or no write is under way. */
static void flow_write(flow_t *f, const uint8_t *bytes, uint32_t len)
{
    uv_buf_t b = uv_buf_init((char *)bytes, len);
    int n = 0;

    if (f->dial) {
        flow_hold(f, bytes, len);
        return;
    }
    if (f->connected && f->write_pending == 0)
        n = uv_try_write((uv_stream_t *)&f->tcp, &b, 1);
    if (n < 0)
        n = 0;
    if ((uint32_t)n == len) {
        flow_consumed(f, len);
        return;
    }
    if (n > 0)
        flow_consumed(f, (uint32_t)n);
    len -= (uint32_t)n;
    flow_hold(f, bytes + n, len);
    if (!f->closed && (len >= WRITE_GATHER_BYTES || f->writes == 0))
        flow_release_held(f);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    flow_t *f = container_of(req, flow_t, shutdown_req);

    if (f->closed)
        return;
    if (status < 0) {
        flow_close(f, WIRE_E_RESET, "cannot pass the half-close on");
        return;
    }
    f->tcp_shut = 1;
    if (!f->assoc) {
        flow_finish_check(f); /* finishing after its association went */
        return;
    }
    flow_check_final(f);
    flow_check_tcp_done(f);
}

/* The peer's FIN: half-close our TCP side once everything before it has
 * been written (uv_shutdown waits for queued writes). */
static void flow_pass_fin(flow_t *f)
{
    if (!f->connected || f->closed)
        return;
    flow_release_held(f);
    if (f->closed)
        return;
    if (uv_shutdown(&f->shutdown_req, (uv_stream_t *)&f->tcp, on_shutdown) < 0)
        flow_close(f, WIRE_E_RESET, "cannot pass the half-close on");
}

static void flow_on_data(flow_t *f, const uint8_t *bytes, size_t len)
{
    if (f->closed)
        return; /* late data of a reset flow: its final word is coming */
    if (f->fin_recv) {
        flow_close(f, WIRE_E_PROTOCOL, "peer sent DATA after FIN");
        return;
    }
    if (credit_received(&f->credit, (uint32_t)len) < 0) {
        flow_close(f, WIRE_E_WINDOW, "peer sent beyond the flow window");
        return;
    }
    f->bytes_down += len;
    flow_write(f, bytes, (uint32_t)len);
}

static void flow_on_fin(flow_t *f)
{
    if (f->fin_recv) {
        flow_close(f, WIRE_E_PROTOCOL, "peer sent a second FIN");
        return;
    }
    f->fin_recv = 1;
    flow_pass_fin(f);
    flow_check_final(f);
}

static void flow_on_window(flow_t *f, uint32_t inc)
{
    if (f->closed)
        return;
    if (credit_granted(&f->credit, inc) < 0) {
        flow_close(f, WIRE_E_PROTOCOL, "peer granted more than its window");
        return;
    }
    flow_read_start(f);
}

/* The peer's final word: a flow closed already only waited for it, and may
 * be freed here (nothing may touch it after). Returns whether it was. */
static int flow_take_final(flow_t *f)
{
    f->got_final = 1;
    if (!f->closed)
        return 0;
    flow_maybe_free(f);
    return 1;
}

/* A flow that opened, or one this gateway turned away, in its service's
 * counters. One that opened and that the back end then refused (or, at
 * the end that accepted its client, the peer) is counted again as
 * refused: an operator watching refusals sees a back end that is down. */
static void flow_count_open(const flow_t *f, int opened)
{
    svc_stats_t *st = gateway_svc_stats(f->gw, f->service);

    if (st && opened)
        st->opened++;
    else if (st)
        st->refused++;
}

/* A failing back end's episode is over (`how`, `then`): from its first
 * failure to its last, and what it cost. */
static void flow_backend_episode_end(const flow_t *f, svc_stats_t *st, const char *how,
                                     const char *then)
{
    uint64_t ms;
    unsigned long n;

    if (episode_end(&st->backend, st->backend.last_ms, &ms, &n))
        log_info(&f->gw->log, "svc", "[%s]: back end %s%s: %lu flow%s failed in %llu ms%s",
                 f->service, f->dial->name, how, n, n == 1 ? "" : "s", (unsigned long long)ms,
                 then);
}

/* The counters of the flow's service, if the back end it dials is still
 * the service's: one a reload has moved the service away from tells
 * nothing of the new one (config_service_target writes a target as the
 * dial names it). */
static svc_stats_t *flow_backend_stats(const flow_t *f)
{
    const service_conf_t *sc = config_service(f->gw->cfg, f->service);
    char target[ADDR_STRLEN + 192];

    if (!sc || sc->is_accept ||
        strcmp(config_service_target(sc, target, sizeof(target)), f->dial->name) != 0)
        return NULL;
    return gateway_svc_stats(f->gw, f->service);
}

/* A flow's back end failed (no name, no address connected): said once per
 * episode as a warning, with the first reason. Each flow's own reset is an
 * INFO line, so at log_level = warn a dead back end would pass unseen. A
 * failure of this host's own (no local port, memory or descriptor for the
 * socket) is not the back end's. */
static void flow_backend_failed(const flow_t *f, int err, const char *why)
{
    svc_stats_t *st = flow_backend_stats(f);
    uint64_t now = uv_now(f->gw->loop);

    if (!st || err == UV_EADDRNOTAVAIL || err == UV_ENOBUFS || err == UV_ENOMEM ||
        err == UV_EMFILE || err == UV_ENFILE)
        return;
    if (episode_quiet(&st->backend, now, BACKEND_QUIET_MS))
        flow_backend_episode_end(f, st, "", ", then none for a minute");
    if (episode_hit(&st->backend, "back end failing", now))
        log_warn(&f->gw->log, "svc", "[%s]: %s; the peer's flows fail while it does", f->service,
                 why);
}

/* A flow's back end connected: the end of an episode, once its failures
 * have stopped. */
static void flow_backend_answered(const flow_t *f)
{
    svc_stats_t *st = flow_backend_stats(f);

    if (st && episode_quiet(&st->backend, uv_now(f->gw->loop), BACKEND_QUIET_MS))
        flow_backend_episode_end(f, st, " answers again", "");
}

/* RST, or a failed RESULT: the peer's final word and the flow's end.
 * flow_close() answers with our own final word, a CLOSE, and may free the
 * flow at once (one with no TCP side, still looking its back end up), so
 * nothing touches it after; a flow closed already only waited for this. */
static void flow_on_reset(flow_t *f, const wire_msg_t *m)
{
    char why[WIRE_TEXT_MAX + 64];
    uint16_t code = m->u.reason.code;

    if (flow_take_final(f))
        return;
    snprintf(why, sizeof(why), "peer: %s%s%s", wire_code_name(code),
             m->u.reason.text[0] ? ": " : "", m->u.reason.text);
    /* OK closes cleanly and LOST logs at debug (the association's own line
     * tells of that): a peer's word picks neither for its reset. */
    if (code == WIRE_OK || code == WIRE_E_LOST)
        code = WIRE_E_RESET;
    flow_close(f, code, why);
}

void flow_on_message(flow_t *f, const wire_msg_t *m)
{
    if (f->got_final) {
        flow_log(f, f->assoc ? assoc_ignored_level(f->assoc) : LOG_WARN,
                 "peer sent %s after its final word; ignored", wire_type_name(m->type));
        return;
    }
    switch (m->type) {
    case WIRE_DATA:
        flow_on_data(f, m->u.data.bytes, m->u.data.len);
        break;
    case WIRE_FIN:
        flow_on_fin(f);
        break;
    case WIRE_WINDOW:
        flow_on_window(f, m->u.window);
        break;
    case WIRE_RST:
        flow_on_reset(f, m);
        break;
    case WIRE_RESULT:
        if (!f->opener)
            flow_close(f, WIRE_E_PROTOCOL, "peer sent RESULT to the responder");
        else if (m->u.reason.code != WIRE_OK) {
            flow_count_open(f, 0);
            flow_on_reset(f, m);
        } else {
            f->result_got = 1;
            flow_log(f, LOG_DEBUG, "peer connected to the back end");
        }
        break;
    case WIRE_CLOSE:
        /* A final word that only follows both FINs, or answers ours: one
         * before them would leave the flow waiting for a FIN that cannot
         * follow, holding its back end until the association ends. */
        f->got_final = 1;
        if (!f->closed && !(f->fin_recv && f->read_eof))
            flow_close(f, WIRE_E_PROTOCOL, "peer sent CLOSE before both FINs");
        else
            flow_maybe_free(f);
        break;
    default:
        flow_close(f, WIRE_E_PROTOCOL, "unexpected message on a flow stream");
        break;
    }
}

/* No final word follows a broken one: waiting for it would hold the
 * stream for the association's life, and the peer's next OPEN on it would
 * then end the association. */
void flow_on_malformed(flow_t *f, int final, const char *why)
{
    if (f->got_final) {
        flow_log(f, f->assoc ? assoc_ignored_level(f->assoc) : LOG_WARN,
                 "%s after the peer's final word; ignored", why);
        return;
    }
    if (final && flow_take_final(f))
        return;
    flow_close(f, WIRE_E_PROTOCOL, why);
}

/* ---- opening -------------------------------------------------------- */

static flow_t *flow_new(assoc_t *a, const char *service, int opener)
{
    flow_t *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    f->gw = a->gw;
    f->assoc = a;
    list_init(&f->finishing);
    f->id = ++a->gw->next_flow_id;
    f->started = uv_now(a->gw->loop);
    f->opener = opener ? 1 : 0;
    msgq_init(&f->sendq);
    snprintf(f->service, sizeof(f->service), "%s", service);
    credit_init(&f->credit, a->peer_window, a->flow_window);
    return f;
}

static const char *peer_of(uv_tcp_t *tcp, char *buf, size_t len)
{
    addr_t peer;
    int n = sizeof(peer);

    if (uv_tcp_getpeername(tcp, &peer.sa, &n) < 0)
        return "?";
    return addr_format(&peer, buf, len);
}

int flow_accept(assoc_t *a, const service_conf_t *svc, int fd)
{
    flow_t *f = flow_new(a, svc->name, 1);
    char who[ADDR_STRLEN];
    wire_msg_t open = {.type = WIRE_OPEN};

    if (!f)
        return -ENOMEM;
    uv_tcp_init(a->gw->loop, &f->tcp);
    f->tcp_init = 1;
    if (uv_tcp_open(&f->tcp, fd) < 0) {
        close(fd); /* not the handle's: it would not take it */
        f->assoc = NULL;
        flow_close(f, WIRE_E_INTERNAL, "accept failed");
        return 0;
    }
    f->connected = 1;
    flow_tcp_setup(f);
    if (assoc_add_flow(a, f) < 0) {
        f->assoc = NULL;
        flow_close(f, WIRE_E_LIMIT, "no free stream: max_flows reached");
        return 0;
    }
    flow_count_open(f, 1);
    flow_log(f, LOG_INFO, "opened for client %s on assoc %llu", peer_of(&f->tcp, who, sizeof(who)),
             (unsigned long long)a->id);
    snprintf(open.u.service, sizeof(open.u.service), "%s", svc->name);
    flow_send(f, &open);
    flow_read_start(f);
    return 0;
}

static void flow_dial_next(flow_t *f);
static void on_attempt_closed(uv_handle_t *h);

/* The back end answered: tell the peer, and start carrying bytes. */
static void flow_connected(flow_t *f)
{
    wire_msg_t ok = {.type = WIRE_RESULT};
    char where[ADDR_STRLEN];

    f->connected = 1;
    flow_tcp_setup(f);
    flow_send(f, &ok);
    f->result_sent = 1;
    flow_log(f, LOG_DEBUG, "connected to the back end %s at %s", f->dial->name,
             addr_format(&f->dial_addr, where, sizeof(where)));
    flow_backend_answered(f);
    flow_dial_end(f);
    flow_release_held(f);
    if (f->closed)
        return;
    if (f->fin_recv)
        flow_pass_fin(f);
    flow_read_start(f);
}

/* One address of a back end failed: the next one, if any, is tried once
 * the failed connection's handle has closed (a new address may be of the
 * other family, so it needs a socket of its own). */
static void flow_dial_failed(flow_t *f, int status)
{
    char where[ADDR_STRLEN];

    f->dial_err = status;
    flow_log(f, LOG_DEBUG, "back end %s at %s: %s", f->dial->name,
             addr_format(&f->dial_addr, where, sizeof(where)), uv_strerror(status));
    if (!uv_is_closing((uv_handle_t *)&f->tcp))
        uv_close((uv_handle_t *)&f->tcp, on_attempt_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    flow_t *f = container_of(req, flow_t, connect_req);

    if (f->closed)
        return;
    if (status < 0) {
        /* UV_ECANCELED: the attempt's share of the time ran out and its
         * handle is closing already; on_attempt_closed goes on. */
        if (status != UV_ECANCELED)
            flow_dial_failed(f, status);
        return;
    }
    flow_connected(f);
}

/* A failed address's handle has closed: try the next address, unless the
 * flow ended meanwhile (then this was its TCP side's last close). */
static void on_attempt_closed(uv_handle_t *h)
{
    flow_t *f = container_of(h, flow_t, tcp);

    f->tcp_init = 0;
    if (f->closed) {
        f->tcp_gone = 1;
        flow_maybe_free(f);
        return;
    }
    flow_dial_next(f);
}

/* Connects to the dial's next address, or resets the flow when none is
 * left: refused when the last one refused, unreachable otherwise. */
static void flow_dial_next(flow_t *f)
{
    char why[WIRE_TEXT_MAX];
    char where[ADDR_STRLEN];
    int r;

    if (dial_next(f->dial, &f->dial_addr) < 0) {
        if (f->dial->tried == 1)
            snprintf(why, sizeof(why), "back end %s: %s", f->dial->name, uv_strerror(f->dial_err));
        else
            snprintf(why, sizeof(why),
                     "back end %s: %u addresses tried, none connected (last %s: %s)", f->dial->name,
                     f->dial->tried, addr_format(&f->dial_addr, where, sizeof(where)),
                     uv_strerror(f->dial_err));
        flow_count_open(f, 0);
        flow_backend_failed(f, f->dial_err, why);
        flow_close(f, f->dial_err == UV_ECONNREFUSED ? WIRE_E_REFUSED : WIRE_E_UNREACHABLE, why);
        return;
    }
    uv_tcp_init(f->gw->loop, &f->tcp);
    f->tcp_init = 1;
    r = uv_tcp_connect(&f->connect_req, &f->tcp, &f->dial_addr.sa, on_connect);
    if (r < 0)
        flow_dial_failed(f, r);
}

/* What the dial reports: the lookup's end, or time running out. */
static void on_dial(void *data, dial_event_t ev, int status)
{
    flow_t *f = data;
    char why[WIRE_TEXT_MAX];

    if (ev == DIAL_RESOLVED && status == 0) {
        flow_dial_next(f);
        return;
    }
    if (ev == DIAL_TIMEOUT && f->tcp_init) {
        flow_dial_failed(f, status); /* this address took its share: next */
        return;
    }
    if (ev == DIAL_TIMEOUT)
        snprintf(why, sizeof(why), "back end %s: name did not resolve within %u ms", f->dial->name,
                 DIAL_TOTAL_MS);
    else
        snprintf(why, sizeof(why), "back end %s: name did not resolve: %s", f->dial->name,
                 uv_strerror(status));
    flow_count_open(f, 0);
    flow_backend_failed(f, status, why);
    flow_close(f, WIRE_E_NAME, why);
}

/* Connects the flow to its service's back end through a dial: a numeric
 * address at once, a name once looked up. Returns 0 or a UV_* error. */
static int flow_connect(flow_t *f, const service_conf_t *svc)
{
    int r;

    if (svc->is_name) {
        f->dial = dial_start(&f->gw->lookups, f->gw->loop, svc->host, svc->port, DIAL_TOTAL_MS,
                             on_dial, f, &r);
        return f->dial ? 0 : r;
    }
    f->dial = dial_start_addr(f->gw->loop, &svc->addr, DIAL_TOTAL_MS, on_dial, f, &r);
    if (!f->dial)
        return r;
    flow_dial_next(f);
    return 0;
}

/* The reason an inbound OPEN is refused, or WIRE_OK. */
static uint16_t flow_refusal(assoc_t *a, const service_conf_t *svc, const char **why)
{
    if (!svc || svc->is_accept)
        return *why = "no such connect service here", WIRE_E_NO_SERVICE;
    if (gateway_draining(a->gw))
        return *why = "gateway is shutting down", WIRE_E_SHUTDOWN;
    if (a->n_flows > a->gw->cfg->max_flows)
        return *why = "max_flows reached", WIRE_E_LIMIT;
    if (gateway_flows_with_fds(a->gw) > gateway_fd_room(a->gw))
        return *why = "out of file descriptors", WIRE_E_LIMIT;
    return WIRE_OK;
}

void flow_open_inbound(assoc_t *a, uint16_t sid, const char *service)
{
    const service_conf_t *svc = config_service(a->gw->cfg, service);
    flow_t *f = flow_new(a, service, 0);
    const char *why = NULL;
    uint16_t code;
    int r;

    if (!f) {
        assoc_close(a, WIRE_E_INTERNAL, "out of memory for a new flow");
        return;
    }
    f->sid = sid;
    a->flows[sid] = f;
    a->n_flows++;
    code = flow_refusal(a, svc, &why);
    flow_count_open(f, code == WIRE_OK);
    if (code != WIRE_OK) {
        flow_close(f, code, why);
        return;
    }
    a->flows_opened++;
    r = flow_connect(f, svc);
    if (r < 0) {
        char reason[WIRE_TEXT_MAX + 256], target[ADDR_STRLEN + 192];

        snprintf(reason, sizeof(reason), "back end %s: cannot start connecting: %s",
                 config_service_target(svc, target, sizeof(target)), uv_strerror(r));
        flow_count_open(f, 0);
        flow_close(f, WIRE_E_UNREACHABLE, reason);
        return;
    }
    flow_log(f, LOG_DEBUG, "opened by the peer on assoc %llu", (unsigned long long)a->id);
}
