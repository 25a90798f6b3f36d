/* The client side of the control socket (sctpgw status, primary, reload):
 * a blocking connect, one request line, the answer copied out. Each way
 * the gateway can be out of reach gets its own explanation. */
#include "control.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#define CTL_WAIT_S 10 /* for the answer; a snapshot takes milliseconds */
#define STR_(x)    #x
#define STR(x)     STR_(x)
/* The largest answer taken: the status of 65,535 flows in JSON is about
 * 20 MB. */
#define CTL_BODY_MAX (256LL * 1024 * 1024)

/* An error of a call on the socket, for a person: its timeouts say what
 * they mean. */
static const char *ctl_why(int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK)
        return "nothing within " STR(CTL_WAIT_S) " s (is the gateway's event loop stuck?)";
    return strerror(err);
}

/* Why connect() failed, for a person. */
static int ctl_unreachable(const char *path, int err)
{
    if (err == ENOENT)
        fprintf(stderr,
                "sctpgw: no control socket at %s: is the gateway running, with this control "
                "path? (if the file's control or name was edited since it started, name its "
                "socket with -s)\n",
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
        fprintf(stderr, "sctpgw: cannot reach the gateway at %s: %s\n", path, ctl_why(err));
    return CTL_EXIT_UNREACHABLE;
}

/* A connected socket, or -1 with errno; `flags` as socket()'s type
 * (SOCK_NONBLOCK: a full backlog fails with EAGAIN at once). */
static int ctl_connect(const char *path, int flags)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = CTL_WAIT_S};
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0)) < 0)
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

/* A socket file nobody listens on: left by a gateway that died, or by
 * one renamed (the folder outlives them). The connect does not wait: a
 * full backlog is a live gateway. */
static int ctl_stale(const char *path)
{
    int fd = ctl_connect(path, SOCK_NONBLOCK);

    if (fd >= 0)
        close(fd);
    return fd < 0 && errno == ECONNREFUSED;
}

int ctl_find_socket(const char *dir, char *out, size_t len)
{
    char path[512], names[256] = "";
    size_t n = 0, used = 0, stale = 0;
    struct dirent *e;
    struct stat st;
    DIR *d = opendir(dir);

    snprintf(out, len, "%s/sctpgw.sock", dir);
    while (d && (e = readdir(d))) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        if (ctl_stale(path)) {
            if (n == 0 && !stale++) /* while none is live: it will say why */
                snprintf(out, len, "%s", path);
            continue;
        }
        if (n++ == 0)
            snprintf(out, len, "%s", path);
        if (used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", n > 1 ? ", " : "",
                                     e->d_name);
    }
    if (d)
        closedir(d);
    if (n < 2)
        return 0;
    fprintf(stderr, "sctpgw: %zu control sockets in %s (%s): name one with -s SOCKET or -c FILE\n",
            n, dir, names);
    return -1;
}

/* read(), again after a signal. */
static ssize_t ctl_read(int fd, char *buf, size_t len)
{
    ssize_t n;

    while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
        continue;
    return n;
}

/* The length a first line "ok LEN" announces, or -1 for any other line
 * (len bytes, without its newline). */
static long long ctl_length(const char *line, size_t len)
{
    long long n = 0;

    if (len < 4 || len > 3 + 18 || memcmp(line, "ok ", 3) != 0)
        return -1;
    for (size_t i = 3; i < len; i++) {
        if (line[i] < '0' || line[i] > '9')
            return -1;
        n = n * 10 + (line[i] - '0');
    }
    return n;
}

/* The body of an ok answer, len bytes, to stdout; the first `have` of
 * them are in head. It is read whole before any of it is written: whoever
 * reads stdout may pause (a pager not scrolled yet), and a client that
 * takes nothing for a few seconds is dropped by the gateway as stuck
 * (CTL_STALL_MS), its answer cut short. Fewer bytes before the end of the
 * stream make an answer cut short (the gateway dropped the client, or
 * stopped). */
