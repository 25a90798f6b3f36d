/* The control socket (see control.h): a Unix socket listener (acceptor.h),
 * one request line per connection. Whoever reaches the socket (mode 0660)
 * may ask, but no client can hurt the gateway: a request is at most
 * CONTROL_REQ_MAX bytes, a client that has not asked within CTL_DEADLINE_MS,
 * then takes nothing of its answer for CTL_STALL_MS or has not taken all of
 * it within CTL_ANSWER_MS is dropped, and at most CONTROL_CLIENTS_MAX are
 * served at once. The answer is built in memory in one go, from a
 * snapshot. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <uv.h>
#include "gateway.h"
#include "list.h"
#include "render.h"
#include "rlimits.h"
#include "snapshot.h"

#ifndef CTL_DEADLINE_MS
#define CTL_DEADLINE_MS 5000 /* to send the request, from the accept */
#endif
#ifndef CTL_STALL_MS
#define CTL_STALL_MS 5000 /* then, at most between two bites of the answer */
#endif
#ifndef CTL_ANSWER_MS
#define CTL_ANSWER_MS 60000 /* and for the whole answer, however it is read */
#endif
#define CTL_SOCK_MODE 0660 /* the gateway's user and group */
#define CTL_DIR_MODE  0750

struct control {
    gateway_t *gw;
    acceptor_t server; /* the listener */
    char path[CONFIG_CONTROL_MAX];
    dev_t dev; /* the socket file made here: removed at close only if still */
    ino_t ino; /* the same file (a second gateway may have replaced it) */
    list_t clients;
    size_t n_clients;
    episode_t refusing; /* clients turned away (CONTROL_CLIENTS_MAX, no memory) */
};

typedef struct ctl_client {
    control_t *ctl; /* NULL once the client is closing */
    list_t node;    /* in ctl->clients */
    uv_pipe_t pipe;
    uv_timer_t deadline;
    uv_write_t write_req;
    char req[CONTROL_REQ_MAX]; /* the request line as read so far */
    size_t len;
    char *answer;   /* being written */
    char head[32];  /* "ok LEN\n" before the body of an ok answer */
    size_t untaken; /* bytes of it the client had not taken at the last look */
    uint64_t since; /* loop time the answer started */
    int handles;    /* open handles; freed at 0 */
    long uid;       /* the asker (SO_PEERCRED), -1 unknown */
    long pid;
} ctl_client_t;

/* ---- clients ------------------------------------------------------------- */

static void on_client_handle_closed(uv_handle_t *h)
{
    ctl_client_t *cl = h->data;

    if (--cl->handles == 0) {
        free(cl->answer);
        free(cl);
    }
}

/* The one end of a client, whatever the reason. */
static void ctl_client_close(ctl_client_t *cl)
{
    if (!cl->ctl)
        return;
    list_remove(&cl->node);
    cl->ctl->n_clients--;
    cl->ctl = NULL;
    uv_close((uv_handle_t *)&cl->pipe, on_client_handle_closed);
    uv_close((uv_handle_t *)&cl->deadline, on_client_handle_closed);
}

/* Bytes of the answer the client has not taken yet: libuv's queue and
 * what waits in the socket (SIOCOUTQ). */
static size_t ctl_untaken(ctl_client_t *cl)
{
    size_t n = uv_stream_get_write_queue_size((uv_stream_t *)&cl->pipe);
    uv_os_fd_t fd;
    int queued;

    if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) == 0 && ioctl(fd, SIOCOUTQ, &queued) == 0 &&
        queued > 0)
        n += (size_t)queued;
    return n;
}

/* When to look again at a client's progress: after CTL_STALL_MS, and
 * never past CTL_ANSWER_MS in all. */
static uint64_t ctl_next_look(uint64_t spent)
{
    return CTL_ANSWER_MS - spent < CTL_STALL_MS ? CTL_ANSWER_MS - spent : CTL_STALL_MS;
}

/* Before the answer: the request has not come in time. While answering,
 * the deadline is one of no progress, put off for as long as the client
 * takes some of the answer in each CTL_STALL_MS, up to CTL_ANSWER_MS in
 * all: a large answer read as it comes goes out whole (a local client
 * takes megabytes in well under a second), a client that stops reading is
 * dropped, and so is one that reads a little now and then to hold its
 * place and its answer's memory for ever. */
