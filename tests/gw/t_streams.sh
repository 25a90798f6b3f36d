#!/usr/bin/env bash
# 1000 flows opened at once and closed, twice, with max_flows = 1000: a
# third round of 1000 succeeds only if every stream came back for reuse.
. "$(dirname "$0")/lib.sh"
ulimit -n 65536
MAX_FLOWS=1000
echo_pair
for round in 1 2 3; do
    r=$(client a --connect 127.0.0.1:7001 --flows 1000 --mode idle --hold-ms 500 --timeout-ms 120000)
    log "round $round: $r"
    expect "$r" ok == 1000
    sleep 1 # the last CLOSE messages cross
done
done_ok
