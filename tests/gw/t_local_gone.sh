#!/usr/bin/env bash
# A link whose local addresses are gone when the gateways start (an LTE
# interface that dropped, an address still in duplicate detection): both
# gateways start and say which local address the host lacks, and the
# association comes up over the other link and carries flows. Once the
# addresses are back, the path over their link turns active at both ends,
# and a cut of the first link moves every flow to it with every byte, on
# the same association. (Before, the kernel's all-or-nothing bind of the
# address list failed: site b exited at start, "cannot listen for peers",
# and site a could not dial until both addresses were back.)
. "$(dirname "$0")/lib.sh"
FAILOVER_MS=500
SLACK_MS=300
[ -z "${SCTPGW_SANITIZED:-}" ] || SLACK_MS=1000
pair_up
echo_config
server_start b 127.0.0.1:9001 echo
in_site a ip addr del 10.2.0.1/24 dev l2
in_site b ip addr del 10.2.0.2/24 dev l2
pair_start
wait_log site-a "local address 10.2.0.1 is not on this host now" 1
wait_log site-b "local address 10.2.0.2 is not on this host now" 1

# paced COUNT [gwload options]
paced() { client a --connect 127.0.0.1:7001 --flows 4 --mode paced --chunk 1024 \
    --interval-ms 10 --count "$@" --timeout-ms 60000; }
r=$(paced 100)
log "over link 1 alone: $r"
expect "$r" ok == 4
expect "$r" bytes_verified == $((4 * 100 * 1024))

in_site a ip addr add 10.2.0.1/24 dev l2
in_site b ip addr add 10.2.0.2/24 dev l2
# path_active NAME PEER: whether the gateway's path to PEER is active.
path_active() {
    local json
    json=$(gw_status "$1" --json) || return 1
    [[ $json =~ \{\"peer\":\"$2\",\"state\":\"active\" ]]
}
t0=$(now_ms)
until path_active site-a 10.2.0.2 && path_active site-b 10.2.0.1; do
    [ $(($(now_ms) - t0)) -lt 20000 ] ||
        fail "20 s after the addresses came back, the paths over link 2 are not both active:" \
            "$(gw_status site-a) $(gw_status site-b)"
    sleep 0.5
done
log "ok: both paths over link 2 active $(($(now_ms) - t0)) ms after the addresses came back"

# gwload cuts link 1 2 s into the flows (--at-ms), so the cut falls while
# they run.
r=$(paced 500 --at-ms 2000 --at-cmd "$TOPO cut 1")
log "link 1 cut: $r"
expect "$r" at_ms '>=' 1900
expect "$r" ok == 4
expect "$r" bytes_verified == $((4 * 500 * 1024))
expect "$r" max_gap_ms '<=' $((FAILOVER_MS + SLACK_MS))
[ "$(count_log site-a 'up: peer proved the key')" -eq 1 ] || fail "the association was lost"
[ "$(count_log site-a 'reset:')" -eq 0 ] || fail "a flow was reset"
done_ok
