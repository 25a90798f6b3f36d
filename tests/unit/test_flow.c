/* Tests of src/flow.c on a real loop, with a gateway (and where needed an
 * association) built by hand, and no SCTP socket:
 * - a service's byte totals in src/collect.c's snapshots stay in them from
 *   the moment a flow leaves its association until after its memory has
 *   gone, never counted twice: they come from a counter that a Prometheus
 *   scrape must never see go down (it reads that as a reset);
 * - a flow finishing without its association, whose endpoint resets with
 *   bytes unacknowledged, ends (a real TCP connection over loopback);
 * - a flow finishing without its association, whose endpoint's last bytes
 *   or FIN were still queued when it went, ends with a reset;
 * - a closed flow leaves its stream as soon as both final words have been
 *   exchanged, before its TCP handle has closed, also when the peer's was
 *   malformed;
 * - a peer's reset is logged as one, whatever its code;
 * - the peer's bytes for a TCP end that does not read cost memory in
 *   proportion to them, however small the messages they come in, and
 *   arrive whole and in order once it reads;
 * - a flow refused, waiting only for the peer's last word, leaves the
 *   descriptor room to other flows, and so does one ended cleanly whose
 *   TCP handle has closed;
 * - a service stopped by a reload takes the clients waiting in its
 *   listener's backlog (src/service.c), and one a failed reload opened
 *   leaves them to the kernel;
 * - the gateway's start time is the same in every snapshot, and follows a
 *   step of the wall clock; a flow is "opening" until it can carry bytes,
 *   and shows the back end it is trying;
 * - at the cap of unproven associations, a peer that holds the key is the
 *   last to be pushed out; associations past the reserve's take their
 *   sockets from the flows' room.
 * Flows are placed where flow.c keeps them; their handles close on a later
 * loop turn, as a real flow's do. */
#include "check.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include "assoc.h"
#include "flow.h"
#include "gateway.h"
#include "snapshot.h"

/* Bytes asked of malloc while `counting`: what the flow's writes hold. */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
static size_t malloc_bytes;
static int counting;

void *__wrap_malloc(size_t size)
{
    if (counting)
        malloc_bytes += size;
    return __real_malloc(size);
}

static uv_loop_t loop;
static gateway_t gw;
static config_t cfg;
static svc_stats_t stats[2];

static void gw_init(void)
{
    CHECK(uv_loop_init(&loop) == 0);
    snprintf(cfg.name, sizeof(cfg.name), "test");
    snprintf(cfg.services[0].name, sizeof(cfg.services[0].name), "echo");
    cfg.services[0].is_accept = 1;
    cfg.n_services = 1;
    gw.loop = &loop;
    gw.cfg = &cfg;
    gw.log.level = LOG_ERROR; /* the flows' "closed" lines are not the test */
    gw.log.name = "test";
    gw.svc_stats = stats;
    list_init(&gw.assocs);
    list_init(&gw.finishing);
    CHECK(uv_timer_init(&loop, &gw.finish_timer) == 0);
    gw.finish_timer.data = &gw;
}

/* A flow of "echo" with its bytes so far, in no list yet. */
static flow_t *flow_make(uint64_t up, uint64_t down)
{
    flow_t *f = calloc(1, sizeof(*f));

    CHECK(f != NULL);
    if (!f)
        exit(1);
    f->gw = &gw;
    snprintf(f->service, sizeof(f->service), "echo");
    list_init(&f->finishing);
    msgq_init(&f->sendq);
    CHECK(uv_tcp_init(&loop, &f->tcp) == 0);
    f->tcp_init = 1;
    f->bytes_up = up;
    f->bytes_down = down;
    return f;
}

/* flow_make, on the gateway's end of a TCP connection. */
static flow_t *flow_on(int srv, uint64_t up, uint64_t down)
{
    flow_t *f = flow_make(up, down);

    CHECK(uv_tcp_open(&f->tcp, srv) == 0);
    f->connected = 1;
    return f;
}

/* An association with no socket, ready, of 8 streams. */
static assoc_t *assoc_make(void)
{
    assoc_t *a = calloc(1, sizeof(*a));

    CHECK(a != NULL);
    if (!a)
        exit(1);
    a->gw = &gw;
    a->state = ASSOC_READY;
    a->nstreams = 8;
    a->flows = calloc(a->nstreams, sizeof(*a->flows));
    CHECK(a->flows != NULL && streams_init(&a->streams, a->nstreams, 0, 8) == 0);
    fairq_init(&a->fairq, WIRE_MSG_MAX);
    return a;
}

