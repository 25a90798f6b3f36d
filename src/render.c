/* Rendering a snapshot as text and JSON: pure functions of a snapshot_t
 * (see render.h; the Prometheus exposition is render_prom.c). Text is for
 * a person (units, ages, aligned tables); JSON keeps exact numbers and Unix
 * milliseconds for programs. */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define COLS_MAX 12 /* columns of a text table */
#define CELL_MAX 96 /* bytes of one cell, incl. NUL */

/* ---- text: small helpers ---------------------------------------------- */

/* Names come from the config or from the peer's handshake: anything that
 * is not printable ASCII is shown as '?', so a peer cannot write control
 * sequences to an operator's terminal. */
static const char *text_safe(const char *s, char *buf, size_t len)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < len; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* "1.5 MiB", "312 B". */
static const char *text_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", n);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

/* "3d 4h", "2h 5m", "1m 20s", "12s", "850ms". */
static const char *text_age(uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000;

    if (s >= 86400)
        snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
    else if (s > 0)
        snprintf(buf, len, "%" PRIu64 "s", s);
    else
        snprintf(buf, len, "%" PRIu64 "ms", ms);
    return buf;
}

/* How long before the snapshot an instant was, or "-" for never. */
static const char *text_ago(const snapshot_t *s, uint64_t at, char *buf, size_t len)
{
    char age[32];

    if (at == 0)
        return snprintf(buf, len, "-"), buf;
    snprintf(buf, len, "%s ago", text_age(s->now_ms > at ? s->now_ms - at : 0, age, sizeof(age)));
    return buf;
}

/* ---- text: tables -------------------------------------------------------- */

/* Cells printed with every column as wide as its widest cell; the columns
 * in the `right` mask (bit c for column c) hold numbers, aligned right. */
typedef struct table {
    size_t ncols;
    unsigned right;
    size_t n, cap;           /* cells filled, cells allocated */
    char (*cells)[CELL_MAX]; /* row after row, the header first */
    int failed;              /* out of memory: the table is not printed */
} table_t;

__attribute__((format(printf, 2, 3))) static void table_cell(table_t *t, const char *fmt, ...);

/* A table whose columns are the NULL-ended header `head`; `right` has a
 * bit set for each column aligned right (numbers). */
static void table_init(table_t *t, unsigned right, const char *const *head)
{
    memset(t, 0, sizeof(*t));
    while (head[t->ncols] && t->ncols < COLS_MAX)
        t->ncols++;
    t->right = right;
    for (size_t i = 0; i < t->ncols; i++)
        table_cell(t, "%s", head[i]);
}

static void table_cell(table_t *t, const char *fmt, ...)
{
    va_list ap;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8 * t->ncols;
        void *p = t->failed ? NULL : realloc(t->cells, cap * CELL_MAX);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->cells = p;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->cells[t->n++], CELL_MAX, fmt, ap);
    va_end(ap);
}

static void table_widths(const table_t *t, size_t *w)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->cells[i]);
        if (n > w[i % t->ncols])
            w[i % t->ncols] = n;
    }
}

/* Prints the table (whole rows only) and frees it; a table that ran out of
 * memory says so in its place rather than leave a whole-looking answer
 * without it. */
static void table_print(table_t *t, const char *indent, FILE *out)
{
    size_t w[COLS_MAX] = {0};

    if (t->failed)
        fprintf(out, "%s(left out: no memory for this table)\n", indent);
    table_widths(t, w);
    for (size_t i = 0; !t->failed && i + t->ncols <= t->n; i += t->ncols) {
        fputs(indent, out);
        for (size_t c = 0; c < t->ncols; c++) {
            int last = c + 1 == t->ncols;
            if (t->right & (1u << c))
                fprintf(out, "%*s", (int)w[c], t->cells[i + c]);
            else
                fprintf(out, "%-*s", last ? 0 : (int)w[c], t->cells[i + c]);
            fputs(last ? "\n" : "  ", out);
        }
    }
    free(t->cells);
    t->cells = NULL;
}

/* ---- text: sections ------------------------------------------------------ */

/* A listener of the gateway's own: a line only when something failed, as
 * for a service (text_services), since it is rare and then worth one. */
