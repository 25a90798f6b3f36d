#!/usr/bin/env bash
# SIGTERM: the gateway stops accepting, lets an open flow finish, then shuts
# the association down gracefully and exits 0; the peer sees a SHUTDOWN,
# not a lost association.
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
wait "$pid" || true
r=$(cat "$WORK/drain.out")
log "open flows: $r"
expect "$r" ok == 2
set +e
wait "$(gw_pid site-a)"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "sctpgw exited $rc after SIGTERM"
wait_log site-b 'closed: (peer shut the association down|shut down)' 10
[ "$(count_log site-b 'communication lost|Connection reset')" -eq 0 ] || fail "site-b saw an abort"
done_ok
