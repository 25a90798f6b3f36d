/* Logging to stderr, one line per event. Each line is no longer than
 * PIPE_BUF and goes out in one write(2) or send(2) (finished with more
 * only where a socket took part of it), so lines from several gateways
 * sharing a terminal, pipe or journal never interleave. */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* A write of up to PIPE_BUF bytes to a pipe is atomic; longer lines are cut. */
#define LINE_MAX_BYTES PIPE_BUF

/* Indexed by log_level_t: the names accepted in the configuration. */
static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Indexed by log_level_t: the level as printed, padded to a fixed width. */
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

int log_level_parse(const char *s, log_level_t *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

/* Writes "2026-11-21T14:30:31.123Z" (UTC, milliseconds) into buf. */
static size_t log_stamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n;
}

/* Replaces control characters, so that text which came from the network
 * (names, addresses) cannot forge extra log lines. */
static void log_sanitize(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = '?';
    }
}

/* Formats the whole line, newline included, into line[LINE_MAX_BYTES] and
 * returns its length. A message too long for one atomic write is cut, and
 * ends with "..." so that the cut shows. */
static size_t log_format(char *line, const char *name, log_level_t lvl, const char *subsys,
                         const char *prefix, const char *fmt, va_list ap)
{
    const size_t room = LINE_MAX_BYTES - 1; /* one byte stays for the newline */
    size_t n, body;
    int r;

    n = log_stamp(line, LINE_MAX_BYTES);
    r = snprintf(line + n, LINE_MAX_BYTES - n, " %s %s %s: %s", level_tags[lvl], name, subsys,
                 prefix);
    body = r > 0 ? n + (size_t)r : n;
    if (body > room)
        body = room;
    r = vsnprintf(line + body, LINE_MAX_BYTES - body, fmt, ap);
    n = r > 0 ? body + (size_t)r : body;
    if (n > room) {
        n = room;
        memcpy(line + n - 3, "...", 3);
    }
    log_sanitize(line + body, n - body);
    line[n++] = '\n';
    return n;
}

static size_t log_format_f(char *line, const char *name, log_level_t lvl, const char *subsys,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static size_t log_format_f(char *line, const char *name, log_level_t lvl, const char *subsys,
                           const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = log_format(line, name, lvl, subsys, "", fmt, ap);
    va_end(ap);
    return n;
}

/* All of buf, waiting as long as it takes. */
static void log_put(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t r = write(fd, buf, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return; /* nowhere to tell it */
        buf += r;
        n -= (size_t)r;
    }
}

/* A line to a socket without waiting for room: -1 when none of it went.
 * One the socket took in part is finished waiting (a line is small beside
 * a socket's buffer, so this is rare and short): a cut line would run into
 * the next. */
static int log_send(int fd, const char *line, size_t n)
{
    ssize_t r;

    do
        r = send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
    log_put(fd, line + r, n - (size_t)r);
    return 0;
}

/* To a socket: first the count of lines it missed, if any (a warning, or
 * an error where only errors are logged: those were errors), then the
 * line. */
static void log_send_line(const logger_t *lg, log_sink_t *s, const char *name, const char *line,
                          size_t n)
{
    char note[LINE_MAX_BYTES];
    size_t k;

    if (s->dropped) {
        k = log_format_f(note, name, log_enabled(lg, LOG_WARN) ? LOG_WARN : LOG_ERROR, "log",
                         "%lu log line%s dropped: the log's reader fell behind", s->dropped,
                         s->dropped == 1 ? "" : "s");
        if (log_send(s->fd, note, k) < 0) {
            s->dropped++;
            return;
        }
        s->dropped = 0;
    }
    if (log_send(s->fd, line, n) < 0)
        s->dropped++;
}

void log_sink_init(log_sink_t *s, int fd)
{
    struct stat st;

    s->fd = fd;
    s->dropped = 0;
    s->dontwait = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

void log_vwrite(const logger_t *lg, log_level_t lvl, const char *subsys, const char *prefix,
                const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    const char *name = lg && lg->name ? lg->name : "sctpgw";
    log_sink_t *s = lg ? lg->sink : NULL;
    int saved_errno = errno;
    size_t n;

    if (!log_enabled(lg, lvl) || (size_t)lvl >= sizeof(level_tags) / sizeof(level_tags[0]))
        return;
    n = log_format(line, name, lvl, subsys, prefix, fmt, ap);
    if (s && s->dontwait)
        log_send_line(lg, s, name, line, n);
    else
        log_put(s ? s->fd : STDERR_FILENO, line, n);
    /* Callers may log and then look at errno, so it is left as it was. */
    errno = saved_errno;
}

void log_write(const logger_t *lg, log_level_t lvl, const char *subsys, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(lg, lvl, subsys, "", fmt, ap);
    va_end(ap);
}

int log_enabled(const logger_t *lg, log_level_t lvl)
{
    return lvl <= (lg ? lg->level : LOG_INFO);
}