static void text_listener(const char *what, uint64_t failures, uint64_t refused, FILE *out)
{
    if (failures)
        fprintf(out, "  %s: accept() failed %" PRIu64 " time%s (clients waited; see the log)\n",
                what, failures, failures == 1 ? "" : "s");
    if (refused)
        fprintf(out, "  %s: %" PRIu64 " client%s turned away (see the log)\n", what, refused,
                refused == 1 ? "" : "s");
}

static void text_gateway(const snapshot_t *s, FILE *out)
{
    char name[SNAP_NAME_MAX], age[32], cfg[sizeof(s->config)];

    fprintf(out, "gateway: %s\n", text_safe(s->name, name, sizeof(name)));
    fprintf(out, "  version: %s\n", text_safe(s->version, name, sizeof(name)));
    fprintf(out, "  config: %s\n", text_safe(s->config, cfg, sizeof(cfg)));
    fprintf(out, "  state: %s\n", s->draining ? "draining" : "running");
    fprintf(out, "  uptime: %s\n",
            text_age(s->now_ms > s->start_ms ? s->now_ms - s->start_ms : 0, age, sizeof(age)));
    fprintf(out, "  reloads: %" PRIu64 "\n", s->reloads);
    if (s->restart_needed[0])
        fprintf(out, "  restart needed for: %s\n", text_safe(s->restart_needed, cfg, sizeof(cfg)));
    fprintf(out, "  handshake failures: %" PRIu64 "\n", s->handshake_failures);
    text_listener("SCTP listener", s->peers_accept_failures, 0, out);
    text_listener("control socket", s->control_accept_failures, s->control_refused, out);
    text_listener("metrics listener", s->metrics_accept_failures, s->metrics_refused, out);
}

/* addrs: n strings of ADDR_STRLEN bytes each, as in snap_assoc_t. */
static void text_addrs(const char *label, const char *addrs, size_t n, FILE *out)
{
    fprintf(out, "  %s: ", label);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", addrs + i * ADDR_STRLEN);
    fprintf(out, "%s\n", n ? "" : "-");
}

static void text_paths(const snapshot_t *s, const snap_assoc_t *a, FILE *out)
{
    table_t t;
    char ago[48];
    static const char *const head[] = {"PATH", "STATE",   "PRIMARY",     "SRTT", "RTO", "CWND",
                                       "MTU",  "CHANGES", "LAST CHANGE", "UDP",  NULL};

    table_init(&t, 0xf8, head); /* columns 3..7 are numbers */
    for (size_t i = 0; i < a->n_paths; i++) {
        const snap_path_t *p = &a->paths[i];
        table_cell(&t, "%s", p->peer);
        table_cell(&t, "%s", snap_path_state_name(p->state));
        table_cell(&t, "%s", p->primary ? "yes" : "");
        table_cell(&t, "%" PRIu32 " ms", p->srtt_ms);
        table_cell(&t, "%" PRIu32 " ms", p->rto_ms);
        table_cell(&t, "%" PRIu32, p->cwnd);
        table_cell(&t, "%" PRIu32, p->mtu);
        table_cell(&t, "%" PRIu64, p->changes);
        table_cell(&t, "%s", text_ago(s, p->changed_ms, ago, sizeof(ago)));
        if (p->udp_port)
            table_cell(&t, "%" PRIu32, p->udp_port);
        else
            table_cell(&t, "-");
    }
    table_print(&t, "    ", out);
}

