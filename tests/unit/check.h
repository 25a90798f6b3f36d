/* A minimal test harness: CHECK records a failure and goes on, so one run
 * reports every broken expectation; main returns check_status(). */
#ifndef SCTPGW_CHECK_H
#define SCTPGW_CHECK_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        check_count++;                                                                             \
        if (!g_ || strcmp(g_, w_) != 0) {                                                          \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,                \
                    g_ ? g_ : "(null)", w_);                                                       \
        }                                                                                          \
    } while (0)

/* What fn(arg) wrote to stderr (the log lines of the code under test, and
 * any CHECK that failed meanwhile), into buf. */
static inline void check_stderr_of(void (*fn)(void *), void *arg, char *buf, size_t len)
{
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n;

    CHECK(f && saved >= 0);
    if (!f || saved < 0) {
        buf[0] = 0;
        return;
    }
    fflush(stderr);
    dup2(fileno(f), STDERR_FILENO);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);
    n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
}

static inline int check_status(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
