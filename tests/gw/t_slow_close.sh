#!/usr/bin/env bash
# Flows that end while their back end has yet to read what they carried.
# - Stream reuse: the back end replies and half-closes at once, then reads
#   nothing for HOLD_S (8) s; the client uploads 900 kB, half-closes,
#   reads the reply and goes. With max_flows = 1 a second client comes
#   meanwhile.
#   The far gateway's flow still writes to the back end, so its stream
#   must not carry a new flow yet: an OPEN on a stream that still carries
#   one ends the association and every flow on it. The second client is
#   turned away (max_flows), the back end reads all 900 kB and a clean
#   end, the association stays up, and once the back end has read, a new
#   flow is carried.
# - A reset after the half-close: the client uploads 900 kB, half-closes,
#   then resets while the back end still reads nothing. The far gateway
#   has passed the FIN on with writes still waiting, then gets the reset:
#   the back end must see a reset, not a clean end after some of the
#   bytes.
. "$(dirname "$0")/lib.sh"
PROBE="$(dirname "$0")/reset_probe.py"
MAX_FLOWS=1
N=900000
HOLD_S=8
pair_up
# Site b's TCP send buffers small (a loopback connection's would hold
# megabytes): what the back end has not read waits in the gateway.
in_site b sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536"
gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001
[slow]
accept = 127.0.0.1:7031
[cut]
accept = 127.0.0.1:7032
INI
gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001
[slow]
connect = 127.0.0.1:9031
[cut]
connect = 127.0.0.1:9032
INI
server_start b 127.0.0.1:9001 echo
pair_start

# The hold leaves room for the upload, the reply and a program start on
# a busy bed before the second client comes.
in_site b python3 "$PROBE" server 9031 --slow "$HOLD_S" --reply >"$WORK/slow.out" &
slow_pid=$!
wait_listen b 9031
r=$(in_site a python3 "$PROBE" client 7031 --upload $N)
log "first client: $r"
[ "${r%% *}" = eof ] || fail "the first client saw '$r', not the reply and a clean end"
r=$(client a --connect 127.0.0.1:7001 --flows 1 --bytes 1000 --timeout-ms 3000)
log "second client, while the back end still has bytes to read: $r"
wait_log site-a 'max_flows reached' 5
wait "$slow_pid" || true
read -r how secs got <"$WORK/slow.out"
log "the slow back end saw: $how after ${secs}s, $got bytes"
[ "$how" = eof ] && [ "$got" = "$N" ] ||
    fail "the slow back end saw '$how' after $got of $N bytes, not all of them and a clean end"
# The association that carried the flows is still up (site a's dial
# refused before site b listened may have ended an earlier one there).
id=$(grep -oE 'flow 1 \[slow\].* on assoc [0-9]+' "$WORK/site-a.log" | grep -oE '[0-9]+$')
for check in "site-a:protocol error|assoc $id peer [^:]*: closed" \
    "site-b:protocol error|assoc [0-9]+ peer site-a: closed"; do
    site=${check%%:*}
    [ "$(count_log "$site" "${check#*:}")" -eq 0 ] ||
        fail "$site: the association ended: $(grep -E "${check#*:}" "$WORK/$site.log" | head -3)"
done
ok=0
for i in $(seq 20); do
    r=$(client a --connect 127.0.0.1:7001 --flows 1 --bytes 1000 --timeout-ms 3000)
    [ "$(kv "$r" ok)" = 1 ] && ok=1 && break
    sleep 0.5
done
log "a new flow once the back end had read: $r"
[ "$ok" = 1 ] || fail "no new flow was carried after the back end had read"

in_site b python3 "$PROBE" server 9032 --slow 4 >"$WORK/cut.out" &
cut_pid=$!
wait_listen b 9032
in_site a python3 "$PROBE" client 7032 --upload $N --reset
wait "$cut_pid" || true
read -r how secs got <"$WORK/cut.out"
log "the back end of the reset client saw: $how after ${secs}s, $got bytes"
[ "$how" = reset ] || fail "the back end saw '$how' after $got bytes instead of a reset"
done_ok