static void assoc_unmake(assoc_t *a)
{
    streams_free_all(&a->streams);
    free(a->flows);
    free(a);
}

/* The service's totals and open flows in a snapshot taken now. */
static void service_totals(uint64_t *out, uint64_t *in, uint64_t *open)
{
    snapshot_t s;
    int ok = gateway_snapshot(&gw, &s, 1) == 0;

    CHECK(ok);
    if (!ok)
        exit(1);
    CHECK(s.n_services == 1);
    *out = s.services[0].bytes_out;
    *in = s.services[0].bytes_in;
    *open = s.services[0].flows_open;
    snapshot_free(&s);
}

#define CHECK_TOTALS(want_out, want_in, want_open)                                                 \
    do {                                                                                           \
        uint64_t o_, i_, n_;                                                                       \
        service_totals(&o_, &i_, &n_);                                                             \
        CHECK(o_ == (want_out));                                                                   \
        CHECK(i_ == (want_in));                                                                    \
        CHECK(n_ == (want_open));                                                                  \
    } while (0)

/* A flow whose peer had finished sending when its association went:
 * flow_detach keeps it on the finishing list to pass the last bytes on,
 * then it closes, and its memory stays until its TCP handle's close
 * callback. (Its handle has no socket: it never has anything to write.) */
static void test_finishing_flow_closes(void)
{
    flow_t *f = flow_make(1000, 2000);

    f->fin_recv = 1;
    f->connected = 1;
    CHECK(flow_detach(f, 0, "association gone") == 0);
    CHECK(gw.n_finishing == 1);
    CHECK_TOTALS(1000, 2000, 1);
    flow_close(f, WIRE_OK, "the peer's bytes and FIN passed on");
    CHECK(gw.n_finishing == 0);
    CHECK_TOTALS(1000, 2000, 0); /* its handle is still closing */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_TOTALS(1000, 2000, 0); /* freed */
}

/* A flow still open when its association goes is reset by flow_detach:
 * in no list from then on, until its handle has closed. */
static void test_detached_flow_resets(void)
{
    flow_t *f = flow_make(30, 40);

    CHECK(flow_detach(f, 0, "association gone") == 1);
    CHECK_TOTALS(1030, 2040, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_TOTALS(1030, 2040, 0);
}

/* Runs the loop until `done` holds or `ms` have passed; returns done. */
static int run_until(int (*done)(void), uint64_t ms)
{
    uint64_t end = uv_now(&loop) + ms;

    while (!done() && uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(5000);
        uv_update_time(&loop);
    }
    return done();
}

static int no_flow_finishing(void)
{
    return gw.n_finishing == 0;
}

/* A TCP connection over loopback with small buffers: *srv is the
 * gateway's end (non-blocking), *cli the endpoint's. */
static int tcp_pair_open(int *srv, int *cli)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), small = 4096, r = -1;

    *srv = -1;
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd >= 0 && *cli >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        listen(lfd, 1) == 0 && getsockname(lfd, (struct sockaddr *)&sa, &len) == 0 &&
        setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0 &&
        connect(*cli, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        (*srv = accept(lfd, NULL, NULL)) >= 0 &&
        setsockopt(*srv, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0 &&
        fcntl(*srv, F_SETFL, O_NONBLOCK) == 0)
        r = 0;
    if (lfd >= 0)
        close(lfd);
    return r;
}

/* tcp_pair_open, the gateway's end holding more than the endpoint's
 * window takes, and both ends half-closed. */
static int tcp_pair_stuck(int *srv, int *cli)
{
    static char junk[65536];
    int queued = 0;

    if (tcp_pair_open(srv, cli) < 0)
        return -1;
    while (write(*srv, junk, sizeof(junk)) > 0)
        ;
    usleep(100000); /* what the client's window takes is acknowledged */
    if (errno != EAGAIN || shutdown(*cli, SHUT_WR) != 0 || shutdown(*srv, SHUT_WR) != 0 ||
        ioctl(*srv, SIOCOUTQ, &queued) != 0 || queued <= 0)
        return -1;
    return 0;
}

