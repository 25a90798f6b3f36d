/* The Prometheus exposition of a hand-built snapshot (render_prom.c):
 * every line of a known snapshot, label escaping, and, where promtool is
 * installed (Debian's prometheus package, deploy/install-deps), what
 * `promtool check metrics` says of the output. */
#include "render_prom.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A gateway with one ready association of two paths (the second one cut),
 * one association still proving the key (counted, not named), and an old
 * association of the same peer shutting down (not shown: the ready one is). */
static void snapshot_build(snapshot_t *s, snap_assoc_t a[3], snap_service_t sv[2])
{
    memset(s, 0, sizeof(*s));
    memset(a, 0, 3 * sizeof(*a));
    memset(sv, 0, 2 * sizeof(*sv));
    strcpy(s->name, "site-a");
    strcpy(s->version, "0.1.0");
    s->start_ms = 1764612345678ULL;
    s->handshake_failures = 2;
    s->reloads = 1;
    s->peers_accept_failures = 6;
    s->metrics_accept_failures = 7;
    s->control_refused = 8;

    strcpy(a[0].peer_name, "site-b");
    a[0].state = SNAP_ASSOC_READY;
    a[0].since_ms = 1764612346005ULL;
    a[0].flows_open = 3;
    a[0].flows_opened = 10;
    a[0].bytes_out = 1000;
    a[0].bytes_in = 2000;
    a[0].rtx_chunks = 5;
    a[0].out_packets = 100;
    a[0].in_packets = 90;
    a[0].out_data_chunks = 80;
    a[0].in_data_chunks = 70;
    a[0].out_ctrl_chunks = 20;
    a[0].in_ctrl_chunks = 25;
    a[0].n_paths = 2;
    strcpy(a[0].paths[0].peer, "10.1.0.2");
    a[0].paths[0].state = SNAP_PATH_ACTIVE;
    a[0].paths[0].primary = 1;
    a[0].paths[0].srtt_ms = 10;
    a[0].paths[0].rto_ms = 200;
    a[0].paths[0].cwnd = 4380;
    a[0].paths[0].mtu = 1500;
    strcpy(a[0].paths[1].peer, "10.2.0.2");
    a[0].paths[1].state = SNAP_PATH_INACTIVE;
    a[0].paths[1].srtt_ms = 12;
    a[0].paths[1].rto_ms = 1000;
    a[0].paths[1].cwnd = 1200;
    a[0].paths[1].mtu = 1500;
    a[0].paths[1].changes = 2;
    a[0].paths[1].changed_ms = 1764612350500ULL;
    a[1].state = SNAP_ASSOC_HANDSHAKE;
    strcpy(a[2].peer_name, "site-b");
    a[2].state = SNAP_ASSOC_SHUTDOWN;
    a[2].flows_open = 99;
    s->assocs = a;
    s->n_assocs = 3;

    strcpy(sv[0].name, "echo");
    sv[0].is_accept = 1;
    sv[0].flows_open = 3;
    sv[0].flows_opened = 10;
    sv[0].flows_refused = 1;
    sv[0].bytes_out = 1000;
    sv[0].bytes_in = 2000;
    sv[0].accept_failures = 4;
    strcpy(sv[1].name, "bulk");
    s->services = sv;
    s->n_services = 2;
}