static void on_deadline(uv_timer_t *t)
{
    ctl_client_t *cl = t->data;
    uint64_t spent = cl->answer ? uv_now(t->loop) - cl->since : 0;
    size_t untaken;

    if (cl->answer && spent < CTL_ANSWER_MS && (untaken = ctl_untaken(cl)) < cl->untaken) {
        cl->untaken = untaken;
        uv_timer_start(t, on_deadline, ctl_next_look(spent), 0);
        return;
    }
    ctl_client_close(cl);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    ctl_client_close(req->data);
}

/* Sends the answer (ownership of buf passes) and closes once it is out.
 * The body of an ok answer comes after "ok LEN\n", its length in bytes,
 * so a client can tell an answer cut short from a whole one. */
static void ctl_answer(ctl_client_t *cl, int ok, char *buf, size_t len)
{
    uv_buf_t b[2];
    unsigned n = 0;

    uv_read_stop((uv_stream_t *)&cl->pipe);
    cl->answer = buf;
    if (ok) {
        int head = snprintf(cl->head, sizeof(cl->head), "ok %zu\n", len);
        b[n++] = uv_buf_init(cl->head, (unsigned)head);
    }
    b[n++] = uv_buf_init(buf, (unsigned)len);
    cl->write_req.data = cl;
    if (uv_write(&cl->write_req, (uv_stream_t *)&cl->pipe, b, n, on_written) < 0) {
        ctl_client_close(cl);
        return;
    }
    cl->untaken = ctl_untaken(cl);
    cl->since = uv_now(cl->deadline.loop);
    uv_timer_start(&cl->deadline, on_deadline, ctl_next_look(0), 0);
}

/* An answer in a memory stream: the body of an ok answer, or
 * "error: WHY\n". */
typedef struct ctl_out {
    FILE *f;
    char *buf;
    size_t len;
} ctl_out_t;

/* A stream that failed (out of memory) would announce a body cut short as
 * whole: the client gets no answer instead. */
static void ctl_answer_stream(ctl_client_t *cl, ctl_out_t *o, int ok)
{
    int failed = ferror(o->f);

    if (fclose(o->f) != 0 || failed || !o->buf) {
        free(o->buf);
        ctl_client_close(cl);
        return;
    }
    ctl_answer(cl, ok, o->buf, o->len);
}

/* ---- requests ------------------------------------------------------------ */

/* Each request writes the body of its ok answer to out and returns 0, or
 * writes "error: WHY\n" and returns -1. */
