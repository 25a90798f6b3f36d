#!/usr/bin/env bash
# Failover of a multihomed association when its primary link is cut: two
# links with 5 ms delay, a paced probe (1 KiB every 10 ms for 4 s), link 1
# cut (100% loss both ways) 1.5 s in. With the kernel's stock timers the
# largest gap between arrivals must exceed 0.7 s (the 1 s RTO floor); with
# tuned timers (heartbeat 100 ms, path max retrans 1, RTO 20..200 ms) it must
# stay under 0.5 s. Runs inside the test-bed VM. Usage: failover.sh PROBE
. "${BASH_SOURCE[0]%/*}/lib.sh"

STOCK_MIN=${BED_STOCK_MIN_GAP:-0.7}
TUNED_MAX=${BED_TUNED_MAX_GAP:-0.5}
COUNT=400
CUT_AFTER=1.5

topo_up --links 2 --delay 5 || bed_fail "topology"
local_addrs=$(topo_addr a 1),$(topo_addr a 2)
remote=$(topo_addr b 1),$(topo_addr b 2)

# measure NAME PORT [--tuned]: sets GAP to the largest arrival gap.
measure() {
    local name=$1 port=$2
    shift 2
    bed_start_server "$name" "$port" "$remote" "$@"
    bed_start_client "$name" "$port" "$local_addrs" "$remote" \
        --count $COUNT --interval-ms 10 --size 1024 "$@"
    sleep $CUT_AFTER
    bed_log "$name: cutting link 1 (the primary)"
    topo_cut 1 || bed_fail "cut"
    bed_finish "$name"
    topo_restore 1 || bed_fail "restore"
    bed_log "$name: $BED_REPORT"
    [ "$(bed_field "$BED_REPORT" messages)" = $COUNT ] || bed_fail "$name: messages lost"
    GAP=$(bed_field "$BED_REPORT" max_gap)
}

measure stock 7100
stock=$GAP
measure tuned 7101 --tuned
tuned=$GAP
echo "failover gap: stock max_gap=${stock}s tuned max_gap=${tuned}s"

bed_gt "$stock" "$STOCK_MIN" ||
    bed_fail "stock timers: max_gap ${stock}s, expected more than ${STOCK_MIN}s (was the primary cut?)"
bed_gt "$TUNED_MAX" "$tuned" ||
    bed_fail "tuned timers: max_gap ${tuned}s, expected less than ${TUNED_MAX}s"
echo "PASS: cut primary: stock ${stock}s > ${STOCK_MIN}s, tuned ${tuned}s < ${TUNED_MAX}s"
