/* sctp_sock.c's parts that need no SCTP in the kernel: what the kernel
 * grants a socket's buffers, for the start's warning (gateway.c). Any
 * socket family obeys the same net.core caps. */
#include "sctp_sock.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

static unsigned sysctl_value(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned v = 0;

    CHECK(f && fscanf(f, "%u", &v) == 1);
    if (f)
        fclose(f);
    return v;
}

/* A small buffer is given whole. Past the caps, a process without
 * CAP_NET_ADMIN (here a child turned into nobody, when run as root) gets
 * the smaller cap: what the start's warning reports. */
static void test_buffer_granted(void)
{
    unsigned cap = sysctl_value("/proc/sys/net/core/wmem_max");
    unsigned rcap = sysctl_value("/proc/sys/net/core/rmem_max");
    int fd = socket(AF_INET, SOCK_DGRAM, 0), status = -1;
    pid_t pid;

    cap = rcap < cap ? rcap : cap;
    CHECK(fd >= 0 && cap >= 4096);
    CHECK(sock_buffer_granted(fd, 4096) == 4096);
    CHECK(sock_buffer_granted(fd, 2 * cap) <= 2 * cap);
    if (getuid() != 0) {
        CHECK(sock_buffer_granted(fd, 2 * cap) == cap);
        close(fd);
        return;
    }
    pid = fork();
    if (pid == 0)
        _exit(setuid(65534) == 0 && sock_buffer_granted(fd, 2 * cap) == cap ? 0 : 1);
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    close(fd);
}

int main(void)
{
    test_buffer_granted();
    return check_status("test_sctp_sock");
}
