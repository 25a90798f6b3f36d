#!/usr/bin/env bash
# Reload (SIGHUP) during verified flows. Site a accepts [echo] (7001), [old]
# (7002) and [gone] (7004); site b connects all three to one echo back end;
# paced flows run on all three through steps 1 to 4. Then:
#  1. both ends reload at once: failover_ms 1000 -> 300, log_level debug,
#     [new] added at both; site b (the connecting end) drops [old], site a
#     (the accepting end) drops [gone]; each logs the 2 open flows of the
#     removed service going on;
#  2. a new [old] client at site a is refused by site b (no such connect
#     service), [gone]'s listener is closed (a connect fails), [new] (7003)
#     carries flows end to end; at both ends the live association's RTO
#     bounds and heartbeat interval, read from the kernel (sctp_probe.py:
#     getsockopt on a copy of the gateway's socket), follow the new
#     failover_ms: RTO 250..500 -> 75..150 ms, heartbeat 250 -> 75 ms (to a
#     jiffy); site a logs DEBUG lines;
#  3. a broken file (a bad key at a known line, after changes that would
#     remove [echo] and set log_level error) changes nothing: the error is
#     logged as FILE:LINE, [echo] and [new] still carry flows, the timers
#     and the log level stay;
#  4. a restart-only key (port) is logged as needing a restart, not applied
#     (the association stays, no new one), while a live key in the same
#     file (log_level) is;
#  5. metrics turned on and the control socket moved by `sctpgw reload`
#     asked on the socket that moves (the answer comes, the old socket
#     goes, status answers on the new one, /metrics serves), then metrics
#     turned off through the new one;
#  6. a default control socket that could not be made at start is made by
#     a reload once its folder can be; a gateway whose outage_ms outlasts
#     the kernel's error limit says so at start;
#  7. a reload while site a dials (its INITs unanswered, the links cut):
#     the association that comes up once the links are back has the new
#     timers, read from the kernel (it kept those its socket was made
#     with: the kernel applies options to an association only once it is
#     established, so the reload had reached the socket's defaults only);
#  8. a reload asked as a gateway exits (a SIGHUP from log rotation
#     during a stop), once its loop has ended and libuv has given the
#     signal its default action back (tests/tools/fault holds the exit
#     there until told): ignored, exit status 0 (before: killed by it,
#     status 129);
# and every flow that ran across the reloads (still running after step 4,
# then told to stop) has all its bytes, verified, on [echo] and on the
# removed [old] and [gone] alike.
. "$(dirname "$0")/lib.sh"
FAILOVER_MS=1000
# The paced flows run until told to stop ($STOP) once step 4 is done, not
# for a count sized for a slow bed: CHUNKS only caps them (1 KiB every
# 10 ms: 60 s).
CHUNKS=6000
STOP=$WORK/flows.stop

