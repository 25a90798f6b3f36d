/* The acceptor on real sockets (accept4 is wrapped to fail):
 * acceptor_drain hands over every waiting client, and when accept() fails
 * for want of descriptors says how many clients the close will reset; a
 * failed accept rests the listener, is told to its owner (on_rest) and
 * leaves it watching again; so does an error the poll reports, untold. */
#include "acceptor.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

static int fail_accepts; /* errno accept4 fails with, 0: the real call */
static unsigned taken;   /* clients handed to on_client */
static unsigned rests;   /* on_rest calls */
static int rest_err;     /* the last one's error */

int __real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (fail_accepts) {
        errno = fail_accepts;
        return -1;
    }
    return __real_accept4(fd, addr, len, flags);
}

static void on_client(acceptor_t *ac, int fd)
{
    (void)ac;
    taken++;
    close(fd);
}

static void on_rest(acceptor_t *ac, int err)
{
    (void)ac;
    rests++;
    rest_err = err;
}

/* A loopback listener on an ephemeral port; its port in *port. */
static int listener(uint16_t *port)
{
    addr_t a;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd;

    memset(&a, 0, sizeof(a));
    a.v4.sin_family = AF_INET;
    a.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = acceptor_tcp_listen(&a, 16);
    CHECK(fd >= 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    *port = sin.sin_port;
    return fd;
}

/* The listener's accept queue, as TCP_INFO gives it. */
static unsigned queued(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 ? ti.tcpi_unacked : 0;
}

/* n clients connected, their descriptors in fds; returns once the
 * listener has queued them all (its last ACK may be handled a little after
 * connect() returns), or after a second. */
static void connect_clients(int listen_fd, uint16_t port, int *fds, int n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = port};
    struct timespec pause = {.tv_nsec = 1000000};

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(fds[i], (struct sockaddr *)&to, sizeof(to)) == 0);
    }
    for (int i = 0; i < 1000 && queued(listen_fd) < (unsigned)n; i++)
        nanosleep(&pause, NULL);
    CHECK(queued(listen_fd) == (unsigned)n);
}

static void test_drain(int fail, int n, unsigned want_left, unsigned want_taken)
{
    uv_loop_t loop;
    acceptor_t ac;
    logger_t log = {.level = LOG_ERROR, .name = "t"};
    uint16_t port;
    int fds[8], err = 0, fd;

    CHECK(uv_loop_init(&loop) == 0);
    fd = listener(&port);
    CHECK(acceptor_start(&ac, &loop, fd, &log, "svc", "clients", on_client) == 0);
    connect_clients(fd, port, fds, n);
    taken = 0;
    fail_accepts = fail;
    CHECK(acceptor_drain(&ac, &err) == want_left);
    CHECK(taken == want_taken);
    CHECK(!want_left || err == fail);
    fail_accepts = 0;
    acceptor_close(&ac, NULL);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&loop) == 0);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void on_tick(uv_timer_t *t)
{
    int *ticks = t->data;

    if (++*ticks == 3 || taken > 0)
        uv_stop(t->loop);
}

/* Runs the loop until a client is taken or for about 3 x ms. */
static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;
    int ticks = 0;

    taken = 0;
    uv_timer_init(loop, &t);
    t.data = &ticks;
    uv_timer_start(&t, on_tick, ms, ms);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* accept() failing on readiness: the owner hears of each rest, the client
 * waits, and is taken once accept() works again. */
static void test_rest(void)
{
    uv_loop_t loop;
    acceptor_t ac;
    logger_t log = {.level = LOG_ERROR, .name = "t"};
    uint16_t port;
    int client, fd;

    CHECK(uv_loop_init(&loop) == 0);
    fd = listener(&port);
    CHECK(acceptor_start(&ac, &loop, fd, &log, "svc", "clients", on_client) == 0);
    ac.on_rest = on_rest;
    rests = 0;
    connect_clients(fd, port, &client, 1);
    fail_accepts = EMFILE;
    run_for(&loop, ACCEPTOR_PAUSE_MS); /* three tries at least: one rest each */
    CHECK(taken == 0);
    CHECK(rests >= 2 && rests <= 4);
    CHECK(rest_err == EMFILE);
    fail_accepts = 0;
    run_for(&loop, 4 * ACCEPTOR_PAUSE_MS);
    CHECK(taken == 1);
    acceptor_close(&ac, NULL);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&loop) == 0);
    close(client);
}

/* A UDP port nobody listens on: one bound, then closed. */
static uint16_t closed_udp_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    close(fd);
    return sin.sin_port;
}

/* An error the poll reports (here a UDP socket's, from an ICMP port
 * unreachable) stops libuv's watch: the acceptor says so, does not count
 * it as an accept failure, and watches again after the pause, instead of
 * going deaf. */
static void test_poll_error(void)
{
    struct sockaddr_in to = {.sin_family = AF_INET};
    uv_loop_t loop;
    acceptor_t ac;
    logger_t log = {.level = LOG_ERROR, .name = "t"};
    int fd;

    CHECK(uv_loop_init(&loop) == 0);
    to.sin_port = closed_udp_port();
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0);
    CHECK(acceptor_start(&ac, &loop, fd, &log, "svc", "clients", on_client) == 0);
    ac.on_rest = on_rest;
    rests = 0;
    CHECK(send(fd, "x", 1, 0) == 1);
    run_for(&loop, ACCEPTOR_PAUSE_MS);
    CHECK(ac.poll_failing.active && ac.poll_failing.hits == 1);
    CHECK(rests == 0);
    CHECK(uv_is_active((uv_handle_t *)&ac.poll));
    acceptor_close(&ac, NULL);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&loop) == 0);
}

int main(void)
{
    test_drain(0, 3, 0, 3);      /* every client taken: none left */
    test_drain(EMFILE, 3, 3, 0); /* no descriptor: all three said */
    test_drain(ENOMEM, 2, 2, 0);
    test_drain(EMFILE, 0, 0, 0); /* accept fails with nobody waiting: none */
    test_drain(0, 0, 0, 0);
    test_rest();
    test_poll_error();
    return check_status("test_acceptor");
}