static int ctl_status(ctl_client_t *cl, char *args, FILE *out)
{
    int json = 0, flows = 0;
    snapshot_t snap;
    char *word, *save = NULL;

    for (word = strtok_r(args, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
        if (strcmp(word, "json") == 0)
            json = 1;
        else if (strcmp(word, "flows") == 0)
            flows = 1;
        else {
            fprintf(out, "error: status takes json and flows, not '%.40s'\n", word);
            return -1;
        }
    }
    if (gateway_snapshot(cl->ctl->gw, &snap, flows) < 0) {
        fprintf(out, "error: out of memory\n");
        return -1;
    }
    if (json)
        render_json(&snap, flows, out);
    else
        render_text(&snap, flows, out);
    snapshot_free(&snap);
    return 0;
}

/* The one line a gateway call (r: 0 or -errno) left in msg, as either. */
static int ctl_outcome(int r, const char *msg, FILE *out)
{
    fprintf(out, "%s%s\n", r < 0 ? "error: " : "", msg);
    return r < 0 ? -1 : 0;
}

static int ctl_primary(ctl_client_t *cl, char *args, FILE *out)
{
    gateway_t *gw = cl->ctl->gw;
    char msg[256];
    addr_t host;

    args += strspn(args, " \t");
    if (addr_parse_host(args, 0, &host) < 0) {
        fprintf(out, "error: primary takes a peer address, not '%.60s'\n", args);
        return -1;
    }
    log_info(&gw->log, "ctl", "primary %s asked by uid %ld pid %ld", args, cl->uid, cl->pid);
    return ctl_outcome(gateway_primary(gw, &host, msg, sizeof(msg)), msg, out);
}

static int ctl_reload(ctl_client_t *cl, char *args, FILE *out)
{
    gateway_t *gw = cl->ctl->gw;
    char msg[1200];

    if (args[strspn(args, " \t")]) {
        fprintf(out, "error: reload takes no argument\n");
        return -1;
    }
    log_info(&gw->log, "ctl", "reload asked by uid %ld pid %ld", cl->uid, cl->pid);
    return ctl_outcome(gateway_reload(gw, msg, sizeof(msg)), msg, out);
}

/* Runs one request line (NUL-terminated, without its newline). */
static void ctl_handle(ctl_client_t *cl, char *line)
{
    ctl_out_t o = {0};
    char *args;
    int r = -1;

    if (!(o.f = open_memstream(&o.buf, &o.len))) {
        ctl_client_close(cl);
        return;
    }
    line += strspn(line, " \t");
    args = line + strcspn(line, " \t");
    if (*args)
        *args++ = '\0';
    if (strcmp(line, "status") == 0)
        r = ctl_status(cl, args, o.f);
    else if (strcmp(line, "primary") == 0)
        r = ctl_primary(cl, args, o.f);
    else if (strcmp(line, "reload") == 0)
        r = ctl_reload(cl, args, o.f);
    else
        fprintf(o.f,
                "error: unknown request '%.40s' (status [json] [flows], primary ADDR, reload)\n",
                line);
    ctl_answer_stream(cl, &o, r == 0);
}

/* A request that cannot be taken as it is. */
static void ctl_refuse(ctl_client_t *cl, const char *why)
{
    char *buf = NULL;
    int n = asprintf(&buf, "error: %s\n", why);

    if (n < 0) {
        ctl_client_close(cl);
        return;
    }
    ctl_answer(cl, 0, buf, (size_t)n);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ctl_client_t *cl = h->data;

    (void)suggested;
    *buf = uv_buf_init(cl->req + cl->len, (unsigned)(sizeof(cl->req) - 1 - cl->len));
}

/* Bytes up to the first newline make the request; it may also end at EOF. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ctl_client_t *cl = s->data;
    char *nl;

    (void)buf;
    if (!cl->ctl || n == 0)
        return;
    if (n < 0 && (n != UV_EOF || cl->len == 0)) {
        ctl_client_close(cl);
        return;
    }
    if (n > 0)
        cl->len += (size_t)n;
    cl->req[cl->len] = '\0';
    if (memchr(cl->req, '\0', cl->len)) {
        ctl_refuse(cl, "a request is one line of text");
        return;
    }
    nl = strchr(cl->req, '\n');
    if (nl || n == UV_EOF) {
        if (nl)
            *nl = '\0';
        if (nl > cl->req && nl[-1] == '\r')
            nl[-1] = '\0';
        ctl_handle(cl, cl->req);
    } else if (cl->len == sizeof(cl->req) - 1) {
        ctl_refuse(cl, "request too long");
    }
}

static void ctl_peer_cred(ctl_client_t *cl, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    cl->uid = cl->pid = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        cl->uid = (long)cred.uid;
        cl->pid = (long)cred.pid;
    }
}

/* With CONTROL_CLIENTS_MAX being answered, or with no memory for it, a client
 * is told so and closed at once rather than left waiting in the backlog:
 * an operator locked out by others holding the socket reads why, and so
 * does the log, once an episode. */
static void ctl_turn_away(control_t *c, int fd, const char *why)
{
    static const char busy[] = "error: busy, try again\n";

    c->gw->control_stats.refused++;
    acceptor_refused(&c->server, &c->refusing, why);
    (void)send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    close(fd);
}

/* At the limit, the client that makes room: the oldest that has not asked
 * yet and has nothing waiting to be read. So clients that connect and say
 * nothing cannot lock an operator out; only clients being answered do, and
 * a burst of silent ones accepted with a request among them does not close
 * it unread. */
static ctl_client_t *ctl_evictee(control_t *c)
{
    list_t *pos;

    for (pos = c->clients.next; pos != &c->clients; pos = pos->next) {
        ctl_client_t *cl = container_of(pos, ctl_client_t, node);
        if (!cl->answer && !acceptor_unread((const uv_handle_t *)&cl->pipe))
            return cl;
    }
    return NULL;
}

static void on_client(acceptor_t *ac, int fd)
{
    control_t *c = container_of(ac, control_t, server);
    ctl_client_t *cl;

    if (c->n_clients >= CONTROL_CLIENTS_MAX) {
        if (!(cl = ctl_evictee(c))) {
            ctl_turn_away(c, fd, "as many clients as it serves at once are being answered");
            return;
        }
        log_debug(&c->gw->log, "ctl", "closing a client that has not asked (pid %ld) to make room",
                  cl->pid);
        ctl_client_close(cl);
    }
    if (!(cl = calloc(1, sizeof(*cl)))) {
        ctl_turn_away(c, fd, "out of memory");
        return;
    }
    acceptor_served(&c->server, &c->refusing);
    cl->ctl = c;
    ctl_peer_cred(cl, fd);
    uv_pipe_init(c->gw->loop, &cl->pipe, 0);
    uv_timer_init(c->gw->loop, &cl->deadline);
    cl->pipe.data = cl->deadline.data = cl;
    cl->handles = 2;
    list_push(&c->clients, &cl->node);
    c->n_clients++;
    if (uv_pipe_open(&cl->pipe, fd) < 0) {
        close(fd);
        ctl_client_close(cl);
        return;
    }
    uv_timer_start(&cl->deadline, on_deadline, CTL_DEADLINE_MS, 0);
    if (uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) < 0)
        ctl_client_close(cl);
}

