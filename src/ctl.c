/* The client side of the control socket (sctpgw status, primary, reload):
 * a blocking connect, one request line, the answer copied out. Each way
 * the gateway can be out of reach gets its own explanation. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#define CTL_WAIT_S 10 /* for the answer; a snapshot takes milliseconds */

/* Why connect() failed, for a person. */
static int ctl_unreachable(const char *path, int err)
{
    if (err == ENOENT)
        fprintf(stderr,
                "sctpgw: no control socket at %s: is the gateway running (and its control "
                "key this path)?\n",
                path);
    else if (err == EACCES || err == EPERM)
        fprintf(stderr,
                "sctpgw: permission denied on %s: run as root or as a member of the "
                "socket's group\n",
                path);
    else if (err == ECONNREFUSED)
        fprintf(stderr, "sctpgw: nothing answers on %s: the gateway is down (a stale socket)\n",
                path);
    else
        fprintf(stderr, "sctpgw: cannot reach the gateway at %s: %s\n", path, strerror(err));
    return CTL_EXIT_UNREACHABLE;
}

static int ctl_connect(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = CTL_WAIT_S};
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Copies the answer: the body of "ok" to stdout, an error to stderr. */
static int ctl_copy_answer(int fd, const char *path)
{
    char buf[65536];
    ssize_t n;
    size_t got = 0;
    int refused = -1; /* unknown until the first line is in */

    while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0 || (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        got += (size_t)n;
        if (refused < 0) {
            char *nl = memchr(buf, '\n', got);
            if (!nl && got < sizeof(buf))
                continue;
            refused = strncmp(buf, "ok\n", 3) != 0;
            if (refused)
                fputs("sctpgw: the gateway says: ", stderr);
            fwrite(refused ? buf : buf + 3, 1, refused ? got : got - 3, refused ? stderr : stdout);
        } else {
            fwrite(buf, 1, got, refused ? stderr : stdout);
        }
        got = 0;
    }
    if (n < 0 || refused < 0) {
        fprintf(stderr, "sctpgw: no answer from the gateway at %s%s%s\n", path, n < 0 ? ": " : "",
                n < 0 ? strerror(errno) : "");
        return CTL_EXIT_UNREACHABLE;
    }
    return refused ? CTL_EXIT_REFUSED : CTL_EXIT_OK;
}

int ctl_request(const char *path, const char *request)
{
    char line[CONTROL_REQ_MAX];
    int fd, n, code;

    n = snprintf(line, sizeof(line), "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof(line) || strchr(request, '\n')) {
        fprintf(stderr, "sctpgw: request too long\n");
        return CTL_EXIT_USAGE;
    }
    if ((fd = ctl_connect(path)) < 0)
        return ctl_unreachable(path, errno);
    if (write(fd, line, (size_t)n) != n) {
        fprintf(stderr, "sctpgw: cannot send to the gateway at %s: %s\n", path, strerror(errno));
        close(fd);
        return CTL_EXIT_UNREACHABLE;
    }
    code = ctl_copy_answer(fd, path);
    close(fd);
    return code;
}
