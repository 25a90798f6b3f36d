#!/usr/bin/env bash
# systemd's Type=notify protocol, with a sink playing the service manager
# (notify_sink.py) at each site: READY=1 comes only once the gateway listens
# (the SCTP port at the listening end, the accept service's TCP port at the
# dialling end), STATUS= follows the association and its flows, WATCHDOG=1
# comes at half of WATCHDOG_USEC when WATCHDOG_PID is the gateway's own pid
# and never when it is another process's, SIGHUP sends RELOADING=1 (with
# MONOTONIC_USEC=) then READY=1, and SIGTERM sends STOPPING=1 before a clean
# exit; reloads every 100 ms do not hold the pings back. Each gateway's
# environment is what systemd would set.
. "$(dirname "$0")/lib.sh"
SINK=$ROOT/tests/gw/notify_sink.py

# sink_start SITE: a notify socket at $WORK/notify-SITE.sock, its messages in
# $WORK/notify-SITE.out; sink_wait SITE... returns once their sockets are
# bound. Started together and awaited after: python3 starts in 0.3 s or
# more under emulation, and the two starts overlap.
sink_start() {
    # Not through in_site: $! must be the sink itself, for cleanup to stop it.
    "$TOPO" exec "$1" python3 "$SINK" "$WORK/notify-$1.sock" "$WORK/notify-$1.out" \
        2>>"$WORK/sink-$1.log" &
    PIDS+=($!)
    PID_NAME[$!]="sink-$1"
}
sink_wait() {
    local i site
    for site in "$@"; do
        for i in $(seq 50); do
            [ -S "$WORK/notify-$site.sock" ] && continue 2
            sleep 0.1
        done
        fail "the notify sink of site $site did not start"
    done
}

# notify_start SITE NAME WATCHDOG_PID: the gateway as systemd would start it
# with WatchdogSec=1s; WATCHDOG_PID "self" is the gateway's own pid.
notify_start() {
    local site=$1 name=$2 wpid=$3
    # sh -c ... exec: the pid that WATCHDOG_PID names is the gateway's.
    "$TOPO" exec "$site" env NOTIFY_SOCKET="$WORK/notify-$site.sock" WATCHDOG_USEC=1000000 \
        sh -c '[ "$0" = self ] && export WATCHDOG_PID=$$ || export WATCHDOG_PID=$0; exec "$@"' \
        "$wpid" "$SCTPGW" -c "$WORK/$name.ini" 2>>"$WORK/$name.log" &
    PIDS+=($!)
    PID_NAME[$!]=$name
    eval "GW_PID_${name//-/_}=$!"
}

