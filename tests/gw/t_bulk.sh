#!/usr/bin/env bash
# 64 concurrent flows x 1 MiB of random data, echoed by the back end and
# verified byte for byte as it comes back to the client. No packet of it left
# either site in IP fragments: a link that drops fragments (a firewall, a
# NAT) would lose every such packet (sock_keep_bundle_room; before it,
# this transfer had site a create 28,480 fragments).
. "$(dirname "$0")/lib.sh"
echo_pair
r=$(client a --connect 127.0.0.1:7001 --flows 64 --bytes $((1 << 20)) --mode echo --timeout-ms 240000)
log "$r"
expect "$r" ok == 64
expect "$r" failed == 0
expect "$r" bytes_verified == $((64 * (1 << 20)))
expect "frag_a=$(net_stat a IpFragCreates)" frag_a == 0
expect "frag_b=$(net_stat b IpFragCreates)" frag_b == 0
done_ok
