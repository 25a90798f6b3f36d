/* Resource limits: episodes logged once, the flows a descriptor limit
 * leaves room for, the descriptor count seen from /proc, and the kernel's
 * settings read from it. */
#include "rlimits.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static const char *const WHY_FDS = "out of file descriptors";
static const char *const WHY_MAX = "max_flows reached";

static void test_an_episode_is_logged_once(void)
{
    episode_t e = {0};
    uint64_t ms = 0;
    unsigned long n = 0;

    CHECK(episode_end(&e, 5, &ms, &n) == 0); /* none yet: nothing to say */
    CHECK(episode_quiet(&e, 5, 0) == 0);     /* none to be quiet */
    CHECK(episode_hit(&e, WHY_FDS, 100) == 1);
    for (int i = 0; i < 999; i++)
        CHECK(episode_hit(&e, WHY_FDS, 100 + (uint64_t)i) == 0);
    CHECK(e.why == WHY_FDS);
    CHECK(episode_quiet(&e, 1597, 500) == 0); /* the last hit was at 1098 */
    CHECK(episode_quiet(&e, 1598, 500) == 1);
    CHECK(episode_end(&e, 1600, &ms, &n) == 1);
    CHECK(ms == 1500);
    CHECK(n == 1000);
    CHECK(episode_end(&e, 1700, &ms, &n) == 0); /* ended once */
    CHECK(episode_quiet(&e, 1700, 500) == 0);
    CHECK(episode_hit(&e, WHY_MAX, 2000) == 1); /* a new one starts afresh */
    CHECK(episode_end(&e, 2000, &ms, &n) == 1);
    CHECK(ms == 0 && n == 1);
}

/* A limit met and passed by turns: the episode ends only once nothing hit
 * it for the quiet time, reported up to its last hit. */
static void test_an_episode_ends_when_quiet(void)
{
    episode_t e = {0};
    uint64_t ms = 0;
    unsigned long n = 0;

    CHECK(episode_end_quiet(&e, 5, 1000, &ms, &n) == 0); /* none */
    CHECK(episode_hit(&e, WHY_MAX, 100) == 1);
    CHECK(episode_end_quiet(&e, 600, 1000, &ms, &n) == 0); /* served between two hits */
    CHECK(episode_hit(&e, WHY_MAX, 700) == 0);
    CHECK(episode_end_quiet(&e, 1699, 1000, &ms, &n) == 0);
    CHECK(episode_end_quiet(&e, 1700, 1000, &ms, &n) == 1);
    CHECK(ms == 600 && n == 2);                             /* from the first hit to the last */
    CHECK(episode_end_quiet(&e, 5000, 1000, &ms, &n) == 0); /* ended once */
}

static void test_flow_cap(void)
{
    CHECK(rlimits_flow_cap(1024, 20) == 1024 - 20 - RLIMITS_FD_RESERVE);
    CHECK(rlimits_flow_cap(64, 20) == 0);
    CHECK(rlimits_flow_cap(RLIMITS_FD_RESERVE + 20, 20) == 0);
    CHECK(rlimits_flow_cap(1L << 30, 20) == 65535);
}

static void test_descriptors(void)
{
    long limit = rlimits_raise_fds(), before = rlimits_open_fds();
    int fd = open("/dev/null", O_RDONLY);

    CHECK(limit >= 3);
    CHECK(before >= 3); /* stdin, stdout, stderr */
    CHECK(fd >= 0);
    CHECK(rlimits_open_fds() == before + 1);
    close(fd);
    CHECK(rlimits_open_fds() == before);
    CHECK(rlimits_raise_fds() == limit); /* already raised: stays */
}

static void test_sysctl(void)
{
    unsigned v = 0, want = 0;
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");

    CHECK(f && fscanf(f, "%u", &want) == 1);
    if (f)
        fclose(f);
    CHECK(rlimits_sysctl("kernel.pid_max", &v) == 0);
    CHECK(v == want && v > 0);
    CHECK(rlimits_sysctl("net.sctp.no_such_key", &v) == -ENOENT);
    CHECK(rlimits_sysctl("kernel/pid_max", &v) == -EINVAL); /* a path, not a key */
    CHECK(rlimits_sysctl("", &v) == -EINVAL);
    CHECK(rlimits_sysctl("kernel.ostype", &v) == -EINVAL); /* "Linux" */
}

int main(void)
{
    test_an_episode_is_logged_once();
    test_an_episode_ends_when_quiet();
    test_flow_cap();
    test_descriptors();
    test_sysctl();
    return check_status("test_rlimits");
}