static void text_assoc(const snapshot_t *s, const snap_assoc_t *a, FILE *out)
{
    char name[SNAP_NAME_MAX], ago[48], b1[32], b2[32];

    fprintf(out, "\nassociation %" PRIu64 ": peer %s\n", a->id,
            a->peer_name[0] ? text_safe(a->peer_name, name, sizeof(name)) : "(not yet known)");
    fprintf(out, "  state: %s, since %s\n", snap_assoc_state_name(a->state),
            text_ago(s, a->since_ms, ago, sizeof(ago)));
    fprintf(out, "  streams: %u in, %u out; %s; %s\n", a->streams_in, a->streams_out,
            a->idata ? "I-DATA" : "no I-DATA", a->encrypted ? "encrypted" : "NOT encrypted");
    text_addrs("local", a->local[0], a->n_local, out);
    text_addrs("peer", a->peer[0], a->n_peer, out);
    fprintf(out, "  flows: %" PRIu64 " open, %" PRIu64 " opened\n", a->flows_open, a->flows_opened);
    fprintf(out, "  transfer: %s out, %s in\n", text_bytes(a->bytes_out, b1, sizeof(b1)),
            text_bytes(a->bytes_in, b2, sizeof(b2)));
    fprintf(out,
            "  chunks: %" PRIu64 " data out, %" PRIu64 " data in, %" PRIu64
            " retransmitted; packets: %" PRIu64 " out, %" PRIu64 " in; max rto: %" PRIu64 " ms\n",
            a->out_data_chunks, a->in_data_chunks, a->rtx_chunks, a->out_packets, a->in_packets,
            a->max_rto_ms);
    text_paths(s, a, out);
}

static void text_services(const snapshot_t *s, FILE *out)
{
    table_t t;
    char name[SNAP_NAME_MAX], b[32];

    fprintf(out, "\nservices:\n");
    static const char *const head[] = {"SERVICE", "ROLE", "ADDRESS", "OPEN", "OPENED",
                                       "REFUSED", "OUT",  "IN",      NULL};

    table_init(&t, 0xf8, head); /* columns 3..7 are numbers */
    for (size_t i = 0; i < s->n_services; i++) {
        const snap_service_t *v = &s->services[i];
        table_cell(&t, "%s", text_safe(v->name, name, sizeof(name)));
        table_cell(&t, "%s", v->is_accept ? "accept" : "connect");
        table_cell(&t, "%s", v->addr);
        table_cell(&t, "%" PRIu64, v->flows_open);
        table_cell(&t, "%" PRIu64, v->flows_opened);
        table_cell(&t, "%" PRIu64, v->flows_refused);
        table_cell(&t, "%s", text_bytes(v->bytes_out, b, sizeof(b)));
        table_cell(&t, "%s", text_bytes(v->bytes_in, b, sizeof(b)));
    }
    table_print(&t, "  ", out);
    for (size_t i = 0; i < s->n_services; i++) /* rare, and then worth a line */
        if (s->services[i].accept_failures)
            fprintf(out, "  %s: accept() failed %" PRIu64 " time%s (clients waited; see the log)\n",
                    text_safe(s->services[i].name, name, sizeof(name)),
                    s->services[i].accept_failures, s->services[i].accept_failures == 1 ? "" : "s");
}

static void text_flows(const snapshot_t *s, FILE *out)
{
    table_t t;
    char name[SNAP_NAME_MAX], b[32];

    fprintf(out, "\nflows:\n");
    static const char *const head[] = {"ID",  "SERVICE", "ASSOC", "STREAM", "PEER",
                                       "AGE", "UP",      "DOWN",  "STATE",  NULL};

    table_init(&t, 0xed, head); /* all but SERVICE, PEER and STATE are numbers */
    for (size_t i = 0; i < s->n_flows; i++) {
        const snap_flow_t *f = &s->flows[i];
        table_cell(&t, "%" PRIu64, f->id);
        table_cell(&t, "%s", text_safe(f->service, name, sizeof(name)));
        table_cell(&t, "%" PRIu64, f->assoc_id);
        table_cell(&t, "%u", (unsigned)f->sid);
        table_cell(&t, "%s", f->tcp_peer);
        table_cell(&t, "%s", text_age(f->age_ms, b, sizeof(b)));
        table_cell(&t, "%s", text_bytes(f->bytes_up, b, sizeof(b)));
        table_cell(&t, "%s", text_bytes(f->bytes_down, b, sizeof(b)));
        table_cell(&t, "%s", snap_flow_state_name(f->state));
    }
    table_print(&t, "  ", out);
}

int render_text(const snapshot_t *s, int with_flows, FILE *out)
{
    text_gateway(s, out);
    if (s->n_assocs == 0)
        fprintf(out, "\nno association\n");
    for (size_t i = 0; i < s->n_assocs; i++)
        text_assoc(s, &s->assocs[i], out);
    text_services(s, out);
    if (with_flows)
        text_flows(s, out);
    return ferror(out) ? -EIO : 0;
}