static const char expected[] =
    "# HELP sctpgw_info The gateway's name and version; always 1.\n"
    "# TYPE sctpgw_info gauge\n"
    "sctpgw_info{name=\"site-a\",version=\"0.1.0\"} 1\n"
    "# HELP sctpgw_start_time_seconds Unix time the gateway started, in seconds.\n"
    "# TYPE sctpgw_start_time_seconds gauge\n"
    "sctpgw_start_time_seconds 1764612345.678\n"
    "# HELP sctpgw_draining 1 while the gateway drains or stops (no new flows), else 0.\n"
    "# TYPE sctpgw_draining gauge\n"
    "sctpgw_draining 0\n"
    "# HELP sctpgw_reloads_total Configuration reloads applied.\n"
    "# TYPE sctpgw_reloads_total counter\n"
    "sctpgw_reloads_total 1\n"
    "# HELP sctpgw_handshake_failures_total Associations that ended before the peer proved the "
    "key.\n"
    "# TYPE sctpgw_handshake_failures_total counter\n"
    "sctpgw_handshake_failures_total 2\n"
    "# HELP sctpgw_listener_accept_failures_total Tries of one of the gateway's own listeners to "
    "accept a client that failed (the listener then rests, clients waiting).\n"
    "# TYPE sctpgw_listener_accept_failures_total counter\n"
    "sctpgw_listener_accept_failures_total{listener=\"peers\"} 6\n"
    "sctpgw_listener_accept_failures_total{listener=\"control\"} 0\n"
    "sctpgw_listener_accept_failures_total{listener=\"metrics\"} 7\n"
    "# HELP sctpgw_listener_refused_total Clients the control socket or the metrics listener "
    "turned away: all it serves at once being answered, or no memory for one.\n"
    "# TYPE sctpgw_listener_refused_total counter\n"
    "sctpgw_listener_refused_total{listener=\"control\"} 8\n"
    "sctpgw_listener_refused_total{listener=\"metrics\"} 0\n"
    "# HELP sctpgw_associations Associations in each state, including those whose peer has not "
    "proven the key.\n"
    "# TYPE sctpgw_associations gauge\n"
    "sctpgw_associations{state=\"connecting\"} 0\n"
    "sctpgw_associations{state=\"handshake\"} 1\n"
    "sctpgw_associations{state=\"ready\"} 1\n"
    "sctpgw_associations{state=\"shutdown\"} 1\n"
    "# HELP sctpgw_association_state 1 for the state the association with a peer is in, 0 for the "
    "others.\n"
    "# TYPE sctpgw_association_state gauge\n"
    "sctpgw_association_state{peer=\"site-b\",state=\"connecting\"} 0\n"
    "sctpgw_association_state{peer=\"site-b\",state=\"handshake\"} 0\n"
    "sctpgw_association_state{peer=\"site-b\",state=\"ready\"} 1\n"
    "sctpgw_association_state{peer=\"site-b\",state=\"shutdown\"} 0\n"
    "# HELP sctpgw_association_last_change_timestamp_seconds Unix time the association entered its "
    "state, in seconds.\n"
    "# TYPE sctpgw_association_last_change_timestamp_seconds gauge\n"
    "sctpgw_association_last_change_timestamp_seconds{peer=\"site-b\"} 1764612346.005\n"
    "# HELP sctpgw_association_flows_open Flows open on the association.\n"
    "# TYPE sctpgw_association_flows_open gauge\n"
    "sctpgw_association_flows_open{peer=\"site-b\"} 3\n"
    "# HELP sctpgw_association_flows_opened_total Flows opened on the association since it came "
    "up.\n"
    "# TYPE sctpgw_association_flows_opened_total counter\n"
    "sctpgw_association_flows_opened_total{peer=\"site-b\"} 10\n"
    "# HELP sctpgw_association_sent_bytes_total Flows' payload bytes sent to the peer on the "
    "association.\n"
    "# TYPE sctpgw_association_sent_bytes_total counter\n"
    "sctpgw_association_sent_bytes_total{peer=\"site-b\"} 1000\n"
    "# HELP sctpgw_association_received_bytes_total Flows' payload bytes received from the peer on "
    "the association.\n"
    "# TYPE sctpgw_association_received_bytes_total counter\n"
    "sctpgw_association_received_bytes_total{peer=\"site-b\"} 2000\n"
    "# HELP sctpgw_association_retransmitted_chunks_total DATA chunks the kernel retransmitted on "
    "the association.\n"
    "# TYPE sctpgw_association_retransmitted_chunks_total counter\n"
    "sctpgw_association_retransmitted_chunks_total{peer=\"site-b\"} 5\n"
    "# HELP sctpgw_association_sent_packets_total SCTP packets sent on the association.\n"
    "# TYPE sctpgw_association_sent_packets_total counter\n"
    "sctpgw_association_sent_packets_total{peer=\"site-b\"} 100\n"
    "# HELP sctpgw_association_received_packets_total SCTP packets received on the association.\n"
    "# TYPE sctpgw_association_received_packets_total counter\n"
    "sctpgw_association_received_packets_total{peer=\"site-b\"} 90\n"
    "# HELP sctpgw_association_sent_chunks_total SCTP chunks sent on the association, DATA and "
    "control.\n"
    "# TYPE sctpgw_association_sent_chunks_total counter\n"
    "sctpgw_association_sent_chunks_total{peer=\"site-b\",kind=\"data\"} 80\n"
    "sctpgw_association_sent_chunks_total{peer=\"site-b\",kind=\"control\"} 20\n"
    "# HELP sctpgw_association_received_chunks_total SCTP chunks received on the association, DATA "
    "and control.\n"
    "# TYPE sctpgw_association_received_chunks_total counter\n"
    "sctpgw_association_received_chunks_total{peer=\"site-b\",kind=\"data\"} 70\n"
    "sctpgw_association_received_chunks_total{peer=\"site-b\",kind=\"control\"} 25\n"
    "# HELP sctpgw_path_state 1 for the state a path (peer address) is in, 0 for the others.\n"
    "# TYPE sctpgw_path_state gauge\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.1.0.2\",state=\"active\"} 1\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.1.0.2\",state=\"pf\"} 0\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.1.0.2\",state=\"inactive\"} 0\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.1.0.2\",state=\"unconfirmed\"} 0\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.2.0.2\",state=\"active\"} 0\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.2.0.2\",state=\"pf\"} 0\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.2.0.2\",state=\"inactive\"} 1\n"
    "sctpgw_path_state{peer=\"site-b\",path=\"10.2.0.2\",state=\"unconfirmed\"} 0\n"
    "# HELP sctpgw_path_primary 1 for the association's preferred path, else 0.\n"
    "# TYPE sctpgw_path_primary gauge\n"
    "sctpgw_path_primary{peer=\"site-b\",path=\"10.1.0.2\"} 1\n"
    "sctpgw_path_primary{peer=\"site-b\",path=\"10.2.0.2\"} 0\n"
    "# HELP sctpgw_path_srtt_seconds Smoothed round-trip time of the path, in seconds.\n"
    "# TYPE sctpgw_path_srtt_seconds gauge\n"
    "sctpgw_path_srtt_seconds{peer=\"site-b\",path=\"10.1.0.2\"} 0.010\n"
    "sctpgw_path_srtt_seconds{peer=\"site-b\",path=\"10.2.0.2\"} 0.012\n"
    "# HELP sctpgw_path_rto_seconds Retransmission timeout of the path now, in seconds.\n"
    "# TYPE sctpgw_path_rto_seconds gauge\n"
    "sctpgw_path_rto_seconds{peer=\"site-b\",path=\"10.1.0.2\"} 0.200\n"
    "sctpgw_path_rto_seconds{peer=\"site-b\",path=\"10.2.0.2\"} 1.000\n"
    "# HELP sctpgw_path_cwnd_bytes Congestion window of the path, in bytes.\n"
    "# TYPE sctpgw_path_cwnd_bytes gauge\n"
    "sctpgw_path_cwnd_bytes{peer=\"site-b\",path=\"10.1.0.2\"} 4380\n"
    "sctpgw_path_cwnd_bytes{peer=\"site-b\",path=\"10.2.0.2\"} 1200\n"
    "# HELP sctpgw_path_mtu_bytes Path MTU, in bytes.\n"
    "# TYPE sctpgw_path_mtu_bytes gauge\n"
    "sctpgw_path_mtu_bytes{peer=\"site-b\",path=\"10.1.0.2\"} 1500\n"
    "sctpgw_path_mtu_bytes{peer=\"site-b\",path=\"10.2.0.2\"} 1500\n"
    "# HELP sctpgw_path_udp_port The peer's UDP port the path's SCTP travels inside (RFC 6951); 0 "
    "when native.\n"
    "# TYPE sctpgw_path_udp_port gauge\n"
    "sctpgw_path_udp_port{peer=\"site-b\",path=\"10.1.0.2\"} 0\n"
    "sctpgw_path_udp_port{peer=\"site-b\",path=\"10.2.0.2\"} 0\n"
    "# HELP sctpgw_path_state_changes_total State changes of the path since the association came "
    "up.\n"
    "# TYPE sctpgw_path_state_changes_total counter\n"
    "sctpgw_path_state_changes_total{peer=\"site-b\",path=\"10.1.0.2\"} 0\n"
    "sctpgw_path_state_changes_total{peer=\"site-b\",path=\"10.2.0.2\"} 2\n"
    "# HELP sctpgw_path_last_change_timestamp_seconds Unix time of the path's last state change, "
    "in seconds; absent while it had none.\n"
    "# TYPE sctpgw_path_last_change_timestamp_seconds gauge\n"
    "sctpgw_path_last_change_timestamp_seconds{peer=\"site-b\",path=\"10.2.0.2\"} 1764612350.500\n"
    "# HELP sctpgw_service_flows_open Flows of the service open now.\n"
    "# TYPE sctpgw_service_flows_open gauge\n"
    "sctpgw_service_flows_open{service=\"echo\"} 3\n"
    "sctpgw_service_flows_open{service=\"bulk\"} 0\n"
    "# HELP sctpgw_service_flows_opened_total Flows of the service opened.\n"
    "# TYPE sctpgw_service_flows_opened_total counter\n"
    "sctpgw_service_flows_opened_total{service=\"echo\"} 10\n"
    "sctpgw_service_flows_opened_total{service=\"bulk\"} 0\n"
    "# HELP sctpgw_service_flows_refused_total Flows of the service refused: turned away here, or "
    "opened and then refused by the back end or the peer.\n"
    "# TYPE sctpgw_service_flows_refused_total counter\n"
    "sctpgw_service_flows_refused_total{service=\"echo\"} 1\n"
    "sctpgw_service_flows_refused_total{service=\"bulk\"} 0\n"
    "# HELP sctpgw_service_accept_failures_total Tries of the service's listener to accept a "
    "waiting client that failed (for want of descriptors or memory, or by a policy): one every "
    "100 ms while they fail.\n"
    "# TYPE sctpgw_service_accept_failures_total counter\n"
    "sctpgw_service_accept_failures_total{service=\"echo\"} 4\n"
    "sctpgw_service_accept_failures_total{service=\"bulk\"} 0\n"
    "# HELP sctpgw_service_sent_bytes_total Payload bytes of the service's flows sent toward the "
    "peer.\n"
    "# TYPE sctpgw_service_sent_bytes_total counter\n"
    "sctpgw_service_sent_bytes_total{service=\"echo\"} 1000\n"
    "sctpgw_service_sent_bytes_total{service=\"bulk\"} 0\n"
    "# HELP sctpgw_service_received_bytes_total Payload bytes of the service's flows received from "
    "the peer.\n"
    "# TYPE sctpgw_service_received_bytes_total counter\n"
    "sctpgw_service_received_bytes_total{service=\"echo\"} 2000\n"
    "sctpgw_service_received_bytes_total{service=\"bulk\"} 0\n";

