#!/usr/bin/env bash
# A back end that is down and a service unknown to the peer: the client's
# connection is closed within 1 s, the reason is logged at both ends and
# counted as refused in both ends' status (and so in their metrics), and a
# flow running beside them is untouched. A back end given by address that
# never answers (its listener's queue full, so the kernel drops each SYN)
# resets its flows at the gateway's 10 s bound, not after the kernel's
# 2 minutes of SYN retries. A failing back end is a warning once at the
# gateway that connects to it, whatever the number of flows (each flow's
# reset is an INFO line, unseen at log_level = warn); its episode ends,
# said with the count, at the first flow that connects a minute after the
# last failure (not at one within it), or when a reload moves the service
# to another back end (flows still dialling the old one then count for
# neither).
. "$(dirname "$0")/lib.sh"
pair_up
gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001
[down]
accept = 127.0.0.1:7005
[nowhere]
accept = 127.0.0.1:7006
[silent]
accept = 127.0.0.1:7007
INI
gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001
[down]
connect = 127.0.0.1:9005
[silent]
connect = 127.0.0.1:9007
INI
server_start b 127.0.0.1:9001 echo
# The silent back end: a listener with room for one connection, taken.
ip netns exec "${SITE_NS[b]}" python3 -c '
import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", 9007))
l.listen(0)
c = socket.create_connection(("127.0.0.1", 9007))
open(sys.argv[1], "w").close()
time.sleep(600)
' "$WORK/silent.ready" &
PIDS+=($!)
PID_NAME[$!]=silent
wait_file "$WORK/silent.ready" 10
pair_start
client a --connect 127.0.0.1:7001 --flows 4 --mode paced --count 300 --timeout-ms 60000 \
    >"$WORK/beside.out" &
pid=$!
sleep 0.5
for port in 7005 7006; do
    r=$(client a --connect "127.0.0.1:$port" --flows 8 --mode expect-close --timeout-ms 5000)
    log "port $port: $r"
    expect "$r" ok == 8
    expect "$r" refused == 0
    expect "$r" close_ms '<=' 1000
done
down_at=$(now_ms) # [down]'s last failure is behind
r=$(client a --connect 127.0.0.1:7007 --flows 2 --mode expect-close --timeout-ms 20000)
log "port 7007 (silent back end): $r"
expect "$r" ok == 2
expect "$r" close_ms '>=' 9500
expect "$r" close_ms '<=' 13000
wait "$pid" || true
r=$(<"$WORK/beside.out")
log "beside: $r"
expect "$r" ok == 4
expect "$r" bytes_verified == $((4 * 300 * 1024))
# Both ends say why.
[ "$(count_log site-b 'back end 127.0.0.1:9005: connection refused')" -ge 1 ] || fail "site-b did not log the refusal"
[ "$(count_log site-a 'peer: connection refused')" -ge 1 ] || fail "site-a did not log the refusal"
[ "$(count_log site-b 'reset: back end 127.0.0.1:9007: connection timed out')" -eq 2 ] ||
    fail "site-b did not log the silent back end's timeouts"
[ "$(count_log site-a 'peer: back end unreachable')" -ge 2 ] ||
    fail "site-a did not log the silent back end's timeouts"
[ "$(count_log site-b 'unknown service|no such connect service')" -ge 1 ] || fail "site-b did not log the unknown service"
[ "$(count_log site-a 'peer: unknown service')" -ge 1 ] || fail "site-a did not log the unknown service"
# Refused flows at each end, by service: the near end's [down], [nowhere]
# and [silent] (the peer's refusals), the far end's [down] and [silent]
# (its back ends'); [echo] refused none.
refused() {
    gw_status "$1" --json | python3 -c '
import json, sys
print(" ".join("%s=%d" % (s["name"], s["flows_refused"]) for s in json.load(sys.stdin)["services"]))'
}
r=$(refused site-a) || fail "status of site-a failed"
log "site a refused: $r"
[ "$r" = "echo=0 down=8 nowhere=8 silent=2" ] || fail "site a's refused flows: $r"
r=$(refused site-b) || fail "status of site-b failed"
log "site b refused: $r"
[ "$r" = "echo=0 down=8 silent=2" ] || fail "site b's refused flows: $r"
# Its association opened the flows that reached a back end or tried to:
# 4 + 8 + 2, not the 8 OPENs of a service it does not have.
r=$(gw_status site-b --json | python3 -c '
import json, sys
print(json.load(sys.stdin)["associations"][0]["flows_opened"])') || fail "status of site-b failed"
[ "$r" = 14 ] || fail "site b's association opened $r flows, not 14"
# One warning per failing back end, not one per flow.
for want in '\[down\]: back end 127.0.0.1:9005: connection refused' \
    '\[silent\]: back end 127.0.0.1:9007: connection timed out'; do
    n=$(count_log site-b "WARN .*$want; the peer's flows fail while it does")
    [ "$n" -eq 1 ] || fail "site b warned $n times of '$want', not once"
done
server_start b 127.0.0.1:9005 echo
r=$(client a --connect 127.0.0.1:7005 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
[ "$(count_log site-b 'answers again')" -eq 0 ] ||
    fail "[down]'s episode ended less than a minute after its last failure"
# Two more flows to [silent] dial its silent back end when a reload moves
# the service to the echo one.
client a --connect 127.0.0.1:7007 --flows 2 --mode expect-close --timeout-ms 20000 \
    >"$WORK/late.out" &
late=$!
t0=$(now_ms)
until [ "$(svc_field site-b silent flows_open)" -eq 2 ]; do
    [ $(($(now_ms) - t0)) -lt 5000 ] || fail "site b: the 2 late flows of [silent] not open within 5 s"
    sleep 0.1
done
sed -i 's/^connect = 127.0.0.1:9007$/connect = 127.0.0.1:9001/' "$WORK/site-b.ini"
kill -HUP "$(gw_pid site-b)"
wait_log site-b 'reload: \[silent\]: back end 127.0.0.1:9007: 2 flows failed in [0-9]+ ms, no more$' 5
r=$(client a --connect 127.0.0.1:7007 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
wait "$late" || true
r=$(<"$WORK/late.out")
log "the 2 flows dialling across the reload: $r"
expect "$r" ok == 2
[ "$(count_log site-b 'reset: back end 127.0.0.1:9007: connection timed out')" -eq 4 ] ||
    fail "site b: the 2 late flows did not time out on the old back end"
n=$(count_log site-b "WARN .*\[silent\]: back end")
[ "$n" -eq 1 ] || fail "site b warned $n times of [silent]'s back end: the late flows counted"
log "ok: a reload moving [silent] ended its back end's episode; late flows counted for neither"
until [ "$(now_ms)" -ge $((down_at + 61000)) ]; do sleep 1; done
r=$(client a --connect 127.0.0.1:7005 --flows 1 --mode echo --bytes 64K --timeout-ms 10000)
expect "$r" ok == 1
wait_log site-b '\[down\]: back end 127.0.0.1:9005 answers again: 8 flows failed in [0-9]{1,4} ms$' 5
[ "$(count_log site-b 'answers again')" -eq 1 ] || fail "site b said a back end's return more than once"
log "ok: a failing back end warned of once, its return said a minute after"
done_ok
