/* failmalloc: an LD_PRELOAD module for t_nomem that makes a process run
 * out of memory on demand. While the file named by FAILMALLOC_WHILE
 * exists, every malloc of FAILMALLOC_MIN bytes or more fails with ENOMEM;
 * smaller ones, and everything once the file is gone, go to glibc's own.
 * A file rather than a signal: the test turns the shortage on and off
 * from outside without touching the process. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

void *__libc_malloc(size_t n);

static int failmalloc_now(size_t n)
{
    const char *path = getenv("FAILMALLOC_WHILE");
    const char *min = getenv("FAILMALLOC_MIN");

    return path && min && n >= strtoul(min, NULL, 10) && access(path, F_OK) == 0;
}

void *malloc(size_t n)
{
    if (failmalloc_now(n)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}
