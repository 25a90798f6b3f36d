/* Tests for src/control.c on a real loop, natively: the control socket in
 * a temporary folder, its clients libuv pipes on the same loop, and the
 * gateway behind it stubs that answer from a hand-built snapshot. The
 * allocations of the socket's own code can be made to fail (the test is
 * linked with --wrap=malloc,--wrap=calloc), to see that a client the
 * socket has no memory for is still turned away, and so can its accept()
 * (--wrap=accept4); its bind() and mkdir() can be followed by a swap of
 * the new file for a symlink (--wrap=bind,--wrap=mkdir). */
#include "control.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "gateway.h"
#include "snapshot.h"

/* ---- the gateway behind the socket ---------------------------------------- */

static int fail_allocs; /* malloc and calloc of the code under test return NULL */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *__wrap_malloc(size_t size)
{
    return fail_allocs ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_allocs ? NULL : __real_calloc(n, size);
}

static int fail_accepts;      /* accept4 fails with this errno */
static unsigned long accepts; /* accept4 calls */

int __real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    accepts++;
    if (fail_accepts) {
        errno = fail_accepts;
        return -1;
    }
    return __real_accept4(fd, addr, len, flags);
}

/* After the next bind() or mkdir() of the code under test, its file is
 * moved aside and a symlink to this target put in its place, as someone
 * who may write the folder could. */
static const char *swap_to;

static void swap_for_symlink(const char *path)
{
    char aside[256];

    snprintf(aside, sizeof(aside), "%s.aside", path);
    CHECK(rename(path, aside) == 0 && symlink(swap_to, path) == 0);
    swap_to = NULL;
}

int __real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len);

int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int r = __real_bind(fd, addr, len);

    if (r == 0 && swap_to && addr->sa_family == AF_UNIX)
        swap_for_symlink(((const struct sockaddr_un *)addr)->sun_path);
    return r;
}

int __real_mkdir(const char *path, mode_t mode);
int __wrap_mkdir(const char *path, mode_t mode);

int __wrap_mkdir(const char *path, mode_t mode)
{
    int r = __real_mkdir(path, mode);

    if (r == 0 && swap_to)
        swap_for_symlink(path);
    return r;
}

static size_t stub_flows; /* flows in the snapshot status takes */

int gateway_snapshot(gateway_t *gw, snapshot_t *out, int with_flows)
{
    (void)gw;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "test");
    if (!with_flows || stub_flows == 0)
        return 0;
    if (!(out->flows = calloc(stub_flows, sizeof(*out->flows))))
        return -ENOMEM;
    for (size_t i = 0; i < stub_flows; i++) {
        snap_flow_t *f = &out->flows[i];
        f->id = i + 1;
        snprintf(f->service, sizeof(f->service), "echo");
        snprintf(f->tcp_peer, sizeof(f->tcp_peer), "127.0.0.1:%zu", 10000 + i % 50000);
        f->bytes_up = f->bytes_down = i * 1000;
    }
    out->n_flows = stub_flows;
    return 0;
}

int gateway_primary(gateway_t *gw, const addr_t *host, char *msg, size_t len)
{
    (void)gw;
    (void)host;
    snprintf(msg, len, "primary path set");
    return 0;
}

int gateway_reload(gateway_t *gw, char *msg, size_t len)
{
    (void)gw;
    snprintf(msg, len, "reloaded: nothing");
    return 0;
}

/* ---- a client on the loop ------------------------------------------------- */

typedef struct tclient {
    uv_pipe_t pipe;
    uv_connect_t conn;
    uv_write_t wr;
    uv_timer_t pace;  /* reading again after pace_ms */
    const char *req;  /* sent once connected, or NULL for none */
    unsigned pace_ms; /* pause after each read; 0: reads at once */
    int reading;      /* takes what comes; 0: not until tclient_read */
    char *buf;        /* what came, grown with realloc */
    size_t got, cap;
    int ended;   /* EOF, an error, or a failed connect */
    int handles; /* open handles */
} tclient_t;

