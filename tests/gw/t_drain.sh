#!/usr/bin/env bash
# SIGTERM: the gateway stops accepting, lets an open flow finish, then shuts
# the association down gracefully and exits 0; the peer sees a SHUTDOWN,
# not a lost association.
. "$(dirname "$0")/lib.sh"
DRAIN_MS=20000
pair_up
gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001
INI
gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001
INI
server_start b 127.0.0.1:9001 echo
gw_start b site-b
gw_start a site-a
wait_log site-a 'up: peer proved the key'
client a --connect 127.0.0.1:7001 --flows 2 --mode paced --count 300 >"$WORK/drain.out" &
pid=$!
i=0
until [ "$(count_log site-a 'opened for client')" -ge 2 ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || fail "the flows did not open"
    sleep 0.1
done
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
