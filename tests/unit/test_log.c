/* Log lines to a sink: whole lines, and a socket whose reader falls behind
 * costs lines (counted, then told) rather than a stalled writer. */
#include "log.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#define LINES 3000
#define PAD                                                                                        \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* Everything waiting on fd (non-blocking reads until none is left). */
static size_t drain(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;

    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return n;
}

/* Checks that every line of buf is a whole "line K" line, K rising; returns
 * how many there were and, in *note, the count of a "lines dropped" line. */
static unsigned whole_lines(char *buf, unsigned long *note)
{
    regex_t line_re, note_re;
    regmatch_t m[2];
    unsigned n = 0;
    long last = -1;
    char *save = NULL;

    *note = 0;
    CHECK(regcomp(&line_re, "^[0-9-]+T[0-9:.]+Z INFO  t test: line ([0-9]+) x+$", REG_EXTENDED) ==
          0);
    CHECK(regcomp(&note_re,
                  "^[0-9-]+T[0-9:.]+Z WARN  t log: ([0-9]+) log lines? dropped: the log's reader "
                  "fell behind$",
                  REG_EXTENDED) == 0);
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (regexec(&note_re, l, 2, m, 0) == 0) {
            *note = strtoul(l + m[1].rm_so, NULL, 10);
            continue;
        }
        CHECK(regexec(&line_re, l, 2, m, 0) == 0);
        CHECK(strtol(l + m[1].rm_so, NULL, 10) > last);
        last = strtol(l + m[1].rm_so, NULL, 10);
        n++;
    }
    regfree(&line_re);
    regfree(&note_re);
    return n;
}

/* A socket nobody reads for a while: every call returns (the alarm would
 * end the test otherwise), the lines that went are whole, and the next
 * line once there is room says how many were dropped. */
static void test_socket_reader_behind(void)
{
    static char buf[LINES * 256];
    int sv[2], small = 4096;
    log_sink_t sink;
    logger_t lg = {.level = LOG_INFO, .name = "t", .sink = &sink};
    unsigned long dropped, note;
    unsigned got;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
    CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    log_sink_init(&sink, sv[0]);
    CHECK(sink.dontwait);
    alarm(20);
    for (int i = 0; i < LINES; i++)
        log_info(&lg, "test", "line %d %s", i, PAD);
    dropped = sink.dropped;
    CHECK(dropped > 0 && dropped < LINES);
    drain(sv[1], buf, sizeof(buf));
    got = whole_lines(buf, &note);
    CHECK(note == 0);
    CHECK(got + dropped == LINES);
    log_info(&lg, "test", "line %d %s", LINES, PAD);
    alarm(0);
    CHECK(sink.dropped == 0);
    drain(sv[1], buf, sizeof(buf));
    CHECK(whole_lines(buf, &note) == 1);
    CHECK(note == dropped);
    close(sv[0]);
    close(sv[1]);
}

/* Where only errors are logged, the count of errors dropped is an error
 * too, not a warning nobody would see. */
static void test_note_at_error_level(void)
{
    static char buf[LINES * 256];
    int sv[2], small = 4096;
    log_sink_t sink;
    logger_t lg = {.level = LOG_ERROR, .name = "t", .sink = &sink};

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
    CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    log_sink_init(&sink, sv[0]);
    alarm(20);
    for (int i = 0; i < LINES && sink.dropped == 0; i++)
        log_error(&lg, "test", "line %d %s", i, PAD);
    CHECK(sink.dropped == 1);
    drain(sv[1], buf, sizeof(buf));
    log_error(&lg, "test", "after");
    alarm(0);
    drain(sv[1], buf, sizeof(buf));
    CHECK(strstr(buf, " ERROR t log: 1 log line dropped: the log's reader fell behind\n") != NULL);
    CHECK(strstr(buf, " ERROR t test: after\n") != NULL);
    CHECK(sink.dropped == 0);
    close(sv[0]);
    close(sv[1]);
}

/* A pipe is written as it always was, waiting: nothing is dropped. */
static void test_pipe_waits(void)
{
    static char buf[4096];
    int p[2];
    log_sink_t sink;
    logger_t lg = {.level = LOG_INFO, .name = "t", .sink = &sink};
    unsigned long note;

    CHECK(pipe(p) == 0);
    log_sink_init(&sink, p[1]);
    CHECK(!sink.dontwait);
    log_info(&lg, "test", "line %d %s", 7, PAD);
    log_debug(&lg, "test", "not at this level");
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    drain(p[0], buf, sizeof(buf));
    CHECK(whole_lines(buf, &note) == 1);
    CHECK(sink.dropped == 0);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    test_socket_reader_behind();
    test_note_at_error_level();
    test_pipe_waits();
    return check_status("test_log");
}
