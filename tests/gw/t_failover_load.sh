#!/usr/bin/env bash
# Failover under load, at failover_ms 300 and 500, on links of 10 Mbit/s
# each (an LTE-class line): 4 bulk flows fill the association, 8 paced
# flows (256 B every 10 ms, echoed) run beside them, and the primary link
# is cut 4 s in. Every paced flow completes with every byte, its largest gap
# stays within failover_ms + SLACK_MS (300, as t_failover allows without
# the load) or, when the load alone already cost more, failover_ms + the
# largest gap the paced flows saw before the cut (the bed's CPUs then are
# what the flows wait on, not the failover); no flow is reset, the
# association is never lost, and the bulk flows carry on: from 1 s after
# the cut they move at least 40% of a link's rate (status's bytes out, over
# a second or more).
#
# Measured: 245-354 ms at 300 and 339-509 ms at 500 in three runs of cd20bad
# (the largest gap before the cut 179-250 ms, the bulk flows at 74-90% of a
# link's rate after it); 380-435 ms at 300 and 295-427 ms at 500 in two runs
# before 986a906, and 220-427 ms in ten runs of the same load with no cut
# at all (the bed's emulated CPUs, busy with the load;
# tests/bench/README.md); 616 ms at 300 on a slower CI machine, which a
# bound of failover_ms + 300 failed;
# earlier builds 161-527 ms at 300 (the most with a timeout of the
# remaining path under the load, which costs its RTO and a slow start) and
# 178-476 ms at 500. The links are slow so that the link is what the bulk flows
# fill, as on a real line: unlimited, they fill the bed's emulated CPUs
# instead, and the paced flows then saw gaps of 450-760 ms with no link cut
# at all, which says nothing about failover. Before messages shrank to the
# association's rate while flows contend (pace.h), a round of four bulk
# flows' 64 KiB messages took 210 ms on such a link and the gaps were
# 490-780 ms, cut or not; with the send buffer's floor of 256 KiB in the
# link, paths timed out while alive.
. "$(dirname "$0")/lib.sh"
RATE=10mbit
SLACK_MS=300
# Stopping a pair after the checks: the killed bulk client leaves
# megabytes in its TCP buffers, which its flows would carry on the 10
# Mbit/s link until drain_ms (5 s by default, for each failover_ms) before
# the gateways reset them and exit. Nothing is measured by then: half a
# second of drain, still the graceful stop gw_stop asks for.
DRAIN_MS=500
topo_up --links 2 --delay 5 --rate "$RATE"
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 bulk

# cut_under_load F: a fresh pair at failover_ms F, the cut, the checks.
cut_under_load() {
    local f=$1 bulk paced r o1 o2 rate base slack
    FAILOVER_MS=$f echo_bulk_config "-$f"
    pair_start "-$f"
    sleep 1 # both paths confirmed by heartbeats
    client_bg a "$WORK/bulk.out" --connect 127.0.0.1:7002 --mode bulk --flows 4 --bytes 64G \
        --timeout-ms 600000
    bulk=$CLIENT_PID
    sleep 2 # the bulk flows fill the association
    # gwload cuts the link 4 s into the paced flows (--at-ms): whenever
    # they start, the cut falls while they run.
    client a --connect 127.0.0.1:7001 --flows 8 --mode paced --chunk 256 --interval-ms 10 \
        --count 700 --no-fin --timeout-ms 60000 \
        --at-ms 4000 --at-cmd "\"$TOPO\" cut 1 && : >\"$WORK/cut-$f\"" >"$WORK/paced.out" &
    paced=$!
    wait_file "$WORK/cut-$f" 30 "$paced" || fail "link 1 was not cut 4 s into the paced flows"
    log "link 1 cut, 4 s into the paced flows"
    sleep 1
    o1=$(gw_bytes_out "site-a-$f")
    sleep 1
    o2=$(gw_bytes_out "site-a-$f")
    rate=$(bytes_rate "$o1" "$o2")
    log "bulk after the cut: $rate bytes/s (the link: 1250000)"
    [ "$rate" -ge 500000 ] || fail "the bulk flows moved $rate bytes/s after the failover, under 40% of the link"
    wait "$paced" || true
    kill -0 "$bulk" 2>/dev/null || fail "the bulk flows ended during the failover: $(<"$WORK/bulk.out")"
    r=$(<"$WORK/paced.out")
    log "failover_ms $f, paced beside bulk, link 1 cut: $r"
    expect "$r" ok == 8
    expect "$r" bytes_verified == $((8 * 700 * 256))
    expect "$r" at_ms '>=' 3900 # the cut ran while they did
    base=$(kv "$r" max_gap_before_at_ms)
    base=${base%.*}
    slack=$((base > SLACK_MS ? base : SLACK_MS))
    log "largest gap before the cut (the load alone): $base ms; allowed: $f + $slack ms"
    expect "$r" max_gap_ms '<=' $((f + slack))
    [ "$(count_log "site-a-$f" 'up: peer proved the key')" -eq 1 ] || fail "the association was lost"
    [ "$(count_log "site-a-$f" 'reset:')" -eq 0 ] || fail "a flow was reset"
    kill "$bulk" 2>/dev/null || true
    wait "$bulk" 2>/dev/null || true
    gw_stop TERM "site-a-$f" "site-b-$f"
    # Back at once (one tc batch): the next pair dials on it, then waits
    # for its heartbeats.
    topo_restore 1
}

cut_under_load 300
cut_under_load 500
done_ok