/* ---- the listener -------------------------------------------------------- */

/* The umask under which mkdir or bind makes a file with exactly `mode`;
 * returns the one to give back. Both take their mode through the umask
 * (the shipped unit's 0077 would leave the group out), and chmod by path
 * afterwards would follow a symlink put in the file's place meanwhile, in
 * a folder others may write, and change its target. The umask is the
 * process's: it is given back at once, and no other thread makes files. */
static mode_t ctl_umask_for(mode_t mode)
{
    return umask(~mode & 0777);
}

/* What mkdir or bind just made at path must still be of `type` (else
 * -EEXIST: someone who may write the folder put another file there). Its
 * mode is the umask's doing; a default ACL on the folder takes the
 * umask's place and can only narrow it. Returns 0, with its identity in
 * *st, or -errno. */
static int ctl_made(const char *path, mode_t type, struct stat *st)
{
    if (lstat(path, st) < 0)
        return -errno;
    return (st->st_mode & S_IFMT) == type ? 0 : -EEXIST;
}

/* The reason ctl_made failed. */
static const char *ctl_made_error(int r)
{
    return r == -EEXIST ? "another file took its place as it was made" : strerror(-r);
}

/* The folder, made if missing (its parent must exist), with
 * CTL_DIR_MODE. A folder that was there is left as it is. */
static int ctl_make_dir(const char *path, char *err, size_t len)
{
    char dir[CONFIG_CONTROL_MAX];
    struct stat st;
    char *slash;
    mode_t old;
    int r;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    old = ctl_umask_for(CTL_DIR_MODE);
    r = mkdir(dir, CTL_DIR_MODE) == 0 ? 0 : -errno;
    umask(old);
    if (r == -EEXIST)
        return 0;
    if (r == 0 && (r = ctl_made(dir, S_IFDIR, &st)) == 0)
        return 0;
    snprintf(err, len, "cannot make the control socket's folder %s: %s", dir, ctl_made_error(r));
    return r;
}

/* Whether a process listens on the socket at path: 1, 0, or -errno. The
 * connect does not block, since this runs on the loop and a blocking one
 * waits for as long as the listener's backlog is full: EAGAIN means such
 * a listener. Only ECONNREFUSED says nobody does: a socket this user may
 * not connect to (EACCES: another user's gateway) is not stale. */
static int ctl_listened(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd, live;

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN ||
        errno == EINPROGRESS)
        live = 1;
    else
        live = errno == ECONNREFUSED || errno == ENOENT ? 0 : -errno;
    close(fd);
    return live;
}

/* A socket file left by a gateway that died is replaced; one a process
 * listens on (another gateway, or this one under another spelling of the
 * path), or a file that is not a socket, is not touched. */
