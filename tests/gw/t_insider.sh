#!/usr/bin/env bash
# A peer WITH the key that breaks the flow protocol (tests/tools/hostile.c,
# attack earlyclose): past SCTP-AUTH and the handshake, on an association
# of its own, it opens a flow to site b's [trap] service and sends
# CLOSE on it before any FIN. Site b must end that flow, say why,
# and hold nothing for it: within 5 s no trap flow counted and no
# connection to the trap back end left, while the insider's association
# is still up (and stays up until the insider leaves, 14 s after it came:
# past every deadline site b could end it by, outage_ms and a rekey's
# 12 s) and site a's flows beside it lose nothing. (A CLOSE was taken as
# the final word whenever it came: the flow then waited for a FIN that
# could never follow and held its back end, its descriptor and its stream
# until the association ended.)
# Two more insiders at the same time misuse the rekey (include/seal.h):
# halfrekey offers fresh keys and never switches; badswitch switches but
# announces 1,000 more messages under the old keys than it sealed. Site b
# must end each association, saying which, once outage_ms (2 s here) and
# the 10 s of grace have passed, not before (12-16 s after it came up),
# and tell the insider why. (Before, site b waited for good: a responder's
# rekey had no deadline, and an old key was kept for as many messages as
# the peer announced, while no new rekey could start.) One more (badrst)
# ends its flow with an RST whose text holds a newline, which site b
# refuses as malformed, and opens a new flow on that stream a second
# later: site b must reset the first, carry the second and keep the
# association. (Before, site b waited for good for a final word the peer
# had already sent, and took the new OPEN on the held stream as the two
# ends disagreeing: it ended the association.) badrst also repeats READY
# 1,000 times out of turn: site b ignores them in two log lines, not one
# each. Last, a peer that
# aborts right after it sent (lastwords, below), and one that gives up
# with an ERROR right after it sent (giveup).
. "$(dirname "$0")/lib.sh"
HOSTILE=${HOSTILE:-$(dirname "$GWLOAD")/hostile}
INSIDER=10.1.0.3
[ -x "$HOSTILE" ] || fail "no hostile tool at $HOSTILE (set HOSTILE)"
OUTAGE_MS=2000 # the rekey's bound is outage_ms + 10 s
# Site b's stop waits drain_ms for the flow to a stuck back end (the last
# part): a second shows it held, then reset.
DRAIN_MS=1000
pair_up
in_site a ip addr add "$INSIDER/24" dev l1
trap_config
# lastwords' back ends: one starts reading 4 s after it is connected, one
# never does, one echoes what it reads from 4 s on; giveup's reads from 4 s
# on.
cat >>"$WORK/site-b.ini" <<'INI'

[slow]
connect = 127.0.0.1:9010

[stuck]
connect = 127.0.0.1:9011

[echoing]
connect = 127.0.0.1:9012

[giving]
connect = 127.0.0.1:9013

[again]
connect = 127.0.0.1:9014
INI
server_start b 127.0.0.1:9010 sink --delay-read-ms 4000
server_start b 127.0.0.1:9011 sink --delay-read-ms 600000
server_start b 127.0.0.1:9012 echo --delay-read-ms 4000
server_start b 127.0.0.1:9013 sink --delay-read-ms 4000
server_start b 127.0.0.1:9014 sink
pair_start