static void on_tc_closed(uv_handle_t *h)
{
    tclient_t *tc = h->data;

    tc->handles--;
}

static void tclient_close(tclient_t *tc)
{
    if (uv_is_closing((uv_handle_t *)&tc->pipe))
        return;
    uv_close((uv_handle_t *)&tc->pipe, on_tc_closed);
    uv_close((uv_handle_t *)&tc->pace, on_tc_closed);
}

static void on_tc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    tclient_t *tc = h->data;
    size_t want = tc->pace_ms ? 16384 : 65536;

    (void)suggested;
    if (tc->cap - tc->got < want) {
        tc->cap = tc->got + want;
        tc->buf = realloc(tc->buf, tc->cap + 1);
    }
    *b = uv_buf_init(tc->buf ? tc->buf + tc->got : NULL, tc->buf ? (unsigned)want : 0);
}

static void on_tc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void on_tc_pace(uv_timer_t *t)
{
    tclient_t *tc = t->data;

    uv_read_start((uv_stream_t *)&tc->pipe, on_tc_alloc, on_tc_read);
}

static void on_tc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    tclient_t *tc = s->data;

    (void)b;
    if (n < 0) {
        tc->ended = 1;
        uv_read_stop(s);
        return;
    }
    tc->got += (size_t)n;
    tc->buf[tc->got] = '\0';
    if (tc->pace_ms && n > 0) {
        uv_read_stop(s);
        uv_timer_start(&tc->pace, on_tc_pace, tc->pace_ms, 0);
    }
}

static void tclient_read(tclient_t *tc)
{
    tc->reading = 1;
    uv_read_start((uv_stream_t *)&tc->pipe, on_tc_alloc, on_tc_read);
}

static void on_tc_connected(uv_connect_t *req, int status)
{
    tclient_t *tc = req->data;
    uv_buf_t b;

    if (status < 0) {
        tc->ended = 1;
        return;
    }
    if (tc->req) {
        b = uv_buf_init((char *)tc->req, (unsigned)strlen(tc->req));
        uv_write(&tc->wr, (uv_stream_t *)&tc->pipe, &b, 1, NULL);
    }
    if (tc->reading)
        tclient_read(tc);
}

/* Connects to path; sends req (or nothing, when NULL) and reads the answer
 * unless told not to read. */
static void tclient_start(uv_loop_t *loop, tclient_t *tc, const char *path, const char *req,
                          int reading)
{
    memset(tc, 0, sizeof(*tc));
    tc->req = req;
    tc->reading = reading;
    uv_pipe_init(loop, &tc->pipe, 0);
    uv_timer_init(loop, &tc->pace);
    tc->pipe.data = tc->pace.data = tc->conn.data = tc;
    tc->handles = 2;
    uv_pipe_connect(&tc->conn, &tc->pipe, path, on_tc_connected);
}

/* ---- a scene: a loop, a gateway stub and its control socket ----------------- */

typedef struct scene {
    uv_loop_t loop;
    gateway_t gw;
    control_t *ctl;
    char dir[64];
    char path[96];
} scene_t;

static void scene_start(scene_t *s)
{
    char err[256] = "";

    memset(s, 0, sizeof(*s));
    uv_loop_init(&s->loop);
    s->gw.loop = &s->loop;
    s->gw.log.level = LOG_ERROR;
    s->gw.log.name = "test";
    snprintf(s->dir, sizeof(s->dir), "/tmp/test_control.XXXXXX");
    CHECK(mkdtemp(s->dir) != NULL);
    snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->dir);
    CHECK(control_start(&s->gw, s->path, &s->ctl, err, sizeof(err)) == 0);
    if (err[0])
        fprintf(stderr, "control_start: %s\n", err);
}

/* Closes the socket and every client given, runs the loop dry and checks
 * that nothing was left open. */
