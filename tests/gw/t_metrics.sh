#!/usr/bin/env bash
# Metrics: both gateways serve /metrics on 127.0.0.1:9464 in their own
# namespaces. Scrapes pass `promtool check metrics` (Debian's prometheus
# package on the host, which the VM shares; site b's at start, site a's
# during traffic and after the cut, site b's after it, site a's after the
# bad clients; the scrapes are kept under $WORK) and their values are
# asserted:
# 1. at start: the content type, sctpgw_info, the association ready, both
#    paths active and link 1 the primary;
# 2. during traffic (4 paced flows on [echo], 2 on [bulk]): flows open and
#    opened per service, at both ends; bytes per service growing between
#    two scrapes;
# 3. after link 1 is cut: its path inactive (and active 0), the other path
#    active, a state change counted with a recent timestamp, chunks
#    retransmitted;
# 4. bad clients, while the flows run on: non-HTTP bytes get 400 at once,
#    a 20 KB header 431, other paths 404, POST 405, HEAD the headers only;
#    a slow client that never finishes its request gets 408 after 5 s; a
#    scrape beside 20 idle clients is served (the oldest silent ones make
#    room: 16 places), and so is one that the gateway accepts in one pass
#    with 16 idle clients after it while 16 hold every place; 16 scrapers
#    asking at once, four times over, are each answered whole while the
#    gateway reads itself once per 500 ms at most (METRICS_READ_GAP_MS
#    between readings: many scrapers cost the loop no more than one); then
#    every flow ends intact and the scrapes after them (the gateway still
#    serves) show the flows open drop to 0 and the bytes per service
#    exactly what the clients sent.
# About 35 s in the VM (the paced flows run until the bad clients are done).
. "$(dirname "$0")/lib.sh"
FAILOVER_MS=500
PROM=/usr/bin/promtool
[ -x "$PROM" ] || fail "promtool not found (deploy/install-deps installs Debian's prometheus)"
VERSION=$("$SCTPGW" --version | awk '{ print $2 }')

pair_up
echo_bulk_config
for site in a b; do
    sed -i 's/^\[gateway\]$/[gateway]\nmetrics = 127.0.0.1:9464/' "$WORK/site-$site.ini"
done
sed -i 's/^log_level = .*/log_level = debug/' "$WORK/site-a.ini" # its readings, below
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 echo
pair_start
sleep 1 # both paths confirmed by heartbeats

# scrape SITE NAME: GET /metrics into $WORK/NAME.prom (headers in
# NAME.head).
scrape() {
    local site=$1 name=$2
    # ip netns itself rather than topo exec: one program less to start.
    ip netns exec "${SCTPGW_NS_PREFIX:-sg}$site" curl -sS --max-time 5 -D "$WORK/$name.head" \
        -o "$WORK/$name.prom" http://127.0.0.1:9464/metrics ||
        fail "$name: scrape of site $site failed"
    grep -q '^HTTP/1.1 200 OK' "$WORK/$name.head" || fail "$name: $(head -n 1 "$WORK/$name.head")"
}

# promcheck NAME...: `promtool check metrics` on scrapes. Not inside
# scrape(): promtool is a large program that takes seconds to start in the
# emulated VM, and the scrapes during traffic must follow each other fast.
promcheck() {
    local name
    for name in "$@"; do
        "$PROM" check metrics <"$WORK/$name.prom" >"$WORK/$name.promtool" 2>&1 ||
            fail "$name: promtool check metrics: $(<"$WORK/$name.promtool")"
        log "ok: $name: promtool check metrics clean"
    done
}

# lookup NAME SERIES: sets V to the value of a series (name and labels
# exactly as written), or "absent". A scrape is read once, with shell
# builtins only: every process started costs a lot in the emulated VM.
declare -A VAL=() LOADED=()
lookup() {
    local series v rest
    if [ -z "${LOADED[$1]:-}" ]; then
        while read -r series v rest; do
            [ "${series:0:1}" = "#" ] || VAL["$1 $series"]=$v
        done <"$WORK/$1.prom"
        LOADED[$1]=1
    fi
    V=${VAL["$1 $2"]:-absent}
}
value() { lookup "$@" && echo "$V"; }

