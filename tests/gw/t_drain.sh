#!/usr/bin/env bash
# SIGTERM: the gateway stops accepting, lets an open flow finish, then shuts
# the association down gracefully and exits 0; the peer sees a SHUTDOWN,
# not a lost association. A listening gateway stopped while handshakes are
# under way and no flow is open exits 0 at once. A dialling gateway stopped
# while its peer cannot answer logs a stop, not a failed dial.
. "$(dirname "$0")/lib.sh"
DRAIN_MS=20000
echo_pair
client a --connect 127.0.0.1:7001 --flows 2 --mode paced --count 300 >"$WORK/drain.out" &
pid=$!
wait_log site-a 'opened for client' 10 2
kill -TERM "$(gw_pid site-a)"
wait_log site-a 'draining' 5
r=$(client a --connect 127.0.0.1:7001 --flows 1 --mode expect-close --timeout-ms 3000)
log "new client while draining: $r"
expect "$r" ok == 1
expect "$r" refused == 1 # its listener closed: the kernel refuses it
wait "$pid" || true
r=$(<"$WORK/drain.out")
log "open flows: $r"
expect "$r" ok == 2
set +e
wait "$(gw_pid site-a)"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "sctpgw exited $rc after SIGTERM"
wait_log site-b 'closed: (peer shut the association down|shut down)' 10
[ "$(count_log site-b 'communication lost|Connection reset|aborted')" -eq 0 ] || fail "site-b saw an abort"

# 2. The listening gateway stopped with no flow open while handshakes are
# under way: peers past SCTP-AUTH (the endpoint key derived from the key
# file) that say nothing until the handshake's deadline. It ends them and
# exits 0 at once.
HOSTILE=${HOSTILE:-$(dirname "$GWLOAD")/hostile}
in_site a ip addr add 10.1.0.4/24 dev l1
in_site a "$HOSTILE" --connect 10.1.0.2:9899 --bind 10.1.0.4 --auth-key-file "$WORK/site.key" \
    --timeout-ms 12500 silent:10 >"$WORK/hostile.out" 2>"$WORK/hostile.log" &
PIDS+=($!)
for i in $(seq 100); do
    socks=$(in_site b ss -Hn --sctp) || fail "ss at site b failed"
    [ "$(grep -c '10.1.0.4' <<<"$socks" || true)" -ge 2 ] && break
    sleep 0.1
done
[ "$i" -lt 100 ] || fail "the hostile peer's associations did not come up"
# At once: well before the handshakes' 10 s deadline (the stop waits up
# to 500 ms for sockets told why; 3 s leaves the busy bed its slack).
t0=$(now_ms)
gw_stop TERM site-b
took=$(($(now_ms) - t0))
[ "$took" -le 3000 ] || fail "site b took $took ms to stop with handshakes under way"
log "ok: site b stopped in $took ms with handshakes under way"

# 3. The dialling gateway stopped while its peer cannot answer (both links
# cut: its INITs go unanswered): the dial the stop ends did not fail, and
# is logged as the stop it is, not as one more failed dial (a warning, with
# the streak).
topo_cut 1 2
echo_config -lonely
gw_start a site-a-lonely
t0=$(now_ms)
until gw_status site-a-lonely 2>/dev/null | grep -q '^  state: connecting'; do
    [ $(($(now_ms) - t0)) -lt 10000 ] || fail "site-a-lonely: no association connecting within 10 s"
    sleep 0.1
done
gw_stop TERM site-a-lonely
grep -E 'closed: gateway stopping' "$WORK/site-a-lonely.log" >&2 ||
    fail "site-a-lonely: the stop did not end its dial"
[ "$(count_log site-a-lonely 'WARN.*closed: gateway stopping|closed: gateway stopping.*failed dial')" -eq 0 ] ||
    fail "site-a-lonely: its stop was logged as a failed dial"
log "ok: a stop while dialling is logged as a stop"
topo_restore 1 2
done_ok