/* ---- JSON ---------------------------------------------------------------- */

/* A JSON string: quotes, backslashes and control characters escaped; bytes
 * that are not ASCII become U+FFFD, so the output is valid UTF-8 whatever a
 * peer put in its name. */
static void json_str(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else if (c >= 0x80)
            fputs("\\ufffd", out);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void json_key_str(const char *key, const char *val, FILE *out)
{
    fprintf(out, "\"%s\":", key);
    json_str(val, out);
}

static void json_key_u64(const char *key, uint64_t val, FILE *out)
{
    fprintf(out, "\"%s\":%" PRIu64, key, val);
}

static void json_key_bool(const char *key, int val, FILE *out)
{
    fprintf(out, "\"%s\":%s", key, val ? "true" : "false");
}

static void json_gateway(const snapshot_t *s, FILE *out)
{
    fputs("\"gateway\":{", out);
    json_key_str("name", s->name, out);
    fputc(',', out);
    json_key_str("version", s->version, out);
    fputc(',', out);
    json_key_str("config", s->config, out);
    fputc(',', out);
    json_key_str("state", s->draining ? "draining" : "running", out);
    fputc(',', out);
    json_key_u64("now_ms", s->now_ms, out);
    fputc(',', out);
    json_key_u64("start_ms", s->start_ms, out);
    fputc(',', out);
    json_key_u64("uptime_ms", s->now_ms > s->start_ms ? s->now_ms - s->start_ms : 0, out);
    fputc(',', out);
    json_key_u64("reloads", s->reloads, out);
    fputc(',', out);
    json_key_str("restart_needed", s->restart_needed, out);
    fputc(',', out);
    json_key_u64("handshake_failures", s->handshake_failures, out);
    fputc(',', out);
    json_key_u64("peers_accept_failures", s->peers_accept_failures, out);
    fputc(',', out);
    json_key_u64("control_accept_failures", s->control_accept_failures, out);
    fputc(',', out);
    json_key_u64("metrics_accept_failures", s->metrics_accept_failures, out);
    fputc(',', out);
    json_key_u64("control_refused", s->control_refused, out);
    fputc(',', out);
    json_key_u64("metrics_refused", s->metrics_refused, out);
    fputc('}', out);
}

static void json_path(const snap_path_t *p, FILE *out)
{
    fputc('{', out);
    json_key_str("peer", p->peer, out);
    fputc(',', out);
    json_key_str("state", snap_path_state_name(p->state), out);
    fputc(',', out);
    json_key_bool("primary", p->primary, out);
    fputc(',', out);
    json_key_u64("srtt_ms", p->srtt_ms, out);
    fputc(',', out);
    json_key_u64("rto_ms", p->rto_ms, out);
    fputc(',', out);
    json_key_u64("cwnd", p->cwnd, out);
    fputc(',', out);
    json_key_u64("mtu", p->mtu, out);
    fputc(',', out);
    json_key_u64("udp_port", p->udp_port, out);
    fputc(',', out);
    json_key_u64("changed_ms", p->changed_ms, out);
    fputc(',', out);
    json_key_u64("changes", p->changes, out);
    fputc('}', out);
}

/* addrs: n strings of ADDR_STRLEN bytes each, as in snap_assoc_t. */
static void json_addrs(const char *key, const char *addrs, size_t n, FILE *out)
{
    fprintf(out, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        json_str(addrs + i * ADDR_STRLEN, out);
    }
    fputc(']', out);
}

/* The association's numbers, in the order of the schema. */
static void json_assoc_counters(const snap_assoc_t *a, FILE *out)
{
    const struct {
        const char *key;
        uint64_t val;
    } c[] = {
        {"flows_open", a->flows_open},
        {"flows_opened", a->flows_opened},
        {"bytes_out", a->bytes_out},
        {"bytes_in", a->bytes_in},
        /* SCTP_GET_ASSOC_STATS */
        {"rtx_chunks", a->rtx_chunks},
        {"out_packets", a->out_packets},
        {"in_packets", a->in_packets},
        {"out_ctrl_chunks", a->out_ctrl_chunks},
        {"in_ctrl_chunks", a->in_ctrl_chunks},
        {"out_data_chunks", a->out_data_chunks},
        {"in_data_chunks", a->in_data_chunks},
        {"max_rto_ms", a->max_rto_ms},
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        fputc(',', out);
        json_key_u64(c[i].key, c[i].val, out);
    }
}

static void json_assoc(const snap_assoc_t *a, FILE *out)
{
    fputc('{', out);
    json_key_u64("id", a->id, out);
    fputc(',', out);
    json_key_str("peer_name", a->peer_name, out);
    fputc(',', out);
    json_key_str("state", snap_assoc_state_name(a->state), out);
    fputc(',', out);
    json_key_u64("since_ms", a->since_ms, out);
    fputc(',', out);
    json_key_u64("streams_in", a->streams_in, out);
    fputc(',', out);
    json_key_u64("streams_out", a->streams_out, out);
    fputc(',', out);
    json_key_bool("idata", a->idata, out);
    fputc(',', out);
    json_key_bool("encrypted", a->encrypted, out);
    fputc(',', out);
    json_addrs("local", a->local[0], a->n_local, out);
    fputc(',', out);
    json_addrs("peer", a->peer[0], a->n_peer, out);
    json_assoc_counters(a, out);
    fputs(",\"paths\":[", out);
    for (size_t i = 0; i < a->n_paths; i++) {
        if (i)
            fputc(',', out);
        json_path(&a->paths[i], out);
    }
    fputs("]}", out);
}

static void json_service(const snap_service_t *v, FILE *out)
{
    fputc('{', out);
    json_key_str("name", v->name, out);
    fputc(',', out);
    json_key_str("role", v->is_accept ? "accept" : "connect", out);
    fputc(',', out);
    json_key_str("addr", v->addr, out);
    fputc(',', out);
    json_key_u64("flows_open", v->flows_open, out);
    fputc(',', out);
    json_key_u64("flows_opened", v->flows_opened, out);
    fputc(',', out);
    json_key_u64("flows_refused", v->flows_refused, out);
    fputc(',', out);
    json_key_u64("bytes_out", v->bytes_out, out);
    fputc(',', out);
    json_key_u64("bytes_in", v->bytes_in, out);
    fputc(',', out);
    json_key_u64("accept_failures", v->accept_failures, out);
    fputc('}', out);
}

static void json_flow(const snap_flow_t *f, FILE *out)
{
    fputc('{', out);
    json_key_u64("id", f->id, out);
    fputc(',', out);
    json_key_str("service", f->service, out);
    fputc(',', out);
    json_key_u64("assoc", f->assoc_id, out);
    fputc(',', out);
    json_key_u64("stream", f->sid, out);
    fputc(',', out);
    json_key_str("tcp_peer", f->tcp_peer, out);
    fputc(',', out);
    json_key_u64("age_ms", f->age_ms, out);
    fputc(',', out);
    json_key_u64("bytes_up", f->bytes_up, out);
    fputc(',', out);
    json_key_u64("bytes_down", f->bytes_down, out);
    fputc(',', out);
    json_key_str("state", snap_flow_state_name(f->state), out);
    fputc('}', out);
}

int render_json(const snapshot_t *s, int with_flows, FILE *out)
{
    fprintf(out, "{\"schema\":%d,", RENDER_JSON_SCHEMA);
    json_gateway(s, out);
    fputs(",\"associations\":[", out);
    for (size_t i = 0; i < s->n_assocs; i++) {
        if (i)
            fputc(',', out);
        json_assoc(&s->assocs[i], out);
    }
    fputs("],\"services\":[", out);
    for (size_t i = 0; i < s->n_services; i++) {
        if (i)
            fputc(',', out);
        json_service(&s->services[i], out);
    }
    fputc(']', out);
    if (with_flows) {
        fputs(",\"flows\":[", out);
        for (size_t i = 0; i < s->n_flows; i++) {
            if (i)
                fputc(',', out);
            json_flow(&s->flows[i], out);
        }
        fputc(']', out);
    }
    fputs("}\n", out);
    return ferror(out) ? -EIO : 0;
}