# want NAME SERIES OP VALUE: asserts a numeric relation on a series.
want() {
    local got ok
    lookup "$1" "$2"
    got=$V
    [ "$got" != absent ] || fail "$1: no $2"
    if [[ $got =~ ^[0-9]+$ && $4 =~ ^[0-9]+$ ]]; then
        case $3 in
        ==) ok=$((got == $4)) ;;
        '>') ok=$((got > $4)) ;;
        '>=') ok=$((got >= $4)) ;;
        esac
    else
        ok=$(awk -v g="$got" -v w="$4" "BEGIN { print (g $3 w) ? 1 : 0 }")
    fi
    [ "$ok" = 1 ] || fail "$1: $2 = $got, expected $3 $4"
    printf '%(%T)T ok: %s: %s = %s (%s %s)\n' -1 "$1" "$2" "$got" "$3" "$4" >&2
}

A='peer="site-b"'
P1="$A,path=\"10.1.0.2\""
P2="$A,path=\"10.2.0.2\""

# 1. At start.
scrape a start
scrape b start-b
grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$WORK/start.head" ||
    fail "content type: $(grep -i '^content-type' "$WORK/start.head")"
want start "sctpgw_info{name=\"site-a\",version=\"$VERSION\"}" == 1
want start-b "sctpgw_info{name=\"site-b\",version=\"$VERSION\"}" == 1
want start "sctpgw_association_state{$A,state=\"ready\"}" == 1
want start-b 'sctpgw_association_state{peer="site-a",state="ready"}' == 1
want start "sctpgw_path_state{$P1,state=\"active\"}" == 1
want start "sctpgw_path_state{$P2,state=\"active\"}" == 1
want start "sctpgw_path_primary{$P1}" == 1
want start "sctpgw_path_primary{$P2}" == 0
want start 'sctpgw_service_flows_open{service="echo"}' == 0
start_s=$(value start sctpgw_start_time_seconds)
awk -v s="$start_s" -v now="$(date +%s)" 'BEGIN { exit !(s > now - 60 && s <= now) }' ||
    fail "sctpgw_start_time_seconds = $start_s, now $(date +%s)"

# raw SITE BYTES SECONDS: sends BYTES (printf format) and prints the first
# line of the answer, read for up to SECONDS.
raw() {
    in_site "$1" timeout "$3" bash -c \
        'exec 3<>/dev/tcp/127.0.0.1/9464 || exit 1; printf "$1" >&3; head -n 1 <&3' _ "$2" |
        tr -d '\r' || true
}
status() { in_site a curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }

# 2. During traffic, and 3. after link 1 is cut: the scrapes first, while
# the flows run (commands are slow in the emulated VM), then the checks.
# The flows must outlast the scrapes up to the cut and the bad clients,
# which take 10 to 20 s and more in the emulated VM when the host is busy:
# they run until told to stop ($STOP), once the bad clients are done;
# COUNT only caps them.
COUNT=4000 # 1 KB every 20 ms: 80 s at most
STOP=$WORK/flows.stop
paced() { client a --connect "127.0.0.1:$1" --flows "$2" --mode paced --chunk 1024 \
    --interval-ms 20 --count $COUNT --timeout-ms 90000 --stop-file "$STOP" \
    --ready-file "$WORK/$3.ready"; }
paced 7001 4 echo >"$WORK/echo.out" &
echo_pid=$!
paced 7002 2 bulk >"$WORK/bulk.out" &
bulk_pid=$!
# A slow client: half a request line, then nothing (408 after 5 s).
# How long it waited goes to slow.ms (the deadline counts from the accept,
# after this clock starts).
{
    t0=$(now_ms)
    raw a 'GET /metr' 8 >"$WORK/slow.out"
    echo $(($(now_ms) - t0)) >"$WORK/slow.ms"
} &
slow_pid=$!
# Every flow open at site a, then half a second (25 chunks a flow) for
# site b's ends to open and the bytes to flow; as much again between the
# two scrapes whose bytes must grow.
for f in echo bulk; do
    wait_file "$WORK/$f.ready" 10 || fail "the $f flows did not open: $(<"$WORK/$f.out")"
