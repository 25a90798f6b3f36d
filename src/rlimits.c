/* Resource limits (see rlimits.h). */
#include "rlimits.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int episode_hit(episode_t *e, const char *why, uint64_t now)
{
    int starts = !e->active;

    if (starts) {
        e->active = 1;
        e->since_ms = now;
        e->hits = 0;
        e->why = why;
    }
    e->hits++;
    e->last_ms = now;
    return starts;
}

int episode_end(episode_t *e, uint64_t now, uint64_t *lasted_ms, unsigned long *hits)
{
    if (!e->active)
        return 0;
    e->active = 0;
    *lasted_ms = now - e->since_ms;
    *hits = e->hits;
    return 1;
}

int episode_quiet(const episode_t *e, uint64_t now, uint64_t quiet_ms)
{
    return e->active && now - e->last_ms >= quiet_ms;
}

int episode_end_quiet(episode_t *e, uint64_t now, uint64_t quiet_ms, uint64_t *lasted_ms,
                      unsigned long *hits)
{
    return episode_quiet(e, now, quiet_ms) && episode_end(e, e->last_ms, lasted_ms, hits);
}

long rlimits_raise_fds(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = was;
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)1 << 30 ? 1L << 30
                                                                         : (long)rl.rlim_cur;
}

long rlimits_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own */
}

unsigned rlimits_flow_cap(long limit, long open)
{
    long room = limit - open - RLIMITS_FD_RESERVE;

    if (room <= 0)
        return 0;
    return room > 65535 ? 65535 : (unsigned)room;
}

int rlimits_sysctl(const char *key, unsigned *out)
{
    char path[128] = "/proc/sys/";
    size_t at = strlen(path), n = strlen(key);
    FILE *f;
    int ok;

    if (!n || n >= sizeof(path) - at || strchr(key, '/'))
        return -EINVAL;
    for (size_t i = 0; i <= n; i++)
        path[at + i] = key[i] == '.' ? '/' : key[i];
    if (!(f = fopen(path, "re")))
        return -errno;
    ok = fscanf(f, "%u", out) == 1;
    fclose(f);
    return ok ? 0 : -EINVAL;
}
