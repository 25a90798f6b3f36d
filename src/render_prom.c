/* The Prometheus exposition of a snapshot (see render_prom.h): a table of
 * metric families read field by field, plus the few families of another
 * shape (info, states, counts by state). */
#include "render_prom.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text being written. Once an allocation fails it stays failed and the
 * caller gets NULL. */
typedef struct pbuf {
    char *p;
    size_t len, cap;
    int failed;
} pbuf_t;

static int buf_reserve(pbuf_t *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 4096;
    char *p;

    if (b->failed)
        return -1;
    while (cap - b->len <= more)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    if (!(p = realloc(b->p, cap))) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

__attribute__((format(printf, 2, 3))) static void put(pbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_bytes(pbuf_t *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. Label
 * values must be UTF-8, and a peer's name comes off the wire. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t c;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, c = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, c = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    /* overlong forms, UTF-16 surrogates and past U+10FFFF */
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || (c >= 0xD800 && c <= 0xDFFF) ||
        c > 0x10FFFF)
        return 0;
    return len;
}

/* A label value between its quotes: backslash, double quote and line feed
 * escaped as the format says, a byte that is not UTF-8 replaced by U+FFFD. */
static void put_label_value(pbuf_t *b, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t n = strlen(v);

    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(s + i, n - i);

        if (s[i] == '\\')
            put_bytes(b, "\\\\", 2);
        else if (s[i] == '"')
            put_bytes(b, "\\\"", 2);
        else if (s[i] == '\n')
            put_bytes(b, "\\n", 2);
        else if (len == 0)
            put_bytes(b, "\xEF\xBF\xBD", 3);
        else
            put_bytes(b, (const char *)s + i, len);
        i += len ? len : 1;
    }
}

/* `name="value"`, after a comma unless it is the first label. */
static void put_label(pbuf_t *b, int first, const char *name, const char *value)
{
    put(b, "%s%s=\"", first ? "" : ",", name);
    put_label_value(b, value);
    put_bytes(b, "\"", 1);
}

/* The HELP and TYPE lines of a family. The help texts are this file's own,
 * with no backslash or line feed to escape. */
