#!/usr/bin/env bash
# SCTP inside UDP (udp_port, RFC 6951) across links that drop IP protocol
# 132, as some clouds and firewalls do. Both links drop native SCTP at both
# sites (a u32 filter on each ingress), then:
# - a pair without udp_port never comes up: the drop is real;
# - a gateway with udp_port but not the kernel's net.sctp.udp_port refuses
#   to start (exit 1), either role, and says which sysctl to set;
# - with both set at both ends the association comes up, 16 flows of 256 KiB
#   arrive intact, no packet leaves in IP fragments (the kernel keeps the
#   UDP header's 8 bytes free) and none is native (the filters drop none);
# - a packet forged inside UDP from another UDP port, with a wrong AUTH,
#   moves the path's peer UDP port (site b replies there) and costs the
#   flows beside it nothing;
# - link 1 cut, the same association carries flows on link 2, still
#   inside UDP. `sctpgw status` shows each path inside UDP at both ends;
# - the sysctl gone at site a, its redials do not leave native: it says
#   why; set again, site a dials inside UDP and carries flows;
# - a pair on the links' IPv6 addresses: the same, inside UDP over IPv6.
# (The filters drop native SCTP over IPv4 and IPv6.)
. "$(dirname "$0")/lib.sh"
UDP=9899