done
sleep 0.5
scrape a traffic1
scrape b traffic1-b
sleep 0.5
scrape a traffic2
# The path is declared inactive about 1.5 x failover_ms after the cut:
# scraped until it shows, within t_status's bound for the same event
# (3 s of slack: each scrape is a process start on the emulated CPUs, and
# t_status saw 3,382 ms on a busy host).
topo_cut 1
cut_ms=$(now_ms)
while :; do
    scrape a cut
    LOADED[cut]=
    lookup cut "sctpgw_path_state{$P1,state=\"inactive\"}"
    [ "$V" != 1 ] && [ $(($(now_ms) - cut_ms)) -lt $((FAILOVER_MS * 3 / 2 + 3000)) ] || break
    sleep 0.1
done
proc_running "$echo_pid" || fail "the flows ended before the cut was scraped: raise COUNT"
promcheck start-b traffic1 cut

want traffic1 'sctpgw_service_flows_open{service="echo"}' == 4
want traffic1 'sctpgw_service_flows_open{service="bulk"}' == 2
want traffic1 'sctpgw_service_flows_opened_total{service="echo"}' == 4
want traffic1 'sctpgw_service_flows_opened_total{service="bulk"}' == 2
want traffic1-b 'sctpgw_service_flows_open{service="echo"}' == 4
want traffic1-b 'sctpgw_service_flows_opened_total{service="bulk"}' == 2
want traffic1 "sctpgw_association_flows_open{$A}" == 6
for svc in echo bulk; do
    for dir in sent received; do
        s="sctpgw_service_${dir}_bytes_total{service=\"$svc\"}"
        lookup traffic1 "$s"
        want traffic2 "$s" '>' "$V"
    done
done
want cut "sctpgw_path_state{$P1,state=\"inactive\"}" == 1
want cut "sctpgw_path_state{$P1,state=\"active\"}" == 0
want cut "sctpgw_path_state{$P2,state=\"active\"}" == 1
want cut "sctpgw_path_state_changes_total{$P1}" '>=' 1
want cut "sctpgw_path_last_change_timestamp_seconds{$P1}" '>' "$(($(date +%s) - 15))"
want cut "sctpgw_association_retransmitted_chunks_total{$A}" '>=' 1
want cut 'sctpgw_service_flows_open{service="echo"}' == 4

