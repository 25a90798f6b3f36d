/* The reload diff (see reload.h): pure comparison of two configurations. */
#include "reload.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static void port_set(addr_t *a, unsigned port)
{
    if (a->sa.sa_family == AF_INET)
        a->v4.sin_port = htons((uint16_t)port);
    else
        a->v6.sin6_port = htons((uint16_t)port);
}

/* The link addresses carry the association's port (config.c puts it
 * there), which is a key of its own: they are compared without it. */
static int host_equal(const addr_t *a, const addr_t *b)
{
    addr_t x = *a, y = *b;

    port_set(&x, 0);
    port_set(&y, 0);
    return addr_equal(&x, &y);
}

static int addrs_equal(const addr_t *a, size_t na, const addr_t *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        if (!host_equal(&a[i], &b[i]))
            return 0;
    }
    return 1;
}

static int primary_equal(const config_t *a, const config_t *b)
{
    if (a->has_primary != b->has_primary)
        return 0;
    return !a->has_primary || host_equal(&a->primary, &b->primary);
}

static int psk_equal(const config_t *a, const config_t *b)
{
    return strcmp(a->psk_path, b->psk_path) == 0 && a->psk_len == b->psk_len &&
           memcmp(a->psk, b->psk, a->psk_len) == 0;
}

/* Appends a key to the restart list. */
static void restart_add(reload_plan_t *p, const char *key)
{
    size_t used = strlen(p->restart);

    snprintf(p->restart + used, sizeof(p->restart) - used, "%s%s", used ? ", " : "", key);
}

/* The keys that only a new association (or process) can change. A new
 * primary must be one of the running remote addresses: when those change
 * too it waits for the restart with them. */
static void diff_restart(const config_t *old, const config_t *new, reload_plan_t *p)
{
    int remote_same = addrs_equal(old->remote, old->n_remote, new->remote, new->n_remote);

    if (strcmp(old->name, new->name) != 0)
        restart_add(p, "name");
    if (old->role != new->role)
        restart_add(p, "role");
    if (!addrs_equal(old->local, old->n_local, new->local, new->n_local))
        restart_add(p, "local");
    if (!remote_same)
        restart_add(p, "remote");
    if (old->port != new->port)
        restart_add(p, "port");
    if (old->udp_port != new->udp_port)
        restart_add(p, "udp_port");
    if (!psk_equal(old, new))
        restart_add(p, "psk_file");
    if (old->encryption != new->encryption)
        restart_add(p, "encryption");
    if (old->sock_buffer != new->sock_buffer)
        restart_add(p, "sock_buffer");
    if (!primary_equal(old, new)) {
        if (remote_same && old->role == new->role)
            p->live |= RELOAD_PRIMARY;
        else
            restart_add(p, "primary");
    }
}

static void diff_live(const config_t *old, const config_t *new, reload_plan_t *p)
{
    if (old->log_level != new->log_level)
        p->live |= RELOAD_LOG_LEVEL;
    if (old->failover_ms != new->failover_ms || old->outage_ms != new->outage_ms)
        p->live |= RELOAD_TIMERS;
    if (old->max_flows != new->max_flows)
        p->live |= RELOAD_MAX_FLOWS;
    if (old->flow_window != new->flow_window)
        p->live |= RELOAD_WINDOW;
    if (old->drain_ms != new->drain_ms)
        p->live |= RELOAD_DRAIN;
    if (old->stall_ms != new->stall_ms)
        p->live |= RELOAD_STALL;
    /* Only the connect role has rekey_s: across a role change (for a
     * restart) the running one stays. */
    if (old->rekey_s != new->rekey_s && old->role == new->role)
        p->live |= RELOAD_REKEY;
    if (old->has_metrics != new->has_metrics ||
        (old->has_metrics && !addr_equal(&old->metrics, &new->metrics)))
        p->live |= RELOAD_METRICS;
    /* The default control path follows name, which only a restart changes. */
    if (strcmp(old->control, new->control) != 0 &&
        (new->control_given || strcmp(old->name, new->name) == 0))
        p->live |= RELOAD_CONTROL;
}

static int service_equal(const service_conf_t *a, const service_conf_t *b)
{
    /* A named back end has no address until a flow looks it up. */
    if (a->is_name || b->is_name)
        return a->is_name == b->is_name && strcmp(a->host, b->host) == 0 && a->port == b->port &&
               strcmp(a->peer, b->peer) == 0;
    return a->is_accept == b->is_accept && addr_equal(&a->addr, &b->addr) &&
           strcmp(a->peer, b->peer) == 0;
}

/* A listener that would stop while another service starts on the same
 * address is handed over instead (a service renamed, or two that swap
 * names): the new one could not bind while the old one listens. */
static void listeners_hand_over(const config_t *old, const config_t *new, reload_plan_t *p)
{
    for (size_t s = 0; s < p->n_start; s++) {
        for (size_t o = 0; o < p->n_stop; o++) {
            if (!addr_equal(&old->services[p->stop[o]].addr, &new->services[p->start[s]].addr))
                continue;
            p->keep[p->n_keep++] = (reload_keep_t){p->stop[o], p->start[s]};
            p->stop[o] = p->stop[--p->n_stop];
            p->start[s--] = p->start[--p->n_start];
            break;
        }
    }
}

