/* Accept loops that rest when accept() fails (see acceptor.h). */
#include "acceptor.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_ready(uv_poll_t *p, int status, int events);

int acceptor_stuck(int err)
{
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
    case ECONNABORTED:
    case ENETDOWN:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return 0;
    default:
        return 1;
    }
}

int acceptor_unread(const uv_handle_t *client)
{
    uv_os_fd_t fd;
    int unread = 0;

    return uv_fileno(client, &fd) == 0 && ioctl(fd, FIONREAD, &unread) == 0 && unread > 0;
}

int acceptor_tcp_listen(const addr_t *addr, int backlog)
{
    int one = 1, zero = 0, r;
    int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (addr->sa.sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) ||
        bind(fd, &addr->sa, addr_len(addr)) < 0 || listen(fd, backlog) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

void acceptor_reset(int fd)
{
    struct linger reset = {.l_onoff = 1, .l_linger = 0};

    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
}

static void on_retry(uv_timer_t *t)
{
    acceptor_t *ac = t->data;

    uv_poll_start(&ac->poll, UV_READABLE, on_ready);
}

static void acceptor_rest(acceptor_t *ac, int err)
{
    if (ac->on_rest)
        ac->on_rest(ac, err);
    if (episode_hit(&ac->resting, "accept failed", uv_now(ac->retry.loop)))
        log_warn(ac->log, ac->subsys, "not accepting %s for now: %s", ac->what, strerror(err));
    uv_poll_stop(&ac->poll);
    uv_timer_start(&ac->retry, on_retry, ACCEPTOR_PAUSE_MS, 0);
}

/* libuv stops a poll whose socket reports an error, and calls back with
 * EBADF whatever the error was: the listener is watched again after a
 * pause rather than left deaf. Said with the socket's own error, once, and
 * again only after a quiet minute; no client was refused, so it is not an
 * accept failure. */
static void acceptor_poll_failed(acceptor_t *ac)
{
    uint64_t now = uv_now(ac->retry.loop), ms;
    unsigned long n;
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(ac->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (episode_quiet(&ac->poll_failing, now, ACCEPTOR_POLL_QUIET_MS))
        (void)episode_end(&ac->poll_failing, now, &ms, &n);
    if (episode_hit(&ac->poll_failing, "poll failed", now))
        log_warn(ac->log, ac->subsys,
                 "the listener for %s reported an error (%s): watching it again every %u ms",
                 ac->what, err ? strerror(err) : "none pending", ACCEPTOR_PAUSE_MS);
    uv_timer_start(&ac->retry, on_retry, ACCEPTOR_PAUSE_MS, 0);
}

static void on_ready(uv_poll_t *p, int status, int events)
{
    acceptor_t *ac = p->data;
    uint64_t ms;
    unsigned long n;
    int fd;

    (void)events;
    if (status < 0) {
        acceptor_poll_failed(ac);
        return;
    }
    for (int i = 0; i < ACCEPTOR_BUDGET && ac->fd >= 0; i++) {
        fd = accept4(ac->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && acceptor_stuck(errno)) {
            acceptor_rest(ac, errno);
            return;
        }
        if (fd < 0)
            return; /* the backlog is empty, or that client is gone */
        if (episode_end(&ac->resting, uv_now(p->loop), &ms, &n))
            log_info(ac->log, ac->subsys, "accepting %s again after %llu ms", ac->what,
                     (unsigned long long)ms);
        ac->on_client(ac, fd); /* may close ac */
    }
}

/* Clients waiting in a TCP listener's backlog: TCP_INFO gives a listener
 * that count in tcpi_unacked (0 too: accept() takes a descriptor before it
 * looks at the queue, so it fails for want of one with nobody waiting).
 * 1 when it cannot say. */
static unsigned acceptor_waiting(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || ti.tcpi_state != TCP_LISTEN)
        return 1;
    return ti.tcpi_unacked;
}

unsigned acceptor_drain(acceptor_t *ac, int *err)
{
    int fd;

    while (ac->fd >= 0 && (fd = accept4(ac->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        ac->on_client(ac, fd);
    if (ac->fd < 0 || !acceptor_stuck(errno))
        return 0;
    *err = errno;
    return acceptor_waiting(ac->fd);
}

/* Ends the episode `e` once it has been quiet for EPISODE_QUIET_MS:
 * `served` as a client is, else before a client turned away. */
static void acceptor_refusals_end(const acceptor_t *ac, episode_t *e, int served)
{
    uint64_t ms;
    unsigned long n;

    if (!episode_end_quiet(e, uv_now(ac->poll.loop), EPISODE_QUIET_MS, &ms, &n))
        return;
    if (served)
        log_info(ac->log, ac->subsys, "serving clients again: %lu refused in %llu ms", n,
                 (unsigned long long)ms);
    else
        log_info(ac->log, ac->subsys, "%lu clients refused in %llu ms, then none for %d s", n,
                 (unsigned long long)ms, EPISODE_QUIET_MS / 1000);
}

void acceptor_refused(const acceptor_t *ac, episode_t *e, const char *why)
{
    acceptor_refusals_end(ac, e, 0);
    if (episode_hit(e, why, uv_now(ac->poll.loop)))
        log_warn(ac->log, ac->subsys, "refusing clients: %s", why);
}

void acceptor_served(const acceptor_t *ac, episode_t *e)
{
    acceptor_refusals_end(ac, e, 1);
}

int acceptor_start(acceptor_t *ac, uv_loop_t *loop, int fd, const logger_t *log, const char *subsys,
                   const char *what, acceptor_client_cb *on_client)
{
    int r;

    memset(ac, 0, sizeof(*ac));
    ac->fd = -1;
    if ((r = uv_poll_init_socket(loop, &ac->poll, fd)) < 0)
        return r;
    uv_timer_init(loop, &ac->retry);
    ac->poll.data = ac->retry.data = ac;
    ac->handles = 2;
    ac->fd = fd;
    ac->log = log;
    ac->subsys = subsys;
    ac->what = what;
    ac->on_client = on_client;
    uv_poll_start(&ac->poll, UV_READABLE, on_ready);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    acceptor_t *ac = h->data;

    if (--ac->handles == 0 && ac->on_closed)
        ac->on_closed(ac);
}

void acceptor_close(acceptor_t *ac, acceptor_closed_cb *on_closed)
{
    if (ac->fd < 0)
        return;
    ac->on_closed = on_closed;
    uv_close((uv_handle_t *)&ac->poll, on_handle_closed);
    uv_close((uv_handle_t *)&ac->retry, on_handle_closed);
    close(ac->fd);
    ac->fd = -1;
}
