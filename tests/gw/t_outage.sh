#!/usr/bin/env bash
# Total outage (every link cut). Shorter than outage_ms: the flows survive
# with every byte. Longer: the flows are reset, the association comes back
# once the links do, and new flows work. A link dead before the association
# comes up does not count as a usable path.
. "$(dirname "$0")/lib.sh"
FAILOVER_MS=500
OUTAGE_MS=4000
echo_pair
sleep 1

paced() { client a --connect 127.0.0.1:7001 --flows 4 --mode paced --chunk 1024 \
    --interval-ms 10 --count "$1" --timeout-ms 60000; }

# 1.5 s outage < 4 s: ridden out.
paced 600 >"$WORK/short.out" &
pid=$!
sleep 1.5
topo_cut 1
topo_cut 2
sleep 1.5
topo_restore 1
topo_restore 2
wait "$pid" || true
r=$(cat "$WORK/short.out")
log "short outage: $r"
expect "$r" ok == 4
expect "$r" bytes_verified == $((4 * 600 * 1024))
[ "$(count_log site-a 'up: peer proved the key')" -eq 1 ] || fail "association lost in a short outage"

# 8 s outage > 4 s: the flows are reset, promptly after outage_ms.
paced 2000 >"$WORK/long.out" &
pid=$!
sleep 1.5
topo_cut 1
topo_cut 2
cut_at=$(date +%s)
wait_log site-a 'no usable path for outage_ms' 15
wait "$pid" || true
r=$(cat "$WORK/long.out")
log "long outage: $r"
expect "$r" failed == 4
reset_after=$(($(date +%s) - cut_at))
[ "$reset_after" -le 12 ] || fail "flows were reset only ${reset_after}s after the cut"
sleep $((8 - reset_after > 0 ? 8 - reset_after : 0))
topo_restore 1
topo_restore 2
# The association comes back (a second "up" line) and new flows work.
wait_log site-a 'up: peer proved the key' 20 2
r=$(client a --connect 127.0.0.1:7001 --flows 4 --bytes 100000 --mode echo)
log "after recovery: $r"
expect "$r" ok == 4

# A link already dead when the association comes up: its path is never
# confirmed, yet must not count as usable (the kernel reports it
# potentially failed, then down, as its heartbeats go unanswered). Cutting
# the other link is then an outage, ridden out and ended as any other.
gw_stop TERM site-a
topo_cut 2
gw_start a site-a
wait_log site-a 'up: peer proved the key' 20 3
sleep 1
rides=$(count_log site-a 'no usable path; riding the outage out')
ends=$(count_log site-a 'no usable path for outage_ms')
topo_cut 1
cut_at=$(date +%s)
wait_log site-a 'no usable path; riding the outage out' 5 $((rides + 1))
wait_log site-a 'no usable path for outage_ms' 15 $((ends + 1))
ended_after=$(($(date +%s) - cut_at))
[ "$ended_after" -le 10 ] || fail "the association ended only ${ended_after}s after the cut"
log "ok: with link 2 dead from the start, cutting link 1 is an outage, ended after ${ended_after}s"
topo_restore 1
topo_restore 2
done_ok
