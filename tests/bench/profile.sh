#!/usr/bin/env bash
# tests/bench/profile.sh: where sctpgw spends its time on a benchmark
# workload, inside the test bed. Runs the sctpgw pair of the benchmark and
# one workload through it, with either
#   callgrind  both gateways under valgrind --tool=callgrind (user space,
#              instruction counts per function: OUT/callgrind.out.site-a|b)
#   perf       perf record -a -g on the software cpu-clock event (kernel and
#              user space of the whole VM: OUT/perf.data, OUT/kallsyms and
#              OUT/perf.txt: samples per process, per function, and the
#              callers of the hottest functions)
#   hops       where the interactive flow of w5b waits: captures at
#              both sites (OUT/*.pcap: each loopback's TCP leg, each link's
#              SCTP) and, from them, each hop's p50/p90/p99 (OUT/hops.txt,
#              tests/bench/hops.py)
#   queues     what each site's association holds in the kernel during the
#              workload: /proc/net/sctp/assocs every 10 ms (OUT/q-a.txt,
#              OUT/q-b.txt: time, tx_queue, rx_queue) and their p50/p90/p99
#              (OUT/queues.txt); light enough to run beside any workload
#   paths      what each SCTP path's congestion window does when link 1 is
#              cut under w6 (eight paced flows) or w6b (the same beside four
#              bulk flows): the kernel's sctp tracepoints (OUT/trace.txt),
#              the paced flows' gaps (OUT/gaps.txt) and, from them, each
#              path's window and threshold around the failover
#              (OUT/paths.txt, tests/bench/paths.py)
#   headroom   w5b's interactive flow alone, then beside its four bulk flows
#              paced at the source (gwload --rate) at each aggregate rate of
#              RATES (bytes/s, 0 unpaced; default 0 5000000 3500000 2500000
#              1500000),
#              twice: p50/p99, the rate on link 1 and the CPUs busy
#              (OUT/headroom.txt): what the CPUs' room buys the interactive
#              flow where they are the limit
#
# Usage (host): tests/vm/run --share OUT -- tests/bench/profile.sh OUT \
#                   callgrind|perf|hops|queues|paths|headroom [w1|w2|w3|w5|w5b|w6|w6b] [BYTES]
# Then: callgrind_annotate OUT/callgrind.out.site-a | head -40
# w3 is 300 round trips of 100 bytes on one flow (the benchmark's W3; its
# p50_us and p99_us on stdout), w5 one bulk flow beside the interactive
# one at 2% loss, w5b four on clean links (the benchmark's W5 and W5b);
# RATE (say 10mbit) limits both links. Environment: SCTPGW, GWLOAD
# (binaries), ENCRYPTION, RATE, FAILOVER_MS (the pair's budget, 500 as in
# the benchmark), CAPTURE (set:
# capture every link and the TCP hops as hops does, whatever the tool;
# with w6 or w6b, OUT/cut.txt then says what each site sent around the cut,
# tests/bench/cut.py). Every tool leaves the gateways' logs in
# OUT/site-a.log and OUT/site-b.log.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../net/topo.sh
. "$ROOT/tests/net/topo.sh"
# shellcheck source=gwpair.sh
. "$ROOT/tests/bench/gwpair.sh"
: "${SCTPGW:?path of the sctpgw binary}"
: "${GWLOAD:?path of the gwload binary}"
OUT=${1:?output folder}
TOOL=${2:?callgrind, perf, hops, queues, paths or headroom}
WORKLOAD=${3:-w1}
BYTES=${4:-8M}
WORK=$(mktemp -d /tmp/sctpgw-prof.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    topo_down >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"

case "$TOOL:$WORKLOAD" in
callgrind:* | perf:* | queues:* | hops:w5b | headroom:w5b | paths:w6 | paths:w6b) ;;
*) echo "profile: $TOOL $WORKLOAD: unknown (hops and headroom take w5b, paths w6 or w6b)" >&2 && exit 2 ;;
esac
if [ "$TOOL" = hops ] && [ "${ENCRYPTION:-on}" = off ]; then
    echo "profile: hops reads the sealed messages' sizes: run it encrypted" >&2
    exit 2
fi
topo_up --links 2 --delay 5 ${RATE:+--rate "$RATE"} || exit 1
ip netns exec sgb "$GWLOAD" server --listen 0.0.0.0:9001 --mode bulk &
PIDS+=($!)
ip netns exec sgb "$GWLOAD" server --listen 0.0.0.0:9002 --mode echo &
PIDS+=($!)
gwpair_write "$WORK" "${FAILOVER_MS:-500}" "${ENCRYPTION:-}" || exit 1
run_gw() { # run_gw SITE NAME INI
    local ns=sg$1
    if [ "$TOOL" = callgrind ]; then
        ip netns exec "$ns" valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.$2" \
            "$SCTPGW" -c "$3" 2>"$WORK/$2.log" &
    else
        ip netns exec "$ns" "$SCTPGW" -c "$3" 2>"$WORK/$2.log" &
    fi
    PIDS+=($!)
}
TRACING=/sys/kernel/tracing
if [ "$TOOL" = paths ]; then # from the start: a path's threshold falls early
    [ -d $TRACING/events ] || mount -t tracefs tracefs $TRACING || exit 1
    echo 65536 >$TRACING/buffer_size_kb
    echo >$TRACING/trace
    echo 1 >$TRACING/events/sctp/sctp_probe_path/enable
    echo "MARK $(date +%s.%N)" >$TRACING/trace_marker
