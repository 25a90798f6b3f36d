#!/usr/bin/env bash
# 1000 flows opened at once and closed, twice, with max_flows = 1000: a
# third round of 1000 succeeds only if every stream came back for reuse.
. "$(dirname "$0")/lib.sh"
ulimit -n 65536
MAX_FLOWS=1000
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
for round in 1 2 3; do
    r=$(client a --connect 127.0.0.1:7001 --flows 1000 --mode idle --hold-ms 500 --timeout-ms 120000)
    log "round $round: $r"
    expect "$r" ok == 1000
    sleep 1 # the last CLOSE messages cross
done
done_ok
