#!/usr/bin/env bash
# 1000 flows opened at once and closed, twice, with max_flows = 1000: a
# third round of 1000 succeeds only if every stream came back for reuse.
. "$(dirname "$0")/lib.sh"
ulimit -n 65536
MAX_FLOWS=1000
echo_pair
# no_flows_left ROUND: the last CLOSE messages have crossed and both
# gateways hold no flow, so every stream is free for the next round.
no_flows_left() {
    local t0=$SECONDS site
    for site in site-a site-b; do
        until gw_status "$site" | grep -q '^  flows: 0 open'; do
            [ $((SECONDS - t0)) -lt 20 ] ||
                fail "$site: flows left 20 s after round $1: $(gw_status "$site" | grep flows:)"
            sleep 0.2
        done
    done
}
for round in 1 2 3; do
    r=$(client a --connect 127.0.0.1:7001 --flows 1000 --mode idle --hold-ms 500 --timeout-ms 120000)
    log "round $round: $r"
    expect "$r" ok == 1000
    no_flows_left "$round"
done
done_ok