# 4. Bad clients, while the flows run on.
got=$(raw a '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' 2)
[ "$got" = "HTTP/1.1 400 Bad Request" ] || fail "TLS bytes: '$got', expected 400 at once"
got=$(raw a 'SSH-2.0-OpenSSH_9.2\r\n' 2)
[ "$got" = "HTTP/1.1 400 Bad Request" ] || fail "SSH banner: '$got', expected 400"
printf -v big '%20000s' ''
got=$(raw a "GET /metrics HTTP/1.1\\r\\nX: ${big// /a}\\r\\n\\r\\n" 2)
[ "$got" = "HTTP/1.1 431 Request Header Fields Too Large" ] || fail "20 KB header: '$got'"
[ "$(status http://127.0.0.1:9464/)" = 404 ] || fail "GET / was not 404"
[ "$(status http://127.0.0.1:9464/metrics/x)" = 404 ] || fail "GET /metrics/x was not 404"
[ "$(status -X POST -d x http://127.0.0.1:9464/metrics)" = 405 ] || fail "POST was not 405"
[ "$(status --http1.0 http://127.0.0.1:9464/metrics)" = 200 ] || fail "HTTP/1.0 GET was not 200"
# What RFC 9112 asks a server to take: an empty line first, a later 1.x,
# a target in absolute form.
got=$(raw a '\r\nGET http://127.0.0.1:9464/metrics HTTP/1.2\r\n\r\n' 2)
[ "$got" = "HTTP/1.1 200 OK" ] || fail "empty line, absolute form, HTTP/1.2: '$got', expected 200"
# A head cut short by the client's end of sending: 400, not a silent close.
got=$(in_site a timeout 5 python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 9464))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
s.shutdown(socket.SHUT_WR)
print(s.makefile("rb").readline().decode().strip())' || true)
[ "$got" = "HTTP/1.1 400 Bad Request" ] || fail "half-closed head: '$got', expected 400"
head_len=$(in_site a curl -sS -I --max-time 5 http://127.0.0.1:9464/metrics | grep -ci '^content-length: [1-9]')
[ "$head_len" = 1 ] || fail "HEAD /metrics: no Content-Length"
log "ok: garbage 400, huge header 431, 404, 405, a cut head 400, HTTP/1.0, 1.2, HEAD and absolute form answered"

wait "$slow_pid" || true
got=$(tr -d '\r' <"$WORK/slow.out")
[ "$got" = "HTTP/1.1 408 Request Timeout" ] || fail "slow client: '$got', expected 408 after 5 s"
waited=$(<"$WORK/slow.ms")
[ "$waited" -ge 4900 ] || fail "slow client: 408 after $waited ms, before its 5 s"
# 20 idle clients: 16 places, and each past them closes the oldest one
# still silent, so a scrape beside them is served at once (it was reset: a
# stranger holding 16 silent connections locked every scraper out). They
# are started without in_site's subshell, so that $! is the program
# holding them (exec'd sleep), and all connected before the scrape comes.
hold_idle() { # hold_idle N: N idle connections held by an exec'd sleep
    ip netns exec "${SITE_NS[a]}" bash -c \
        'for i in $(seq "$1"); do exec {fd}<>/dev/tcp/127.0.0.1/9464; done; exec sleep 30' \
        _ "$1" 2>/dev/null &
}
# clients_up N: waits until N client connections to the port are up (the
# kernel completes them while the gateway is stopped, too); one the gateway
# closed to make room counts, its client still holding it.
clients_up() {
    local i
    for i in $(seq 100); do
        [ "$(in_site a ss -Htn state established state close-wait '( dport = :9464 )' |
            wc -l)" -ge "$1" ] &&
            return 0
        sleep 0.1
    done
    fail "$1 clients did not connect to the metrics port"
}
hold_idle 20
idle_pid=$!
clients_up 20
beside=$(status http://127.0.0.1:9464/metrics)
kill "$idle_pid" 2>/dev/null || true
wait "$idle_pid" || true
[ "$beside" = 200 ] || fail "a scrape beside 20 idle clients got $beside, expected 200"
[ "$(count_log site-a 'metrics: refusing clients')" -eq 0 ] ||
    fail "clients refused while only idle ones held places"
log "ok: the slow client got 408; idle clients make room for a scrape"

# A scrape that the gateway accepts in one pass with 16 idle clients after
# it, while 16 idle ones hold every place: each newcomer makes room, and
# the scrape, its request not read yet, looked as silent as they (it was
# closed unanswered). The gateway is stopped while they queue in its
# backlog (64), so that one pass takes them all.
hold_idle 16
idle_pid=$!
clients_up 16
sleep 0.3 # the gateway takes them
kill -STOP "$(gw_pid site-a)"
raw a 'GET /metrics HTTP/1.0\r\n\r\n' 10 >"$WORK/burst.out" &
burst_pid=$!
clients_up 17
hold_idle 16
idle2_pid=$!
clients_up 33
kill -CONT "$(gw_pid site-a)"
wait "$burst_pid" || true
kill "$idle_pid" "$idle2_pid" 2>/dev/null || true
wait "$idle_pid" "$idle2_pid" || true
got=$(<"$WORK/burst.out")
[ "$got" = "HTTP/1.1 200 OK" ] || fail "a scrape in a burst of idle clients got '$got', expected 200"
log "ok: a scrape accepted among idle clients is answered"

# 16 scrapers asking at once, four rounds back to back: every answer whole,
# and one reading of the gateway per 500 ms at most, shared (each reading
# logs how many clients it answered).
readings0=$(count_log site-a 'metrics: one reading for')
got=$(in_site a timeout 60 python3 -c '
import socket, time
t0, whole = time.monotonic(), 0
for _ in range(4):
    socks = [socket.create_connection(("127.0.0.1", 9464)) for _ in range(16)]
    for s in socks:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    for s in socks:
        data = b""
        while d := s.recv(65536):
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        whole += head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: %d\r\n" % len(body) in head + b"\r\n"
        s.close()
print(whole, int((time.monotonic() - t0) * 1000))' || true)
read -r whole spent <<<"$got"
[ "${whole:-0}" = 64 ] || fail "16 scrapers at once, 4 times: $got (whole answers, ms), expected 64 whole"
{ grep 'metrics: one reading for' "$WORK/site-a.log" || true; } | tail -n +$((readings0 + 1)) \
    >"$WORK/readings"
readings=$(wc -l <"$WORK/readings")
answered=$(awk '{ for (i = 1; i < NF; i++) if ($i == "for") n += $(i + 1) } END { print n + 0 }' \
    "$WORK/readings")
[ "$answered" = 64 ] || fail "the readings answered $answered clients, expected the 64 scrapes"
[ "$readings" -le $((spent / 500 + 2)) ] ||
    fail "$readings readings of the gateway for 64 scrapes in $spent ms: more than one per 500 ms"
log "ok: 64 scrapes in $spent ms, answered whole from $readings readings"

# The flows ran through the bad clients; every byte sent came back, and the
# gateway counted exactly that.
proc_running "$echo_pid" && proc_running "$bulk_pid" ||
    fail "the flows ended before the bad clients were done: raise COUNT"
: >"$STOP"
wait "$echo_pid" "$bulk_pid" || true
declare -A SENT=()
for svc in echo bulk; do
    r=$(<"$WORK/$svc.out")
    n=$([ $svc = echo ] && echo 4 || echo 2)
    expect_whole "$r" "$n"
    SENT[$svc]=$(kv "$r" bytes_sent)
done
# A flow's stream is free a round trip after its client has gone.
for i in $(seq 30); do
    scrape a after
    LOADED[after]=
    lookup after 'sctpgw_service_flows_open{service="echo"}'
    open=$V
    lookup after 'sctpgw_service_flows_open{service="bulk"}'
    [ "$open" = 0 ] && [ "$V" = 0 ] && break
    sleep 0.1
done
scrape b after-b
promcheck after-b
for svc in echo bulk; do
    n=$([ $svc = echo ] && echo 4 || echo 2)
    want after "sctpgw_service_flows_open{service=\"$svc\"}" == 0
    want after "sctpgw_service_flows_opened_total{service=\"$svc\"}" == "$n"
    want after "sctpgw_service_sent_bytes_total{service=\"$svc\"}" == "${SENT[$svc]}"
    want after "sctpgw_service_received_bytes_total{service=\"$svc\"}" == "${SENT[$svc]}"
    want after-b "sctpgw_service_flows_opened_total{service=\"$svc\"}" == "$n"
done
want after "sctpgw_path_state{$P1,state=\"inactive\"}" == 1
want after "sctpgw_association_state{$A,state=\"ready\"}" == 1
promcheck after
proc_running "$(gw_pid site-a)" || fail "site-a's gateway is gone"
[ "$(count_log site-a 'reset:')" -eq 0 ] || fail "a flow was reset"
log "sample (site a, after the cut):"
grep -E '^sctpgw_(info|path_state.*state="(active|inactive)"|path_(srtt|rto)_seconds|service_flows_opened_total)' \
    "$WORK/after.prom" >&2
done_ok
