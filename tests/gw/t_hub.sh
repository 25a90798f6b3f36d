#!/usr/bin/env bash
# Hub and spokes: two connect-role gateways (spoke-1, spoke-2) use one
# listen-role gateway at the same time, each with its own flows; and the hub
# opens flows towards each spoke by name (peer = ...). A third spoke with
# spoke-1's name is refused, without knocking spoke-1 off, and takes the
# name once spoke-1 has left; the same when the spoke is idle with a
# failover_ms 16 times the hub's (its KEEPs 2 s apart: the hub must not
# take it for dead). A service with no peer named goes to a spoke
# with room: with the oldest spoke full (max_flows = 2), the hub's flows
# go to the next one instead of being refused. A service bound to a peer
# that is not up has its clients reset, and the log names that peer and
# the ones up.
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
[any]
accept = 127.0.0.1:7103
[typo]
accept = 127.0.0.1:7104
peer = spoke-9
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
    r=$(<"$WORK/$s.out")
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
# A service bound to a peer that is not up (a name mistyped): its clients
# are reset, and the hub's log names the peer it wanted and those up.
r=$(client b --connect 127.0.0.1:7104 --flows 2 --mode expect-close --timeout-ms 5000)
log "hub -> spoke-9: $r"
expect "$r" ok == 2
expect "$r" refused == 0 # reset by the hub, not refused by no one listening
wait_log hub "\\[typo\\]: refusing clients: no association to the service's peer is up \\(peer = spoke-9; up now: spoke-(1, spoke-2|2, spoke-1)\\)" 5

# A third spoke that took spoke-1's name by mistake: the hub refuses it
# before its READY, with the reason, spoke-1 stays up and carries flows,
# the third spoke's redials back off instead of coming ten times a second,
# and the refusals are one episode in the hub's log and a streak in the
# spoke's, not a line each.
gw_config spoke-3 connect <<'INI'
[echo3]
accept = 127.0.0.1:7021
INI
sed -i 's/^name = spoke-3$/name = spoke-1/' "$WORK/spoke-3.ini"
gw_start a spoke-3
wait_log spoke-3 "gave up: .*a gateway named 'spoke-1' is connected already" 10
sleep 5
refused=$(count_log hub "closed: a gateway named 'spoke-1' is connected already")
told=$(count_log spoke-3 "gave up: .*a gateway named 'spoke-1' is connected already")
log "in about 5 s the hub logged $refused refusals of the name, spoke-3 $told: $(
    grep -oE 'failed dial [0-9]+ in a row' "$WORK/spoke-3.log" | tail -n 1)"
[ "$refused" -eq 1 ] || fail "the hub logged $refused refusals, not one for the episode"
[ "$told" -ge 2 ] && [ "$told" -le 5 ] || fail "spoke-3 logged $told refusals, not a streak"
[ "$(count_log spoke-3 'up: peer proved the key')" -eq 0 ] || fail "spoke-3 was READY before refused"
[ "$(count_log hub 'replaced by a new association')" -eq 0 ] || fail "the hub replaced spoke-1"
[ "$(count_log spoke-1 'assoc [0-9]+ peer [^ ]+: closed:')" -eq 0 ] || fail "spoke-1's association ended"
r=$(client b --connect 127.0.0.1:7101 --flows 4 --bytes 100000 --mode echo)
log "hub -> spoke-1 during the name clash: $r"
expect "$r" ok == 4
# The real spoke-1 leaves: the next dial of the other takes the name, and
# the hub says how many it refused, and how fast they came.
gw_stop TERM spoke-1
wait_log hub "peers named 'spoke-1': [0-9]+ refused in [0-9]+ ms" 10
wait_log spoke-3 'up: peer proved the key' 10
read -r n ms < <(grep -oE "peers named 'spoke-1': [0-9]+ refused in [0-9]+ ms" "$WORK/hub.log" |
    grep -oE '[0-9]+' | paste -sd ' ' | awk '{ print $(NF - 1), $NF }')
log "the hub refused the second spoke-1 $n times in $ms ms"
[ "$n" -ge 3 ] && [ $((n * 1000)) -le $((ms * 3)) ] || fail "$n refusals in $ms ms: no backoff"

# A spoke idle with failover_ms = 8000 sends a KEEP only every 1 to 2 s,
# far apart beside the hub's 500: a second gateway of its name is still
# refused, and it is never replaced (its kernel acknowledges the hub's
# KEEPs at once).
FAILOVER_MS=8000 gw_config spoke-6 connect </dev/null
gw_start a spoke-6
wait_log spoke-6 'up: peer proved the key'
sleep 3
replaced=$(count_log hub 'replaced by a new association')
gw_config spoke-7 connect </dev/null
sed -i 's/^name = spoke-7$/name = spoke-6/' "$WORK/spoke-7.ini"
gw_start a spoke-7
wait_log spoke-7 "gave up: .*a gateway named 'spoke-6' is connected already" 10
sleep 4
[ "$(count_log hub 'replaced by a new association')" -eq "$replaced" ] ||
    fail "the hub replaced the idle spoke-6, alive, with a second of its name"
[ "$(count_log spoke-6 'assoc [0-9]+ peer [^ ]+: closed:')" -eq 0 ] || fail "spoke-6's association ended"
[ "$(count_log spoke-7 'up: peer proved the key')" -eq 0 ] || fail "spoke-7 took spoke-6's name"
gw_stop TERM spoke-6 spoke-7

# Any peer: the oldest spoke, spoke-4, has room for 2 flows (max_flows = 2
# gives its association 5 streams, 2 of them the hub's); spoke-5, newer,
# has room. Six flows held open at once all go through, none refused.
gw_stop TERM spoke-2 spoke-3
for n in 4 5; do
    MAX_FLOWS=$((n == 4 ? 2 : 4096)) gw_config spoke-$n connect <<'INI'
[any]
connect = 127.0.0.1:9101
INI
    gw_start a spoke-$n
    wait_log spoke-$n 'up: peer proved the key'
done
before=$(count_log hub 'refusing clients')
r=$(client b --connect 127.0.0.1:7103 --flows 6 --mode paced --count 100 --timeout-ms 30000)
log "hub -> any peer, the oldest full: $r"
expect "$r" ok == 6
[ "$(count_log hub 'refusing clients')" -eq "$before" ] ||
    fail "the hub refused clients with a spoke free: $(grep 'refusing clients' "$WORK/hub.log" | tail -n 1)"
done_ok
