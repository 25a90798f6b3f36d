/* Tests for src/metrics.c on a real loop, natively: the listener on a
 * loopback port, its clients plain nonblocking sockets polled beside the
 * loop, and the gateway behind it a stub whose snapshot can be made to
 * fail. What the VM scenario t_metrics cannot reach: a reading with no
 * memory for it, the listener stopped while clients wait for one, a
 * client it has no memory for, its accept() failing (calloc and accept4
 * are wrapped to fail on demand). */
#include "metrics.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "gateway.h"
#include "snapshot.h"

/* ---- the gateway behind the listener -------------------------------------- */

static int fail_callocs; /* the next calloc calls of the code under test fail */

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *__wrap_calloc(size_t n, size_t size)
{
    if (fail_callocs > 0) {
        fail_callocs--;
        return NULL;
    }
    return __real_calloc(n, size);
}

static int fail_accepts;      /* accept4 fails with this errno */
static unsigned long accepts; /* accept4 calls that failed */

int __real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (fail_accepts) {
        accepts++;
        errno = fail_accepts;
        return -1;
    }
    return __real_accept4(fd, addr, len, flags);
}

static int fail_snapshots; /* gateway_snapshot fails for want of memory */
static unsigned snapshots; /* gateway_snapshot calls */

int gateway_snapshot(gateway_t *gw, snapshot_t *out, int with_flows)
{
    (void)gw;
    (void)with_flows;
    snapshots++;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "test");
    return fail_snapshots ? -ENOMEM : 0;
}

/* ---- a scene: a loop, a gateway stub, its listener and clients ------------- */

#define CLIENTS 4
#define GET     "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n"

typedef struct tclient {
    int fd;
    char buf[65536];
    size_t got;
    int ended; /* EOF or an error */
} tclient_t;

typedef struct scene {
    uv_loop_t loop;
    gateway_t gw;
    metrics_t *m;
    uint16_t port;
    tclient_t tc[CLIENTS];
} scene_t;

static void scene_start(scene_t *s)
{
    addr_t a;
    socklen_t len = sizeof(a);

    memset(s, 0, sizeof(*s));
    uv_loop_init(&s->loop);
    s->gw.loop = &s->loop;
    s->gw.log.level = LOG_WARN;
    s->gw.log.name = "test";
    memset(&a, 0, sizeof(a));
    a.v4.sin_family = AF_INET;
    a.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(metrics_start(&s->m, &s->gw, &a) == 0);
    CHECK(getsockname(s->m->listener.fd, &a.sa, &len) == 0);
    s->port = ntohs(a.v4.sin_port);
    for (size_t i = 0; i < CLIENTS; i++)
        s->tc[i].fd = -1;
}

