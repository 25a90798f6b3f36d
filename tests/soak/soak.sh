#!/usr/bin/env bash
# tests/soak/soak.sh: the link-flap soak, inside the test bed (tests/vm/run,
# as root). tests/soak/run starts it from the host; tests/gw/t_soak.sh runs a
# three-flap version in the suite (link 1, link 2, both).
#
# Usage: soak.sh [--flaps N] [--minutes M] [--udp PORT] [--out DIR]
#   --flaps N    flaps to make (default 100; 0: no limit)
#   --minutes M  stop flapping after M minutes (default: no limit; alone it
#                makes the number of flaps unlimited)
#   --udp PORT   SCTP inside UDP (udp_port = PORT, net.sctp.udp_port at
#                both sites) across links that drop native SCTP, as a cloud
#                may: every path must come back inside UDP after each flap
#   --out DIR    also write report.txt, flaps.txt, gaps.txt and the logs there
#
# One gateway pair (failover_ms 500, outage_ms 4000) over two links with 5 ms
# delay. While the flaps go on, without a pause:
#   bulk   rounds of 2 flows x 16 MiB (SOAK_BULK_BYTES), each byte verified
#          by the back end;
#   paced  two overlapping loops of rounds of 4 flows, 1 KiB every 10 ms for
#          5 s, echoed and verified, each gap of 50 ms or more logged with
#          its wall-clock time (gwload --gap-log); the rounds under way
#          when the flaps are over end early (--stop-file);
#   churn  rounds of 8 short echo flows (16 KiB each), opened and closed one
#          round after another.
# A flap cuts link 1, link 2, or (every fifth; every SOAK_BOTH_EVERY'th if
# set) both links, holds the cut (one link: 0.6 to 2 s; both: 1 to 2 s,
# always less than outage_ms),
# restores it and lets 1.5 s pass before the next. Flap i owns the paced
# gaps that begin between its cut and the next flap's (100 ms of leeway: a
# gap begins with the last read before the cut took effect), so a stall
# that begins after a restore and lasts into the next flap is its own.
#
# The report (stdout) and what it asserts:
#   flows lost        flows that did not complete, over every round: 0
#   bytes mismatched  bytes not verified in the rounds (expected - verified): 0
#   largest gap       per flap; one link cut: <= failover_ms + GAP_SLACK_MS;
#                     both cut: <= the outage (from the start of the cut to
#                     the end of the restore) + failover_ms + GAP_SLACK_MS
#                     (GAP_SLACK_MS 1000 by default: the soak looks for
#                     stalls; t_failover and t_failover_load, without and
#                     with bulk flows, hold it to failover_ms + 300)
#   association       site a logs one 'up' in the whole run (never lost)
#   memory and fds    each gateway's VmRSS and open descriptors (/proc/PID)
#                     at start (after a warm-up round, flows closed) and at
#                     end (every flow closed): fds at end <= fds at start,
#                     RSS growth <= RSS_GROWTH_KB (8192 by default)
#   native packets    with --udp: native SCTP packets the links dropped
#                     (a path redialled or answered outside UDP): 0
. "$(dirname "$0")/../gw/lib.sh"

flaps=100 minutes=0 out="" flaps_set=0 udp=0
while [ $# -gt 0 ]; do
    case $1 in
    --flaps) flaps=$2 flaps_set=1 && shift 2 ;;
    --minutes) minutes=$2 && shift 2 ;;
    --udp) udp=$2 && shift 2 ;;
    --out) out=$2 && shift 2 ;;
    *) fail "usage: soak.sh [--flaps N] [--minutes M] [--udp PORT] [--out DIR]" ;;
    esac
done
[[ $flaps =~ ^[0-9]+$ && $minutes =~ ^[0-9]+$ && $udp =~ ^[0-9]+$ ]] ||
    fail "--flaps, --minutes and --udp take whole numbers"
[ "$minutes" -eq 0 ] || [ "$flaps_set" -eq 1 ] || flaps=0
[ "$flaps" -gt 0 ] || [ "$minutes" -gt 0 ] || fail "give --flaps or --minutes"

FAILOVER_MS=500
OUTAGE_MS=4000
GAP_SLACK_MS=${GAP_SLACK_MS:-1000}
RSS_GROWTH_KB=${RSS_GROWTH_KB:-8192}
SETTLE_MS=1500
STOP=$WORK/stop
LOOPS=()