/* The first line where two texts differ, to make a failure readable. */
static void diff_first(const char *got, const char *want)
{
    int line = 1;

    while (*got && *got == *want) {
        line += *got == '\n';
        got++, want++;
    }
    fprintf(stderr, "line %d differs:\n  got:  %.*s\n  want: %.*s\n", line, (int)strcspn(got, "\n"),
            got, (int)strcspn(want, "\n"), want);
}

static void test_known(void)
{
    snapshot_t s;
    snap_assoc_t a[3];
    snap_service_t sv[2];
    size_t len = 0;
    char *text;

    snapshot_build(&s, a, sv);
    text = render_prom(&s, &len);
    CHECK(text != NULL);
    if (!text)
        return;
    CHECK(len == strlen(text));
    CHECK(strcmp(text, expected) == 0);
    if (strcmp(text, expected) != 0)
        diff_first(text, expected);
    free(text);
}

/* Every metric family has its HELP and TYPE lines, once, before its
 * samples, even when it has none. */
static void test_empty(void)
{
    snapshot_t s;
    size_t len = 0, help = 0, type = 0;
    char *text;

    memset(&s, 0, sizeof(s));
    text = render_prom(&s, &len);
    CHECK(text != NULL);
    if (!text)
        return;
    for (const char *p = text; (p = strstr(p, "# HELP ")); p++)
        help++;
    for (const char *p = text; (p = strstr(p, "# TYPE ")); p++)
        type++;
    CHECK(help == 34 && type == 34);
    CHECK(strstr(text, "sctpgw_info{name=\"\",version=\"\"} 1\n") != NULL);
    CHECK(strstr(text, "sctpgw_associations{state=\"ready\"} 0\n") != NULL);
    CHECK(strstr(text, "sctpgw_path_state{") == NULL);
    free(text);
}

