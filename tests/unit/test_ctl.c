/* The client side of the control socket (src/ctl.c) against a server in a
 * thread of this test: the answers it copies, and the ways it fails.
 * connect() is wrapped so that a test can have the server close its end
 * after the client connected and before it sends: the moment a gateway
 * turning a client away, or stopping, closes it. */
#include "check.h"
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef enum { SERVE_ANSWER, SERVE_CLOSE, SERVE_BUSY } serve_t;

typedef struct {
    int listener;
    serve_t how;
    const char *answer;
    int closed[2]; /* a pipe: the server writes a byte once it closed */
} server_t;

static server_t *current; /* the server __wrap_connect acts on */

/* A step of the set-up that must work for the test to mean anything. */
static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "test_ctl: %s: %s\n", what, strerror(errno));
        exit(2);
    }
}

int __real_connect(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len);

/* The real connect; with SERVE_CLOSE or SERVE_BUSY, then waits until the
 * server has accepted the connection (answered at once) and closed it. */
int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    char c;
    int r = __real_connect(fd, sa, len);

    if (r == 0 && current && current->how != SERVE_ANSWER)
        need(read(current->closed[0], &c, 1) == 1, "wait for the server's close");
    return r;
}

static void *serve(void *arg)
{
    server_t *s = arg;
    char buf[512];
    int fd = accept(s->listener, NULL, NULL);

    need(fd >= 0, "accept");
    if (s->how != SERVE_ANSWER) {
        if (s->how == SERVE_BUSY) /* as a gateway over its client limit */
            need(write(fd, s->answer, strlen(s->answer)) == (ssize_t)strlen(s->answer), "answer");
        close(fd);
        need(write(s->closed[1], "x", 1) == 1, "say the server closed");
        return NULL;
    }
    need(read(fd, buf, sizeof(buf)) > 0, "read the request");
    need(write(fd, s->answer, strlen(s->answer)) == (ssize_t)strlen(s->answer), "answer");
    close(fd);
    return NULL;
}

/* Starts a server at path that answers or closes; run_request then asks. */
static int run_request(const char *path, serve_t how, const char *answer)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    server_t s = {.how = how, .answer = answer};
    pthread_t t;
    int code;

    unlink(path);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    need((s.listener = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0, "socket");
    need(bind(s.listener, (struct sockaddr *)&sun, sizeof(sun)) == 0, "bind");
    need(listen(s.listener, 4) == 0, "listen");
    need(pipe(s.closed) == 0, "pipe");
    current = &s;
    need(pthread_create(&t, NULL, serve, &s) == 0, "start the server");
    code = ctl_request(path, "status");
    need(pthread_join(t, NULL) == 0, "join the server");
    current = NULL;
    close(s.listener);
    close(s.closed[0]);
    close(s.closed[1]);
    unlink(path);
    return code;
}

/* ctl_request with stdout on `out`; stdout is restored after. */
static int request_to(const char *out, const char *path, serve_t how, const char *answer)
{
    int saved = dup(STDOUT_FILENO), fd = open(out, O_WRONLY | O_TRUNC | O_CREAT, 0600), code;

    need(saved >= 0 && fd >= 0, out);
    fflush(stdout);
    need(dup2(fd, STDOUT_FILENO) == STDOUT_FILENO, "dup2");
    close(fd);
    code = run_request(path, how, answer);
    fflush(stdout);
    clearerr(stdout);
    need(dup2(saved, STDOUT_FILENO) == STDOUT_FILENO, "dup2 back");
    close(saved);
    return code;
}

static void test_answer(const char *path, const char *out)
{
    char got[64] = {0};
    FILE *f;

    CHECK(request_to(out, path, SERVE_ANSWER, "ok 6\nhello\n") == CTL_EXIT_OK);
    need((f = fopen(out, "r")) != NULL, out);
    CHECK(fread(got, 1, sizeof(got) - 1, f) == 6);
    fclose(f);
    CHECK_STR(got, "hello\n");
    CHECK(request_to(out, path, SERVE_ANSWER, "error: no such path\n") == CTL_EXIT_REFUSED);
    CHECK(request_to(out, path, SERVE_ANSWER, "ok 60\nhello\n") == CTL_EXIT_UNREACHABLE);
}

/* The gateway closed before the request went out: an explained failure
 * (status 3), not death by SIGPIPE, whatever SIGPIPE's disposition. */
static void test_closed_first(const char *path, const char *out)
{
    signal(SIGPIPE, SIG_DFL);
    CHECK(request_to(out, path, SERVE_CLOSE, NULL) == CTL_EXIT_UNREACHABLE);
    /* a gateway over its client limit answers "busy" at once and closes:
     * the request cannot go out, but the answer is there to report */
    CHECK(request_to(out, path, SERVE_BUSY, "error: busy, try again\n") == CTL_EXIT_REFUSED);
}

/* stdout that cannot take the answer: status 4, not a silent success. */
static void test_full_stdout(const char *path)
{
    CHECK(request_to("/dev/full", path, SERVE_ANSWER, "ok 6\nhello\n") == CTL_EXIT_OUTPUT);
}

int main(void)
{
    char dir[] = "/tmp/test_ctl.XXXXXX", path[128], out[128];

    need(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof(path), "%s/ctl.sock", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    test_answer(path, out);
    test_closed_first(path, out);
    test_full_stdout(path);
    unlink(out);
    rmdir(dir);
    return check_status("test_ctl");
}