/* Services are matched by name. An accept service keeps its listener when
 * its address is the same (only its peer may have changed); otherwise the
 * old listener closes and a new one opens. A connect service needs nothing
 * more than being found (or not) in the configuration by the next OPEN. */
static void diff_services(const config_t *old, const config_t *new, reload_plan_t *p)
{
    for (size_t i = 0; i < old->n_services; i++) {
        const service_conf_t *o = &old->services[i];
        const service_conf_t *n = config_service(new, o->name);

        if (!n)
            p->n_removed++;
        else if (!service_equal(o, n))
            p->n_changed++;
        if (!o->is_accept)
            continue;
        if (n && n->is_accept && addr_equal(&o->addr, &n->addr))
            p->keep[p->n_keep++] = (reload_keep_t){(uint16_t)i, (uint16_t)(n - new->services)};
        else
            p->stop[p->n_stop++] = (uint16_t)i;
    }
    for (size_t i = 0; i < new->n_services; i++) {
        const service_conf_t *n = &new->services[i];
        const service_conf_t *o = config_service(old, n->name);

        if (!o)
            p->n_added++;
        if (n->is_accept && !(o && o->is_accept && addr_equal(&o->addr, &n->addr)))
            p->start[p->n_start++] = (uint16_t)i;
    }
    listeners_hand_over(old, new, p);
    if (p->n_added || p->n_removed || p->n_changed)
        p->live |= RELOAD_SERVICES;
}

void reload_diff(const config_t *old, const config_t *new, reload_plan_t *out)
{
    memset(out, 0, sizeof(*out));
    diff_restart(old, new, out);
    diff_live(old, new, out);
    diff_services(old, new, out);
}

/* Whether `key` is in the plan's restart list. */
static int restart_has(const reload_plan_t *p, const char *key)
{
    size_t n = strlen(key);

    for (const char *s = p->restart; (s = strstr(s, key)) != NULL; s += n) {
        if ((s == p->restart || s[-1] == ' ') && (s[n] == '\0' || s[n] == ','))
            return 1;
    }
    return 0;
}

void reload_keep_running(config_t *new, const config_t *old, const reload_plan_t *plan)
{
    if (restart_has(plan, "name")) {
        memcpy(new->name, old->name, sizeof(new->name));
        if (!new->control_given)
            memcpy(new->control, old->control, sizeof(new->control));
    }
    if (restart_has(plan, "role")) {
        new->role = old->role;
        new->rekey_s = old->rekey_s;
    }
    if (restart_has(plan, "local")) {
        memcpy(new->local, old->local, sizeof(new->local));
        new->n_local = old->n_local;
    }
    if (restart_has(plan, "remote")) {
        memcpy(new->remote, old->remote, sizeof(new->remote));
        new->n_remote = old->n_remote;
    }
    if (restart_has(plan, "port")) {
        new->port = old->port;
        for (size_t i = 0; i < new->n_local; i++)
            port_set(&new->local[i], new->port);
        for (size_t i = 0; i < new->n_remote; i++)
            port_set(&new->remote[i], new->port);
        port_set(&new->primary, new->port);
    }
    if (restart_has(plan, "udp_port"))
        new->udp_port = old->udp_port;
    if (restart_has(plan, "psk_file")) {
        memcpy(new->psk_path, old->psk_path, sizeof(new->psk_path));
        memcpy(new->psk, old->psk, sizeof(new->psk));
        new->psk_len = old->psk_len;
    }
    if (restart_has(plan, "encryption"))
        new->encryption = old->encryption;
    if (restart_has(plan, "sock_buffer"))
        new->sock_buffer = old->sock_buffer;

    if (restart_has(plan, "primary")) {
        new->primary = old->primary;
        new->has_primary = old->has_primary;
    }
}

void reload_describe(const reload_plan_t *p, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } keys[] = {
        {RELOAD_LOG_LEVEL, "log_level"}, {RELOAD_TIMERS, "failover_ms/outage_ms"},
        {RELOAD_PRIMARY, "primary"},     {RELOAD_MAX_FLOWS, "max_flows"},
        {RELOAD_WINDOW, "flow_window"},  {RELOAD_DRAIN, "drain_ms"},
        {RELOAD_REKEY, "rekey_s"},       {RELOAD_METRICS, "metrics"},
        {RELOAD_CONTROL, "control"},     {RELOAD_STALL, "stall_ms"},
    };
    size_t used = 0;
    int n;

    buf[0] = '\0';
    if (p->live & RELOAD_SERVICES) {
        n = snprintf(buf, len, "services %zu added, %zu removed, %zu changed", p->n_added,
                     p->n_removed, p->n_changed);
        used = n > 0 ? (size_t)n : 0;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && used < len; i++) {
        if (!(p->live & keys[i].bit))
            continue;
        n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].name);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used == 0)
        snprintf(buf, len, "nothing changed");
}