# site_config SITE NAME ROLE SERVICES...: a config whose services are given
# as "name=accept:PORT" or "name=connect:PORT" (on 127.0.0.1); split with
# builtins (two cuts a service made a config cost half a second).
site_config() {
    local name=$1 role=$2 s kind
    shift 2
    for s in "$@"; do
        kind=${s#*=}
        printf '[%s]\n%s = 127.0.0.1:%s\n\n' "${s%%=*}" "${kind%%:*}" "${s##*:}"
    done | gw_config "$name" "$role"
}

# hup NAME: SIGHUP, then waits for the reload's last line.
hup() {
    local before
    before=$(count_log "$1" 'gw: (reloaded: |reload: .*nothing changed)')
    kill -HUP "$(gw_pid "$1")"
    wait_log "$1" 'gw: (reloaded: |reload: .*nothing changed)' 5 $((before + 1))
}

# timers_read: both gateways' live association timers, as the kernel holds
# them ("pid=... rto_initial=... rto_max=... rto_min=... hbinterval=..."),
# into $WORK/timers. One python run for both (-I -S: it starts faster
# without site packages; a start takes seconds in the emulated VM).
timers_read() {
    python3 -I -S "$ROOT/tests/gw/sctp_probe.py" "$(gw_pid site-a)" "$(gw_pid site-b)" \
        >"$WORK/timers" || fail "sctp_probe.py could not read both associations"
}

# expect_timers NAME RTO_MIN RTO_MAX HBINTERVAL: what timers_read found at
# NAME, each within 4 ms above what was asked, the kernel keeping them in
# jiffies (HZ 250 in the VM: 30 ms reads 32, 250 reads 252).
expect_timers() {
    local t
    t=$(grep "^pid=$(gw_pid "$1") " "$WORK/timers" || true)
    log "$1: $t"
    awk -v a="$(kv "$t" rto_min)" -v b="$(kv "$t" rto_max)" -v c="$(kv "$t" hbinterval)" \
        -v x="$2" -v y="$3" -v z="$4" \
        'function near(g, w) { return g != "" && g >= w && g <= w + 4 }
         BEGIN { exit !(near(a, x) && near(b, y) && near(c, z)) }' ||
        fail "$1: the live association has $t; expected rto $2..$3 ms, heartbeat $4 ms"
}

pair_up
site_config site-a connect echo=accept:7001 old=accept:7002 gone=accept:7004
site_config site-b listen echo=connect:9001 old=connect:9001 gone=connect:9001
server_start b 127.0.0.1:9001 echo
pair_start
# Read before the flows start, so that they are surely still running at the
# reloads.
timers_read
expect_timers site-a 250 500 250
expect_timers site-b 250 500 250

# 4 flows on [echo], 2 on [old] and 2 on [gone], 1 KiB every 10 ms until
# step 4 is done.
paced() { # paced PORT FLOWS
    client a --connect "127.0.0.1:$1" --flows "$2" --mode paced --count "$CHUNKS" \
        --timeout-ms 90000 --stop-file "$STOP"
}
paced 7001 4 >"$WORK/echo.out" &
echo_pid=$!
paced 7002 2 >"$WORK/old.out" &
old_pid=$!
paced 7004 2 >"$WORK/gone.out" &
gone_pid=$!
wait_log site-a 'opened for client' 10 8
[ "$(count_log site-a ' DEBUG ')" -eq 0 ] || fail "site a logged DEBUG lines at log_level info"

# 1. Both ends reload at once, while every flow runs: timers and log level
# change, [new] comes; site b (connecting end) drops [old], site a
# (accepting end) drops [gone].
LOG_LEVEL=debug FAILOVER_MS=300 site_config site-b listen echo=connect:9001 new=connect:9001 \
    gone=connect:9001
LOG_LEVEL=debug FAILOVER_MS=300 site_config site-a connect echo=accept:7001 old=accept:7002 \
    new=accept:7003
hup site-b
hup site-a
wait_log site-b 'reload: \[old\]: removed; the peer.s new flows for it are refused, its 2 open flows go on' 1
wait_log site-b 'reloaded: services 1 added, 1 removed, 0 changed, log_level, failover_ms/outage_ms$' 1
wait_log site-a 'reload: \[gone\]: removed; its listener closes, its 2 open flows go on' 1
wait_log site-a 'reload: \[new\]: accepting on 127.0.0.1:7003' 1
wait_log site-a 'reloaded: services 1 added, 1 removed, 0 changed, log_level, failover_ms/outage_ms$' 1

# 2. The removed services refuse new clients, the new one carries flows.
r=$(client a --connect 127.0.0.1:7002 --flows 1 --mode expect-close --timeout-ms 5000)
log "a new [old] client after site b dropped [old]: $r"
expect "$r" ok == 1
expect "$r" refused == 0 # site a still listens: site b turned it away
wait_log site-b '\[old\].*no such connect service here' 5
log "ok: site b refuses new [old] flows"
# Asked of the kernel: a connect that merely timed out would pass for one
# refused.
[ -z "$(in_site a ss -Hltn '( sport = :7004 )')" ] ||
    fail "site a: 127.0.0.1:7004 still listens after [gone] was removed"
log "ok: site a's [gone] listener is closed"
r=$(client a --connect 127.0.0.1:7003 --flows 3 --mode echo --bytes 256K --timeout-ms 10000)
log "[new]: $r"
expect "$r" ok == 3
expect "$r" bytes_verified == $((3 * 256 * 1024))
# The kernel's view of the live association at both ends, and the log's.
timers_read
expect_timers site-a 75 150 75
expect_timers site-b 75 150 75
for s in a b; do
    wait_log site-$s 'reload: failover_ms 1000 -> 300, outage_ms 30000 -> 30000: rto 75..150 ms, heartbeat 75 ms; 1 association re-tuned' 1
done
log "ok: the live association is re-tuned at both ends"
[ "$(count_log site-a ' DEBUG ')" -gt 0 ] || fail "site a: no DEBUG line after log_level = debug"
log "ok: site a logs DEBUG lines"

# 3. A broken file: [echo] gone and log_level error, but a bad key at line 3.
LOG_LEVEL=error site_config site-a connect new=accept:7003
sed -i '3i bogus = 1' "$WORK/site-a.ini"
# This one through the control socket (sctpgw reload), which answers with
# the outcome and exits 1 when nothing was applied.
rc=0
out=$("$SCTPGW" reload -s "$WORK/site-a.sock" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "sctpgw reload of a broken file exited $rc, expected 1: $out"
grep -q "$WORK/site-a.ini:3: unknown key 'bogus' in \[gateway\].*; nothing changed" <<<"$out" ||
    fail "sctpgw reload did not say where the file is wrong: $out"
wait_log site-a "ERROR .*reload: $WORK/site-a.ini:3: unknown key 'bogus' in \[gateway\].*; nothing changed" 1
wait_log site-a "reload asked by uid [0-9]+ pid [0-9]+" 1
d0=$(count_log site-a ' DEBUG ')
r=$(client a --connect 127.0.0.1:7001 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
r=$(client a --connect 127.0.0.1:7003 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
timers_read
expect_timers site-a 75 150 75
[ "$(count_log site-a ' DEBUG ')" -gt "$d0" ] || fail "site a: the broken reload changed log_level"
log "ok: the broken file changed nothing"

# 4. A restart-only key beside a live one.
ups=$(count_log site-a 'up: peer proved the key')
LOG_LEVEL=info FAILOVER_MS=300 site_config site-a connect echo=accept:7001 old=accept:7002 \
    new=accept:7003
sed -i 's/^port = 9899$/port = 9900/' "$WORK/site-a.ini"
hup site-a
wait_log site-a 'WARN .*reload: port changed: needs a restart; kept the running value' 1
wait_log site-a 'reloaded: log_level; needs a restart: port$' 1
r=$(client a --connect 127.0.0.1:7001 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
[ "$(count_log site-a 'up: peer proved the key')" -eq "$ups" ] ||
    fail "site a: a new association came up after a port change that needs a restart"
[ "$(count_log site-b 'up: peer proved the key')" -eq 1 ] ||
    fail "site b: the association was replaced during the reloads"
# The gateway's JSON is compact, "reloads" then "restart_needed": read with
# a bash regex rather than a python3 start.
st=$(gw_status site-a --json)
if ! [[ $st =~ \"gateway\":\{[^}]*\"reloads\":([0-9]+),\"restart_needed\":\"([^\"]*)\" ]] ||
    [ "${BASH_REMATCH[2]}" != port ] || [ "${BASH_REMATCH[1]}" != 2 ]; then
    fail "status does not report the reloads and the port: $st"
fi
log "ok: port change reported (in status too), not applied; log_level applied"

# The flows ran across every reload above: still running, told to stop now.
for pid in "$echo_pid" "$old_pid" "$gone_pid"; do
    proc_running "$pid" || fail "paced flows ended before the reloads were done: raise CHUNKS"
done
: >"$STOP"
wait "$echo_pid" || true
wait "$old_pid" || true
wait "$gone_pid" || true
r=$(<"$WORK/echo.out")
log "[echo] across the reloads: $r"
expect_whole "$r" 4
for svc in old gone; do
    r=$(<"$WORK/$svc.out")
    log "[$svc] across its removal: $r"
    expect_whole "$r" 2
done

# 5. The gateway's own listeners move live: metrics turned on and the
# control socket moved, asked for through the socket that moves (its
# answer still comes); then metrics off through the new socket.
LOG_LEVEL=info FAILOVER_MS=300 site_config site-a connect echo=accept:7001 old=accept:7002 \
    new=accept:7003
sed -i -e 's/^port = 9899$/port = 9900/' \
    -e "s|^control = .*|control = $WORK/site-a-moved.sock\nmetrics = 127.0.0.1:9464|" "$WORK/site-a.ini"
rc=0
out=$("$SCTPGW" reload -s "$WORK/site-a.sock" 2>&1) || rc=$?
[ "$rc" -eq 0 ] || fail "sctpgw reload that moves the control socket exited $rc: $out"
grep -q 'reloaded: .*metrics, control' <<<"$out" || fail "the reload did not say it moved them: $out"
for i in $(seq 50); do [ ! -e "$WORK/site-a.sock" ] && break; sleep 0.1; done
[ ! -e "$WORK/site-a.sock" ] || fail "the old control socket is still there"
gw_status site-a-moved >/dev/null || fail "no status on the moved control socket"
# The whole body first: `curl | grep -q` fails under pipefail when grep
# stops reading at its match and curl cannot write the rest (curl: (23)).
body=$(in_site a curl -sS --max-time 5 http://127.0.0.1:9464/metrics) || body=
grep -q '^sctpgw_info{name="site-a"' <<<"$body" ||
    fail "metrics turned on by a reload are not served"
sed -i '/^metrics = /d' "$WORK/site-a.ini"
out=$("$SCTPGW" reload -s "$WORK/site-a-moved.sock" 2>&1) || fail "reload through the moved socket: $out"
grep -q 'reloaded: metrics' <<<"$out" || fail "metrics off was not applied: $out"
rc=0
in_site a curl -sS --max-time 2 http://127.0.0.1:9464/metrics >/dev/null 2>&1 || rc=$?
# 7: refused; a timeout (28) would hide a listener that hangs.
[ "$rc" = 7 ] || fail "metrics after metrics was removed: curl exit $rc, expected 7 (refused)"
r=$(client a --connect 127.0.0.1:7001 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
log "ok: metrics and the control socket moved, started and stopped live"

# 6. A gateway whose default control socket (/run/sctpgw/NAME.sock) could
# not be made at start runs without one, and a reload once the folder is
# mended makes it. (Each reload saw the same path as before and never
# tried again: status stayed out of reach until a restart.) Its timers
# (an hour's outage at failover_ms 100) outrun the kernel's error limit:
# said at start.
cat >"$WORK/lonely.ini" <<INI
[gateway]
name = lonely
psk_file = site.key

[association]
role = listen
port = 9898
local = 10.1.0.2
failover_ms = 100
outage_ms = 3600000

[back]
connect = 127.0.0.1:9
INI
rm -rf /run/sctpgw
: >/run/sctpgw # a file where the folder should be
gw_start b lonely
wait_log lonely 'running without a control socket' 10
wait_log lonely "outage_ms 3600000: the kernel's error limit \(65535\) may end a total outage after about [0-9]+ ms at failover_ms 100 with up to 8 peer addresses" 1
rm -f /run/sctpgw
kill -HUP "$(gw_pid lonely)"
wait_log lonely 'reload: control socket /run/sctpgw/lonely.sock' 10
"$SCTPGW" status -s /run/sctpgw/lonely.sock >/dev/null || fail "no status after the reload"
log "ok: the default control socket, impossible at start, made by a reload"

# 7. A reload while site a dials. At failover_ms 2000 its INITs go 1 s
# apart, eight of them before the dial gives up: the links come back
# within the dial that the reload found under way.
gw_stop TERM site-a
LOG_LEVEL=debug FAILOVER_MS=2000 site_config site-a connect echo=accept:7001
topo_cut 1 2
ups=$(count_log site-a 'up: peer proved the key')
dials=$(count_log site-a 'dialing again')
gw_start a site-a
# The dial under way (a SIGHUP before the gateway takes the signal would
# be lost, one before the dial would test nothing).
t0=$(now_ms)
until gw_status site-a 2>/dev/null | grep -q '^  state: connecting'; do
    [ $(($(now_ms) - t0)) -lt 10000 ] || fail "site-a: no association connecting within 10 s"
    sleep 0.1
done
LOG_LEVEL=debug FAILOVER_MS=300 site_config site-a connect echo=accept:7001
hup site-a
wait_log site-a 'reload: failover_ms 2000 -> 300' 1
topo_restore 1 2
wait_log site-a 'up: peer proved the key' 20 $((ups + 1))
[ "$(count_log site-a 'dialing again')" -eq "$dials" ] ||
    fail "site a dialed again: the dial under way at the reload did not come up"
timers_read
expect_timers site-a 75 150 75
r=$(client a --connect 127.0.0.1:7001 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
log "ok: an association dialed across a reload has the new timers"

# 8. The lonely gateway of step 6 (no peer: it stops at once), restarted to
# wait as it exits while $gate exists, and sent a SIGHUP then.
gw_stop TERM lonely
gate=$WORK/exit.gate
: >"$gate"
FAULT=${FAULT:-$(dirname "$GWLOAD")/libfault.so}
[ -f "$FAULT" ] || fail "no fault module at $FAULT (set FAULT)"
GW_SETENV="LD_PRELOAD=$FAULT FAULT_EXIT_WHILE=$gate" gw_start b lonely
wait_log lonely 'listening for peers on SCTP port' 10 2
kill -TERM "$(gw_pid lonely)"
wait_file "$gate.held" 10 || fail "lonely did not reach its exit within 10 s"
kill -HUP "$(gw_pid lonely)"
rm "$gate"
gw_wait_exit lonely TERM
log "ok: a SIGHUP as the gateway exits is ignored"
done_ok
