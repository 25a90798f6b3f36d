/* Logging: one line per event on stderr, "time level subsystem message". */
#ifndef SCTPGW_LOG_H
#define SCTPGW_LOG_H

#include <stdarg.h>

typedef enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level_t;

/* Where lines go. A socket (the journal's, under systemd) is written
 * without waiting: a reader that falls behind costs lines, counted and
 * told once it has room again, rather than the whole gateway stalled in
 * a write (every flow, and the signals that would stop it). Anything else
 * (a file, a terminal, a pipe shared with other programs) is written as
 * it is, waiting. */
typedef struct log_sink {
    int fd;
    int dontwait;          /* fd is a socket */
    unsigned long dropped; /* lines dropped since the last one that went */
} log_sink_t;

/* Where lines go and which are kept; owned by the gateway, passed down. */
typedef struct logger {
    log_level_t level; /* lines above this level are dropped */
    const char *name;  /* gateway name, first field after the level */
    log_sink_t *sink;  /* NULL: stderr, waiting */
} logger_t;

/* A sink writing to fd (its type looked at now). */
void log_sink_init(log_sink_t *s, int fd);

/* Parses "error" | "warn" | "info" | "debug". Returns 0 or -1. */
int log_level_parse(const char *s, log_level_t *out);

/* Writes one line: "2026-11-21T14:30:31.123Z INFO  name subsys: message". */
void log_write(const logger_t *lg, log_level_t lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same with a va_list, and `prefix` (such as "flow 7 [web]: ") written
 * before the message. */
void log_vwrite(const logger_t *lg, log_level_t lvl, const char *subsys, const char *prefix,
                const char *fmt, va_list ap);

/* Whether a line of this level would be written. */
int log_enabled(const logger_t *lg, log_level_t lvl);

#define log_error(lg, sub, ...) log_write((lg), LOG_ERROR, (sub), __VA_ARGS__)
#define log_warn(lg, sub, ...)  log_write((lg), LOG_WARN, (sub), __VA_ARGS__)
#define log_info(lg, sub, ...)  log_write((lg), LOG_INFO, (sub), __VA_ARGS__)
#define log_debug(lg, sub, ...) log_write((lg), LOG_DEBUG, (sub), __VA_ARGS__)

#endif