# wait_notify SITE PATTERN [SECONDS]: waits for a message line matching.
wait_notify() {
    local i
    for i in $(seq $((${3:-10} * 10))); do
        grep -qE "$2" "$WORK/notify-$1.out" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "site $1: no notify message matching '$2' within ${3:-10}s; got: $(cat "$WORK/notify-$1.out" 2>/dev/null)"
}
n_notify() { grep -cE "$2" "$WORK/notify-$1.out" 2>/dev/null || true; }
# uptime_us: /proc/uptime (two decimals) in microseconds, with builtins
# (an awk costs a program start).
uptime_us() {
    local up _
    read -r up _ </proc/uptime
    echo $((10#${up/./} * 10000))
}

pair_up
echo_config
sink_start a
sink_start b
server_start b 127.0.0.1:9001 echo
sink_wait a b

# Site b: WATCHDOG_PID names another process (pid 1), so no pings.
notify_start b site-b 1
wait_notify b '^[0-9.]+ READY=1$'
grep -qE '^[0-9.]+ STATUS=listening, 0 associations, 0 flows$' "$WORK/notify-b.out" ||
    fail "site b: no 'listening, 0 associations' status with READY=1: $(<"$WORK/notify-b.out")"
awk 'NR > 1 && $6 == 9899 { found = 1 } END { exit !found }' "$WORK/notify-b.out.sctp-eps" ||
    fail "site b: READY=1 came before the SCTP port 9899 listened: $(<"$WORK/notify-b.out.sctp-eps")"
log "ok: site b READY=1 while listening on SCTP port 9899"

# Site a: its own pid in WATCHDOG_PID, so pings every 500 ms.
notify_start a site-a self
wait_notify a '^[0-9.]+ READY=1$'
grep -qE '^[0-9.]+ STATUS=dialing$' "$WORK/notify-a.out" ||
    fail "site a: no 'dialing' status with READY=1: $(<"$WORK/notify-a.out")"
# 0100007F:1B59 is 127.0.0.1:7001, state 0A is LISTEN.
grep -qE '^ *[0-9]+: 0100007F:1B59 00000000:0000 0A ' "$WORK/notify-a.out.tcp" ||
    fail "site a: READY=1 came before [echo] listened on 127.0.0.1:7001"
log "ok: site a READY=1 while [echo] listens"

wait_notify a '^[0-9.]+ STATUS=association up, 0 flows$'
wait_notify b '^[0-9.]+ STATUS=listening, 1 association, 0 flows$'
log "ok: STATUS follows the association up at both ends"

# Pings: about 2 a second at site a, none at site b, counted over 3 s or
# more that begin here and also hold the flows below (pings must not wait
# for flows either). The window is timed, not assumed: on a busy machine
# the waits and the counting around them take longer, and the pings keep
# coming meanwhile.
t0=${EPOCHREALTIME/,/.}
p0=$(n_notify a '^[0-9.]+ WATCHDOG=1$')

# STATUS is brought up to date at each ping (500 ms): the flows run until
# it has shown both (--stop-file; --count only caps them at 10 s), and
# the "0 flows" awaited after is a new line, not the one before them.
z0=$(n_notify a '^[0-9.]+ STATUS=association up, 0 flows$')
client a --connect 127.0.0.1:7001 --flows 2 --mode paced --count 1000 \
    --stop-file "$WORK/paced.stop" >"$WORK/paced.out" &
cpid=$!
wait_notify a '^[0-9.]+ STATUS=association up, 2 flows$' 5
proc_running "$cpid" || fail "the paced flows ended before they were stopped: $(<"$WORK/paced.out")"
touch "$WORK/paced.stop"
wait "$cpid" || true
r=$(<"$WORK/paced.out")
log "paced: $r"
expect_whole "$r" 2
for i in $(seq 50); do
    [ "$(n_notify a '^[0-9.]+ STATUS=association up, 0 flows$')" -gt "$z0" ] && break
    sleep 0.1
done
[ "$(n_notify a '^[0-9.]+ STATUS=association up, 0 flows$')" -gt "$z0" ] ||
    fail "site a: no 'association up, 0 flows' status after the flows ended: $(<"$WORK/notify-a.out")"
log "ok: site a's STATUS counted the 2 flows and their end"

# The rest of the pings' window (bash arithmetic in microseconds: awk
# would cost a program start per figure).
left=$((${t0/./} + 3000000 - ${EPOCHREALTIME/[.,]/}))
[ "$left" -le 0 ] || sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
p1=$(n_notify a '^[0-9.]+ WATCHDOG=1$')
t1=${EPOCHREALTIME/,/.}
us=$((${t1/./} - ${t0/./}))
n=$((p1 - p0))
s=$((us / 1000000)).$((us % 1000000 / 100000))
# 2 a second within 2: 2 s - 2 <= n <= 2 s + 2, with s = us / 10^6.
((n * 1000000 >= 2 * us - 2000000 && n * 1000000 <= 2 * us + 2000000)) ||
    fail "site a: $n WATCHDOG=1 in $s s with WATCHDOG_USEC=1000000, expected 2 a second (within 2)"
[ "$(n_notify b 'WATCHDOG=1')" -eq 0 ] ||
    fail "site b pinged the watchdog although WATCHDOG_PID named another process"
log "ok: $n watchdog pings in $s s at site a, none at site b"

# SIGHUP: RELOADING=1 with MONOTONIC_USEC= (the time the reload began, on
# the monotonic clock, as Type=notify-reload wants it), then READY=1 once
# the reload is over.
r0=$(n_notify a '^[0-9.]+ READY=1$')
up_before=$(uptime_us)
kill -HUP "$(gw_pid site-a)"
wait_notify a '^[0-9.]+ RELOADING=1$' 5
for i in $(seq 50); do
    [ "$(n_notify a '^[0-9.]+ READY=1$')" -gt "$r0" ] && break
    sleep 0.1
done
[ "$(n_notify a '^[0-9.]+ READY=1$')" -eq $((r0 + 1)) ] ||
    fail "site a: no second READY=1 after SIGHUP: $(<"$WORK/notify-a.out")"
# Order: RELOADING=1, its MONOTONIC_USEC= right after, then READY=1.
seq_ok=$(awk '$2 == "RELOADING=1" { r = NR } $2 ~ /^MONOTONIC_USEC=/ && r && NR == r + 1 { m = NR }
    $2 == "READY=1" && m && NR > m { ok = 1 } END { print ok + 0 }' "$WORK/notify-a.out")
[ "$seq_ok" -eq 1 ] ||
    fail "site a: not RELOADING=1, MONOTONIC_USEC=, READY=1 in that order: $(<"$WORK/notify-a.out")"
usec=$(sed -nE 's/^[0-9.]+ MONOTONIC_USEC=([0-9]+)$/\1/p' "$WORK/notify-a.out" | tail -n 1)
up_after=$(uptime_us)
# CLOCK_MONOTONIC and /proc/uptime agree to well within a second in the VM
# (it never suspends).
[ "$usec" -ge $((up_before - 1000000)) ] && [ "$usec" -le $((up_after + 1000000)) ] ||
    fail "site a: MONOTONIC_USEC=$usec is not between $up_before and $up_after (uptime, us)"
grep -q 'gw: reloaded: nothing changed' "$WORK/site-a.log" ||
    fail "site a: the reload did not log 'nothing changed': $(grep reload "$WORK/site-a.log")"
log "ok: SIGHUP at site a: RELOADING=1 with MONOTONIC_USEC=$usec, then READY=1"

# Reloads closer together than the pings (every 100 ms for 2 s, a ping due
# every 500 ms): the pings keep coming, at least one a second (half their
# rate; 4 in 4 s when this ran twice as long). Each reload's READY=1 once
# restarted their timer, and not one came.
t0=${EPOCHREALTIME/,/.}
p0=$(n_notify a '^[0-9.]+ WATCHDOG=1$')
end=$((${t0/./} + 2000000))
while [ "${EPOCHREALTIME/[.,]/}" -lt "$end" ]; do
    kill -HUP "$(gw_pid site-a)"
    sleep 0.1
done
p1=$(n_notify a '^[0-9.]+ WATCHDOG=1$')
us=$((${EPOCHREALTIME/[.,]/} - ${t0/./}))
s=$((us / 1000000)).$((us % 1000000 / 100000))
log "$(count_log site-a 'gw: reloaded: nothing changed') reloads; $((p1 - p0)) watchdog pings in $s s"
[ $((p1 - p0)) -ge 2 ] ||
    fail "site a: $((p1 - p0)) WATCHDOG=1 in $s s of reloads every 100 ms, expected about 2 a second"

for s in a b; do
    kill -TERM "$(gw_pid site-$s)"
    wait_notify $s '^[0-9.]+ STOPPING=1$' 5
    set +e
    wait "$(gw_pid site-$s)"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || fail "site $s exited $rc after SIGTERM"
    log "ok: site $s sent STOPPING=1 and exited 0"
done
# Between READY=1 and STOPPING=1 nothing but STATUS= and WATCHDOG=1.
bad=$(grep -vhE '^[0-9.]+ (READY=1|RELOADING=1|MONOTONIC_USEC=[0-9]+|STOPPING=1|STATUS=.+|WATCHDOG=1)$' \
    "$WORK"/notify-?.out || true)
[ -z "$bad" ] || fail "unexpected notify messages: $bad"
done_ok
