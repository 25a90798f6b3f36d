#!/usr/bin/env bash
# Gateways short of memory (tests/tools/fault preloaded into both: each
# fault is on while its file exists). A gateway must say what fails, rest
# rather than spin, keep its other flows moving, and carry on once the
# shortage ends:
# 1. site b's SCTP listener: accept() refused by a policy (EPERM) when
#    site a dials. Before: a warning and a try on every loop turn.
# 2. site a's accept service and control socket: accept() fails for want
#    of memory (ENOMEM) while a paced flow runs and a client and a status
#    request arrive. Before: libuv retried inside the loop for as long as
#    it lasted, and every flow stalled.
#    Then the service out of descriptors for real (its soft RLIMIT_NOFILE
#    lowered below what it holds) while a client connects. Before: the
#    service closed its listener, which reset the waiting client (or,
#    with a spare descriptor, libuv accepted and closed it unlogged). Now
#    the listener says so and rests, and the client, kept waiting in the
#    backlog, is served once descriptors are back. Both shortages are
#    counted in the status (before: only logged).
# 3. site a's reads: every malloc of 4 KiB or more fails while a bulk
#    upload runs. Before: the read watcher spun at a whole CPU with nothing
#    logged and the flow hung. Now that flow is reset, and once memory is
#    back the same association carries new flows intact.
# 4. the kernel's memory for SCTP (net.sctp.sctp_mem, the whole VM's)
#    squeezed to nothing during a bulk upload: the sockets stay writable
#    but refuse every send. Before: the gateways spun on that readiness
#    (up to a whole CPU each). Now they say so and try again every 10 ms, and
#    once the memory is back the upload completes intact.
#    Then site a's sends refused for want of memory (sendmsg: ENOMEM) for
#    1.5 s during another upload. Before: the association ended ("out of
#    memory for a message to send", as if the gateway's own) and every
#    flow was reset.
#    Now it is the same shortage: said, tried again, nothing lost.
# 5. site a's memory for messages read (calloc) runs out while four flows
#    echo bulk both ways: site a must end the association and tell site b
#    why, though its socket is full with the bulk flows' bytes. Before: the
#    ERROR waited behind them and went with the association, and site b
#    said only that its peer shut the association down. Then, memory back,
#    the pair comes up again and carries a flow.
# 6. site b's memory for a new association's tables (calloc) runs out
#    just as site a, restarted, proves the key: site b must say so, tell
#    site a why, and not count it among the handshake failures (wrong
#    keys, floods); once memory is back the pair comes up again. Before:
#    "closed: Cannot allocate memory", counted as a failed handshake.
# 7. site a stops (SIGTERM) while two clients wait in [echo]'s backlog for
#    a descriptor: the listener cannot take them, and its close resets
#    them. Before: reset by the kernel with nothing said. Now site a says
#    how many it leaves, and why, and exits cleanly.
. "$(dirname "$0")/lib.sh"
FAULT=${FAULT:-$(dirname "$GWLOAD")/libfault.so}
[ -f "$FAULT" ] || fail "no fault module at $FAULT (set FAULT)"
EPERM=1
ENOMEM=12

# fault_env SITE ERRNO [CALLOC_MIN]: the module and its switches for a
# site's gateway ($WORK/SITE.nomem: mallocs of 4 KiB or more fail;
# SITE.nocalloc: callocs of CALLOC_MIN bytes or more, default 4 KiB;
# SITE.noaccept: accept4; SITE.nosend: sendmsg, with ENOMEM).
fault_env() {
    echo "LD_PRELOAD=$FAULT FAULT_MALLOC_WHILE=$WORK/$1.nomem FAULT_MALLOC_MIN=4096" \
        "FAULT_CALLOC_WHILE=$WORK/$1.nocalloc FAULT_CALLOC_MIN=${3:-4096}" \
        "FAULT_ACCEPT_WHILE=$WORK/$1.noaccept FAULT_ACCEPT_ERRNO=$2" \
        "FAULT_SENDMSG_WHILE=$WORK/$1.nosend FAULT_SENDMSG_ERRNO=$ENOMEM"
}

# upload_done PID BYTES: the bulk upload PID (its report in $WORK/bulk.out)
# carried all BYTES, and neither gateway's association ended meanwhile.
upload_done() {
    local r site
    wait "$1" || true
    r=$(<"$WORK/bulk.out")
    log "upload: $r"
    expect "$r" ok == 1
    expect "$r" bytes_verified == "$2"
    for site in site-a site-b; do
        [ "$(count_log "$site" 'assoc [0-9]+ peer [^:]*: closed')" -eq 0 ] ||
            fail "$site: the association ended: $(grep -E 'assoc [0-9]+ peer [^:]*: closed' "$WORK/$site.log")"
    done
}