# Loops run gwload rounds in the background; on the way out (a failure
# included) they stop and their current client with them.
soak_cleanup() {
    local rc=$? pid
    touch "$STOP"
    for pid in "${LOOPS[@]}"; do
        pkill -P "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
    (exit "$rc")
    cleanup
}
trap soak_cleanup EXIT

# ---- traffic --------------------------------------------------------------

BULK_FLOWS=2 BULK_BYTES=${SOAK_BULK_BYTES:-$((16 << 20))}
BOTH_EVERY=${SOAK_BOTH_EVERY:-5}
PACED_FLOWS=4 PACED_COUNT=500 PACED_CHUNK=1024
CHURN_FLOWS=8 CHURN_BYTES=16384

bulk_round() {
    client a --connect 127.0.0.1:7002 --mode bulk --flows $BULK_FLOWS --bytes $BULK_BYTES \
        --timeout-ms 300000
}
paced_round() {
    client a --connect 127.0.0.1:7001 --mode paced --flows $PACED_FLOWS --count $PACED_COUNT \
        --chunk $PACED_CHUNK --interval-ms 10 --no-fin --timeout-ms 120000 \
        --gap-log "$WORK/gaps.txt" --gap-min-ms 50 --stop-file "$STOP"
}
churn_round() {
    client a --connect 127.0.0.1:7001 --mode echo --flows $CHURN_FLOWS --bytes $CHURN_BYTES \
        --timeout-ms 60000
}

# loop KIND [DELAY_S]: rounds of KIND, each report a line of $WORK/KIND.out,
# until the stop file appears. A round whose client died without a report
# counts its flows as lost.
loop() {
    local kind=${1%[0-9]} out flows
    sleep "${2:-0}"
    while [ ! -e "$STOP" ]; do
        out=$("${kind}_round") || true
        if [ -z "$out" ]; then
            flows=${kind^^}_FLOWS
            out="mode=$kind flows=${!flows} ok=0 failed=${!flows} bytes_verified=0 first_error=no_report"
        fi
        echo "$out" >>"$WORK/$kind.out"
    done
}

start_loops() {
    loop bulk &
    LOOPS+=($!)
    loop paced1 &
    LOOPS+=($!)
    loop paced2 2.5 & # one paced round always runs, whatever the flap's time
    LOOPS+=($!)
    loop churn &
    LOOPS+=($!)
}

stop_loops() {
    local pid
    touch "$STOP"
    for pid in "${LOOPS[@]}"; do wait "$pid" || true; done
    LOOPS=()
}

# ---- gateways' resources ---------------------------------------------------

# sample NAME: "rss_kb fds" of a gateway.
sample() {
    local pid
    pid=$(gw_pid "$1")
    [ -d "/proc/$pid" ] || fail "$1 (pid $pid) is gone"
    echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") $(ls "/proc/$pid/fd" | wc -l)"
}

# settle NAME [MAX_FDS]: waits until the gateway's descriptors stop changing
# (flows closed at both ends), or until they are at most MAX_FDS; 15 s at
# most.
settle() {
    local name=$1 max=${2:-} prev="" now i
    for i in $(seq 30); do
        now=$(sample "$name")
        now=${now#* }
        [ -n "$max" ] && [ "$now" -le "$max" ] && return 0
        [ -z "$max" ] && [ "$now" = "$prev" ] && return 0
        prev=$now
        sleep 0.5
    done
}

# ---- flaps -----------------------------------------------------------------

ms_sleep() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }

# flap I: one cut and its restore; a line "I KIND CUT_AT HOLD_MS DOWN_MS" in
# flaps.txt, DOWN_MS from the start of the cut to the end of the restore
# (under load a tc command may take a few hundred ms).
flap() {
    local i=$1 kind links hold t0 t1
    if [ $((i % BOTH_EVERY)) -eq 0 ]; then
        kind=both links="1 2" hold=$((1000 + i / BOTH_EVERY * 300 % 1100))
    else
        kind=$((2 - i % 2)) links=$kind hold=$((600 + i * 700 % 1500))
    fi
    t0=$EPOCHREALTIME
    # shellcheck disable=SC2086 # one or two link numbers
    "$TOPO" cut $links
    ms_sleep "$hold"
    # shellcheck disable=SC2086
    "$TOPO" restore $links
    t1=$EPOCHREALTIME
    echo "$i $kind $t0 $hold $(((${t1/./} - ${t0/./}) / 1000))" >>"$WORK/flaps.txt"
    ms_sleep $SETTLE_MS
}

