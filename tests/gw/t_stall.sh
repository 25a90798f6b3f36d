#!/usr/bin/env bash
# A flow's TCP end that takes none of the bytes sent to it, with
# stall_ms = 3000 at both gateways:
# - a client that reads nothing of its download (1 MiB echoed back to it,
#   its receive buffer 4 KiB) for 12 s, then reads;
# - a back end that reads nothing of an upload (64 MiB toward a sink that
#   sleeps for the whole test).
# Asserts, for each: the gateway facing the stalled end logs "took none of
# the bytes sent to it for 3000 ms (stall_ms)" 3 to 9 s after the client
# connected (the kernel's zero-window probes keep the time: stall_ms after
# the window shut, give or take a probe); the uploading client's
# connection is reset then too, and the downloading one's once it reads
# (the gateway's kernel gave up on that connection without a word: the
# reset answers its window opening), with most of the download gone with
# the flow; then neither gateway has a flow left, nor site b a connection
# to the sink; a paced echo flow beside them all along loses no byte. With
# no bound (the code before stall_ms) neither flow ever ends.
. "$(dirname "$0")/lib.sh"
STALL=$(dirname "$0")/stall.py
pair_up
export GW_EXTRA="stall_ms = 3000"
gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001
[up]
accept = 127.0.0.1:7002
INI
gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001
[up]
connect = 127.0.0.1:9002
INI
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 sink --delay-read-ms 600000
pair_start
client_bg a "$WORK/beside.out" --connect 127.0.0.1:7001 --flows 2 --mode paced --count 1500 \
    --interval-ms 20 --timeout-ms 100000
beside=$CLIENT_PID

# stalled NAME SITE WHO PORT BYTES HOLD_S: the client (it reads after
# HOLD_S), its reset and when SITE logged WHO's stall, against its connect.
stalled() {
    local r at pat="reset: $3: took none of the bytes sent to it for 3000 ms \\(stall_ms\\)"
    r=$(in_site a python3 "$STALL" "127.0.0.1:$4" "$5" "$6" 20)
    log "$1: $r"
    [ "$(kv "$r" errno)" = ECONNRESET ] || fail "$1: the client's connection was not reset: $r"
    wait_log "$2" "$pat"
    at=$(log_times "$2" "$pat")
    STALLED_MS=$((at - $(kv "$r" connect_ms)))
    log "$1: $2 logged the stall ${STALLED_MS} ms after the connect"
    [ "$STALLED_MS" -ge 3000 ] && [ "$STALLED_MS" -le 9000 ] ||
        fail "$1: the stall was logged ${STALLED_MS} ms after the connect, not 3000..9000"
    REPORT=$r
}
stalled download site-a client 7001 $((1 << 20)) 12
expect "$REPORT" received '<' $((1 << 19))
stalled upload site-b 'back end' 7002 $((64 << 20)) 0
expect "$REPORT" reset_ms '>=' 3000
expect "$REPORT" reset_ms '<=' 9000

# flows_open SITE: the flows open at a site's association, by its status.
flows_open() {
    gw_status "$1" --json | python3 -c '
import json, sys
print(sum(a["flows_open"] for a in json.load(sys.stdin)["associations"]))'
}
# Only the two paced flows are left, at both ends and at the back ends.
end=$(($(now_ms) + 5000))
while :; do
    a=$(flows_open site-a) && b=$(flows_open site-b) || fail "status failed"
    up=$(in_site b ss -Htn state established '( dport = :9002 )' | wc -l)
    echo_n=$(in_site b ss -Htn state established '( dport = :9001 )' | wc -l)
    [ "$a/$b/$up/$echo_n" != 2/2/0/2 ] || break
    [ "$(now_ms)" -lt "$end" ] ||
        fail "flows open at site a $a, site b $b (want 2 each); connections to the sink $up (want 0), to the echo back end $echo_n (want 2)"
    sleep 0.2
done
log "ok: only the paced flows are left (2 at each end, 2 connections to the echo back end)"
wait "$beside" || true
r=$(<"$WORK/beside.out")
log "beside: $r"
expect "$r" ok == 2
expect "$r" bytes_verified == $((2 * 1500 * 1024))
done_ok