# cpu_permille NAME MS: how much of a CPU a gateway used over the next MS.
cpu_permille() {
    local stat=/proc/$(gw_pid "$1")/stat t0 c0 c1
    t0=$(now_ms) c0=$(awk '{ print $14 + $15 }' "$stat")
    sleep "$(($2 / 1000)).$(printf %03d $(($2 % 1000)))"
    c1=$(awk '{ print $14 + $15 }' "$stat")
    echo $(((c1 - c0) * 1000 * 1000 / $(getconf CLK_TCK) / ($(now_ms) - t0)))
}

# no_spin NAME WHAT: fails if the gateway used half a CPU or more over 2 s.
no_spin() {
    local used
    used=$(cpu_permille "$1" 2000)
    log "$1 used $used per mille of a CPU while $2"
    [ "$used" -lt 500 ] || fail "$1 used $used per mille of a CPU while $2: spinning"
}

pair_up
echo_bulk_config
server_start b 127.0.0.1:9001 echo
server_start b 127.0.0.1:9002 bulk

log "1. site b cannot accept peers (EPERM)"
touch "$WORK/site-b.noaccept"
# Site b's callocs fail from 32 KiB (part 6): an association's stream
# table (8 bytes a stream, 8,193 streams) but not the association itself.
GW_SETENV=$(fault_env site-b $EPERM 32768) gw_start b site-b
GW_SETENV=$(fault_env site-a $ENOMEM) gw_start a site-a
wait_log site-b 'not accepting peers for now: Operation not permitted' 20
no_spin site-b "it could not accept peers"
n=$(count_log site-b 'accept')
[ "$n" -eq 1 ] || fail "site b logged $n lines about accepting, not one: $(grep accept "$WORK/site-b.log" | head -3)"
rm "$WORK/site-b.noaccept"
wait_log site-b 'accepting peers again after' 10
n=$(gw_field site-b peers_accept_failures)
[ "$n" -ge 1 ] || fail "site b's status counts $n failures of its SCTP listener to accept"
log "ok: site b's status counts $n failures of its SCTP listener to accept"
wait_log site-a 'up: peer proved the key' 30
wait_log site-b 'up: peer proved the key' 10

log "2. site a cannot accept clients (ENOMEM)"
# The paced flow runs until the shortage is over (--stop-file; the count
# is only a cap), not for a count sized for a slow machine.
client a --connect 127.0.0.1:7001 --flows 1 --mode paced --chunk 1024 --interval-ms 20 \
    --count 2500 --stop-file "$WORK/paced.stop" --timeout-ms 60000 >"$WORK/paced.out" &
paced=$!
sleep 1
touch "$WORK/site-a.noaccept"
client a --connect 127.0.0.1:7001 --flows 1 --bytes 1000 --timeout-ms 20000 >"$WORK/during.out" &
during=$!
gw_status site-a >"$WORK/status.out" 2>&1 &
status=$!
sleep 0.5
no_spin site-a "it could not accept clients"
wait_log site-a 'not accepting \[echo\] clients for now: Cannot allocate memory' 5
wait_log site-a 'not accepting control clients for now: Cannot allocate memory' 5
rm "$WORK/site-a.noaccept"
wait "$status" || fail "sctpgw status asked meanwhile failed: $(<"$WORK/status.out")"
grep -q '^gateway: site-a' "$WORK/status.out" || fail "status asked meanwhile: $(<"$WORK/status.out")"
log "ok: the status request asked meanwhile was answered once accept() worked"
n=$(gw_field site-a control_accept_failures)
[ "$n" -ge 1 ] || fail "site a's status counts $n failures of its control socket to accept"
log "ok: site a's status counts $n failures of its control socket to accept"
wait "$during" || true
r=$(<"$WORK/during.out")
log "client that came during the shortage: $r"
expect "$r" ok == 1
expect "$r" bytes_verified == 1000
proc_running "$paced" ||
    fail "the paced flow ended before the shortage did: $(<"$WORK/paced.out")"
: >"$WORK/paced.stop"
wait "$paced" || true
r=$(<"$WORK/paced.out")
log "paced flow beside: $r"
expect_whole "$r" 1
expect "$r" max_gap_ms "<" 1000
wait_log site-a 'accepting \[echo\] clients again after' 5
r=$(client a --connect 127.0.0.1:7001 --flows 1 --bytes 1000 --timeout-ms 10000)
expect "$r" ok == 1
# Rested every 100 ms for over half a second.
fails=$(svc_field site-a echo accept_failures)
[ "$fails" -ge 2 ] || fail "[echo]'s accept failures in the status: $fails"
st=$(gw_status site-a)
grep -qE "^  echo: accept\(\) failed $fails times \(clients waited; see the log\)$" <<<"$st" ||
    fail "site a's status does not say [echo]'s $fails accept failures: $st"