static char *render_escaping(void)
{
    static snap_assoc_t a[1];
    static snap_service_t sv[1];
    snapshot_t s;
    size_t len;

    memset(&s, 0, sizeof(s));
    strcpy(s.name, "a\\b\"c\nd");
    strcpy(s.version, "1.0\"");
    strcpy(a[0].peer_name, "p\xff\xc3\xa9\xc0\xaf\"\\"); /* invalid, é, overlong '/' */
    a[0].state = SNAP_ASSOC_READY;
    a[0].n_paths = 1;
    strcpy(a[0].paths[0].peer, "fd00:1::2");
    s.assocs = a;
    s.n_assocs = 1;
    strcpy(sv[0].name, "svc\n\"x\"");
    s.services = sv;
    s.n_services = 1;
    return render_prom(&s, &len);
}

/* Backslash, double quote and line feed in label values escaped as the
 * format says; bytes that are not UTF-8 replaced by U+FFFD. */
static void test_escaping(void)
{
    char *text = render_escaping();

    CHECK(text != NULL);
    if (!text)
        return;
    CHECK(strstr(text, "sctpgw_info{name=\"a\\\\b\\\"c\\nd\",version=\"1.0\\\"\"} 1\n") != NULL);
    CHECK(strstr(text, "sctpgw_association_flows_open{peer=\"p\xEF\xBF\xBD\xc3\xa9"
                       "\xEF\xBF\xBD\xEF\xBF\xBD\\\"\\\\\"} 0\n") != NULL);
    CHECK(strstr(text, "sctpgw_path_state{peer=\"p\xEF\xBF\xBD\xc3\xa9\xEF\xBF\xBD\xEF\xBF\xBD"
                       "\\\"\\\\\",path=\"fd00:1::2\",state=\"active\"} 1\n") != NULL);
    CHECK(strstr(text, "sctpgw_service_flows_open{service=\"svc\\n\\\"x\\\"\"} 0\n") != NULL);
    /* no raw line feed inside a sample: every line starts with # or sctpgw_ */
    for (const char *p = text; *p; p = strchr(p, '\n') + 1)
        CHECK(*p == '#' || strncmp(p, "sctpgw_", 7) == 0);
    free(text);
}

