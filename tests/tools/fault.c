/* fault: an LD_PRELOAD module for t_nomem, t_reload and t_hostile that
 * makes a gateway short of memory, or slow, on demand, as the kernel or the
 * C library would, or a loaded machine. Each fault is on while its file
 * exists, so a test turns it on and off from outside:
 *   FAULT_MALLOC_WHILE=FILE FAULT_MALLOC_MIN=N: malloc of N bytes or more
 *     fails with ENOMEM (smaller ones go on: the loop itself must run);
 *   FAULT_CALLOC_WHILE=FILE FAULT_CALLOC_MIN=N: calloc likewise (the
 *     gateway's receive side takes what it reads with calloc, its flows'
 *     reads with malloc: one can fail without the other);
 *   FAULT_ACCEPT_WHILE=FILE FAULT_ACCEPT_ERRNO=E: accept4() fails with
 *     errno E and leaves the client queued, as the kernel does when it has
 *     no memory for the new socket or a security module refuses it;
 *   FAULT_SENDMSG_WHILE=FILE FAULT_SENDMSG_ERRNO=E: sendmsg() (the
 *     gateway's SCTP sends; libuv writes TCP with write and writev) fails
 *     with errno E and sends nothing, as SCTP does when the kernel has no
 *     memory for a message's chunks;
 *   FAULT_CLOSE_WHILE=FILE FAULT_CLOSE_MS=N: close() of an SCTP socket
 *     waits N ms first, as a loaded machine may between a program's last
 *     read of a socket and its close (t_hostile: a peer still sending lands
 *     a message in between).
 * And, for t_reload, FAULT_EXIT_WHILE=FILE: as the process exits, after
 * main has returned, it makes FILE.held and waits while FILE exists (10 s
 * at most): a moment in which to send it a signal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);

static int fault_on(const char *file_var)
{
    const char *path = getenv(file_var);

    return path && access(path, F_OK) == 0;
}

static unsigned long fault_num(const char *var)
{
    const char *v = getenv(var);

    return v ? strtoul(v, NULL, 10) : 0;
}

void *malloc(size_t n)
{
    unsigned long min = fault_num("FAULT_MALLOC_MIN");

    if (min && n >= min && fault_on("FAULT_MALLOC_WHILE")) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    unsigned long min = fault_num("FAULT_CALLOC_MIN");

    if (min && n * size >= min && fault_on("FAULT_CALLOC_WHILE")) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(n, size);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    unsigned long err = fault_num("FAULT_ACCEPT_ERRNO");

    if (err && fault_on("FAULT_ACCEPT_WHILE")) {
        errno = (int)err;
        return -1;
    }
    return (int)syscall(SYS_accept4, fd, addr, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    unsigned long err = fault_num("FAULT_SENDMSG_ERRNO");

    if (err && fault_on("FAULT_SENDMSG_WHILE")) {
        errno = (int)err;
        return -1;
    }
    return (ssize_t)syscall(SYS_sendmsg, fd, msg, flags);
}

int close(int fd)
{
    unsigned long ms = fault_num("FAULT_CLOSE_MS");
    struct timespec pause = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    int proto = 0;
    socklen_t len = sizeof(proto);

    if (ms && fault_on("FAULT_CLOSE_WHILE") &&
        getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_SCTP)
        nanosleep(&pause, NULL);
    return (int)syscall(SYS_close, fd);
}

__attribute__((destructor)) static void exit_wait(void)
{
    const char *gate = getenv("FAULT_EXIT_WHILE");
    struct timespec tick = {.tv_nsec = 10000000};
    char held[4096];
    int fd;

    if (!gate || snprintf(held, sizeof(held), "%s.held", gate) >= (int)sizeof(held))
        return;
    if ((fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
        close(fd);
    for (int i = 0; i < 1000 && access(gate, F_OK) == 0; i++)
        nanosleep(&tick, NULL);
}