# trap_open: site b's count of open [trap] flows, read from its compact
# JSON with a bash regex (a python3 start costs 0.3 s and more): a service
# is the only object that starts with "name" and holds flows_open.
trap_open() {
    local json
    json=$(gw_status site-b --json) || return 0
    [[ $json =~ \{\"name\":\"trap\",[^}]*\"flows_open\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
# trap_conns: TCP connections to the trap back end at site b.
trap_conns() { in_site b ss -Htn state established dst 127.0.0.1:9009 | wc -l; }

client a --connect 127.0.0.1:7001 --flows 2 --mode paced --chunk 1024 --interval-ms 20 \
    --count 400 --timeout-ms 60000 >"$WORK/beside.out" &
beside=$!
KEY=$WORK/site.key
in_site a "$HOSTILE" --connect 10.1.0.2:9899 --bind "$INSIDER" --auth-key-file "$KEY" \
    --psk-file "$KEY" --service trap --timeout-ms 14000 earlyclose:1 \
    >"$WORK/insider.out" 2>>"$WORK/insider.log" &
insider=$!
PIDS+=("$insider")
# One association per name at site b: each insider has its own.
in_site a "$HOSTILE" --connect 10.1.0.2:9899 --bind "$INSIDER" --auth-key-file "$KEY" \
    --psk-file "$KEY" --name badrst --service again --pause-ms 1000 --timeout-ms 14000 \
    badrst:1 >"$WORK/badrst.out" 2>>"$WORK/insider.log" &
badrst=$!
PIDS+=("$badrst")
declare -A rekeyer
for attack in halfrekey badswitch; do
    in_site a "$HOSTILE" --connect 10.1.0.2:9899 --bind "$INSIDER" --auth-key-file "$KEY" \
        --psk-file "$KEY" --name "$attack" --timeout-ms 30000 "$attack:1" \
        >"$WORK/$attack.out" 2>>"$WORK/insider.log" &
    rekeyer[$attack]=$!
    PIDS+=("$!")
done
# badrst (before the waits below: its association lasts 14 s): the flow
# its malformed RST ended is gone, and a new one of [again] is open.
wait_log site-b "\[again\] sid 1: reset: malformed message \(ppid 0x53470014, 16 bytes\) on stream 1" 10
first=$(grep -oE 'flow [0-9]+ \[again\] sid 1: reset: malformed' "$WORK/site-b.log" | head -n 1 | cut -d' ' -f2)
t0=$(now_ms)
until json=$(gw_status site-b --json --flows) &&
    [[ $json =~ \{\"id\":([0-9]+),\"service\":\"again\",[^}]*\"state\":\"open\" ]] &&
    [ "${BASH_REMATCH[1]}" != "$first" ]; do
    [ $(($(now_ms) - t0)) -lt 5000 ] ||
        fail "badrst: no new [again] flow open 5 s after flow $first's malformed RST: $(<"$WORK/badrst.out")"
    sleep 0.2
done
log "ok: after flow $first's malformed RST, flow ${BASH_REMATCH[1]} of [again] is open on its stream"
wait_log site-b "peer sent CLOSE before both FINs" 15
t0=$(now_ms)
until [ "$(trap_open)" -eq 0 ] && [ "$(trap_conns)" -eq 0 ]; do
    [ $(($(now_ms) - t0)) -lt 5000 ] ||
        fail "5 s after the early CLOSEs site b still holds $(trap_open) trap flows and" \
            "$(trap_conns) connections to the trap back end"
    sleep 0.2
done
log "ok: the early CLOSEs' flows ended within $(($(now_ms) - t0)) ms"
kill -0 "$insider" 2>/dev/null || fail "the insider's associations ended before the check: $(<"$WORK/insider.out")"
wait "$beside" || true
r=$(<"$WORK/beside.out")
log "beside: $r"
expect "$r" ok == 2
expect "$r" bytes_verified == $((2 * 400 * 1024))
wait "$insider" || fail "the hostile tool failed: $(<"$WORK/insider.log")"
r=$(<"$WORK/insider.out")
log "insider: $r"
expect "$r" ready == 1
expect "$r" flow_replies ">=" 1
expect "$r" still_open == 1
wait "$badrst" || fail "badrst: the hostile tool failed: $(<"$WORK/insider.log")"
r=$(<"$WORK/badrst.out")
log "badrst: $r"
expect "$r" ready == 1
expect "$r" still_open == 1
log "ok: the flow ended by a malformed RST left its stream to the next"
wait_log site-b "peer badrst: the peer sent 1000 messages out of turn \(ignored\) in [0-9]+ ms" 5
n=$(count_log site-b 'WARN.*peer badrst: unexpected READY on stream 0; ignored')
[ "$n" -eq 1 ] || fail "badrst's 1,000 READYs out of turn made $n warnings, not 1"
log "ok: 1,000 READYs out of turn made one warning and one count"

wait_log site-b "closed: rekey: the peer did not complete it in time" 20
wait_log site-b "closed: rekey: the peer announced [0-9]+ messages under its old keys, [0-9]+ came in" 20
for attack in halfrekey badswitch; do
    wait "${rekeyer[$attack]}" || fail "$attack: the hostile tool failed: $(<"$WORK/insider.log")"
    r=$(<"$WORK/$attack.out")
    log "$attack: $r"
    expect "$r" ready == 1
    expect "$r" ended == 1
    expect "$r" told == 1
    expect "$r" end_ms_min ">=" 12000
    expect "$r" end_ms_max "<" 16000
done
[ "$(count_log site-b 'assoc [0-9]+ peer site-a: closed')" -eq 0 ] ||
    fail "site b's association with site a ended: $(grep -E 'peer site-a: closed' "$WORK/site-b.log")"

# A peer that dies right after it sent (lastwords): site b is stopped
# while the last 512 KiB and the FIN of a flow arrive, acknowledged by its
# kernel, and the ABORT after them; the flow's back end reads nothing for
# its first 4 s. Once site b runs again, the back end must get every byte
# and the FIN, and the log must say the peer aborted. The socket's error
# came first (at a send or at the poll) and site b ended the association
# there, the messages unread ("the kernel refused a send: Connection
# reset by peer"); and a flow was reset with its association, dropping
# what its back end's socket had not taken yet. Two such peers at once,
# each on an association of its own (a socket of its own at site b), to a
# back end that only reads and to one that echoes (below): the back ends'
# 4 s without reading, which the check needs, pass once for both.
# A third peer meanwhile gives up as a gateway does (giveup): its last
# words are DATA, FIN and an ERROR on stream 0, all read in one go once
# site b runs again. The flow's messages wait in site b's inbox to be
# opened (src/inbox.c), the ERROR does not: it must not overtake them
# (before, site b ended the association on the ERROR at once, reset the
# flow and threw its last 512 KiB away).
LAST_BYTES=$((18 + 32 * 16384))
# lastwords NAME SERVICE PAUSE_MS [MODE]: the insider NAME opens a flow of
# SERVICE and sends its last bytes, then its ABORT, or with MODE giveup its
# ERROR (output in NAME.out).
lastwords() {
    in_site a "$HOSTILE" --connect 10.1.0.2:9899 --bind "$INSIDER" --auth-key-file "$KEY" \
        --psk-file "$KEY" --name "$1" --service "$2" --pause-ms "$3" --timeout-ms 20000 \
        "${4:-lastwords}:1" >"$WORK/$1.out" 2>>"$WORK/insider.log"
}
# lastwords_stopped NAME:SERVICE:PORT...: lastwords for each at once, with
# site b stopped once every back end took its connection, while the last
# words arrive (each tool waits 1.5 s from READY before it sends them: it
# must still run at the stop); each back end on its PORT must get every
# byte and the FIN. The insider named giveup gives up instead of aborting.
lastwords_stopped() {
    local one name port i pids=() names=() ports=() ends=() said=()
    for one in "$@"; do
        name=${one%%:*}
        one=${one#*:}
        if [ "$name" = giveup ]; then
            lastwords "$name" "${one%%:*}" 1500 giveup &
            said+=("peer gave up: internal error: giving up; 0 flows reset")
        else
            lastwords "$name" "${one%%:*}" 1500 &
            said+=("the peer aborted the association \(cause 12, user-initiated abort\)")
        fi
        pids+=($!)
        names+=("$name")
        ports+=("${one#*:}")
        # Site b resets an echoing back end once its kernel has the FIN
        # acknowledged (below), which can be before the back end has read
        # it all: its echo then fails on the reset, and after that the
        # kernel tells a FIN from a reset no more. gwload reads on and
        # says so: every byte is the check there, the FIN site b's log.
        if [ "${one%%:*}" = echoing ]; then ends+=("(eof|end)"); else ends+=(eof); fi
    done
    for port in "${ports[@]}"; do wait_log "server-$port" "conn 1 accepted" 10; done
    kill -STOP "$(gw_pid site-b)"
    for i in "${!pids[@]}"; do
        proc_running "${pids[$i]}" && continue
        kill -CONT "$(gw_pid site-b)"
        fail "${names[$i]}: the tool ended before site b was stopped (its last words must" \
            "come to a stopped gateway): $(cat "$WORK/${names[$i]}.out" "$WORK/insider.log")"
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" && continue
        kill -CONT "$(gw_pid site-b)"
        fail "${names[$i]}: the hostile tool failed: $(<"$WORK/insider.log")"
    done
    for name in "${names[@]}"; do log "$name: $(<"$WORK/$name.out")"; done
    kill -CONT "$(gw_pid site-b)"
    for i in "${!pids[@]}"; do
        wait_log site-b "peer ${names[$i]}: closed: ${said[$i]}" 10
        wait_log "server-${ports[$i]}" "conn 1 ${ends[$i]} after $LAST_BYTES bytes" 15
    done
}
lastwords_stopped lastwords:slow:9010 echoing:echoing:9012 giveup:giving:9013
log "ok: the back end got every byte the peer sent before its ABORT or its ERROR, and its FIN"

# The same to a back end that echoes what it reads (echoing, above): its
# echo comes after the association went and has nowhere to go. Site b must
# still deliver every byte and the FIN, then reset the back end for what it
# sent. (The flow read nothing once its association went: the echo filled
# site b's socket, the back end stopped reading, and the last bytes waited
# for drain_ms; closing with the echo unread, the kernel would have reset
# the connection and dropped what it had yet to send.)
wait_log site-b "\\[echoing\\] sid [0-9]+: reset: the peer's bytes and FIN passed on after its association went; [0-9]+ bytes from the back end after it had nowhere to go" 10
log "ok: the echoing back end got every byte and the FIN, then a reset for its echo"

# Such a flow to a back end that reads nothing is listed by status as
# finishing, holds site b's stop for drain_ms (1 s), then is reset, like
# any flow still open. Small TCP buffers at site b keep most of the
# 512 KiB in the gateway.
in_site b sysctl -qw net.ipv4.tcp_rmem="4096 16384 16384" net.ipv4.tcp_wmem="4096 16384 16384"
lastwords stuck stuck 500 || fail "stuck: the hostile tool failed: $(<"$WORK/insider.log")"
wait_log site-b "peer stuck: closed: the peer aborted the association" 10
# Read from the compact JSON with bash regexes: a flow is
# {"id":..,"service":..,"assoc":..,..,"state":..} (no braces inside), a
# service {"name":..,..,"flows_open":..}.
json=$(gw_status site-b --json --flows) || fail "no status of site b"
listed=0 finishing=0 open=
rest=$json
while [[ $rest =~ \{\"id\":[0-9]+,\"service\":\"stuck\",\"assoc\":([0-9]+),[^}]*\"state\":\"([a-z]+)\"\}(.*) ]]; do
    listed=$((listed + 1))
    [ "${BASH_REMATCH[1]}" != 0 ] || [ "${BASH_REMATCH[2]}" != finishing ] ||
        finishing=$((finishing + 1))
    rest=${BASH_REMATCH[3]}
done
[[ $json =~ \{\"name\":\"stuck\",[^}]*\"flows_open\":([0-9]+) ]] && open=${BASH_REMATCH[1]}
r="listed=$listed finishing=$finishing open=$open"
log "status of site b: [stuck] $r"
expect "$r" listed == 1
expect "$r" finishing == 1
expect "$r" open == 1
gw_stop TERM site-b
wait_log site-b "drain_ms passed with 1 flows open; resetting them" 1
log "ok: site b stopped, the flow to the stuck back end reset at drain_ms"
# The associations the insiders aborted were gone from the kernel while
# site b still read their last messages: no socket option failing on them
# meanwhile is worth a warning.
[ "$(count_log site-b 'WARN .*cannot keep room')" -eq 0 ] ||
    fail "site b warned of an association already gone: $(grep 'cannot keep room' "$WORK/site-b.log")"
done_ok