/* promtool's verdict on a text: its exit status, or -1 when it cannot run. */
static int promtool_check(const char *promtool, const char *text)
{
    char path[] = "/tmp/test_render_prom.XXXXXX";
    char cmd[512];
    int fd = mkstemp(path), st;
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "w");

    if (!fp)
        return -1;
    fputs(text, fp);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s' >&2", promtool, path);
    st = system(cmd);
    unlink(path);
    return st < 0 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static void test_promtool(void)
{
    const char *promtool = getenv("PROMTOOL") ? getenv("PROMTOOL") : "/usr/bin/promtool";
    snapshot_t s;
    snap_assoc_t a[3];
    snap_service_t sv[2];
    size_t len;
    char *text;

    if (access(promtool, X_OK) != 0) {
        /* A check that passes without running is none: the test command
         * installs promtool, so its absence is a failure. */
        CHECK(!fprintf(stderr, "promtool not found at %s: deploy/install-deps installs it\n",
                       promtool));
        return;
    }
    /* It does find faults: a counter without _total, a value that is none. */
    CHECK(promtool_check(promtool, "# HELP sctpgw_x x.\n# TYPE sctpgw_x counter\nsctpgw_x 1\n") >
          0);
    CHECK(promtool_check(promtool, "# HELP sctpgw_x_total x.\n# TYPE sctpgw_x_total "
                                   "counter\nsctpgw_x_total{a=\"b\"} one\n") > 0);
    snapshot_build(&s, a, sv);
    text = render_prom(&s, &len);
    CHECK(text && promtool_check(promtool, text) == 0);
    free(text);
    text = render_escaping();
    CHECK(text && promtool_check(promtool, text) == 0);
    free(text);
    printf("promtool check metrics: %s\n", check_failures ? "see above" : "clean");
}

int main(void)
{
    test_known();
    test_empty();
    test_escaping();
    test_promtool();
    return check_status("test_render_prom");
}
