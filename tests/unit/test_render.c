/* Rendering of hand-built snapshots: the text's columns line up, the JSON
 * parses (a small strict checker here) and carries the schema's fields, and
 * names a peer or a config could fill with anything are escaped. */
#include "render.h"
#include "check.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- a strict JSON checker (RFC 8259 grammar, no extensions) ---------- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL; /* also the end of the text */
        if (*p != '\\')
            continue;
        p++;
        if (*p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char)p[i]))
                    return NULL;
            p += 4;
        } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
            return NULL;
        }
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    const char *start = p;

    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else
        while (isdigit((unsigned char)*p))
            p++;
    if (p == start || (p - start == 1 && *start == '-'))
        return NULL;
    return p; /* the renderer writes integers only */
}

static const char *json_items(const char *p, char close, int object, int depth)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (object) {
            if (!(p = json_string(p)) || *(p = json_ws(p)) != ':')
                return NULL;
            p = json_ws(p + 1);
        }
        if (!(p = json_value(p, depth + 1)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p != ',')
            return NULL;
        p = json_ws(p + 1);
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    if (*p == '{')
        return json_items(p, '}', 1, depth);
    if (*p == '[')
        return json_items(p, ']', 0, depth);
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    return json_number(p);
}

static int json_valid(const char *text)
{
    const char *end = json_value(json_ws(text), 0);

    return end && *json_ws(end) == '\0';
}

/* ---- snapshots ------------------------------------------------------------ */

static snapshot_t sample(void)
{
    static snap_assoc_t assoc;
    static snap_service_t svcs[2];
    static snap_flow_t flows[2];
    snapshot_t s;

    memset(&s, 0, sizeof(s));
    memset(&assoc, 0, sizeof(assoc));
    memset(svcs, 0, sizeof(svcs));
    memset(flows, 0, sizeof(flows));
    strcpy(s.name, "site-a");
    strcpy(s.version, "0.1.0");
    strcpy(s.config, "/etc/sctpgw/site-a.ini");
    s.start_ms = 1700000000000;
    s.now_ms = s.start_ms + 83000;
    s.control_accept_failures = 1;
    s.metrics_refused = 2;
    assoc.id = 1;
    strcpy(assoc.peer_name, "site-b");
    assoc.state = SNAP_ASSOC_READY;
    assoc.since_ms = s.now_ms - 80000;
    assoc.streams_in = assoc.streams_out = 8193;
    assoc.idata = assoc.encrypted = 1;
    strcpy(assoc.local[0], "10.1.0.1");
    strcpy(assoc.local[1], "10.2.0.1");
    assoc.n_local = 2;
    strcpy(assoc.peer[0], "10.1.0.2");
    strcpy(assoc.peer[1], "10.2.0.2");
    assoc.n_peer = 2;
    assoc.flows_open = 2;
    assoc.flows_opened = 12;
    assoc.bytes_out = 3 * 1024 * 1024;
    assoc.bytes_in = 512;
    assoc.rtx_chunks = 7;
    strcpy(assoc.paths[0].peer, "10.1.0.2");
    assoc.paths[0].state = SNAP_PATH_ACTIVE;
    assoc.paths[0].primary = 1;
    assoc.paths[0].srtt_ms = 12;
    assoc.paths[0].rto_ms = 100;
    assoc.paths[0].cwnd = 4380;
    assoc.paths[0].mtu = 1500;
    assoc.paths[0].udp_port = 9899;
    strcpy(assoc.paths[1].peer, "10.2.0.2");
    assoc.paths[1].state = SNAP_PATH_INACTIVE;
    assoc.paths[1].srtt_ms = 1234;
    assoc.paths[1].rto_ms = 500;
    assoc.paths[1].cwnd = 1200000;
    assoc.paths[1].mtu = 9000;
    assoc.paths[1].changes = 3;
    assoc.paths[1].changed_ms = s.now_ms - 5000;
    assoc.n_paths = 2;
    s.assocs = &assoc;
    s.n_assocs = 1;
    strcpy(svcs[0].name, "echo");
    svcs[0].is_accept = 1;
    strcpy(svcs[0].addr, "127.0.0.1:7001");
    svcs[0].flows_open = 2;
    svcs[0].flows_opened = 1200;
    strcpy(svcs[1].name, "a-much-longer-name");
    strcpy(svcs[1].addr, "127.0.0.1:9002");
    svcs[1].flows_refused = 5;
    svcs[1].accept_failures = 3;
    s.services = svcs;
    s.n_services = 2;
    flows[0].id = 41;
    strcpy(flows[0].service, "echo");
    flows[0].assoc_id = 1;
    flows[0].sid = 3;
    strcpy(flows[0].tcp_peer, "127.0.0.1:50000");
    flows[0].state = SNAP_FLOW_OPEN;
    flows[1].id = 1042;
    strcpy(flows[1].service, "echo");
    flows[1].assoc_id = 1;
    flows[1].sid = 101;
    strcpy(flows[1].tcp_peer, "127.0.0.1:50001");
    flows[1].state = SNAP_FLOW_HALF_UP;
    s.flows = flows;
    s.n_flows = 2;
    return s;
}

