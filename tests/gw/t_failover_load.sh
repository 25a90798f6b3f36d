#!/usr/bin/env bash
# Failover under load, at failover_ms 300 and 500: 8 paced flows (1 KB every
# 10 ms) beside 4 bulk flows that fill the association; the primary link is
# cut 2 s in. Every paced flow completes with every byte, its largest gap
# stays within failover_ms + FAILOVER_SLACK_MS (300 ms for a busy machine;
# measured 244-333 ms at 300 and 191-304 at 500 before encryption, 542 ms
# at 300 once with it, the bed's emulated CPUs being the limit; the gateway
# before per-flow queues left 371 ms at 300 and 483-987 at 500), the bulk flows
# carry on, and no flow is reset. A sanitized build is slower (391 ms seen
# at 300): there the bound is loose; the plain build checks the timing.
. "$(dirname "$0")/lib.sh"
slack=300
[ -z "${SCTPGW_SANITIZED:-}" ] || slack=1000
FAILOVER_SLACK_MS=${FAILOVER_SLACK_MS:-$slack}
pair_up
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 bulk

# cut_under_load F: a fresh pair at failover_ms F, the cut, the checks.
cut_under_load() {
    local f=$1 bulk paced r
    FAILOVER_MS=$f echo_bulk_config "-$f"
    pair_start "-$f"
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
    wait "$bulk" 2>/dev/null || true
    r=$(cat "$WORK/paced.out")
    log "failover_ms $f, paced beside bulk, link 1 cut: $r"
    expect "$r" ok == 8
    expect "$r" bytes_verified == $((8 * 500 * 1024))
    expect "$r" max_gap_ms '<=' $((f + FAILOVER_SLACK_MS))
    [ "$(count_log "site-a-$f" 'up: peer proved the key')" -eq 1 ] || fail "the association was lost"
    [ "$(count_log "site-a-$f" 'reset:')" -eq 0 ] || fail "a flow was reset"
    kill "$(gw_pid "site-a-$f")" "$(gw_pid "site-b-$f")"
    wait "$(gw_pid "site-a-$f")" "$(gw_pid "site-b-$f")" 2>/dev/null || true
    topo_restore 1
    sleep 1
}

cut_under_load 300
cut_under_load 500
done_ok
