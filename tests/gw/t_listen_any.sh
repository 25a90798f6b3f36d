#!/usr/bin/env bash
# A listener without `local` binds every address of the host on an IPv6
# socket, which reports its IPv4 peers mapped (::ffff:10.2.0.1). An
# operator's `sctpgw primary 10.2.0.1` at that end must find the path:
# exit 0, status shows that path primary, and an echo flow carries every
# byte. (The addresses were compared by family only: "10.2.0.1 is not a
# peer address of any ready association".) Status and the log show the
# peers as an operator writes them, 10.2.0.1, not ::ffff:10.2.0.1, and
# its own addresses as the association has them, not the host's.
# Site b's net.ipv6.bindv6only is 1, as some hosts set it: the listener's
# IPv6 socket still takes IPv4 peers (it followed the sysctl, and the
# association never came up).
. "$(dirname "$0")/lib.sh"
pair_up
echo_config
sed -i '/^local = /d' "$WORK/site-b.ini"
in_site b sysctl -qw net.ipv6.bindv6only=1
server_start b 127.0.0.1:9001 echo
pair_start
out=$("$SCTPGW" primary 10.2.0.1 -s "$WORK/site-b.sock" 2>&1) ||
    fail "primary 10.2.0.1 at the listener without local: $out"
log "primary 10.2.0.1: $out"
r=$(gw_status site-b --json | python3 -c 'import json, sys
a = json.load(sys.stdin)["associations"][0]
p = {p["peer"]: p["primary"] for p in a["paths"]}
print("plain=%d primary2=%d primary1=%d links=%d loopback=%d" % (
      sorted(p) == ["10.1.0.1", "10.2.0.1"], p.get("10.2.0.1", False), p.get("10.1.0.1", False),
      {"10.1.0.2", "10.2.0.2"} <= set(a["local"]),
      len({"127.0.0.1", "::1"} & set(a["local"]))))')
log "status of site b: $r"
expect "$r" plain == 1
expect "$r" primary2 == 1
expect "$r" primary1 == 0
# Its local addresses are the association's: the link addresses, not every
# address of the host as the wildcard bind has them (loopback among them).
expect "$r" links == 1
expect "$r" loopback == 0
r=$(client a --connect 127.0.0.1:7001 --flows 2 --bytes 1M --mode echo)
log "echo: $r"
expect "$r" ok == 2
expect "$r" bytes_verified == $((2 << 20))
[ "$(count_log site-b 'paths 10\.[12]\.0\.1 ')" -eq 1 ] && [ "$(count_log site-b '::ffff:')" -eq 0 ] ||
    fail "site b's log shows the peers mapped: $(grep -m 3 -E '::ffff:|paths ' "$WORK/site-b.log")"
done_ok