log "ok: the status counts [echo]'s $fails accept failures"
before=$fails

pid=$(gw_pid site-a)
nofile=$(prlimit --pid "$pid" --nofile --noheadings --output SOFT)
# Below what it holds (past standard error): no new descriptor can be had.
prlimit --pid "$pid" --nofile=3: || fail "cannot lower site a's descriptor limit"
log "site a's descriptor limit lowered from $nofile to 3 ($(ls "/proc/$pid/fd" | wc -l) open)"
client a --connect 127.0.0.1:7001 --flows 1 --bytes 1000 --timeout-ms 20000 >"$WORK/emfile.out" &
waiting=$!
wait_log site-a 'not accepting \[echo\] clients for now: Too many open files' 5
no_spin site-a "it had no descriptors"
kill -0 "$waiting" 2>/dev/null || fail "the client was dropped while site a had no descriptors: $(<"$WORK/emfile.out")"
prlimit --pid "$pid" --nofile="$nofile:"
wait "$waiting" || true
r=$(<"$WORK/emfile.out")
log "client that waited for a descriptor: $r"
expect "$r" ok == 1
expect "$r" bytes_verified == 1000
wait_log site-a 'accepting \[echo\] clients again after' 5 2
fails=$(svc_field site-a echo accept_failures)
[ "$fails" -gt "$before" ] || fail "[echo]'s accept failures for want of descriptors not counted: $fails"
log "ok: and $((fails - before)) more for want of descriptors"

log "3. site a has no memory for reads"
client a --connect 127.0.0.1:7002 --mode bulk --flows 1 --bytes 64G --timeout-ms 120000 \
    >"$WORK/bulk.out" &
bulk=$!
until [ "$(gw_bytes_out site-a | cut -d' ' -f2)" -gt 4000000 ]; do
    kill -0 "$bulk" 2>/dev/null || fail "the upload ended before the shortage: $(<"$WORK/bulk.out")"
    sleep 0.5
done
touch "$WORK/site-a.nomem"
sleep 1
no_spin site-a "out of memory"
wait_log site-a 'flow [0-9]+ \[bulk\].*reset: out of memory for a read' 10
timeout 30 tail --pid="$bulk" -f /dev/null || fail "the upload's client did not see its flow end"
log "upload: $(<"$WORK/bulk.out")"
rm "$WORK/site-a.nomem"
r=$(client a --connect 127.0.0.1:7001 --flows 4 --bytes 1M --timeout-ms 60000)
log "memory back: $r"
expect "$r" ok == 4
expect "$r" bytes_verified == $((4 * 1048576))

log "4. no kernel memory for SCTP"
# Paced at 4 MB/s (the pair carries about 6 here): 24 MiB take 6 s, so the
# upload runs through the squeeze (from 2 s to 4.5 s) however fast the
# machine, and is not kept going for long after it.
client a --connect 127.0.0.1:7002 --mode bulk --flows 1 --bytes 24M --rate 4M \
    --timeout-ms 120000 >"$WORK/bulk.out" &
bulk=$!
sleep 2
mem=$(cat /proc/sys/net/sctp/sctp_mem)
echo "1 1 1" >/proc/sys/net/sctp/sctp_mem
sleep 0.5
cpu_permille site-a 2000 >"$WORK/cpu-a" &
a_check=$!
used_b=$(cpu_permille site-b 2000)
wait "$a_check"
used_a=$(<"$WORK/cpu-a")
echo "$mem" >/proc/sys/net/sctp/sctp_mem
log "while SCTP had no memory site a used $used_a and site b $used_b per mille of a CPU"
[ "$used_a" -lt 500 ] && [ "$used_b" -lt 500 ] ||
    fail "site a used $used_a and site b $used_b per mille of a CPU while SCTP had no memory: spinning"
log "SCTP's memory back ($mem)"
[ "$(count_log site-a 'no memory for SCTP sends')$(count_log site-b 'no memory for SCTP sends')" != 00 ] ||
    fail "neither gateway said that SCTP had no memory"
upload_done "$bulk" $((24 * 1048576))

log "4b. site a's SCTP sends refused for want of memory"
starved=$(count_log site-a 'no memory for SCTP sends')
client a --connect 127.0.0.1:7002 --mode bulk --flows 1 --bytes 12M --rate 4M \
    --timeout-ms 120000 >"$WORK/bulk.out" &