# ---- the run ---------------------------------------------------------------

pair_up
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 bulk
if [ "$udp" -gt 0 ]; then
    native_sctp_drop
    udp_sysctl "$udp"
    ASSOC_EXTRA="udp_port = $udp"
fi
FAILOVER_MS=$FAILOVER_MS OUTAGE_MS=$OUTAGE_MS echo_bulk_config
pair_start
sleep 1 # both paths confirmed by heartbeats

# Warm-up: one round of each kind, so that the start figures are taken with
# the gateways' buffers already in use once.
bulk_round >"$WORK/warm.out"
paced_round >>"$WORK/warm.out"
churn_round >>"$WORK/warm.out"
[ "$(grep -c 'failed=0 ' "$WORK/warm.out")" -eq 3 ] || fail "warm-up failed: $(cat "$WORK/warm.out")"
rm -f "$WORK/gaps.txt"
settle site-a
settle site-b
read -r rss_a0 fds_a0 <<<"$(sample site-a)"
read -r rss_b0 fds_b0 <<<"$(sample site-b)"
log "start: site-a rss ${rss_a0} kB, ${fds_a0} fds; site-b rss ${rss_b0} kB, ${fds_b0} fds"

: >"$WORK/flaps.txt"
start_loops
sleep 2 # every kind of flow is under way
t_start=$(date +%s)
n=0
while :; do
    [ "$flaps" -eq 0 ] || [ "$n" -lt "$flaps" ] || break
    [ "$minutes" -eq 0 ] || [ $(($(date +%s) - t_start)) -lt $((minutes * 60)) ] || break
    n=$((n + 1))
    flap "$n"
    [ $((n % 10)) -ne 0 ] || log "$n flaps"
done
t_end_flaps=$EPOCHREALTIME
log "$n flaps done; waiting for the rounds under way"
stop_loops

settle site-a "$fds_a0"
settle site-b "$fds_b0"
read -r rss_a1 fds_a1 <<<"$(sample site-a)"
read -r rss_b1 fds_b1 <<<"$(sample site-b)"

# ---- the report -----------------------------------------------------------

# totals FILE PER_FLOW_BYTES: "rounds flows ok verified expected" of a loop.
# A paced round the stop file ended early expects what it sent.
totals() {
    awk -v per="$2" '{
        delete v
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rounds++; flows += v["flows"]; ok += v["ok"]; got += v["bytes_verified"]
        want += ("bytes_sent" in v && v["mode"] == "paced") ? v["bytes_sent"] : v["flows"] * per
    } END { printf "%d %d %d %.0f %.0f\n", rounds, flows, ok, got, want }' "$1"
}

