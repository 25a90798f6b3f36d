#!/usr/bin/env bash
# I-DATA (RFC 8260). With net.sctp.intl_enable = 1 at both sites (as the
# bed sets it) the association carries I-DATA and 64 KiB messages; small
# socket buffers (a 32 KiB window for 64 KiB messages) make the kernel hand
# messages over in pieces, interleaved across streams, which the gateways
# must join per stream. Then site b's kernel refuses I-DATA: site b warns
# once, both ends fall back to 8 KiB messages. Every byte is verified.
# The second pair also runs site b without the potentially-failed state
# (net.sctp.pf_enable = 0), which only that gateway warns of.
. "$(dirname "$0")/lib.sh"

pair_of() { # pair_of SUFFIX: a gateway pair named site-aSUFFIX, site-bSUFFIX
    echo_config "$1"
    pair_start "$1"
}

echo_check() { # echo_check FLOWS BYTES
    local r
    r=$(client a --connect 127.0.0.1:7001 --flows "$1" --bytes "$2" --mode echo --timeout-ms 240000)
    log "$r"
    expect "$r" ok == "$1"
    expect "$r" failed == 0
    expect "$r" bytes_verified == $(($1 * $2))
}

stop_pair() { gw_stop INT "site-a$1" "site-b$1"; } # stop_pair SUFFIX

pair_up
server_start b 127.0.0.1:9001 echo

LOG_LEVEL=debug ASSOC_EXTRA='sock_buffer = 65536' pair_of ""
for s in site-a site-b; do
    [ "$(count_log $s 'I-DATA, messages up to 64 KiB')" -eq 1 ] || fail "$s: no I-DATA"
    [ "$(count_log $s 'no I-DATA')" -eq 0 ] || fail "$s: warned of no I-DATA"
done
# Rounds of 16 flows of 256 KiB (four 64 KiB messages each way, the 16
# flows interleaved) until both ends have been handed messages in pieces
# (each gateway says so once, at its first): with a 32 KiB window the first
# round should do it, and four move the 16 MiB that one round of 1 MiB
# flows moved before, so a kernel that seldom splits them is still caught
# in the act. Every round's bytes are verified.
pieces_both() {
    [ "$(count_log site-a 'delivers messages in pieces')" -ge 1 ] &&
        [ "$(count_log site-b 'delivers messages in pieces')" -ge 1 ]
}
pieces=0
for round in 1 2 3 4; do
    echo_check 16 $((256 << 10))
    if pieces_both; then
        log "ok: both ends were handed messages in pieces (round $round)"
        pieces=1
        break
    fi
done
[ "$pieces" = 1 ] || for s in site-a site-b; do
    [ "$(count_log $s 'delivers messages in pieces')" -ge 1 ] ||
        fail "$s: the kernel never delivered in pieces; the per-stream joining went untested"
done
stop_pair ""

for s in site-a site-b; do
    [ "$(count_log $s 'pf_enable')" -eq 0 ] || fail "$s: warned of pf_enable, which the bed leaves at 1"
done
in_site b sh -c 'echo 0 >/proc/sys/net/sctp/intl_enable; echo 0 >/proc/sys/net/sctp/pf_enable'
pair_of 2
wait_log site-b2 'WARN .*no I-DATA \(Operation not permitted; set net.sctp.intl_enable = 1\)'
[ "$(count_log site-b2 'WARN .*net.sctp.pf_enable is not 1: .*failover may take 1.5 x failover_ms')" -eq 1 ] ||
    fail "site b did not warn once of net.sctp.pf_enable = 0"
[ "$(count_log site-a2 'pf_enable')" -eq 0 ] || fail "site a warned of pf_enable, which its kernel has at 1"
[ "$(count_log site-b2 'WARN .*no I-DATA \(')" -eq 1 ] || fail "site b did not warn once"
[ "$(count_log site-a2 'WARN .*no I-DATA \(')" -eq 0 ] || fail "site a warned, though its kernel allows I-DATA"
for s in site-a2 site-b2; do
    [ "$(count_log $s 'no I-DATA, messages up to 8 KiB')" -eq 1 ] || fail "$s: did not fall back"
done
# 8 KiB messages need no pieces: 32 of them a flow each way show the
# fallback carries every byte as well as 128 did.
echo_check 16 $((256 << 10))
done_ok
