#!/usr/bin/env bash
# Half-close: the client sends a request and its FIN; the back end reads to
# EOF and only then replies; the client gets the whole reply.
. "$(dirname "$0")/lib.sh"
pair_up
gw_config site-a connect <<'INI'
[reply]
accept = 127.0.0.1:7002
INI
gw_config site-b listen <<'INI'
[reply]
connect = 127.0.0.1:9002
INI
server_start b 127.0.0.1:9002 reply
pair_start
for bytes in 100 $((1 << 20)); do
    r=$(client a --connect 127.0.0.1:7002 --flows 4 --bytes "$bytes" --mode halfclose --timeout-ms 60000)
    log "$r"
    expect "$r" ok == 4
    expect "$r" bytes_verified == $((4 * bytes))
done
# The flows ended cleanly at both gateways, not by a reset.
[ "$(count_log site-a 'reset:')" -eq 0 ] || fail "a flow was reset at site-a"
[ "$(count_log site-b 'reset:')" -eq 0 ] || fail "a flow was reset at site-b"
done_ok