report() {
    local kind per rounds flows ok got want lost=0 mismatched=0 all=0
    for kind in bulk paced churn; do
        case $kind in
        bulk) per=$BULK_BYTES ;;
        paced) per=$((PACED_COUNT * PACED_CHUNK)) ;;
        churn) per=$CHURN_BYTES ;;
        esac
        touch "$WORK/$kind.out"
        read -r rounds flows ok got want <<<"$(totals "$WORK/$kind.out" "$per")"
        echo "$kind: $rounds rounds, $flows flows, $ok completed, $got of $want bytes verified"
        lost=$((lost + flows - ok)) mismatched=$((mismatched + want - got)) all=$((all + flows))
    done
    echo "flows: $all; flows lost: $lost; bytes mismatched: $mismatched"
    echo "gateways (rss kB, open fds) at start and end:"
    echo "  site-a: $rss_a0 -> $rss_a1 kB, $fds_a0 -> $fds_a1 fds"
    echo "  site-b: $rss_b0 -> $rss_b1 kB, $fds_b0 -> $fds_b1 fds"
    echo "largest paced gap per flap (ms):"
    touch "$WORK/gaps.txt"
    awk -v end="$t_end_flaps" -v f="$FAILOVER_MS" -v s="$GAP_SLACK_MS" '
        NR == FNR { n++; id[n] = $1; kind[n] = $2; at[n] = $3; hold[n] = $4; down[n] = $5; next }
        {
            for (i = n; i >= 1 && $1 + 0.1 < at[i]; i--) ;
            if (i >= 1 && $3 > gap[i]) gap[i] = $3
            if (i < 1 && $3 > base) base = $3
        }
        END {
            printf "  before the first flap: %.0f\n", base
            for (i = 1; i <= n; i++) {
                bound = (kind[i] == "both" ? down[i] : 0) + f + s
                over = gap[i] > bound ? "  OVER " bound : ""
                # Both links down for a second or more stalls every paced
                # flow: no gap logged means the gap log is not working.
                if (kind[i] == "both" && gap[i] == 0) over = "  UNSEEN (no gap logged)"
                printf "  flap %d: %s, held %d ms, cut to restored %d ms: %.0f%s\n", id[i],
                    kind[i] == "both" ? "both links" : "link " kind[i], hold[i], down[i], gap[i], over
                if (kind[i] == "both") { if (gap[i] > mb) mb = gap[i] }
                else if (gap[i] > m1) m1 = gap[i]
            }
            printf "largest gap: one link cut %.0f ms (bound %d), both cut %.0f ms (bound: cut to restored + %d)\n",
                m1, f + s, mb, f + s
        }' "$WORK/flaps.txt" "$WORK/gaps.txt"
    echo "association ups at site a: $(count_log site-a 'up: peer proved the key')"
    [ "$udp" -eq 0 ] || echo "inside UDP port $udp; native SCTP packets dropped: $NATIVE"
    LOST=$lost MISMATCHED=$mismatched
}

NATIVE=0
[ "$udp" -eq 0 ] || NATIVE=$(native_dropped)
report >"$WORK/report.txt" # in this shell: it sets LOST and MISMATCHED
cat "$WORK/report.txt"
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$WORK/report.txt" "$WORK/flaps.txt" "$WORK/gaps.txt" "$WORK"/*.log "$WORK"/*.out "$out/" ||
        true
fi

# Every assertion is judged and said, then the run fails if any did not hold.
BAD=0
verdict() { # verdict 0|1 WHAT
    if [ "$1" = 1 ]; then
        log "ok: ${*:2}"
    else
        log "FAIL: ${*:2}"
        BAD=$((BAD + 1))
    fi
}
ups=$(count_log site-a 'up: peer proved the key')
alive=1
kill -0 "$(gw_pid site-a)" 2>/dev/null && kill -0 "$(gw_pid site-b)" 2>/dev/null || alive=0
verdict $alive "both gateways still running"
verdict $((n > 0)) "$n flaps made"
verdict $((LOST == 0)) "flows lost: $LOST (want 0)"
verdict $((MISMATCHED == 0)) "bytes mismatched: $MISMATCHED (want 0)"
verdict "$(grep -q ' OVER ' "$WORK/report.txt" && echo 0 || echo 1)" \
    "every flap's largest gap within its bound ($(grep -c ' OVER ' "$WORK/report.txt" || true) over)"
verdict "$(grep -q ' UNSEEN ' "$WORK/report.txt" && echo 0 || echo 1)" \
    "every both-links flap's gap logged ($(grep -c ' UNSEEN ' "$WORK/report.txt" || true) not)"
verdict $((ups == 1)) "site a's association up once in the whole run ($ups)"
[ "$udp" -eq 0 ] || verdict $((NATIVE == 0)) "native SCTP packets dropped: $NATIVE (want 0)"
verdict $((fds_a1 <= fds_a0)) "site-a's descriptors: $fds_a0 at start, $fds_a1 at end"
verdict $((fds_b1 <= fds_b0)) "site-b's descriptors: $fds_b0 at start, $fds_b1 at end"
verdict $((rss_a1 - rss_a0 <= RSS_GROWTH_KB)) \
    "site-a's RSS grew by $((rss_a1 - rss_a0)) kB (bound $RSS_GROWTH_KB)"
verdict $((rss_b1 - rss_b0 <= RSS_GROWTH_KB)) \
    "site-b's RSS grew by $((rss_b1 - rss_b0)) kB (bound $RSS_GROWTH_KB)"
[ "$BAD" -eq 0 ] || fail "$BAD of the soak's assertions did not hold"
done_ok
