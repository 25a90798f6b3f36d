#!/usr/bin/env bash
# A gateway out of memory (tests/tools/failmalloc preloaded into site a:
# while $WORK/nomem exists, every malloc of 4 KiB or more fails). A bulk
# upload runs when the shortage starts, so site a's reads from its client
# find no buffer. The gateway must say so and end that flow, not spin on a
# read it cannot take (it used a whole CPU with nothing logged, and the
# flow hung); and once memory is back, the same association carries new
# flows intact.
. "$(dirname "$0")/lib.sh"
FAILMALLOC=${FAILMALLOC:-$(dirname "$GWLOAD")/libfailmalloc.so}
[ -f "$FAILMALLOC" ] || fail "no failmalloc module at $FAILMALLOC (set FAILMALLOC)"
pair_up
echo_bulk_config
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 bulk
GW_SETENV="LD_PRELOAD=$FAILMALLOC FAILMALLOC_WHILE=$WORK/nomem FAILMALLOC_MIN=4096" pair_start

# cpu_ticks PID: the process's user and system time, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

client a --connect 127.0.0.1:7002 --mode bulk --flows 1 --bytes 64G --timeout-ms 120000 \
    >"$WORK/bulk.out" &
bulk=$!
until [ "$(gw_bytes_out site-a | cut -d' ' -f2)" -gt 4000000 ]; do
    kill -0 "$bulk" 2>/dev/null || fail "the upload ended before the shortage: $(cat "$WORK/bulk.out")"
    sleep 0.5
done
touch "$WORK/nomem"
log "out of memory from now on"
sleep 1
pid=$(gw_pid site-a)
t0=$(now_ms) c0=$(cpu_ticks "$pid")
sleep 2
used=$(((($(cpu_ticks "$pid") - c0) * 1000 / $(getconf CLK_TCK)) * 1000 / ($(now_ms) - t0)))
log "site a used $used per mille of a CPU while out of memory"
[ "$used" -lt 500 ] || fail "site a used $used per mille of a CPU while out of memory: spinning"
wait_log site-a 'flow [0-9]+ \[bulk\].*reset: out of memory' 10
timeout 30 tail --pid="$bulk" -f /dev/null || fail "the upload's client did not see its flow end"
log "upload: $(cat "$WORK/bulk.out")"
rm "$WORK/nomem"

r=$(client a --connect 127.0.0.1:7001 --flows 4 --bytes 1M --timeout-ms 60000)
log "memory back: $r"
expect "$r" ok == 4
expect "$r" bytes_verified == $((4 * 1048576))
for site in site-a site-b; do
    [ "$(count_log "$site" 'assoc [0-9]+ peer [^:]*: closed')" -eq 0 ] ||
        fail "$site: the association ended: $(grep -E 'assoc [0-9]+ peer [^:]*: closed' "$WORK/$site.log")"
done
done_ok