/* Client i connects and sends req. */
static void tclient_ask(scene_t *s, size_t i, const char *req)
{
    tclient_t *tc = &s->tc[i];
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(s->port)};

    memset(tc, 0, sizeof(*tc));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    tc->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(tc->fd >= 0 && connect(tc->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    CHECK(write(tc->fd, req, strlen(req)) == (ssize_t)strlen(req));
}

static void tclient_poll(tclient_t *tc)
{
    ssize_t n;

    while (tc->fd >= 0 && !tc->ended && tc->got < sizeof(tc->buf) - 1) {
        n = recv(tc->fd, tc->buf + tc->got, sizeof(tc->buf) - 1 - tc->got, MSG_DONTWAIT);
        if (n > 0) {
            tc->got += (size_t)n;
            tc->buf[tc->got] = '\0';
            continue;
        }
        if (n == 0 || errno != EAGAIN)
            tc->ended = 1;
        return;
    }
}

static void on_wake(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until clients from..to-1 have all ended (or until `until`
 * holds, when given), or ms passed. Returns how many of them ended. */
static size_t run_until(scene_t *s, size_t from, size_t to, unsigned ms, int (*until)(scene_t *))
{
    uv_timer_t t;
    int fired = 0;
    size_t ended = 0;

    uv_update_time(&s->loop);
    uv_timer_init(&s->loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_wake, ms, 0);
    while (!fired) {
        ended = 0;
        for (size_t i = from; i < to; i++) {
            tclient_poll(&s->tc[i]);
            ended += (size_t)s->tc[i].ended;
        }
        if (until ? until(s) : ended == to - from)
            break;
        uv_run(&s->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&s->loop, UV_RUN_NOWAIT);
    return ended;
}

/* Stops the listener if the test has not, runs the loop dry and checks that
 * nothing was left open. */
static void scene_end(scene_t *s)
{
    if (s->m)
        metrics_stop(s->m);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&s->loop) == 0);
    for (size_t i = 0; i < CLIENTS; i++)
        if (s->tc[i].fd >= 0)
            close(s->tc[i].fd);
}

static int status_is(const tclient_t *tc, const char *status)
{
    return strncmp(tc->buf, status, strlen(status)) == 0 ||
           !fprintf(stderr, "expected '%s', got '%.80s'\n", status, tc->buf);
}

/* ---- tests ------------------------------------------------------------------ */

/* A reading the gateway has no memory for answers every client waiting for
 * it 500, says so once, and the next reading serves again: two clients
 * answered from one reading, two from one that failed (taken no sooner
 * than METRICS_READ_GAP_MS, 1.5 s in the test's build, after the first),
 * one from a third. */
static void no_memory(void *arg)
{
    scene_t s;

    (void)arg;
    snapshots = 0;
    scene_start(&s);
    tclient_ask(&s, 0, GET);
    tclient_ask(&s, 1, GET);
    CHECK(run_until(&s, 0, 2, 2000, NULL) == 2);
    CHECK(status_is(&s.tc[0], "HTTP/1.1 200 OK\r\n") && status_is(&s.tc[1], "HTTP/1.1 200 OK\r\n"));
    CHECK(strstr(s.tc[0].buf, "sctpgw_") != NULL);
    CHECK(snapshots == 1);
    fail_snapshots = 1;
    tclient_ask(&s, 2, GET);
    tclient_ask(&s, 3, GET);
    CHECK(run_until(&s, 2, 4, 5000, NULL) == 2);
    fail_snapshots = 0;
    CHECK(status_is(&s.tc[2], "HTTP/1.1 500 ") && status_is(&s.tc[3], "HTTP/1.1 500 "));
    CHECK(strstr(s.tc[2].buf, "\r\n\r\n500 ") != NULL);
    CHECK(snapshots == 2);
    close(s.tc[0].fd);
    tclient_ask(&s, 0, GET);
    CHECK(run_until(&s, 0, 1, 5000, NULL) == 1);
    CHECK(status_is(&s.tc[0], "HTTP/1.1 200 OK\r\n"));
    CHECK(snapshots == 3);
    scene_end(&s);
}

static void test_no_memory(void)
{
    char log[8192];
    const char *at;

    check_stderr_of(no_memory, NULL, log, sizeof(log));
    at = strstr(log, "no memory for a reading: answering 500");
    CHECK((at && !strstr(at + 1, "no memory for a reading") && !strstr(log, "CHECK failed")) ||
          !fprintf(stderr, "%s", log));
}

static int waiting(scene_t *s)
{
    return uv_is_active((uv_handle_t *)&s->m->next_read);
}

/* Stopped while clients wait for the next reading (a reload that moves
 * the listener, a gateway stopping): they are closed unanswered, no
 * reading is taken, and nothing is left open on the loop (nor leaked: the
 * sanitizer tree runs this too). */
static void test_stop_while_waiting(void)
{
    scene_t s;

    snapshots = 0;
    scene_start(&s);
    tclient_ask(&s, 0, GET);
    CHECK(run_until(&s, 0, 1, 2000, NULL) == 1);
    CHECK(status_is(&s.tc[0], "HTTP/1.1 200 OK\r\n"));
    tclient_ask(&s, 1, GET);
    tclient_ask(&s, 2, GET);
    run_until(&s, 1, 3, 1000, waiting); /* within METRICS_READ_GAP_MS of the reading */
    CHECK(waiting(&s));
    metrics_stop(s.m);
    s.m = NULL;
    CHECK(run_until(&s, 1, 3, 2000, NULL) == 2);
    CHECK(s.tc[1].got == 0 && s.tc[2].got == 0);
    CHECK(snapshots == 1);
    scene_end(&s);
}

/* A client the listener has no memory for is reset and counted, the
 * episode said once and ended, with its count, at a client served once
 * none was turned away for EPISODE_QUIET_MS (500 ms in the test's build);
 * accept() failing is counted too. Both for the status and the metrics. */
static void turned_away(void *arg)
{
    scene_t s;

    (void)arg;
    scene_start(&s);
    s.gw.log.level = LOG_INFO;
    fail_callocs = 1;
    tclient_ask(&s, 0, GET);
    CHECK(run_until(&s, 0, 1, 2000, NULL) == 1);
    fail_callocs = 0;
    CHECK(s.tc[0].got == 0);
    CHECK(s.gw.metrics_stats.refused == 1);
    usleep((EPISODE_QUIET_MS + 50) * 1000);
    fail_accepts = ENOMEM;
    accepts = 0;
    tclient_ask(&s, 1, GET);
    CHECK(run_until(&s, 1, 2, 300, NULL) == 0);
    fail_accepts = 0;
    CHECK(run_until(&s, 1, 2, 2000, NULL) == 1);
    CHECK(status_is(&s.tc[1], "HTTP/1.1 200 OK\r\n"));
    CHECK(accepts >= 1 && s.gw.metrics_stats.accept_failures == accepts);
    CHECK(s.gw.metrics_stats.refused == 1);
    scene_end(&s);
}

static void test_turned_away(void)
{
    char log[8192];

    check_stderr_of(turned_away, NULL, log, sizeof(log));
    CHECK((strstr(log, "refusing clients: out of memory") &&
           strstr(log, "serving clients again: 1 refused in ") &&
           strstr(log, "not accepting metrics clients for now: Cannot allocate memory") &&
           !strstr(log, "CHECK failed")) ||
          !fprintf(stderr, "%s", log));
}

int main(void)
{
    test_no_memory();
    test_stop_while_waiting();
    test_turned_away();
    return check_status("test_metrics");
}
