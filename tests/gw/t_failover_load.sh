#!/usr/bin/env bash
# Failover under load: 8 paced flows (1 KB every 10 ms) beside 4 bulk flows
# that fill the association; the primary link is cut 2 s in. Every paced
# flow completes with every byte, its largest gap stays within
# failover_ms + FAILOVER_SLACK_MS, and the bulk flows carry on to the end.
. "$(dirname "$0")/lib.sh"
FAILOVER_MS=${FAILOVER_MS:-500}
FAILOVER_SLACK_MS=${FAILOVER_SLACK_MS:-300}
pair_up
gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001

[bulk]
accept = 127.0.0.1:7002
INI
gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001

[bulk]
connect = 127.0.0.1:9002
INI
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 bulk
pair_start
sleep 1 # both paths confirmed by heartbeats

client a --connect 127.0.0.1:7002 --mode bulk --flows 4 --bytes 64G --timeout-ms 600000 \
    >"$WORK/bulk.out" &
bulk=$!
sleep 2 # the bulk flows fill the association
client a --connect 127.0.0.1:7001 --flows 8 --mode paced --chunk 1024 --interval-ms 10 \
    --count 500 --no-fin --timeout-ms 60000 >"$WORK/paced.out" &
paced=$!
sleep 2
topo_cut 1
wait "$paced" || true
kill -0 "$bulk" 2>/dev/null || fail "the bulk flows ended during the failover: $(cat "$WORK/bulk.out")"
kill "$bulk" 2>/dev/null || true
r=$(cat "$WORK/paced.out")
log "paced beside bulk, link 1 cut: $r"
expect "$r" ok == 8
expect "$r" bytes_verified == $((8 * 500 * 1024))
expect "$r" max_gap_ms '<=' $((FAILOVER_MS + FAILOVER_SLACK_MS))
[ "$(count_log site-a 'up: peer proved the key')" -eq 1 ] || fail "the association was lost"
[ "$(count_log site-a 'reset:')" -eq 0 ] || fail "a flow was reset"
done_ok
