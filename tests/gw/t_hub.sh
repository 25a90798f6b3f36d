#!/usr/bin/env bash
# Hub and spokes: two connect-role gateways (spoke-1, spoke-2) use one
# listen-role gateway at the same time, each with its own flows.
. "$(dirname "$0")/lib.sh"
pair_up
gw_config spoke-1 connect <<'INI'
[echo]
accept = 127.0.0.1:7001
INI
gw_config spoke-2 connect <<'INI'
[echo]
accept = 127.0.0.1:7011
INI
gw_config hub listen <<'INI'
[echo]
connect = 127.0.0.1:9001
INI
server_start b 127.0.0.1:9001 echo
gw_start b hub
gw_start a spoke-1
gw_start a spoke-2
wait_log spoke-1 'up: peer proved the key'
wait_log spoke-2 'up: peer proved the key'
client a --connect 127.0.0.1:7001 --flows 16 --bytes $((1 << 20)) --mode echo >"$WORK/s1.out" &
p1=$!
client a --connect 127.0.0.1:7011 --flows 16 --bytes $((1 << 20)) --mode echo >"$WORK/s2.out" &
p2=$!
wait "$p1" "$p2" || true
for s in s1 s2; do
    r=$(cat "$WORK/$s.out")
    log "$s: $r"
    expect "$r" ok == 16
    expect "$r" bytes_verified == $((16 << 20))
done
[ "$(count_log hub 'up: peer proved the key')" -ge 2 ] || fail "the hub did not carry two associations"
done_ok