# udp_ports NAME: the udp_port of each of the gateway's paths, from its
# status, with bash builtins.
udp_ports() {
    local json ports=
    json=$(gw_status "$1" --json)
    while [[ $json =~ \"udp_port\":([0-9]+)(.*) ]]; do
        ports+=" ${BASH_REMATCH[1]}"
        json=${BASH_REMATCH[2]}
    done
    echo "${ports# }"
}
pair_up
native_sctp_drop
server_start b 127.0.0.1:9001 echo

# Native SCTP: dropped, so nothing comes up.
echo_config 1
gw_start b site-b1
gw_start a site-a1
sleep 3
[ "$(count_log site-a1 'up: peer proved the key')" -eq 0 ] || fail "native SCTP got through"
d=$(native_dropped)
log "native SCTP packets dropped in 3 s: $d"
[ "$d" -gt 0 ] || fail "the filters dropped nothing"
gw_stop TERM site-a1 site-b1

# udp_port without the kernel's UDP socket: a clear refusal to start.
ASSOC_EXTRA="udp_port = $UDP" echo_config 2
gw_start a site-a2
gw_start b site-b2
for name in site-a2 site-b2; do
    pid=$(gw_pid "$name")
    GW_ENDED[$pid]=1
    [ -z "$(proc_wait_exit 10 "$pid")" ] || fail "$name still runs without net.sctp.udp_port"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 1 ] || fail "$name exited with status $rc, not 1"
    wait_log "$name" "udp_port = $UDP: the kernel's net.sctp.udp_port is 0; set it to $UDP" 1
done

# Inside UDP: up, bytes intact, no fragment, nothing native. outage_ms
# 2000: how long site a waits, once its sysctl is gone below, before it
# ends the association (nothing here is meant to last that long: a link
# cut leaves the other path).
udp_sysctl $UDP
ASSOC_EXTRA="udp_port = $UDP" OUTAGE_MS=2000 echo_config 3
before=$(native_dropped)
pair_start 3
# 256 KiB a flow: some 180 full-sized packets each, what the fragment
# count is about; more bytes only take longer.
r=$(client a --connect 127.0.0.1:7001 --flows 16 --bytes $((256 << 10)) --mode echo --timeout-ms 120000)
log "$r"
expect "$r" ok == 16
expect "$r" bytes_verified == $((16 * (256 << 10)))
expect "frag_a=$(net_stat a IpFragCreates)" frag_a == 0
expect "frag_b=$(net_stat b IpFragCreates)" frag_b == 0
expect "native_dropped=$(($(native_dropped) - before))" native_dropped == 0
for name in site-a3 site-b3; do
    u=$(udp_ports "$name")
    log "$name: its paths' udp_port: $u"
    [ "$u" = "$UDP $UDP" ] || fail "$name's two paths are not both inside UDP: $u"
done

# A packet forged inside UDP from another UDP port, by an attacker on link
# 1 who has seen the association's verification tag: an AUTH chunk naming
# an HMAC site b does not have, and a HEARTBEAT behind it. SCTP-AUTH does
# not cover the UDP header: the kernel takes the packet's UDP source as
# the path's peer port as soon as the tag matches, before it looks at the
# AUTH, so site b sends on link 1 to that port (its ERROR reply at least)
# until site a's next packet there sets it back. What must hold: the flows
# beside it lose nothing and the association lives on. They run from
# before the forged packet until 2 s after it (inject.py exits once it has
# sent it): several retransmission timeouts (rto_max 250 ms), in which a
# path broken by it would have failed.
STRAY=40000
in_site a tc filter add dev l1 parent ffff: prio 3 protocol ip u32 match ip protocol 17 0xff \
    match ip dport $STRAY 0xffff action ok || fail "cannot count packets to UDP port $STRAY"
inject_start udp --udp $UDP --udp-sport $STRAY --hmac-id 2 auth
client a --connect 127.0.0.1:7001 --flows 2 --mode paced --chunk 1024 --interval-ms 20 \
    --count 1500 --timeout-ms 40000 --stop-file "$WORK/beside.stop" >"$WORK/beside.out" &
beside=$!
rc=0
wait "$INJECT_PID" || rc=$?
log "forged: $(<"$WORK/forge-udp.out")"
[ "$rc" -eq 0 ] || fail "inject.py failed ($rc)"
sleep 2
proc_running "$beside" || fail "the flows beside the forged packet ended early: $(<"$WORK/beside.out")"
: >"$WORK/beside.stop"
wait "$beside" || true
r=$(<"$WORK/beside.out")
log "beside the forged packet: $r"
expect_whole "$r" 2
stray=$(tc_hits a l1 3)
log "site b sent $stray packets to UDP port $STRAY after the forged one"
[ "$stray" -ge 1 ] || fail "no reply to the forged packet at UDP port $STRAY: it did not \
reach site b, or the kernel no longer takes the port from an unauthenticated packet"
[ "$(count_log site-a3 'assoc [0-9]+ peer [^ ]+: closed:')" -eq 0 ] || fail "the association ended"

# Link 1 cut: the association moves to link 2, inside UDP too.
topo_cut 1
wait_log site-a3 'path 10.1.0.2[^ ]*: (potentially failed|down)' 15
r=$(client a --connect 127.0.0.1:7001 --flows 4 --bytes $((256 << 10)) --mode echo --timeout-ms 60000)
log "$r"
expect "$r" ok == 4
expect "native_dropped=$(($(native_dropped) - before))" native_dropped == 0
[ "$(count_log site-a3 'up: peer proved the key')" -eq 1 ] || fail "site-a3 dialed again"
[ "$(count_log site-a3 'assoc [0-9]+ peer [^ ]+: closed:')" -eq 0 ] || fail "the association ended"

# Site a's sysctl reset: its kernel's UDP socket closes, site a hears
# nothing more, and after outage_ms (2 s) it ends the association. Its
# redials would leave native; it does not dial, and says why: at the 1st,
# 2nd and 4th refused dial (then at every power of two), 0.1 to 1 s apart
# (the backoff). Watched until the 4th, about 1 s after the 1st, where a
# fixed 2 s after the 1st used to be.
in_site a sh -c 'echo 0 >/proc/sys/net/sctp/udp_port'
before=$(native_dropped)
wait_log site-a3 'no usable path for outage_ms' 15
wait_log site-a3 "ERROR .*udp_port = $UDP: the kernel's net.sctp.udp_port is 0" 10 3
expect "native_dropped=$(($(native_dropped) - before))" native_dropped == 0

# The sysctl back: site a dials again, inside UDP, and carries flows.
topo_restore 1
udp_sysctl $UDP
wait_log site-a3 'up: peer proved the key' 30 2
r=$(client a --connect 127.0.0.1:7001 --flows 4 --bytes $((256 << 10)) --mode echo --timeout-ms 60000)
log "redialled: $r"
expect "$r" ok == 4
expect "native_dropped=$(($(native_dropped) - before))" native_dropped == 0

# IPv6 links inside UDP: the kernel's UDP socket for IPv6 carries both
# paths; no fragment, nothing native.
gw_stop TERM site-a3 site-b3
for name in site-a4 site-b4; do
    if [ "$name" = site-a4 ]; then
        assoc="role = connect
local = fd00:1::1, fd00:2::1
remote = fd00:1::2, fd00:2::2
primary = fd00:1::2"
        svc="accept = 127.0.0.1:7004"
    else
        assoc="role = listen
local = fd00:1::2, fd00:2::2"
        svc="connect = 127.0.0.1:9001"
    fi
    printf '[gateway]\nname = %s\npsk_file = site.key\ncontrol = %s\n[association]\n%s\n' \
        "$name" "$WORK/$name.sock" "$assoc" >"$WORK/$name.ini"
    printf 'udp_port = %s\nfailover_ms = 500\n[echo]\n%s\n' "$UDP" "$svc" >>"$WORK/$name.ini"
done
before=$(native_dropped)
pair_start 4
grep -q 'paths fd00:1::2' "$WORK/site-a4.log" || fail "site-a4's association is not on IPv6"
r=$(client a --connect 127.0.0.1:7004 --flows 8 --bytes $((256 << 10)) --mode echo --timeout-ms 120000)
log "IPv6 inside UDP: $r"
expect "$r" ok == 8
expect "$r" bytes_verified == $((8 * (256 << 10)))
expect "frag6_a=$(net_stat a Ip6FragCreates)" frag6_a == 0
expect "frag6_b=$(net_stat b Ip6FragCreates)" frag6_b == 0
expect "native_dropped=$(($(native_dropped) - before))" native_dropped == 0
for name in site-a4 site-b4; do
    u=$(udp_ports "$name")
    [ "$u" = "$UDP $UDP" ] || fail "$name's two IPv6 paths are not both inside UDP: $u"
done
done_ok
