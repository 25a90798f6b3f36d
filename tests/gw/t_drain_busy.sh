#!/usr/bin/env bash
# A graceful stop while the far end keeps opening flows. Clients at site b
# open a flow every 10 ms towards a back end at site a; site a gets SIGTERM.
# On links of 100 ms each way, OPENs keep reaching site a for a round trip
# after its SHUTDOWN has left (each refused with a RESULT the kernel no
# longer takes), and site b's clients keep coming after the SHUTDOWN has
# reached it (OPENs its kernel no longer takes). Both ends must still see
# the clean end they agreed on: site a exits 0, site b logs the peer's
# shutdown and no reset, and turns its later clients away itself. Site a's
# drain waits for the flows it carries, not for the ones it refuses: it
# ends with them, long before drain_ms.
. "$(dirname "$0")/lib.sh"
DELAY_MS=100
FAILOVER_MS=2000 # RTO up to 1 s: the 200 ms round trip is no path failure
DRAIN_MS=30000   # gw_stop requires the exit within 10 s
ASSOC_CLOSED='assoc [0-9]+ peer [^ ]+: closed: '
pair_up
gw_config site-a connect <<'INI'
[back]
connect = 127.0.0.1:9101
INI
gw_config site-b listen <<'INI'
[back]
accept = 127.0.0.1:7101
INI
server_start a 127.0.0.1:9101 echo
pair_start
# Clients for 15 s: longer than gw_stop allows the stop, so a drain that
# waits for the peer to stop opening fails it.
# Started directly, not through `client`, so that $! is gwload itself.
"$TOPO" exec b "$GWLOAD" client --connect 127.0.0.1:7101 --flows 1500 --stagger-ms 10 \
    --mode echo --bytes 1000 --timeout-ms 30000 >"$WORK/far.out" 2>>"$WORK/client.log" &
far=$!
PIDS+=("$far")
wait_log site-b 'opened for client' 10 20
gw_stop TERM site-a
wait_log site-b 'closed: (peer shut the association down|shut down)' 10
last=$(grep -E "$ASSOC_CLOSED" "$WORK/site-b.log" | tail -n 1)
log "site b: $last"
[[ $last == *"closed: peer shut the association down"* || $last == *"closed: shut down"* ]] ||
    fail "site b did not see a clean end: $last"
[ "$(count_log site-b 'Connection reset|communication lost|aborted')" -eq 0 ] ||
    fail "site b saw an abort: $(grep -E 'Connection reset|communication lost|aborted' "$WORK/site-b.log" | head -n 3)"
[ "$(count_log site-b 'peer is shutting the association down')" -eq 1 ] ||
    fail "site b did not log the peer's SHUTDOWN"
wait_log site-b 'refusing clients: no association to the peer is up' 10
kill "$far" 2>/dev/null
wait "$far" 2>/dev/null || true
done_ok