static int ctl_clear_stale(const char *path, char *err, size_t len)
{
    struct stat st;
    int live;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, len, "%s: %s", path, strerror(errno)), -errno);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, len, "%s exists and is not a socket", path);
        return -EEXIST;
    }
    if ((live = ctl_listened(path)) < 0)
        return snprintf(err, len, "%s: cannot tell whether a process listens on it: %s", path,
                        strerror(-live)),
               live;
    if (live) {
        snprintf(err, len, "%s is in use: a running process listens on it", path);
        return -EADDRINUSE;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(err, len, "cannot replace the stale socket %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

/* The socket, bound here rather than by uv_pipe_bind, which would keep the
 * path and remove whatever is there when the handle closes, a second
 * gateway's socket included. The file is made with CTL_SOCK_MODE, so no
 * one can connect through a wider mode. Returns the descriptor, with the
 * file's identity in *st, or -errno with the reason in err. */
static int ctl_bind(const char *path, struct stat *st, char *err, size_t len)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    mode_t old;
    int fd, r;

    if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >= sizeof(sun.sun_path))
        return snprintf(err, len, "%s: path too long for a socket", path), -ENAMETOOLONG;
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return snprintf(err, len, "socket: %s", strerror(errno)), -errno;
    old = ctl_umask_for(CTL_SOCK_MODE);
    r = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
    umask(old);
    if (r < 0) {
        snprintf(err, len, "cannot bind the control socket %s: %s", path, strerror(-r));
        close(fd);
        return r;
    }
    if ((r = ctl_made(path, S_IFSOCK, st)) < 0) {
        snprintf(err, len, "cannot make the control socket %s: %s", path, ctl_made_error(r));
        close(fd);
        return r;
    }
    return fd;
}

/* Removes the socket's file if it is still the one made here. */
static void ctl_unlink(const control_t *c)
{
    struct stat st;

    if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        unlink(c->path);
}

static void on_rest(acceptor_t *ac, int err)
{
    (void)err;
    container_of(ac, control_t, server)->gw->control_stats.accept_failures++;
}

/* The file goes in control_close, and only if it is still the one made
 * here. */
static int ctl_listen(control_t *c, char *err, size_t len)
{
    struct stat st;
    int fd, r;

    if ((fd = ctl_bind(c->path, &st, err, len)) < 0)
        return fd;
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    r = listen(fd, CONTROL_CLIENTS_MAX) < 0 ? -errno : 0;
    if (r == 0 && (r = acceptor_start(&c->server, c->gw->loop, fd, &c->gw->log, "ctl",
                                      "control clients", on_client)) < 0) {
        snprintf(err, len, "cannot use the control socket %s: %s", c->path, uv_strerror(r));
    } else if (r < 0) {
        snprintf(err, len, "cannot listen on %s: %s", c->path, strerror(-r));
    }
    if (r < 0) {
        close(fd);
        ctl_unlink(c);
        return r;
    }
    c->server.on_rest = on_rest;
    return 0;
}

static void on_server_closed(acceptor_t *ac)
{
    free(container_of(ac, control_t, server));
}

int control_start(gateway_t *gw, const char *path, control_t **out, char *err, size_t len)
{
    control_t *c = calloc(1, sizeof(*c));
    int r;

    *out = NULL;
    if (!c)
        return snprintf(err, len, "control socket: out of memory"), -ENOMEM;
    c->gw = gw;
    snprintf(c->path, sizeof(c->path), "%s", path);
    list_init(&c->clients);
    if ((r = ctl_make_dir(path, err, len)) < 0 || (r = ctl_clear_stale(path, err, len)) < 0 ||
        (r = ctl_listen(c, err, len)) < 0) {
        free(c);
        return r;
    }
    *out = c;
    return 0;
}

void control_close(control_t *c)
{
    if (!c)
        return;
    while (!list_empty(&c->clients))
        ctl_client_close(container_of(c->clients.next, ctl_client_t, node));
    ctl_unlink(c);
    acceptor_close(&c->server, on_server_closed);
}

static void on_later_closed(uv_handle_t *h)
{
    free(h);
}

static void on_close_later(uv_timer_t *t)
{
    control_close(t->data);
    uv_close((uv_handle_t *)t, on_later_closed);
}

void control_close_later(control_t *c)
{
    uv_timer_t *t;

    if (!c)
        return;
    if (!(t = malloc(sizeof(*t)))) {
        control_close(c);
        return;
    }
    uv_timer_init(c->gw->loop, t);
    t->data = c;
    uv_timer_start(t, on_close_later, 0, 0);
}