static int ctl_copy_body(int fd, const char *path, const char *head, size_t have, long long len)
{
    size_t done = (long long)have < len ? have : (size_t)len;
    ssize_t n = 0;
    char *body;

    if (len > CTL_BODY_MAX || !(body = malloc(len ? (size_t)len : 1))) {
        fprintf(stderr, "sctpgw: the answer from the gateway at %s is %lld bytes: %s\n", path, len,
                len > CTL_BODY_MAX ? "too large to take" : "no memory to take it");
        return CTL_EXIT_UNREACHABLE;
    }
    memcpy(body, head, done);
    while (done < (size_t)len && (n = ctl_read(fd, body + done, (size_t)len - done)) > 0)
        done += (size_t)n;
    fwrite(body, 1, done, stdout);
    free(body);
    if (done == (size_t)len)
        return CTL_EXIT_OK;
    fprintf(stderr,
            "sctpgw: the answer from the gateway at %s was cut short: %zu of %lld bytes%s%s\n",
            path, done, len, n < 0 ? ": " : "", n < 0 ? ctl_why(errno) : "");
    return CTL_EXIT_UNREACHABLE;
}

/* Copies the answer: the body of "ok LEN" to stdout, "error: WHY" (one
 * line) to stderr. */
static int ctl_copy_answer(int fd, const char *path)
{
    char buf[65536], *nl = NULL;
    size_t got = 0, line;
    ssize_t n = 0;
    long long len;

    while (!(nl = memchr(buf, '\n', got)) && got < sizeof(buf) &&
           (n = ctl_read(fd, buf + got, sizeof(buf) - got)) > 0)
        got += (size_t)n;
    if (got == 0) {
        fprintf(stderr, "sctpgw: no answer from the gateway at %s%s%s\n", path, n < 0 ? ": " : "",
                n < 0 ? ctl_why(errno) : "");
        return CTL_EXIT_UNREACHABLE;
    }
    line = nl ? (size_t)(nl - buf) : got;
    if (nl && strncmp(buf, "error: ", 7) == 0) {
        fprintf(stderr, "sctpgw: the gateway says: %.*s\n", (int)line, buf);
        return CTL_EXIT_REFUSED;
    }
    if (nl && (len = ctl_length(buf, line)) >= 0) {
        return ctl_copy_body(fd, path, nl + 1, got - line - 1, len);
    }
    fprintf(stderr, "sctpgw: the answer from the gateway at %s was %s: '%.*s'%s%s\n", path,
            nl || got == sizeof(buf) ? "not understood (a gateway of another version?)"
                                     : "cut short",
            (int)(line < 80 ? line : 80), buf, !nl && n < 0 ? ": " : "",
            !nl && n < 0 ? ctl_why(errno) : "");
    return CTL_EXIT_UNREACHABLE;
}

/* What went to stdout must have arrived: a full disk otherwise looks like
 * an empty answer given with success. */
static int ctl_flush(int code)
{
    int err = fflush(stdout) ? errno : ferror(stdout) ? EIO : 0;

    if (!err)
        return code;
    fprintf(stderr, "sctpgw: cannot write the answer to standard output: %s\n", strerror(err));
    return CTL_EXIT_OUTPUT;
}

int ctl_request(const char *path, const char *request)
{
    char line[CONTROL_REQ_MAX];
    int fd, n, code;
    ssize_t sent;

    n = snprintf(line, sizeof(line), "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof(line) || strchr(request, '\n')) {
        fprintf(stderr, "sctpgw: request too long\n");
        return CTL_EXIT_USAGE;
    }
    if ((fd = ctl_connect(path, 0)) < 0)
        return ctl_unreachable(path, errno);
    /* MSG_NOSIGNAL: a gateway that closes first (it turns away a client
     * over its limit, or stops) is an error to explain, not SIGPIPE; one
     * that turned us away may have said why before it closed. */
    sent = send(fd, line, (size_t)n, MSG_NOSIGNAL);
    if (sent != n && !(sent < 0 && (errno == EPIPE || errno == ECONNRESET))) {
        fprintf(stderr, "sctpgw: cannot send to the gateway at %s: %s\n", path, ctl_why(errno));
        close(fd);
        return CTL_EXIT_UNREACHABLE;
    }
    code = ctl_copy_answer(fd, path);
    close(fd);
    return ctl_flush(code);
}