static void put_family(pbuf_t *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Milliseconds as seconds, exactly (no floating point on the way). */
static void put_ms(pbuf_t *b, uint64_t ms)
{
    put(b, "%llu.%03llu", (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
}

/* ---- which associations are shown ------------------------------------- */

/* Whether association j is shown rather than i, both of the same peer: the
 * ready one, else the later (newer) one. */
static int assoc_better(const snapshot_t *s, size_t j, size_t i)
{
    int rj = s->assocs[j].state == SNAP_ASSOC_READY, ri = s->assocs[i].state == SNAP_ASSOC_READY;

    return rj != ri ? rj > ri : j > i;
}

/* Whether association i has series of its own (see render_prom.h). Asked
 * once per association and render (assoc_shown_all): a hub's hundreds of
 * spokes times every family would make each scrape quadratic many times. */
static int assoc_shown(const snapshot_t *s, size_t i)
{
    const char *name = s->assocs[i].peer_name;

    if (name[0] == '\0')
        return 0;
    for (size_t j = 0; j < s->n_assocs; j++) {
        if (j != i && strcmp(s->assocs[j].peer_name, name) == 0 && assoc_better(s, j, i))
            return 0;
    }
    return 1;
}

/* assoc_shown of every association, or NULL without memory. */
static uint8_t *assoc_shown_all(const snapshot_t *s)
{
    uint8_t *shown = malloc(s->n_assocs ? s->n_assocs : 1);

    for (size_t i = 0; shown && i < s->n_assocs; i++)
        shown[i] = (uint8_t)assoc_shown(s, i);
    return shown;
}

/* ---- families read from a field ---------------------------------------- */

typedef enum { PER_GATEWAY, PER_ASSOC, PER_PATH, PER_SERVICE } scope_t;

typedef enum {
    V_COUNT, /* a count or a size, as it is */
    V_MS,    /* milliseconds (or Unix ms), shown in seconds */
    V_MS_SET /* the same, the sample left out while it is 0 (never) */
} vkind_t;

/* One metric family, or with help NULL one more series of the family above
 * it, told apart by the label `extra`. */
typedef struct family {
    const char *name;
    const char *type; /* counter or gauge */
    const char *help;
    scope_t scope;
    size_t offset; /* of the field in snapshot_t, snap_assoc_t, ... */
    size_t size;   /* of the field: 4 or 8 bytes, unsigned (or an int 0/1) */
    vkind_t kind;
    const char *extra; /* `name="value"` added to its labels, or NULL */
} family_t;

#define F(scope, type, member) scope, offsetof(type, member), sizeof(((type *)0)->member)
#define GW(member)             F(PER_GATEWAY, snapshot_t, member)
#define AS(member)             F(PER_ASSOC, snap_assoc_t, member)
#define PA(member)             F(PER_PATH, snap_path_t, member)
#define SV(member)             F(PER_SERVICE, snap_service_t, member)

static const family_t gateway_families[] = {
    {"sctpgw_start_time_seconds", "gauge", "Unix time the gateway started, in seconds.",
     GW(start_ms), V_MS, NULL},
    {"sctpgw_draining", "gauge", "1 while the gateway drains or stops (no new flows), else 0.",
     GW(draining), V_COUNT, NULL},
    {"sctpgw_reloads_total", "counter", "Configuration reloads applied.", GW(reloads), V_COUNT,
     NULL},
    {"sctpgw_handshake_failures_total", "counter",
     "Associations that ended before the peer proved the key.", GW(handshake_failures), V_COUNT,
     NULL},
    {"sctpgw_listener_accept_failures_total", "counter",
     "Tries of one of the gateway's own listeners to accept a client that failed (the listener "
     "then rests, clients waiting).",
     GW(peers_accept_failures), V_COUNT, "listener=\"peers\""},
    {"sctpgw_listener_accept_failures_total", "counter", NULL, GW(control_accept_failures), V_COUNT,
     "listener=\"control\""},
    {"sctpgw_listener_accept_failures_total", "counter", NULL, GW(metrics_accept_failures), V_COUNT,
     "listener=\"metrics\""},
    {"sctpgw_listener_refused_total", "counter",
     "Clients the control socket or the metrics listener turned away: all it serves at once "
     "being answered, or no memory for one.",
     GW(control_refused), V_COUNT, "listener=\"control\""},
    {"sctpgw_listener_refused_total", "counter", NULL, GW(metrics_refused), V_COUNT,
     "listener=\"metrics\""},
};

static const family_t assoc_families[] = {
    {"sctpgw_association_last_change_timestamp_seconds", "gauge",
     "Unix time the association entered its state, in seconds.", AS(since_ms), V_MS, NULL},
    {"sctpgw_association_flows_open", "gauge", "Flows open on the association.", AS(flows_open),
     V_COUNT, NULL},
    {"sctpgw_association_flows_opened_total", "counter",
     "Flows opened on the association since it came up.", AS(flows_opened), V_COUNT, NULL},
    {"sctpgw_association_sent_bytes_total", "counter",
     "Flows' payload bytes sent to the peer on the association.", AS(bytes_out), V_COUNT, NULL},
    {"sctpgw_association_received_bytes_total", "counter",
     "Flows' payload bytes received from the peer on the association.", AS(bytes_in), V_COUNT,
     NULL},
    {"sctpgw_association_retransmitted_chunks_total", "counter",
     "DATA chunks the kernel retransmitted on the association.", AS(rtx_chunks), V_COUNT, NULL},
    {"sctpgw_association_sent_packets_total", "counter", "SCTP packets sent on the association.",
     AS(out_packets), V_COUNT, NULL},
    {"sctpgw_association_received_packets_total", "counter",
     "SCTP packets received on the association.", AS(in_packets), V_COUNT, NULL},
    {"sctpgw_association_sent_chunks_total", "counter",
     "SCTP chunks sent on the association, DATA and control.", AS(out_data_chunks), V_COUNT,
     "kind=\"data\""},
    {"sctpgw_association_sent_chunks_total", "counter", NULL, AS(out_ctrl_chunks), V_COUNT,
     "kind=\"control\""},
    {"sctpgw_association_received_chunks_total", "counter",
     "SCTP chunks received on the association, DATA and control.", AS(in_data_chunks), V_COUNT,
     "kind=\"data\""},
    {"sctpgw_association_received_chunks_total", "counter", NULL, AS(in_ctrl_chunks), V_COUNT,
     "kind=\"control\""},
};

static const family_t path_families[] = {
    {"sctpgw_path_primary", "gauge", "1 for the association's preferred path, else 0.", PA(primary),
     V_COUNT, NULL},
    {"sctpgw_path_srtt_seconds", "gauge", "Smoothed round-trip time of the path, in seconds.",
     PA(srtt_ms), V_MS, NULL},
    {"sctpgw_path_rto_seconds", "gauge", "Retransmission timeout of the path now, in seconds.",
     PA(rto_ms), V_MS, NULL},
    {"sctpgw_path_cwnd_bytes", "gauge", "Congestion window of the path, in bytes.", PA(cwnd),
     V_COUNT, NULL},
    {"sctpgw_path_mtu_bytes", "gauge", "Path MTU, in bytes.", PA(mtu), V_COUNT, NULL},
    {"sctpgw_path_udp_port", "gauge",
     "The peer's UDP port the path's SCTP travels inside (RFC 6951); 0 when native.", PA(udp_port),
     V_COUNT, NULL},
    {"sctpgw_path_state_changes_total", "counter",
     "State changes of the path since the association came up.", PA(changes), V_COUNT, NULL},
    {"sctpgw_path_last_change_timestamp_seconds", "gauge",
     "Unix time of the path's last state change, in seconds; absent while it had none.",
     PA(changed_ms), V_MS_SET, NULL},
};

static const family_t service_families[] = {
    {"sctpgw_service_flows_open", "gauge", "Flows of the service open now.", SV(flows_open),
     V_COUNT, NULL},
    {"sctpgw_service_flows_opened_total", "counter", "Flows of the service opened.",
     SV(flows_opened), V_COUNT, NULL},
    {"sctpgw_service_flows_refused_total", "counter",
     "Flows of the service refused: turned away here, or opened and then refused by the back end "
     "or the peer.",
     SV(flows_refused), V_COUNT, NULL},
    {"sctpgw_service_accept_failures_total", "counter",
     "Tries of the service's listener to accept a waiting client that failed (for want of "
     "descriptors or memory, or by a policy): one every 100 ms while they fail.",
     SV(accept_failures), V_COUNT, NULL},
    {"sctpgw_service_sent_bytes_total", "counter",
     "Payload bytes of the service's flows sent toward the peer.", SV(bytes_out), V_COUNT, NULL},
    {"sctpgw_service_received_bytes_total", "counter",
     "Payload bytes of the service's flows received from the peer.", SV(bytes_in), V_COUNT, NULL},
};

/* The field a family reads, widened. */
static uint64_t field_get(const family_t *f, const void *obj)
{
    const char *p = (const char *)obj + f->offset;

    if (f->size == sizeof(uint64_t)) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    uint32_t v; /* uint32_t, or an int that is 0 or 1 */
    memcpy(&v, p, sizeof(v));
    return v;
}

/* One sample: name{labels} value. `labels` is what goes inside the braces
 * before the family's own extra label, already escaped; "" for none. */
static void put_sample(pbuf_t *b, const family_t *f, const char *labels, const void *obj)
{
    uint64_t v = field_get(f, obj);
    const char *sep = labels[0] && f->extra ? "," : "";

    if (f->kind == V_MS_SET && v == 0)
        return;
    if (labels[0] || f->extra)
        put(b, "%s{%s%s%s} ", f->name, labels, sep, f->extra ? f->extra : "");
    else
        put(b, "%s ", f->name);
    if (f->kind == V_COUNT)
        put(b, "%llu", (unsigned long long)v);
    else
        put_ms(b, v);
    put_bytes(b, "\n", 1);
}

/* The labels of an association, a path or a service, escaped, into a
 * scratch buffer (kept apart from the output). */
static const char *labels_of(pbuf_t *scratch, const char *n1, const char *v1, const char *n2,
                             const char *v2)
{
    scratch->len = 0;
    put_bytes(scratch, "", 0);
    put_label(scratch, 1, n1, v1);
    if (n2)
        put_label(scratch, 0, n2, v2);
    return scratch->failed ? "" : scratch->p;
}

/* Every family of a table, each with its samples across the snapshot. */
static void put_table(pbuf_t *b, pbuf_t *scratch, const snapshot_t *s, const uint8_t *shown,
                      const family_t *t, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const family_t *f = &t[k];

        if (f->help)
            put_family(b, f->name, f->type, f->help);
        if (f->scope == PER_GATEWAY)
            put_sample(b, f, "", s);
        for (size_t i = 0; f->scope == PER_ASSOC && i < s->n_assocs; i++) {
            const snap_assoc_t *a = &s->assocs[i];
            if (shown[i])
                put_sample(b, f, labels_of(scratch, "peer", a->peer_name, NULL, NULL), a);
        }
        for (size_t i = 0; f->scope == PER_PATH && i < s->n_assocs; i++) {
            const snap_assoc_t *a = &s->assocs[i];
            for (size_t p = 0; shown[i] && p < a->n_paths; p++)
                put_sample(b, f, labels_of(scratch, "peer", a->peer_name, "path", a->paths[p].peer),
                           &a->paths[p]);
        }
        for (size_t i = 0; f->scope == PER_SERVICE && i < s->n_services; i++) {
            const snap_service_t *sv = &s->services[i];
            put_sample(b, f, labels_of(scratch, "service", sv->name, NULL, NULL), sv);
        }
    }
}

/* ---- families of another shape ----------------------------------------- */

#define ASSOC_STATES (SNAP_ASSOC_SHUTDOWN + 1)
#define PATH_STATES  (SNAP_PATH_UNCONFIRMED + 1)

static void put_info(pbuf_t *b, const snapshot_t *s)
{
    put_family(b, "sctpgw_info", "gauge", "The gateway's name and version; always 1.");
    put(b, "sctpgw_info{");
    put_label(b, 1, "name", s->name);
    put_label(b, 0, "version", s->version);
    put(b, "} 1\n");
}

/* How many associations are in each state, named or not. */
static void put_assoc_counts(pbuf_t *b, const snapshot_t *s)
{
    put_family(b, "sctpgw_associations", "gauge",
               "Associations in each state, including those whose peer has not proven the key.");
    for (int st = 0; st < ASSOC_STATES; st++) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_assocs; i++)
            n += (int)s->assocs[i].state == st;
        put(b, "sctpgw_associations{");
        put_label(b, 1, "state", snap_assoc_state_name((snap_assoc_state_t)st));
        put(b, "} %zu\n", n);
    }
}