/* A flow finishing without its association waits for its endpoint to
 * acknowledge the last bytes. Once the endpoint has half-closed nothing
 * reads or writes the socket: the endpoint's reset must still end the
 * flow, though the kernel's count of unacknowledged bytes stays put. */
static void test_finishing_flow_reset_by_endpoint(void)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int srv, cli;
    flow_t *f;

    CHECK(tcp_pair_stuck(&srv, &cli) == 0);
    if (srv < 0 || cli < 0)
        return;
    f = flow_on(srv, 5, 6);
    f->opener = f->fin_recv = f->read_eof = f->tcp_shut = 1;
    CHECK(flow_detach(f, 0, "association gone") == 0);
    CHECK(!run_until(no_flow_finishing, 300)); /* the client lives: it may read yet */
    CHECK(setsockopt(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
    close(cli);
    CHECK(run_until(no_flow_finishing, 2000));
    if (!no_flow_finishing())
        flow_close(f, WIRE_E_RESET, "test over");
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_TOTALS(1035, 2046, 0);
}

/* A flow reset here, its RST handed to the kernel (sent_final), closes its
 * TCP handle; the peer's CLOSE then completes the stream's final words. The
 * peer may OPEN a new flow on the stream as soon as it has sent that CLOSE,
 * and that OPEN may be read in the same loop turn: the old flow must be out
 * of the table by then, not on the handle's close callback. */
static void test_stream_free_once_final_words_exchanged(void)
{
    assoc_t *a = assoc_make();
    wire_msg_t close_msg = {.type = WIRE_CLOSE};
    flow_t *f = flow_make(7, 8);

    f->sid = 3; /* the peer's half: it opened this flow */
    f->assoc = a;
    a->flows[3] = f;
    a->n_flows = 1;
    f->sent_final = 1;
    flow_close(f, WIRE_E_RESET, "back end reset");
    CHECK(a->flows[3] == f); /* the peer's last word is still owed */
    flow_on_message(f, &close_msg);
    CHECK(a->flows[3] == NULL);
    CHECK(a->n_flows == 0 && a->n_ending == 0);
    CHECK(a->done_out == 7 && a->done_in == 8);
    CHECK_TOTALS(1042, 2054, 0); /* its handle is still closing */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_TOTALS(1042, 2054, 0); /* freed */
    assoc_unmake(a);
}

/* A malformed message resets its flow. One that was the peer's final word
 * (wire_ends_flow) frees the stream at once, as a well-formed one does:
 * none follows it, and the stream held for it would make the peer's next
 * OPEN there end the association. Any other still waits for that word. */
static void test_malformed_final_word(void)
{
    assoc_t *a = assoc_make();
    wire_msg_t close_msg = {.type = WIRE_CLOSE};
    flow_t *rst = flow_make(0, 0), *data = flow_make(0, 0);

    a->dead = -ECONNRESET; /* what it sends is dropped: no socket here */
    rst->sid = 3;
    data->sid = 5;
    rst->assoc = data->assoc = a;
    a->flows[3] = rst;
    a->flows[5] = data;
    a->n_flows = 2;
    flow_on_malformed(rst, 1, "malformed RST");
    CHECK(rst->closed && a->flows[3] == NULL);
    flow_on_malformed(data, 0, "malformed DATA");
    CHECK(data->closed && a->flows[5] == data); /* the peer's last word is owed */
    flow_on_message(data, &close_msg);
    CHECK(a->flows[5] == NULL && a->n_flows == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assoc_unmake(a);
}

/* What flow_on_message(m) writes to the log at level info. */
static void log_of_message(flow_t *f, const wire_msg_t *m, char *out, size_t cap)
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n = 0;

    CHECK(tmp != NULL && saved >= 0);
    if (!tmp || saved < 0)
        exit(1);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    gw.log.level = LOG_INFO;
    flow_on_message(f, m);
    gw.log.level = LOG_ERROR;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

/* A peer's RST is a reset, logged as one, whatever its code: LOST (this
 * end's word for its association's end) put it at debug, out of sight. */
static void test_peer_reset_code(void)
{
    assoc_t *a = assoc_make();
    wire_msg_t rst = {.type = WIRE_RST};
    flow_t *f = flow_make(0, 0);
    char line[512];

    a->dead = -ECONNRESET;
    f->sid = 3;
    f->assoc = a;
    a->flows[3] = f;
    a->n_flows = 1;
    rst.u.reason.code = WIRE_E_LOST;
    snprintf(rst.u.reason.text, sizeof(rst.u.reason.text), "its link went");
    log_of_message(f, &rst, line, sizeof(line));
    CHECK(strstr(line, "INFO") && strstr(line, "reset: peer: ") && strstr(line, "its link went"));
    CHECK(a->flows[3] == NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assoc_unmake(a);
}

/* An association for the descriptor-room tests: what it sends is dropped
 * (no socket here), max_flows 8, and room for one flow's descriptor. */
static assoc_t *fd_room_make(void)
{
    assoc_t *a = assoc_make();

    a->dead = -ECONNRESET;
    list_push(&gw.assocs, &a->node);
    cfg.max_flows = 8;
    gw.fd_flows = 1;
    return a;
}

static void fd_room_unmake(assoc_t *a)
{
    list_remove(&a->node);
    gw.fd_flows = 0;
    cfg.max_flows = 0;
    assoc_unmake(a);
}

/* "echo" as a connect service to the discard port (on), or as it was. */
static void echo_connects(int on)
{
    service_conf_t *svc = &cfg.services[0];

    svc->is_accept = !on;
    svc->addr.v4.sin_family = AF_INET;
    svc->addr.v4.sin_port = htons(9);
    svc->addr.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* A flow refused (or reset) holds its stream until the peer's last word,
 * but no descriptor: it leaves the descriptor room to others. (A peer that
 * never sent that word made every later flow "out of file descriptors".) */
static void test_ending_flow_holds_no_descriptor(void)
{
    assoc_t *a = fd_room_make();
    wire_msg_t close_msg = {.type = WIRE_CLOSE};
    flow_t *refused, *opened;

    flow_open_inbound(a, 3, "nosuch");
    refused = a->flows[3];
    CHECK(refused && refused->closed && refused->ending);
    echo_connects(1);
    flow_open_inbound(a, 5, "echo");
    opened = a->flows[5];
    CHECK(opened && !opened->closed); /* dialling its back end, not refused */
    if (opened && !opened->closed)
        flow_close(opened, WIRE_E_RESET, "test over");
    echo_connects(0);
    if (refused)
        flow_on_message(refused, &close_msg);
    if (opened)
        flow_on_message(opened, &close_msg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(a->n_flows == 0);
    fd_room_unmake(a);
}

/* A flow that ended cleanly waits for the peer's CLOSE, which comes only
 * once the far end has written our last bytes to its endpoint: for as long
 * as that reader is slow. Once its TCP handle has closed it holds no
 * descriptor, and leaves the room to other flows. */
static void test_closed_flow_holds_no_descriptor(void)
{
    assoc_t *a = fd_room_make();
    wire_msg_t close_msg = {.type = WIRE_CLOSE};
    flow_t *done, *next;

    echo_connects(1);
    flow_open_inbound(a, 3, "echo");
    done = a->flows[3];
    CHECK(done && !done->closed);
    if (!done)
        exit(1);
    done->read_eof = done->fin_recv = done->tcp_shut = 1;
    flow_close(done, WIRE_OK, "both directions finished");
    done->sent_final = 1; /* its CLOSE, dropped with the association's sends */
    for (int i = 0; i < 10 && !done->tcp_gone; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(done->tcp_gone && a->flows[3] == done && !done->ending);
    flow_open_inbound(a, 5, "echo");
    next = a->flows[5];
    CHECK(next && !next->closed); /* not refused "out of file descriptors" */
    if (next && !next->closed)
        flow_close(next, WIRE_E_RESET, "test over");
    echo_connects(0);
    flow_on_message(done, &close_msg);
    if (next)
        flow_on_message(next, &close_msg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(a->n_flows == 0 && a->n_closed == 0);
    fd_room_unmake(a);
}

/* The "echo" service listening on a port of the loopback the kernel
 * picks, its address in at, with room for 8 flows. */
static service_t *service_on_loopback(struct sockaddr_in *at)
{
    service_conf_t conf = cfg.services[0];
    socklen_t len = sizeof(*at);
    service_t *s;

    list_init(&gw.services);
    gw.fd_flows = 8;
    conf.addr.v4.sin_family = AF_INET;
    conf.addr.v4.sin_port = 0;
    conf.addr.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(service_start(&gw, &conf) == 0);
    s = container_of(gw.services.next, service_t, node);
    CHECK(getsockname(s->acceptor.fd, (struct sockaddr *)at, &len) == 0);
    return s;
}

/* Clients that connected just before a reload closed their service's
 * listener are handed to the service, which carries them or, as here (no
 * association is up), refuses them with a reason, counted: they were
 * reset by the kernel unseen. */
static void test_service_stop_takes_the_backlog(void)
{
    struct sockaddr_in at;
    int cli[3];
    uint64_t refused = stats[0].refused;
    service_t *s;

    s = service_on_loopback(&at);
    for (int i = 0; i < 3; i++) {
        cli[i] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(cli[i] >= 0 && connect(cli[i], (struct sockaddr *)&at, sizeof(at)) == 0);
    }
    service_stop(s); /* the loop never ran: all three wait in the backlog */
    CHECK(stats[0].refused == refused + 3);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++)
        close(cli[i]);
    gw.fd_flows = 0;
}

/* A listener a failed reload opened takes none of the clients that
 * reached it in the meantime: the kernel resets them (they were carried to
 * a service the reload never put in force). */
static void test_service_undo_leaves_the_backlog(void)
{
    struct sockaddr_in at;
    uint64_t opened = stats[0].opened, refused = stats[0].refused;
    char byte;
    service_t *s;
    int cli;

    s = service_on_loopback(&at);
    cli = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(cli >= 0 && connect(cli, (struct sockaddr *)&at, sizeof(at)) == 0);
    service_undo(s);
    CHECK(list_empty(&gw.services));
    CHECK(stats[0].opened == opened && stats[0].refused == refused);
    CHECK(list_empty(&gw.assocs));
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(recv(cli, &byte, 1, 0) < 0 && errno == ECONNRESET);
    close(cli);
    gw.fd_flows = 0;
}

/* The endpoint's TCP state, as the kernel has it. */
static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 ? ti.tcpi_state : -1;
}

/* A flow whose peer had finished sending, with its endpoint's last bytes
 * and FIN still queued for the peer when its association goes (`where`
 * QUEUED), or known by the association to be lost (LOST: taken but
 * refused, or in the kernel unacknowledged at an abort): those never
 * reach the peer, so the endpoint gets the peer's bytes and FIN, then a
 * reset, not a clean end its peer never saw. With nothing lost (NONE) the
 * end is clean. */
enum { QUEUED, LOST, NONE };

/* Whether the kernel has had all a socket sent acknowledged (its FIN
 * included) within a second. */
static int outq_drained(int fd)
{
    int queued = 1;

    for (int i = 0; i < 1000 && ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0; i++)
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    return queued == 0;
}

static void finishing_flow_with(int where)
{
    assoc_t *a = assoc_make();
    outmsg_t *m = calloc(1, sizeof(*m) + 16);
    int srv, cli;
    flow_t *f;

    CHECK(m != NULL && tcp_pair_open(&srv, &cli) == 0 && shutdown(srv, SHUT_WR) == 0);
    if (!m || srv < 0 || cli < 0)
        return;
    f = flow_on(srv, 11, 12);
    f->opener = f->fin_recv = f->read_eof = f->tcp_shut = 1;
    f->sid = 2;
    f->assoc = a;
    a->flows[2] = f;
    a->n_flows = 1;
    m->len = 16;
    m->sid = 2;
    if (where == QUEUED)
        fairq_push(&a->fairq, &f->sendq, m); /* its last DATA (or FIN), not yet sent */
    a->flows[2] = NULL;
    CHECK(outq_drained(srv));
    /* Everything it wrote delivered: it ends at once, and a reset counts
     * among the association's flows reset. */
    CHECK(flow_detach(f, where == LOST, "association gone") == (where != NONE));
    CHECK(a->fairq.active == 0 && a->fairq.bytes == 0);
    CHECK(run_until(no_flow_finishing, 2000));
    uv_run(&loop, UV_RUN_DEFAULT);
    /* A reset closes it; a clean end leaves it in CLOSE_WAIT. */
    CHECK(tcp_state(cli) == (where == NONE ? TCP_CLOSE_WAIT : TCP_CLOSE));
    if (where != QUEUED)
        free(m);
    close(cli);
    assoc_unmake(a);
}

static void test_finishing_flow_with_messages_unsent(void)
{
    finishing_flow_with(QUEUED);
    CHECK_TOTALS(1053, 2066, 0);
    finishing_flow_with(LOST);
    CHECK_TOTALS(1064, 2078, 0);
    finishing_flow_with(NONE);
    CHECK_TOTALS(1075, 2090, 0);
}

/* What the client has read of the bytes i % 251, in order; -1 once one
 * came out of order. */
static long got;
static int reader_fd = -1;
static long want;

static int client_has_all(void)
{
    static uint8_t b[65536];
    ssize_t n;

    while (got >= 0 && (n = read(reader_fd, b, sizeof(b))) > 0)
        for (ssize_t i = 0; i < n && got >= 0; i++)
            got = b[i] == (uint8_t)(got % 251) ? got + 1 : -1;
    return got < 0 || got >= want;
}

/* A back end that stopped reading while the peer sends small messages:
 * each message that cannot be written at once used to get a write request
 * of its own, about 240 bytes of memory for each byte of the window when
 * a message held one byte; and one of 2,049 bytes, which did not fit what
 * the last held buffer had left, took a new buffer of 4 KiB, about twice
 * the window. What is held costs little more than its bytes, and arrives
 * whole and in order once the back end reads. */
static void small_messages_to_a_stalled_end(uint32_t size, long msgs)
{
    static uint8_t buf[4096];
    wire_msg_t data = {.type = WIRE_DATA};
    int srv = -1, cli = -1;
    flow_t *f;

    CHECK(size <= sizeof(buf));
    CHECK(tcp_pair_open(&srv, &cli) == 0);
    if (size > sizeof(buf) || srv < 0 || cli < 0)
        return;
    f = flow_on(srv, 0, 0);
    credit_init(&f->credit, 1 << 20, 1 << 20);
    data.u.data.bytes = buf;
    data.u.data.len = size;
    malloc_bytes = 0;
    counting = 1;
    for (long i = 0; i < msgs && !f->closed; i++) {
        for (uint32_t j = 0; j < size; j++)
            buf[j] = (uint8_t)(((uint64_t)i * size + j) % 251);
        flow_on_message(f, &data);
    }
    counting = 0;
    CHECK(!f->closed);
    CHECK(malloc_bytes < 2 * (size_t)msgs * size + 65536);
    CHECK(malloc_bytes <= f->write_pending + f->write_pending / 10 + 8192);
    reader_fd = cli;
    want = msgs * (long)size;
    got = 0;
    CHECK(fcntl(cli, F_SETFL, O_NONBLOCK) == 0);
    CHECK(run_until(client_has_all, 10000));
    CHECK(got == want);
    CHECK(f->write_pending == 0);
    flow_close(f, WIRE_OK, "test over");
    uv_run(&loop, UV_RUN_DEFAULT);
    close(cli);
}

static void test_small_messages_to_a_stalled_end(void)
{
    small_messages_to_a_stalled_end(1, 200000);
    small_messages_to_a_stalled_end(2049, 300);
}

/* The start time a snapshot reports is the same in every snapshot: a
 * Prometheus rule on changes() of it, or of a last-change timestamp, must
 * not see each scrape as a restart. */
static void test_snapshot_start_time_stays(void)
{
    uint64_t first = 0;
    int moved = 0;

    gw.started = uv_now(&loop);
    for (int i = 0; i < 200; i++) {
        snapshot_t s;

        usleep(270);
        if (gateway_snapshot(&gw, &s, 0) < 0)
            exit(1);
        if (!first)
            first = s.start_ms;
        moved += s.start_ms != first;
        snapshot_free(&s);
    }
    CHECK(first != 0);
    CHECK(moved == 0);
}

/* The wall clock stepped since start (set at boot, by hand): the uptime a
 * snapshot reports follows it instead of carrying the step until a
 * restart. */
static void test_snapshot_follows_clock_step(void)
{
    const uint64_t year = 365ull * 24 * 3600 * 1000;
    struct timespec ts;
    snapshot_t s;

    clock_gettime(CLOCK_REALTIME, &ts);
    uv_update_time(&loop);
    gw.started = uv_now(&loop);
    gw.unix_base = (uint64_t)ts.tv_sec * 1000 - gw.started - year; /* read a year off */
    if (gateway_snapshot(&gw, &s, 0) < 0)
        exit(1);
    CHECK(s.now_ms - s.start_ms < 60000);
    snapshot_free(&s);
}

/* One flow's state and TCP end in a snapshot taken now. */
static void flow_seen(const flow_t *f, snap_flow_state_t *state, char *peer, size_t len)
{
    snapshot_t s;
    int found = 0;

    if (gateway_snapshot(&gw, &s, 1) < 0)
        exit(1);
    for (size_t i = 0; i < s.n_flows; i++) {
        if (s.flows[i].id != f->id)
            continue;
        *state = s.flows[i].state;
        snprintf(peer, len, "%s", s.flows[i].tcp_peer);
        found = 1;
    }
    CHECK(found);
    snapshot_free(&s);
}

static void flow_unmake(flow_t *f)
{
    uv_close((uv_handle_t *)&f->tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    free(f);
}

/* Status says "opening" until the flow can carry bytes: a client's flow
 * until the peer's RESULT says its back end is up (it was "open" from the
 * accept), and a back end's until connected; the back end it goes to is
 * the address being tried, else the service's target, a name included
 * (it was "-"). */
static void test_snapshot_flow_state(void)
{
    assoc_t *a = assoc_make();
    flow_t *c = flow_make(0, 0), *b = flow_make(0, 0);
    wire_msg_t ok = {.type = WIRE_RESULT, .u.reason.code = WIRE_OK};
    service_conf_t *db = &cfg.services[1];
    snap_flow_state_t st = SNAP_FLOW_CLOSING;
    char peer[ADDR_STRLEN + 192];
    snapshot_t snap;

    snprintf(db->name, sizeof(db->name), "db");
    snprintf(db->host, sizeof(db->host), "db.example");
    db->port = 5432;
    db->is_name = 1;
    cfg.n_services = 2;
    a->fd = -1;
    list_push(&gw.assocs, &a->node);
    c->id = 1, c->sid = 1, c->opener = 1, c->connected = 1, c->credit.send = 4096;
    b->id = 2, b->sid = 2;
    snprintf(b->service, sizeof(b->service), "db");
    c->assoc = b->assoc = a;
    a->flows[1] = c, a->flows[2] = b, a->n_flows = 2;

    flow_seen(c, &st, peer, sizeof(peer));
    CHECK(st == SNAP_FLOW_OPENING);
    flow_on_message(c, &ok);
    flow_seen(c, &st, peer, sizeof(peer));
    CHECK(st == SNAP_FLOW_OPEN);
    flow_seen(b, &st, peer, sizeof(peer));
    CHECK(st == SNAP_FLOW_OPENING);
    CHECK_STR(peer, "db.example:5432");
    CHECK(addr_parse_hostport("10.9.8.7:5432", &b->dial_addr) == 0);
    flow_seen(b, &st, peer, sizeof(peer));
    CHECK_STR(peer, "10.9.8.7:5432");
    /* Each service counts its own flows, found by name whatever the
     * services' order: both are db's now, the second service of two. */
    snprintf(c->service, sizeof(c->service), "db");
    CHECK(gateway_snapshot(&gw, &snap, 0) == 0);
    CHECK(snap.n_services == 2 && strcmp(snap.services[1].name, "db") == 0);
    CHECK(snap.services[0].flows_open == 0 && snap.services[1].flows_open == 2);
    snapshot_free(&snap);

    a->flows[1] = a->flows[2] = NULL, a->n_flows = 0;
    list_remove(&a->node);
    cfg.n_services = 1;
    flow_unmake(c);
    flow_unmake(b);
    assoc_unmake(a);
}

/* The flows' room shrinks by the sockets of proven associations past the
 * eight the reserve holds (a hub's spokes past them ran it out of
 * descriptors unseen); unproven ones have their own share. */
static void test_fd_room(void)
{
    gateway_t g = {0};

    g.fd_flows = 100;
    CHECK(gateway_fd_room(&g) == 100);
    g.n_assocs = 8;
    CHECK(gateway_fd_room(&g) == 100);
    g.n_assocs = 20;
    CHECK(gateway_fd_room(&g) == 88);
    g.n_unproven = 5;
    CHECK(gateway_fd_room(&g) == 93);
    g.n_assocs = 200;
    g.n_unproven = 0;
    CHECK(gateway_fd_room(&g) == 0);
}

/* At the cap of unproven associations the one pushed out is the oldest
 * silent one, then the oldest heard; one that holds the key (its HELLO
 * opened) goes last. A flood of outsiders without the key, however fast,
 * never pushes out a real peer in the middle of its handshake. */
static void test_evictee(void)
{
    assoc_t *a[4];
    gateway_t g = {0};

    list_init(&g.assocs);
    CHECK(gateway_evictee(&g) == NULL);
    for (int i = 0; i < 4; i++) {
        a[i] = calloc(1, sizeof(*a[i]));
        if (!a[i])
            exit(1);
        a[i]->state = ASSOC_HANDSHAKE;
        list_push(&g.assocs, &a[i]->node);
    }
    a[0]->heard = a[0]->keyed = 1; /* a real peer, the oldest */
    a[1]->heard = 1;
    CHECK(gateway_evictee(&g) == a[2]); /* silent */
    a[2]->heard = a[3]->heard = 1;
    CHECK(gateway_evictee(&g) == a[1]);
    a[1]->keyed = a[2]->keyed = a[3]->keyed = 1;
    CHECK(gateway_evictee(&g) == a[0]); /* all keyed: the oldest */
    a[0]->state = ASSOC_READY;          /* proven: never pushed out */
    a[1]->initiator = 1;                /* our own dial: never */
    CHECK(gateway_evictee(&g) == a[2]);
    for (int i = 0; i < 4; i++)
        free(a[i]);
}

/* The urgent queue's WINDOWs, as (sid, grant) pairs, counted. */
static size_t windows_queued(assoc_t *a, uint16_t *sid, uint32_t *grant, size_t max)
{
    size_t n = 0;
    wire_msg_t w;

    for (outmsg_t *m = a->urgent.head; m; m = m->next, n++) {
        CHECK(wire_decode(m->sid, m->ppid, m->data, m->len, &w) == 0 && w.type == WIRE_WINDOW);
        if (n < max) {
            sid[n] = m->sid;
            grant[n] = w.u.window;
        }
    }
    return n;
}

/* Grants for a stream queued while the socket takes nothing add up in the
 * WINDOW already waiting: a peer that stops reading its socket would
 * otherwise have one queued per quarter window. Another stream's stay its
 * own, and so does a grant whose sum would not fit. */
static void test_window_grants_merge(void)
{
    assoc_t *a = assoc_make();
    wire_msg_t w = {.type = WIRE_WINDOW};
    uint16_t sid[4];
    uint32_t grant[4];
    outmsg_t *m;

    msgq_init(&a->urgent);
    a->fd = -1;
    a->kernel_full = 1;                         /* the socket takes nothing */
    a->poll_events = UV_READABLE | UV_WRITABLE; /* ...and is watched for room */
    w.u.window = 1000;
    assoc_send_flow_msg(a, NULL, 3, &w);
    w.u.window = 2000;
    assoc_send_flow_msg(a, NULL, 3, &w);
    w.u.window = 500;
    assoc_send_flow_msg(a, NULL, 5, &w);
    w.u.window = UINT32_MAX;
    assoc_send_flow_msg(a, NULL, 5, &w);
    CHECK(windows_queued(a, sid, grant, 4) == 3);
    CHECK(sid[0] == 3 && grant[0] == 3000);
    CHECK(sid[1] == 5 && grant[1] == 500);
    CHECK(sid[2] == 5 && grant[2] == UINT32_MAX);
    while ((m = msgq_pop(&a->urgent)) != NULL)
        free(m);
    assoc_unmake(a);
}

int main(void)
{
    gw_init();
    test_finishing_flow_closes();
    test_detached_flow_resets();
    test_finishing_flow_reset_by_endpoint();
    test_stream_free_once_final_words_exchanged();
    test_ending_flow_holds_no_descriptor();
    test_closed_flow_holds_no_descriptor();
    test_malformed_final_word();
    test_peer_reset_code();
    test_service_stop_takes_the_backlog();
    test_service_undo_leaves_the_backlog();
    test_finishing_flow_with_messages_unsent();
    test_small_messages_to_a_stalled_end();
    test_snapshot_start_time_stays();
    test_snapshot_follows_clock_step();
    test_snapshot_flow_state();
    test_evictee();
    test_fd_room();
    test_window_grants_merge();
    uv_close((uv_handle_t *)&gw.finish_timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    return check_status("test_flow");
}