/* realloc of the code under test (the tables' cells) fails while set. */
static int fail_realloc;

void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);

void *__wrap_realloc(void *p, size_t size)
{
    return fail_realloc ? NULL : __real_realloc(p, size);
}

/* The output of a renderer as one string (caller frees). */
static char *render(int json, const snapshot_t *s, int flows)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    CHECK((json ? render_json(s, flows, f) : render_text(s, flows, f)) == 0);
    fclose(f);
    return buf;
}

/* The line that contains `needle`, copied (caller frees), or NULL. */
static char *line_with(const char *text, const char *needle)
{
    const char *at = strstr(text, needle), *start, *end;
    char *line;

    if (!at)
        return NULL;
    for (start = at; start > text && start[-1] != '\n'; start--)
        ;
    end = strchr(at, '\n');
    end = end ? end : at + strlen(at);
    line = strndup(start, (size_t)(end - start));
    return line;
}

/* Column of `word` in the line holding `needle`; -1 when absent. */
static long column(const char *text, const char *needle, const char *word, int right)
{
    char *line = line_with(text, needle);
    char *at = line ? strstr(line, word) : NULL;
    long col = at ? (long)(at - line) + (right ? (long)strlen(word) : 0) : -1;

    free(line);
    return col;
}

static void test_text_alignment(void)
{
    snapshot_t s = sample();
    char *t = render(0, &s, 1);

    CHECK(t != NULL);
    if (!t)
        return;
    printf("%s", t);
    CHECK(strstr(t, "gateway: site-a\n") != NULL);
    CHECK(strstr(t, "  uptime: 1m 23s\n") != NULL);
    CHECK(strstr(t, "association 1: peer site-b\n") != NULL);
    CHECK(strstr(t, "  state: ready, since 1m 20s ago\n") != NULL);
    CHECK(strstr(t, "  local: 10.1.0.1, 10.2.0.1\n") != NULL);
    CHECK(strstr(t, "transfer: 3.0 MiB out, 512 B in") != NULL);
    /* Text columns start together; numbers end together. */
    CHECK(column(t, "PATH", "STATE", 0) == column(t, "10.1.0.2 ", "active", 0));
    CHECK(column(t, "PATH", "STATE", 0) == column(t, "10.2.0.2 ", "inactive", 0));
    CHECK(column(t, "PATH", "SRTT", 1) == column(t, "10.1.0.2 ", "12 ms", 1));
    CHECK(column(t, "PATH", "SRTT", 1) == column(t, "10.2.0.2 ", "1234 ms", 1));
    CHECK(column(t, "PATH", "CWND", 1) == column(t, "10.2.0.2 ", "1200000", 1));
    CHECK(column(t, "PATH", "CWND", 1) == column(t, "10.1.0.2 ", "4380", 1));
    CHECK(column(t, "10.2.0.2 ", "5s ago", 0) == column(t, "PATH", "LAST CHANGE", 0));
    CHECK(column(t, "10.1.0.2 ", "9899", 0) == column(t, "PATH", "UDP", 0));
    CHECK(column(t, "SERVICE  ", "ROLE", 0) == column(t, "a-much-longer-name", "connect", 0));
    CHECK(column(t, "SERVICE  ", "ROLE", 0) == column(t, "echo ", "accept", 0));
    CHECK(column(t, "SERVICE  ", "OPENED", 1) == column(t, "echo ", "1200", 1));
    CHECK(column(t, "ID  ", "STATE", 0) == column(t, "1042", "half-closed-up", 0));
    CHECK(column(t, "ID  ", "ID", 1) == column(t, "1042", "1042", 1));
    CHECK(column(t, "ID  ", "ID", 1) == column(t, "  41", "41", 1));
    CHECK(strstr(t, "\nflows:\n") != NULL);
    /* Accept failures get a line only where there were some. */
    CHECK(strstr(t, "  a-much-longer-name: accept() failed 3 times (clients waited; see the "
                    "log)\n") != NULL);
    CHECK(strstr(t, "echo: accept() failed") == NULL);
    /* So do the gateway's own listeners, and clients they turned away. */
    CHECK(strstr(t, "  control socket: accept() failed 1 time (clients waited; see the log)\n"));
    CHECK(strstr(t, "  metrics listener: 2 clients turned away (see the log)\n"));
    CHECK(!strstr(t, "SCTP listener") && !strstr(t, "control socket: 0") &&
          !strstr(t, "metrics listener: accept"));
    free(t);

    t = render(0, &s, 0);
    CHECK(t && strstr(t, "flows:\n") == NULL); /* only when asked */
    free(t);
}

static void test_text_empty(void)
{
    snapshot_t s;
    char *t;

    memset(&s, 0, sizeof(s));
    strcpy(s.name, "lonely");
    t = render(0, &s, 1);
    CHECK(t && strstr(t, "no association") != NULL);
    CHECK(t && strstr(t, "services:\n  SERVICE") != NULL);
    free(t);
    t = render(1, &s, 1);
    CHECK(t && json_valid(t));
    CHECK(t && strstr(t, "\"associations\":[]") != NULL);
    CHECK(t && strstr(t, "\"flows\":[]") != NULL);
    free(t);
}

