/* sctp_sock.c's parts that need no SCTP in the kernel: what the kernel
 * grants a socket's buffers, for the start's warning (gateway.c), what
 * waits to be read, and whether the host has an address. Any socket
 * family answers them alike. */
#include "sctp_sock.h"
#include "check.h"
#include "rlimits.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* A small buffer is given whole. Past the caps, a process without
 * CAP_NET_ADMIN (here a child turned into nobody, when run as root) gets
 * the smaller cap: what the start's warning reports. */
static void test_buffer_granted(void)
{
    unsigned cap = 0, rcap = 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), status = -1;
    pid_t pid;

    CHECK(rlimits_sysctl("net.core.wmem_max", &cap) == 0);
    CHECK(rlimits_sysctl("net.core.rmem_max", &rcap) == 0);
    cap = rcap < cap ? rcap : cap;
    CHECK(fd >= 0 && cap >= 4096);
    if (cap > 0x3fffffff) { /* doubled, past what the kernel can count */
        close(fd);
        return;
    }
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

/* What waits to be read: the first message's length, then none. */
static void test_unread(void)
{
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(at);
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    char buf[16];

    CHECK(rx >= 0 && tx >= 0 && bind(rx, (struct sockaddr *)&at, sizeof(at)) == 0 &&
          getsockname(rx, (struct sockaddr *)&at, &len) == 0);
    CHECK(sock_unread(rx) == 0);
    CHECK(sendto(tx, "hello", 5, 0, (struct sockaddr *)&at, sizeof(at)) == 5);
    CHECK(sendto(tx, "hi", 2, 0, (struct sockaddr *)&at, sizeof(at)) == 2);
    usleep(10000);
    CHECK(sock_unread(rx) == 5);
    CHECK(recv(rx, buf, sizeof(buf), 0) == 5 && sock_unread(rx) == 2);
    CHECK(recv(rx, buf, sizeof(buf), 0) == 2 && sock_unread(rx) == 0);
    CHECK(sock_unread(-1) < 0);
    close(rx);
    close(tx);
}

/* What the kernel holds unacknowledged: nothing on a fresh socket; bytes
 * once a peer that reads nothing has closed its window. */
static void test_unacked(void)
{
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(at);
    int ls = socket(AF_INET, SOCK_STREAM, 0), tx = socket(AF_INET, SOCK_STREAM, 0), rx = -1;
    int small = 4096;
    static char buf[65536];

    CHECK(ls >= 0 && tx >= 0 && setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0 &&
          bind(ls, (struct sockaddr *)&at, sizeof(at)) == 0 && listen(ls, 1) == 0 &&
          getsockname(ls, (struct sockaddr *)&at, &len) == 0);
    CHECK(sock_unacked(tx) == 0);
    CHECK(connect(tx, (struct sockaddr *)&at, sizeof(at)) == 0 &&
          (rx = accept(ls, NULL, NULL)) >= 0);
    CHECK(sock_unacked(tx) == 0);
    CHECK(fcntl(tx, F_SETFL, O_NONBLOCK) == 0);
    while (send(tx, buf, sizeof(buf), 0) > 0)
        ;
    CHECK(sock_unacked(tx) > 0);
    CHECK(sock_unacked(-1) < 0);
    close(rx);
    close(tx);
    close(ls);
}

/* Loopback is here; an address of TEST-NET-1 (RFC 5737) is not. The
 * port asked for does not matter. */
static void test_addr_here(void)
{
    addr_t a = {0};

    a.v4.sin_family = AF_INET;
    a.v4.sin_port = htons(9899);
    a.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(sock_addr_here(&a) == 1);
    CHECK(inet_pton(AF_INET, "192.0.2.77", &a.v4.sin_addr) == 1);
    CHECK(sock_addr_here(&a) == 0);
}

int main(void)
{
    test_buffer_granted();
    test_unread();
    test_unacked();
    test_addr_here();
    return check_status("test_sctp_sock");
}