bulk=$!
sleep 1
touch "$WORK/site-a.nosend"
used_a=$(cpu_permille site-a 1500)
rm "$WORK/site-a.nosend"
log "while its sends were refused site a used $used_a per mille of a CPU"
[ "$used_a" -lt 500 ] || fail "site a used $used_a per mille of a CPU while its sends were refused"
[ "$(count_log site-a 'no memory for SCTP sends')" -gt "$starved" ] ||
    fail "site a did not say its sends were refused for want of memory"
upload_done "$bulk" $((12 * 1048576))

log "5. site a has no memory for messages read, under load both ways"
client a --connect 127.0.0.1:7001 --flows 4 --bytes 1G --timeout-ms 60000 >"$WORK/both.out" &
both=$!
start=$(gw_bytes_out site-a | cut -d' ' -f2)
until [ "$(gw_bytes_out site-a | cut -d' ' -f2)" -gt $((start + 8000000)) ]; do
    kill -0 "$both" 2>/dev/null || fail "the echo flows ended before the shortage: $(<"$WORK/both.out")"
    sleep 0.5
done
touch "$WORK/site-a.nocalloc"
wait_log site-a 'closed: out of memory for messages read' 10
rm "$WORK/site-a.nocalloc"
wait_log site-b 'peer gave up: .*out of memory for messages read' 5
log "ok: $(grep -E 'peer gave up' "$WORK/site-b.log" | cut -d' ' -f5-)"
wait "$both" || true
wait_log site-a 'up: peer proved the key' 30 2
r=$(client a --connect 127.0.0.1:7001 --flows 1 --bytes 1M --timeout-ms 30000)
log "memory back: $r"
expect "$r" ok == 1
expect "$r" bytes_verified == 1048576

log "6. site b without memory for a new association's tables (calloc)"
# failures: site b's handshake failures, from its status (the key is the
# gateway's alone; python3 would cost 0.3 s a start).
failures() {
    local json
    json=$(gw_status site-b --json)
    [[ $json =~ \"handshake_failures\":([0-9]+) ]] ||
        fail "no handshake_failures in site b's status: $json"
    echo "${BASH_REMATCH[1]}"
}
before=$(failures)
ups=$(count_log site-a 'up: peer proved the key')
ups_b=$(count_log site-b 'up: peer proved the key')
gw_stop TERM site-a
touch "$WORK/site-b.nocalloc"
GW_SETENV=$(fault_env site-a $ENOMEM) gw_start a site-a
wait_log site-b "closed: cannot set up the association's tables: Cannot allocate memory" 20
rm "$WORK/site-b.nocalloc"
wait_log site-a "peer gave up: internal error: cannot set up the association's tables" 5
after=$(failures)
log "site b's handshake failures: $before before, $after after"
[ "$after" -eq "$before" ] ||
    fail "site b counted a peer that proved the key among its handshake failures"
# Site a logs "up" for each attempt that b, short of memory, then ends;
# b logs it only once it has the tables, and no attempt fails after that.
wait_log site-b 'up: peer proved the key' 30 $((ups_b + 1))
gaveup=$(count_log site-a "peer gave up: internal error: cannot set up the association's tables")
wait_log site-a 'up: peer proved the key' 10 $((ups + gaveup + 1))
r=$(client a --connect 127.0.0.1:7001 --flows 1 --bytes 1M --timeout-ms 30000)
log "memory back: $r"
expect "$r" ok == 1
expect "$r" bytes_verified == 1048576

log "7. site a stops while two clients wait for a descriptor"
pid=$(gw_pid site-a)
nofile=$(prlimit --pid "$pid" --nofile --noheadings --output SOFT)
emfile=$(count_log site-a 'not accepting \[echo\] clients for now: Too many open files')
prlimit --pid "$pid" --nofile=3: || fail "cannot lower site a's descriptor limit"
client a --connect 127.0.0.1:7001 --flows 2 --bytes 1000 --timeout-ms 20000 >"$WORK/left.out" &
left=$!
wait_log site-a 'not accepting \[echo\] clients for now: Too many open files' 5 $((emfile + 1))
until [ "$(in_site a ss -Hltn 'sport = :7001' | awk '{ print $2 }')" = 2 ]; do
    kill -0 "$left" 2>/dev/null || fail "the clients ended before site a stopped: $(<"$WORK/left.out")"
    sleep 0.1
done
kill -TERM "$pid"
wait_log site-a 'WARN .*\[echo\]: closing with 2 clients waiting that cannot be accepted \(Too many open files\): the kernel resets them' 10
# Its descriptors back for the exit (a sanitizer's report needs some).
prlimit --pid "$pid" --nofile="$nofile:" 2>/dev/null || true
gw_wait_exit site-a TERM
wait "$left" || true
r=$(<"$WORK/left.out")
log "clients left waiting at the stop: $r"
expect "$r" failed == 2
done_ok