fi
run_gw b site-b "$WORK/listen.ini"
run_gw a site-a "$WORK/connect.ini"
for ((i = 0; i < 600; i++)); do
    grep -q 'up: peer proved the key' "$WORK/site-a.log" 2>/dev/null && break
    sleep 0.1
done
grep -q 'up: peer proved the key' "$WORK/site-a.log" || {
    echo "profile: the association did not come up" >&2
    cat "$WORK"/*.log >&2
    exit 1
}
sleep 1
if [ "$TOOL" = perf ]; then
    echo 0 >/proc/sys/kernel/kptr_restrict
    echo -1 >/proc/sys/kernel/perf_event_paranoid
    perf record -e cpu-clock -F 499 -a -g -o "$OUT/perf.data" 2>"$WORK/perf.log" &
    perf_pid=$!
    sleep 1
fi
caps=()
if [ "$TOOL" = hops ] || [ -n "${CAPTURE:-}" ]; then
    for s in a b; do
        port=$([ $s = a ] && echo 7402 || echo 9002)
        ip netns exec sg$s tcpdump -i lo -B 16384 -w "$OUT/$s-lo.pcap" "tcp port $port" \
            2>"$OUT/$s-lo.tcpdump" &
        caps+=($!)
        for l in l1 l2; do
            ip netns exec sg$s tcpdump -i $l -B 16384 -w "$OUT/$s-$l.pcap" sctp 2>"$OUT/$s-$l.tcpdump" &
            caps+=($!)
        done
    done
    PIDS+=("${caps[@]}") # stopped by cleanup if this run ends early
    sleep 1
fi
samplers=()
if [ "$TOOL" = queues ]; then
    for s in a b; do # one process a site: a fork per sample would load the bed
        ip netns exec sg$s python3 -c '
import sys, time
out = open(sys.argv[1], "w")
while True:
    now = time.time()
    for line in open("/proc/net/sctp/assocs").read().split("\n")[1:]:
        w = line.split()
        if len(w) > 9:
            out.write("%.3f %s %s\n" % (now, w[7], w[8]))
    out.flush()
    time.sleep(0.01)
' "$OUT/q-$s.txt" &
        samplers+=($!)
    done
    PIDS+=("${samplers[@]}")
fi
rc=0 # the workload's and the analysis' status, this script's
interactive() {
    ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7402 --mode interactive --chunk 100 \
        --interval-ms 20 --count "$1" --no-fin --timeout-ms 60000
}
# One row of headroom: the interactive flow beside four bulk flows at an
# aggregate rate (0: as fast as they go; none: no bulk flows).
headroom_row() {
    local rate=$1 bulk='' tx0 tx1 t0 t1 cpu0 cpu1 r pace=()
    [ "$rate" != 0 ] && pace=(--rate "$rate")
    if [ "$rate" != none ]; then
        ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7401 --mode bulk --flows 4 \
            --bytes 64G "${pace[@]}" --timeout-ms 600000 >/dev/null &
        bulk=$!
        sleep 2
    fi
    tx0=$(ip netns exec sga cat /sys/class/net/l1/statistics/tx_bytes) t0=$(date +%s.%N)
    cpu0=$(head -n 1 /proc/stat)
    r=$(interactive 400) || rc=1
    tx1=$(ip netns exec sga cat /sys/class/net/l1/statistics/tx_bytes) t1=$(date +%s.%N)
    cpu1=$(head -n 1 /proc/stat)
    [ -n "$bulk" ] && kill "$bulk" && wait "$bulk" 2>/dev/null
    python3 - "$rate" "$r" "$tx0" "$tx1" "$t0" "$t1" "$cpu0" "$cpu1" <<'EOF3'
import re, sys
rate, r, tx0, tx1, t0, t1, c0, c1 = sys.argv[1:]
kv = dict(re.findall(r"(\w+)=(\S+)", r))
a, b = [list(map(int, c.split()[1:])) for c in (c0, c1)]
d = [y - x for x, y in zip(a, b)]
busy = 2 * (1 - (d[3] + d[4]) / sum(d))  # of the bed's two CPUs
print("%-10s %8.1f %8.1f %15.1f %11.2f" % (rate, float(kv.get("p50_us", 0)) / 1e3,
      float(kv.get("p99_us", 0)) / 1e3, (int(tx1) - int(tx0)) * 8 / (float(t1) - float(t0)) / 1e6, busy))
EOF3
    sleep 3
}
headroom() {
    {
        echo "bulk B/s   p50 ms   p99 ms   link 1 Mbit/s   CPUs busy"
        headroom_row none
        for _ in 1 2; do
            for rate in ${RATES:-0 5000000 3500000 2500000 1500000}; do headroom_row "$rate"; done
        done
        headroom_row none
    } >"$OUT/headroom.txt"
    cat "$OUT/headroom.txt"
}
case "$WORKLOAD" in
w1) ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7401 --mode bulk --bytes "$BYTES" --no-fin --timeout-ms 600000 || rc=1 ;;
w2) ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7401 --mode bulk --flows 64 --bytes "$BYTES" --no-fin --timeout-ms 600000 || rc=1 ;;
w3) ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7402 --mode rr --chunk 100 --count 300 --no-fin --timeout-ms 60000 || rc=1 ;;
w5)
    topo_set 1 --loss 2
    topo_set 2 --loss 2
    ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7401 --mode bulk --bytes 64G --timeout-ms 600000 >/dev/null &
    bulk=$!
    sleep 1
    interactive 250 || rc=1
    kill "$bulk"
    ;;
w5b)
    if [ "$TOOL" = headroom ]; then
        headroom
    else
        ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7401 --mode bulk --flows 4 --bytes 64G \
            --timeout-ms 600000 >/dev/null &
        bulk=$!
        sleep 2
        interactive 500 || rc=1
        kill "$bulk"
    fi
    ;;
w6 | w6b)
    if [ "$WORKLOAD" = w6b ]; then
        ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7401 --mode bulk --flows 4 --bytes 64G \
            --timeout-ms 600000 >/dev/null &
        bulk=$!
        sleep 1
    fi
    rm -f "$OUT/gaps.txt" # gwload appends
    ip netns exec sga "$GWLOAD" client --connect 127.0.0.1:7402 --mode paced --flows 8 --chunk 1024 \
        --interval-ms 10 --count 1500 --no-fin --timeout-ms 19000 --gap-log "$OUT/gaps.txt" \
        --at-ms 5000 --at-early --at-cmd "'$ROOT/tests/net/topo' cut --on-stdin 1" || rc=1
    [ "$WORKLOAD" = w6b ] && kill "$bulk"
    topo_restore 1
    ;;
esac
if [ "$TOOL" = queues ]; then
    kill "${samplers[@]}"
    wait "${samplers[@]}" 2>/dev/null
    python3 - "$OUT" >"$OUT/queues.txt" <<'EOF2' || rc=1
import sys
def pct(v, p):
    v = sorted(v)
    return v[int(p * (len(v) - 1))] if v else 0
print("bytes in the kernel (its memory)        p50      p90      p99      max")
for site in "ab":
    rows = [line.split() for line in open("%s/q-%s.txt" % (sys.argv[1], site))]
    for col, name in ((1, "tx_queue"), (2, "rx_queue")):
        v = [int(r[col]) for r in rows if len(r) == 3]
        print("site %s %-28s %8d %8d %8d %8d" % (site, name, *(pct(v, p) for p in (.5, .9, .99, 1))))
EOF2
    cat "$OUT/queues.txt"
fi
if [ "$TOOL" = paths ]; then
    echo 0 >$TRACING/events/sctp/sctp_probe_path/enable
    cat $TRACING/trace >"$OUT/trace.txt"
    python3 "$ROOT/tests/bench/paths.py" "$OUT" >"$OUT/paths.txt" || rc=1
    cat "$OUT/paths.txt"
fi
if [ ${#caps[@]} -gt 0 ]; then
    sleep 1
    kill -INT "${caps[@]}"
    wait "${caps[@]}"
fi
if [ -n "${CAPTURE:-}" ] && [[ "$WORKLOAD" = w6* ]]; then
    python3 "$ROOT/tests/bench/cut.py" "$OUT" >"$OUT/cut.txt" || rc=1
    cat "$OUT/cut.txt"
fi
if [ "$TOOL" = hops ]; then
    python3 "$ROOT/tests/bench/hops.py" "$OUT" --worst 5 >"$OUT/hops.txt" || rc=1
    grep -H 'dropped by kernel' "$OUT"/*.tcpdump | grep -v ':0 packets' >>"$OUT/hops.txt"
    cat "$OUT/hops.txt"
fi
if [ "$TOOL" = perf ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid"
fi
# Stop the gateways gracefully so callgrind writes its files.
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
cp "$WORK"/site-*.log "$OUT"/
# perf report trips over processes of network namespaces that still exist
# (it asserts entering their mount namespace): report once they are gone.
if [ "$TOOL" = perf ]; then
    topo_down >/dev/null 2>&1
    # The VM's kernel has no symbol file on disk; its live symbol table,
    # kept beside perf.data, names kernel functions here and on the host.
    cat /proc/kallsyms >"$OUT/kallsyms"
    rep=(perf report -i "$OUT/perf.data" --kallsyms "$OUT/kallsyms" --no-children --stdio)
    {
        "${rep[@]}" --sort pid -g none 2>/dev/null | grep -v '^#' | head -20
        "${rep[@]}" --sort pid,sym -g none 2>/dev/null | grep -v '^#' | head -80
        "${rep[@]}" --sort sym -g caller,0.5,callee --percent-limit 2 2>/dev/null | grep -v '^#' | head -400
    } >"$OUT/perf.txt"
fi
ls -l "$OUT" >&2
exit "$rc"
