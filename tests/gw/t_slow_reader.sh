#!/usr/bin/env bash
# A flow whose back end reads nothing (for 30 s: all the while the second
# flow runs) must not hold up a second flow's 4 MB transfer by more than
# 2x its time alone. The second flow starts once the first one's bytes
# wait unread at its back end.
. "$(dirname "$0")/lib.sh"
pair_up
gw_config site-a connect <<'INI'
[fast]
accept = 127.0.0.1:7003
[slow]
accept = 127.0.0.1:7004
INI
gw_config site-b listen <<'INI'
[fast]
connect = 127.0.0.1:9003
[slow]
connect = 127.0.0.1:9004
INI
server_start b 127.0.0.1:9003 echo
server_start b 127.0.0.1:9004 sink --delay-read-ms 30000
pair_start
alone=$(client a --connect 127.0.0.1:7003 --bytes $((4 << 20)) --mode echo)
log "alone: $alone"
expect "$alone" ok == 1
# The slow flow pushes 16 MB at a reader that sleeps: its window fills and
# stays full while the fast flow runs.
client_bg a "$WORK/slow.out" --connect 127.0.0.1:7004 --bytes $((16 << 20)) --mode halfclose \
    --timeout-ms 60000
slow=$CLIENT_PID
t0=$(now_ms)
until [ "$(in_site b ss -Htn state established '( sport = :9004 )' | awk '{ n += $1 } END { print n + 0 }')" -ge 65536 ]; do
    [ $(($(now_ms) - t0)) -lt 10000 ] || fail "the slow flow's bytes did not reach its back end within 10 s"
    sleep 0.1
done
both=$(client a --connect 127.0.0.1:7003 --bytes $((4 << 20)) --mode echo)
log "beside the slow flow: $both"
expect "$both" ok == 1
t_alone=$(kv "$alone" elapsed_ms)
expect "$both" elapsed_ms '<=' $((2 * t_alone + 200))
# ...beside a flow that was there and stuck all along, not one turned away.
proc_running "$slow" || fail "the slow flow ended before the fast one: $(<"$WORK/slow.out")"
kill "$slow" 2>/dev/null || true
done_ok
