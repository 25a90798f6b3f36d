#!/usr/bin/env bash
# 64 concurrent flows x 4 MB of random data, verified byte for byte at the
# back end (echo) and on the echo back at the client.
. "$(dirname "$0")/lib.sh"
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
r=$(client a --connect 127.0.0.1:7001 --flows 64 --bytes $((4 << 20)) --mode echo --timeout-ms 240000)
log "$r"
expect "$r" ok == 64
expect "$r" failed == 0
expect "$r" bytes_verified == $((64 * (4 << 20)))
done_ok
