#!/usr/bin/env bash
# Hub and spokes: two connect-role gateways (spoke-1, spoke-2) use one
# listen-role gateway at the same time, each with its own flows; and the hub
# opens flows towards each spoke by name (peer = ...).
. "$(dirname "$0")/lib.sh"
pair_up
gw_config spoke-1 connect <<'INI'
[echo]
accept = 127.0.0.1:7001
[back1]
connect = 127.0.0.1:9101
INI
gw_config spoke-2 connect <<'INI'
[echo]
accept = 127.0.0.1:7011
[back2]
connect = 127.0.0.1:9102
INI
gw_config hub listen <<'INI'
[echo]
connect = 127.0.0.1:9001
[back1]
accept = 127.0.0.1:7101
peer = spoke-1
[back2]
accept = 127.0.0.1:7102
peer = spoke-2
INI
server_start b 127.0.0.1:9001 echo
server_start a 127.0.0.1:9101 echo
server_start a 127.0.0.1:9102 echo
gw_start b hub
gw_start a spoke-1
gw_start a spoke-2
wait_log spoke-1 'up: peer proved the key'
wait_log spoke-2 'up: peer proved the key'
wait_log hub 'up: peer proved the key' 20 2

# Spokes to the hub, both at once.
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

# The hub to each spoke: each service exists at one spoke only, so a flow
# carried to the wrong one would be refused.
for n in 1 2; do
    r=$(client b --connect "127.0.0.1:710$n" --flows 4 --bytes 100000 --mode echo)
    log "hub -> spoke-$n: $r"
    expect "$r" ok == 4
done
done_ok