static void scene_end(scene_t *s, tclient_t *tc, size_t n)
{
    control_close(s->ctl);
    for (size_t i = 0; i < n; i++)
        tclient_close(&tc[i]);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < n; i++) {
        CHECK(tc[i].handles == 0);
        free(tc[i].buf);
    }
    CHECK(uv_loop_close(&s->loop) == 0);
    unlink(s->path);
    rmdir(s->dir);
}

static void on_wake(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until every one of the n clients has ended, or ms passed.
 * Returns how many ended. */
static size_t run_until_ended(scene_t *s, tclient_t *tc, size_t n, unsigned ms)
{
    uv_timer_t t;
    int fired = 0;
    size_t ended = 0;

    uv_timer_init(&s->loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_wake, ms, 0);
    while (!fired) {
        ended = 0;
        for (size_t i = 0; i < n; i++)
            ended += (size_t)tc[i].ended;
        if (ended == n)
            break;
        uv_run(&s->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&s->loop, UV_RUN_NOWAIT);
    return ended;
}

/* The length an ok answer announces ("ok LEN\n"), or -1 if it has none;
 * *head gets the bytes of that first line. */
static long long announced(const tclient_t *tc, size_t *head)
{
    const char *nl = tc->buf ? strchr(tc->buf, '\n') : NULL;
    char *end;
    long long len;

    if (!nl || strncmp(tc->buf, "ok ", 3) != 0 || tc->buf[3] < '0' || tc->buf[3] > '9')
        return -1;
    len = strtoll(tc->buf + 3, &end, 10);
    *head = (size_t)(nl + 1 - tc->buf);
    return end == nl ? len : -1;
}

/* Whether a client got a whole ok answer, its body as long as announced,
 * that begins with body. */
static int answered_ok(const tclient_t *tc, const char *body)
{
    size_t head = 0;
    long long len = announced(tc, &head);

    return len >= 0 && tc->got == head + (size_t)len &&
           strncmp(tc->buf + head, body, strlen(body)) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

#define BURST 20 /* idle clients at once, past CONTROL_CLIENTS_MAX (16) */

static size_t count_of(const char *s, const char *what)
{
    size_t n = 0;

    for (; (s = strstr(s, what)); s += strlen(what))
        n++;
    return n;
}

/* More idle clients than are served at once: each past the limit closes
 * the oldest still silent (the kernel's backlog, CONTROL_CLIENTS_MAX + 1,
 * refuses some before the gateway sees them), so a request beside them is
 * answered at once; the others are dropped at the request deadline. Nobody
 * is told busy and the log has no refusal (16 silent clients locked an
 * operator out: each newcomer was turned away). */
static void burst(void *arg)
{
    scene_t s;
    tclient_t tc[BURST + 1];
    size_t *told = arg;

    scene_start(&s);
    s.gw.log.level = LOG_INFO;
    for (size_t i = 0; i < BURST; i++)
        tclient_start(&s.loop, &tc[i], s.path, NULL, 1);
    CHECK(run_until_ended(&s, tc, BURST, 500) == BURST - 16);
    tclient_start(&s.loop, &tc[BURST], s.path, "status json\n", 1);
    CHECK(run_until_ended(&s, &tc[BURST], 1, 2000) == 1);
    CHECK(answered_ok(&tc[BURST], "{"));
    CHECK(run_until_ended(&s, tc, BURST, 10000) == BURST);
    for (size_t i = 0; i < BURST; i++)
        *told += tc[i].buf && tc[i].got > 0;
    scene_end(&s, tc, BURST + 1);
}

static void test_burst(void)
{
    char log[8192];
    size_t told = 0;

    check_stderr_of(burst, &told, log, sizeof(log));
    CHECK(told == 0);
    CHECK(count_of(log, "refusing clients") == 0);
    CHECK(!strstr(log, "CHECK failed") || !fprintf(stderr, "%s", log));
}

/* No memory for a client: it is turned away all the same, and told (libuv would
 * otherwise hold it and stop watching the socket), and the next client,
 * with memory again, is served. */
static void test_no_memory(void)
{
    scene_t s;
    tclient_t tc[2];

    scene_start(&s);
    fail_allocs = 1;
    tclient_start(&s.loop, &tc[0], s.path, NULL, 1);
    CHECK(run_until_ended(&s, tc, 1, 1000) == 1);
    fail_allocs = 0;
    CHECK(tc[0].buf && !strcmp(tc[0].buf, "error: busy, try again\n"));
    tclient_start(&s.loop, &tc[1], s.path, "status\n", 1);
    CHECK(run_until_ended(&s, &tc[1], 1, 2000) == 1);
    CHECK(answered_ok(&tc[1], "gateway: test"));
    scene_end(&s, tc, 2);
}

/* Clients turned away and served by turns (memory short, then not) make
 * one episode: said once, and its end only at a client served once none
 * has been turned away for EPISODE_QUIET_MS (2 s here), with the count
 * (the log had a warning and its end for each client turned away); one
 * turned away after such a gap with nobody served starts another, the
 * first reported ended. */
static void by_turns(void *arg)
{
    scene_t s;
    tclient_t tc[9];

    (void)arg;
    scene_start(&s);
    s.gw.log.level = LOG_INFO;
    for (size_t i = 0; i < 3; i++) {
        fail_allocs = 1;
        tclient_start(&s.loop, &tc[2 * i], s.path, NULL, 1);
        CHECK(run_until_ended(&s, &tc[2 * i], 1, 1000) == 1);
        fail_allocs = 0;
        tclient_start(&s.loop, &tc[2 * i + 1], s.path, "status\n", 1);
        CHECK(run_until_ended(&s, &tc[2 * i + 1], 1, 2000) == 1);
        CHECK(answered_ok(&tc[2 * i + 1], "gateway: test"));
    }
    usleep((EPISODE_QUIET_MS + 50) * 1000);
    uv_update_time(&s.loop); /* the deadlines below count from now */
    tclient_start(&s.loop, &tc[6], s.path, "status\n", 1);
    CHECK(run_until_ended(&s, &tc[6], 1, 2000) == 1);
    for (size_t i = 7; i < 9; i++) {
        if (i == 8) {
            usleep((EPISODE_QUIET_MS + 50) * 1000);
            uv_update_time(&s.loop);
        }
        fail_allocs = 1;
        tclient_start(&s.loop, &tc[i], s.path, NULL, 1);
        CHECK(run_until_ended(&s, &tc[i], 1, 1000) == 1);
        fail_allocs = 0;
    }
    CHECK(s.gw.control_stats.refused == 5); /* for the status and metrics */
    scene_end(&s, tc, 9);
}

static void test_turned_away_by_turns(void)
{
    char log[8192];

    check_stderr_of(by_turns, NULL, log, sizeof(log));
    CHECK(count_of(log, "refusing clients: out of memory") == 3);
    CHECK(count_of(log, "serving clients again: 3 refused in ") == 1);
    CHECK(count_of(log, "serving clients again") == 1);
    CHECK(count_of(log, "1 clients refused in 0 ms, then none for 2 s") == 1);
    CHECK(!strstr(log, "CHECK failed") || !fprintf(stderr, "%s", log));
}

/* accept() failing for want of memory leaves the client in the backlog and
 * the socket readable: the listener rests between tries (a few calls in
 * half a second, not one per loop turn), and serves the client once
 * accept() works again. */
static void test_accept_fails(void)
{
    scene_t s;
    tclient_t tc[1];

    scene_start(&s);
    fail_accepts = ENOMEM;
    accepts = 0;
    tclient_start(&s.loop, &tc[0], s.path, "status\n", 1);
    CHECK(run_until_ended(&s, tc, 1, 500) == 0);
    CHECK(accepts >= 2 && accepts <= 10);
    CHECK(s.gw.control_stats.accept_failures == accepts); /* for the status and metrics */
    fail_accepts = 0;
    CHECK(run_until_ended(&s, tc, 1, 2000) == 1);
    CHECK(answered_ok(&tc[0], "gateway: test"));
    CHECK(s.gw.control_stats.refused == 0);
    scene_end(&s, tc, 1);
}

/* A unix socket bound at path, not listening. Returns its descriptor. */
static int bind_at(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
    return fd;
}

/* The socket file is made with mode 0660 and removed when the socket
 * closes; but a file another gateway put at the path meanwhile stays. */
static void test_socket_file(void)
{
    scene_t s;
    struct stat st, other;
    int fd;

    scene_start(&s);
    CHECK(stat(s.path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660);
    control_close(s.ctl);
    s.ctl = NULL;
    uv_run(&s.loop, UV_RUN_DEFAULT);
    CHECK(lstat(s.path, &st) < 0 && errno == ENOENT);
    scene_end(&s, NULL, 0);

    scene_start(&s);
    CHECK(unlink(s.path) == 0);
    fd = bind_at(s.path);
    CHECK(stat(s.path, &other) == 0);
    control_close(s.ctl);
    s.ctl = NULL;
    uv_run(&s.loop, UV_RUN_DEFAULT);
    CHECK(stat(s.path, &st) == 0 && st.st_ino == other.st_ino);
    close(fd);
    scene_end(&s, NULL, 0);
}

/* The socket and its folder are made with their modes (0660, 0750: the
 * group may use the socket) whatever the umask (given back after; the
 * shipped unit's 0077 once made the folder 0700), and no mode is set
 * through a symlink: with a path swapped for one just after bind() or
 * mkdir(), the socket is refused, saying why, and the symlink's target
 * keeps its mode (the gateway runs as root; its target could be any
 * file). */
static void test_modes_made(void)
{
    static const mode_t umasks[] = {0, 022, 077};
    char dir[64], victim[96], sub[96], path[128], err[256] = "";
    control_t *c = NULL;
    gateway_t gw = {0};
    uv_loop_t loop;
    struct stat st;
    mode_t old = umask(0);

    uv_loop_init(&loop);
    gw.loop = &loop;
    gw.log.level = LOG_ERROR;
    gw.log.name = "test";
    snprintf(dir, sizeof(dir), "/tmp/test_control.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(sub, sizeof(sub), "%s/run", dir);
    snprintf(path, sizeof(path), "%s/ctl.sock", sub);
    for (size_t i = 0; i < sizeof(umasks) / sizeof(umasks[0]); i++) {
        umask(umasks[i]);
        CHECK(control_start(&gw, path, &c, err, sizeof(err)) == 0);
        CHECK(umask(umasks[i]) == umasks[i]); /* given back */
        CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0750);
        CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660);
        control_close(c);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(rmdir(sub) == 0);
    }
    umask(022);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    CHECK(close(open(victim, O_CREAT | O_WRONLY, 0600)) == 0);
    swap_to = victim; /* the socket file, after bind: refused, not served */
    snprintf(path, sizeof(path), "%s/ctl.sock", dir);
    CHECK(control_start(&gw, path, &c, err, sizeof(err)) == -EEXIST && !c);
    CHECK(strstr(err, "another file took its place") != NULL);
    CHECK(stat(victim, &st) == 0 && (st.st_mode & 0777) == 0600);
    swap_to = dir; /* the folder, after mkdir */
    snprintf(path, sizeof(path), "%s/ctl.sock", sub);
    CHECK(control_start(&gw, path, &c, err, sizeof(err)) == -EEXIST && !c);
    CHECK(strstr(err, "folder") && strstr(err, "another file took its place"));
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    uv_run(&loop, UV_RUN_DEFAULT);
    umask(old);
    CHECK(uv_loop_close(&loop) == 0);
    snprintf(victim, sizeof(victim), "rm -rf %s", dir);
    CHECK(system(victim) == 0);
}

/* A socket file nobody listens on is replaced; one a process listens on
 * is not, even when its backlog is full (a blocking connect would wait on
 * it for ever, and with it the loop). */
static void test_stale_or_live(void)
{
    scene_t s;
    control_t *again = NULL;
    char err[256] = "";
    int fd, fds[64];
    size_t n = 0;

    scene_start(&s);
    control_close(s.ctl);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    fd = bind_at(s.path);
    CHECK(control_start(&s.gw, s.path, &s.ctl, err, sizeof(err)) == 0);
    close(fd);
    CHECK(control_start(&s.gw, s.path, &again, err, sizeof(err)) == -EADDRINUSE && !again);
    CHECK(strstr(err, "a running process listens on it") != NULL);
    control_close(s.ctl);
    s.ctl = NULL;
    uv_run(&s.loop, UV_RUN_DEFAULT);

    fd = bind_at(s.path);
    CHECK(listen(fd, 0) == 0);
    for (; n < sizeof(fds) / sizeof(fds[0]); n++) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s.path);
        fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fds[n], (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            CHECK(errno == EAGAIN);
            break;
        }
    }
    CHECK(n < sizeof(fds) / sizeof(fds[0]));
    alarm(10); /* the test dies here if control_start blocks */
    CHECK(control_start(&s.gw, s.path, &again, err, sizeof(err)) == -EADDRINUSE && !again);
    alarm(0);
    for (size_t i = 0; i <= n && i < sizeof(fds) / sizeof(fds[0]); i++)
        close(fds[i]);
    close(fd);
    scene_end(&s, NULL, 0);
}

/* A socket another user's gateway listens on, which this user may not
 * connect to (EACCES), is not stale: it stays, and this gateway does not
 * start its own there. (It was removed and replaced, the other gateway
 * left without its socket.) Needs root, to be both users. */
static void test_other_users_socket(void)
{
    scene_t s;
    struct stat before, after;
    int status = -1;
    pid_t pid;

    if (geteuid() != 0) {
        fprintf(stderr, "test_control: not root, another user's socket not tried\n");
        return;
    }
    scene_start(&s);
    CHECK(chmod(s.dir, 0777) == 0 && chmod(s.path, 0600) == 0 && stat(s.path, &before) == 0);
    if ((pid = fork()) == 0) {
        uv_loop_t loop;
        gateway_t gw = {.loop = &loop, .log = {.level = LOG_ERROR, .name = "other"}};
        control_t *c = NULL;
        char err[256] = "";
        int r;

        uv_loop_init(&loop);
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        r = control_start(&gw, s.path, &c, err, sizeof(err));
        _exit(r == -EACCES && !c && strstr(err, "cannot tell whether a process listens") ? 0 : 1);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(stat(s.path, &after) == 0 && after.st_ino == before.st_ino);
    scene_end(&s, NULL, 0);
}

/* An error is one line, with no length; a short ok answer is announced
 * with its length too. */
static void test_answers(void)
{
    scene_t s;
    tclient_t tc[3];

    scene_start(&s);
    tclient_start(&s.loop, &tc[0], s.path, "bogus\n", 1);
    tclient_start(&s.loop, &tc[1], s.path, "primary 10.1.0.2\n", 1);
    tclient_start(&s.loop, &tc[2], s.path, "reload now\n", 1);
    CHECK(run_until_ended(&s, tc, 3, 2000) == 3);
    CHECK(tc[0].buf && strncmp(tc[0].buf, "error: unknown request 'bogus'", 30) == 0 &&
          tc[0].buf[tc[0].got - 1] == '\n' && strchr(tc[0].buf, '\n') == tc[0].buf + tc[0].got - 1);
    CHECK_STR(tc[1].buf, "ok 17\nprimary path set\n");
    CHECK_STR(tc[2].buf, "error: reload takes no argument\n");
    scene_end(&s, tc, 3);
}

#define FLOWS 15000 /* in the large answer: about 2 MB of JSON */

/* A large answer taken slowly, but steadily, comes whole, though it takes
 * longer than the request deadline and many times CTL_STALL_MS (the test
 * builds control.c with 1000 and 300 ms, and 5 s for a whole answer). */
static void test_large_answer(void)
{
    scene_t s;
    tclient_t tc;
    size_t head = 0;
    long long len;

    stub_flows = FLOWS;
    scene_start(&s);
    tclient_start(&s.loop, &tc, s.path, "status json flows\n", 1);
    tc.pace_ms = 20;
    CHECK(run_until_ended(&s, &tc, 1, 30000) == 1);
    len = announced(&tc, &head);
    CHECK(len > 2 * 1000 * 1000);
    CHECK(answered_ok(&tc, "{"));
    CHECK(tc.got > head && tc.buf[tc.got - 1] == '\n');
    scene_end(&s, &tc, 1);
    stub_flows = 0;
}

/* A client that asks for a large answer and stops reading is dropped once
 * it has taken nothing for CTL_STALL_MS: what it reads later ends short of
 * the length announced. */
static void test_stalled_reader(void)
{
    scene_t s;
    tclient_t tc;
    size_t head = 0;
    long long len;

    stub_flows = FLOWS;
    scene_start(&s);
    tclient_start(&s.loop, &tc, s.path, "status json flows\n", 0);
    CHECK(run_until_ended(&s, &tc, 1, 1500) == 0);
    tclient_read(&tc);
    CHECK(run_until_ended(&s, &tc, 1, 5000) == 1);
    len = announced(&tc, &head);
    CHECK(len > 0 && tc.got < head + (size_t)len);
    scene_end(&s, &tc, 1);
    stub_flows = 0;
}

/* A client that takes a little of a large answer now and then, always
 * within CTL_STALL_MS, is dropped once CTL_ANSWER_MS (5 s in the test's
 * build) has passed: it held its place and its answer for as long as it
 * kept reading before. */
static void test_trickle_reader(void)
{
    scene_t s;
    tclient_t tc;
    size_t head = 0;
    long long len;

    stub_flows = 2 * FLOWS; /* 4 MB, 16 KiB every 40 ms: 10 s */
    scene_start(&s);
    tclient_start(&s.loop, &tc, s.path, "status json flows\n", 1);
    tc.pace_ms = 40;
    CHECK(run_until_ended(&s, &tc, 1, 8000) == 1);
    len = announced(&tc, &head);
    CHECK(len > 4 * 1000 * 1000 && tc.got < head + (size_t)len);
    scene_end(&s, &tc, 1);
    stub_flows = 0;
}

/* Sockets connected, all in the kernel's backlog before the gateway looks;
 * each silent, or sending req. Returns how many connected. */
static size_t raw_connect(const char *path, int *fd, size_t n, const char *req)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t ok = 0;

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    for (size_t i = 0; i < n; i++) {
        fd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd[i] < 0 || connect(fd[i], (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            if (fd[i] >= 0)
                close(fd[i]);
            fd[i] = -1;
            continue;
        }
        ok++;
        if (req)
            CHECK(write(fd[i], req, strlen(req)) == (ssize_t)strlen(req));
    }
    return ok;
}

/* A request accepted in one pass with 16 silent clients after it, while
 * 16 silent ones are already served: each newcomer makes room, and the
 * request, not yet read, looked as silent as they (it was closed unread
 * and status said the gateway gave no answer). */
static void test_request_in_burst(void)
{
    scene_t s;
    tclient_t tc[CONTROL_CLIENTS_MAX];
    int req, silent[CONTROL_CLIENTS_MAX];
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    uv_timer_t t;
    int fired = 0;

    scene_start(&s);
    for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
        tclient_start(&s.loop, &tc[i], s.path, NULL, 1);
    CHECK(run_until_ended(&s, tc, CONTROL_CLIENTS_MAX, 1000) == 0); /* all taken */
    CHECK(raw_connect(s.path, &req, 1, "status\n") == 1);
    CHECK(raw_connect(s.path, silent, CONTROL_CLIENTS_MAX, NULL) == CONTROL_CLIENTS_MAX);
    uv_timer_init(&s.loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_wake, 2000, 0);
    while (!fired) {
        uv_run(&s.loop, UV_RUN_NOWAIT);
        n = recv(req, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            break;
        got += n > 0 ? (size_t)n : 0;
        usleep(1000);
    }
    uv_close((uv_handle_t *)&t, NULL);
    buf[got] = 0;
    CHECK(strncmp(buf, "ok ", 3) == 0 || !fprintf(stderr, "request in a burst got '%s'\n", buf));
    close(req);
    for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
        if (silent[i] >= 0)
            close(silent[i]);
    scene_end(&s, tc, CONTROL_CLIENTS_MAX);
}

/* sctpgw status, its output read by a pager that waits longer than
 * CTL_STALL_MS before it reads: the answer must come whole. (The client
 * copied the answer to stdout as it read, so it stopped reading while
 * stdout was full, and the gateway dropped it as stuck.) */
static void test_paused_stdout(void)
{
    scene_t s;
    int out[2], got[2], status = -1;
    pid_t pager, cli;
    size_t total = 0;
    char last = 0;

    stub_flows = FLOWS;
    scene_start(&s);
    CHECK(pipe(out) == 0 && pipe(got) == 0);
    if ((pager = fork()) == 0) {
        char b[65536];
        ssize_t n;

        close(out[1]);
        usleep(3 * CTL_STALL_MS * 1000);
        while ((n = read(out[0], b, sizeof(b))) > 0) {
            total += (size_t)n;
            last = b[n - 1];
        }
        _exit(write(got[1], &total, sizeof(total)) == sizeof(total) && last == '\n' ? 0 : 1);
    }
    if ((cli = fork()) == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        _exit(ctl_request(s.path, "status json flows"));
    }
    close(out[0]);
    close(out[1]);
    close(got[1]);
    while (waitpid(cli, &status, WNOHANG) == 0) {
        uv_run(&s.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == CTL_EXIT_OK);
    CHECK(waitpid(pager, &status, 0) == pager && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(read(got[0], &total, sizeof(total)) == sizeof(total) && total > 2 * 1000 * 1000);
    close(got[0]);
    scene_end(&s, NULL, 0);
    stub_flows = 0;
}

/* With no -s or -c, the client asks the only socket in the folder a
 * gateway listens on (each is named after its gateway), else a stale one,
 * else the default name, and refuses to guess among several live ones. */
static void test_find_socket(void)
{
    char dir[64], path[128], a[128], b[128], got[256];
    int fa, fb;

    snprintf(dir, sizeof(dir), "/tmp/test_control.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/sctpgw.sock", dir);
    CHECK(ctl_find_socket(dir, got, sizeof(got)) == 0);
    CHECK_STR(got, path);
    snprintf(a, sizeof(a), "%s/site-a.sock", dir);
    snprintf(b, sizeof(b), "%s/site-b.sock", dir);
    fa = bind_at(a); /* bound, not listening: left by a gateway that died */
    CHECK(close(open(b, O_CREAT | O_WRONLY, 0600)) == 0); /* a file, not a socket */
    CHECK(ctl_find_socket(dir, got, sizeof(got)) == 0);
    CHECK_STR(got, a); /* the stale one, which will say nothing answers */
    CHECK(listen(fa, 1) == 0);
    CHECK(ctl_find_socket(dir, got, sizeof(got)) == 0);
    CHECK_STR(got, a);
    CHECK(unlink(b) == 0);
    fb = bind_at(b); /* stale beside a live one */
    CHECK(ctl_find_socket(dir, got, sizeof(got)) == 0);
    CHECK_STR(got, a);
    CHECK(listen(fb, 1) == 0);
    CHECK(ctl_find_socket(dir, got, sizeof(got)) == -1);
    close(fa);
    close(fb);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a client turned away fails its write, and a CHECK says so */
    test_find_socket();
    test_burst();
    test_no_memory();
    test_turned_away_by_turns();
    test_accept_fails();
    test_socket_file();
    test_modes_made();
    test_stale_or_live();
    test_other_users_socket();
    test_answers();
    test_large_answer();
    test_stalled_reader();
    test_trickle_reader();
    test_request_in_burst();
    test_paused_stdout();
    return check_status("test_control");
}