/* `labels,state="x"} 0|1` for every state of an enum. */
static void put_states(pbuf_t *b, const char *name, const char *labels, int states, int now,
                       const char *(*state_name)(int))
{
    for (int st = 0; st < states; st++) {
        put(b, "%s{%s,", name, labels);
        put_label(b, 1, "state", state_name(st));
        put(b, "} %d\n", st == now);
    }
}

static const char *assoc_state_name(int st)
{
    return snap_assoc_state_name((snap_assoc_state_t)st);
}

static const char *path_state_name(int st)
{
    return snap_path_state_name((snap_path_state_t)st);
}

static void put_assoc_states(pbuf_t *b, pbuf_t *scratch, const snapshot_t *s, const uint8_t *shown)
{
    put_family(b, "sctpgw_association_state", "gauge",
               "1 for the state the association with a peer is in, 0 for the others.");
    for (size_t i = 0; i < s->n_assocs; i++) {
        const snap_assoc_t *a = &s->assocs[i];
        if (shown[i])
            put_states(b, "sctpgw_association_state",
                       labels_of(scratch, "peer", a->peer_name, NULL, NULL), ASSOC_STATES,
                       (int)a->state, assoc_state_name);
    }
}

static void put_path_states(pbuf_t *b, pbuf_t *scratch, const snapshot_t *s, const uint8_t *shown)
{
    put_family(b, "sctpgw_path_state", "gauge",
               "1 for the state a path (peer address) is in, 0 for the others.");
    for (size_t i = 0; i < s->n_assocs; i++) {
        const snap_assoc_t *a = &s->assocs[i];
        for (size_t p = 0; shown[i] && p < a->n_paths; p++)
            put_states(b, "sctpgw_path_state",
                       labels_of(scratch, "peer", a->peer_name, "path", a->paths[p].peer),
                       PATH_STATES, (int)a->paths[p].state, path_state_name);
    }
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

char *render_prom(const snapshot_t *s, size_t *len)
{
    pbuf_t b = {0}, scratch = {0};
    uint8_t *shown = assoc_shown_all(s);

    if (!shown)
        return NULL;
    put_bytes(&b, "", 0);
    put_info(&b, s);
    put_table(&b, &scratch, s, shown, gateway_families, N(gateway_families));
    put_assoc_counts(&b, s);
    put_assoc_states(&b, &scratch, s, shown);
    put_table(&b, &scratch, s, shown, assoc_families, N(assoc_families));
    put_path_states(&b, &scratch, s, shown);
    put_table(&b, &scratch, s, shown, path_families, N(path_families));
    put_table(&b, &scratch, s, shown, service_families, N(service_families));
    free(shown);
    free(scratch.p);
    if (b.failed || scratch.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
