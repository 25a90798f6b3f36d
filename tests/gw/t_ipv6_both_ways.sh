#!/usr/bin/env bash
# IPv6 link addresses and listeners, and services in both directions over
# the same association: site b (the listener) opens flows to site a too;
# no packet leaves either site in IPv6 fragments.
. "$(dirname "$0")/lib.sh"
pair_up
make_key "$WORK/site.key"
cat >"$WORK/site-a.ini" <<'INI'
[gateway]
name = site-a
psk_file = site.key
[association]
role = connect
local = fd00:1::1, fd00:2::1
remote = fd00:1::2, fd00:2::2
primary = fd00:1::2
failover_ms = 500
[there]
accept = [::1]:7031
[here]
connect = [::1]:9032
INI
cat >"$WORK/site-b.ini" <<'INI'
[gateway]
name = site-b
psk_file = site.key
[association]
role = listen
local = fd00:1::2, fd00:2::2
failover_ms = 500
[there]
connect = [::1]:9031
[here]
accept = [::1]:7032
INI
server_start b '[::1]:9031' echo
server_start a '[::1]:9032' echo
pair_start
client a --connect '[::1]:7031' --flows 8 --bytes $((1 << 20)) --mode echo >"$WORK/ab.out" &
ab=$!
r=$(client b --connect '[::1]:7032' --flows 8 --bytes $((1 << 20)) --mode echo)
wait "$ab" || true
log "b -> a: $r"
expect "$r" ok == 8
expect "$r" bytes_verified == $((8 << 20))
r=$(<"$WORK/ab.out")
log "a -> b: $r"
expect "$r" ok == 8
expect "$r" bytes_verified == $((8 << 20))
grep -q 'paths fd00:1::2' "$WORK/site-a.log" || fail "the association did not use the IPv6 links"
# No packet left in IPv6 fragments (as t_bulk checks for IPv4).
expect "frag_a=$(net_stat a Ip6FragCreates)" frag_a == 0
expect "frag_b=$(net_stat b Ip6FragCreates)" frag_b == 0
done_ok