static void test_json_fields(void)
{
    snapshot_t s = sample();
    char *j = render(1, &s, 1);

    CHECK(j && json_valid(j));
    if (!j)
        return;
    CHECK(strncmp(j, "{\"schema\":1,", 12) == 0);
    CHECK(strstr(j, "\"name\":\"site-a\"") != NULL);
    CHECK(strstr(j, "\"uptime_ms\":83000") != NULL);
    CHECK(strstr(j, "\"peers_accept_failures\":0,\"control_accept_failures\":1,"
                    "\"metrics_accept_failures\":0,\"control_refused\":0,\"metrics_refused\":2}"));
    CHECK(strstr(j, "\"state\":\"running\"") != NULL);
    CHECK(strstr(j, "\"peer_name\":\"site-b\"") != NULL);
    CHECK(strstr(j, "\"local\":[\"10.1.0.1\",\"10.2.0.1\"]") != NULL);
    CHECK(strstr(j, "\"rtx_chunks\":7") != NULL);
    CHECK(strstr(j, "{\"peer\":\"10.1.0.2\",\"state\":\"active\",\"primary\":true,"
                    "\"srtt_ms\":12,\"rto_ms\":100,\"cwnd\":4380,\"mtu\":1500,"
                    "\"udp_port\":9899,\"changed_ms\":0,\"changes\":0}") != NULL);
    CHECK(strstr(j, "\"state\":\"inactive\",\"primary\":false") != NULL);
    CHECK(strstr(j, "\"role\":\"connect\"") != NULL);
    CHECK(strstr(j, "\"flows_refused\":5") != NULL);
    CHECK(strstr(j, "\"bytes_in\":0,\"accept_failures\":3}") != NULL);
    CHECK(strstr(j, "\"accept_failures\":0}") != NULL);
    CHECK(strstr(j, "\"state\":\"half-closed-up\"") != NULL);
    CHECK(strstr(j, "\"stream\":101") != NULL);
    free(j);
    j = render(1, &s, 0);
    CHECK(j && json_valid(j) && strstr(j, "\"flows\"") == NULL);
    free(j);
}

/* Names with quotes, backslashes, control and non-ASCII bytes. */
static void test_escaping(void)
{
    snapshot_t s = sample();
    char *j, *t;

    strcpy(s.assocs[0].peer_name, "ev\"il\\\x01\x1b[31m\xc3\xa9");
    strcpy(s.services[0].name, "tab\there");
    j = render(1, &s, 1);
    CHECK(j && json_valid(j));
    CHECK(j && strstr(j, "\"peer_name\":\"ev\\\"il\\\\\\u0001\\u001b[31m\\ufffd\\ufffd\"") != NULL);
    CHECK(j && strstr(j, "\"name\":\"tab\\u0009here\"") != NULL);
    free(j);
    t = render(0, &s, 1);
    CHECK(t && strstr(t, "peer ev\"il\\??[31m??\n") != NULL);
    CHECK(t && strchr(t, '\x1b') == NULL);
    CHECK(t && strstr(t, "tab?here") != NULL);
    free(t);
}

/* The checker itself refuses what is not JSON, or the tests above prove
 * nothing. */
static void test_checker(void)
{
    CHECK(json_valid("{\"a\":[1,-2,true,null,\"x\\u00e9\"]}"));
    CHECK(!json_valid("{\"a\":1,}"));
    CHECK(!json_valid("{\"a\" 1}"));
    CHECK(!json_valid("[\"tab\there\"]"));
    CHECK(!json_valid("[\"\\x\"]"));
    CHECK(!json_valid("{\"a\":1}{"));
}

/* A table with no memory for its cells says so where it would be, and the
 * rest of the answer is there: it was left out without a word, in an
 * answer announced as whole. */
static void test_table_no_memory(void)
{
    snapshot_t s = sample();
    char *t;

    fail_realloc = 1;
    t = render(0, &s, 1);
    fail_realloc = 0;
    CHECK(t && strstr(t, "gateway: ") != NULL);
    CHECK(t && strstr(t, "(left out: no memory for this table)") != NULL);
    free(t);
}

static void test_names(void)
{
    CHECK_STR(snap_path_state_name(SNAP_PATH_PF), "pf");
    CHECK_STR(snap_path_state_name(SNAP_PATH_UNCONFIRMED), "unconfirmed");
    CHECK_STR(snap_assoc_state_name(SNAP_ASSOC_HANDSHAKE), "handshake");
    CHECK_STR(snap_flow_state_name(SNAP_FLOW_CREDIT_WAIT), "credit-wait");
    CHECK_STR(snap_flow_state_name(SNAP_FLOW_FINISHING), "finishing");
    CHECK_STR(snap_flow_state_name((snap_flow_state_t)99), "unknown");
}

int main(void)
{
    test_checker();
    test_names();
    test_table_no_memory();
    test_text_alignment();
    test_text_empty();
    test_json_fields();
    test_escaping();
    return check_status("test_render");
}
