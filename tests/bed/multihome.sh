#!/usr/bin/env bash
# Two sites, two links: a probe association bound to both links at both ends
# carries every message, over IPv4 and over IPv6, and has two paths.
# Runs inside the test-bed VM. Usage: multihome.sh PROBE
. "${BASH_SOURCE[0]%/*}/lib.sh"

COUNT=${BED_COUNT:-200}
PEERS=${BED_EXPECT_PEERS:-2}
topo_up --links 2 || bed_fail "topology"

for fam in 4 6; do
    local_addrs=$(topo_addr a 1 $fam),$(topo_addr a 2 $fam)
    remote=$(topo_addr b 1 $fam),$(topo_addr b 2 $fam)
    bed_start_server ipv$fam 7000 "$remote"
    bed_start_client ipv$fam 7000 "$local_addrs" "$remote" --count "$COUNT" --interval-ms 5
    bed_finish ipv$fam
    bed_log "IPv$fam: $BED_REPORT"
    [ "$(bed_field "$BED_REPORT" messages)" = "$COUNT" ] ||
        bed_fail "IPv$fam: expected $COUNT messages"
    [ "$(bed_field "$BED_REPORT" bytes)" = $((COUNT * 1024)) ] ||
        bed_fail "IPv$fam: expected $((COUNT * 1024)) bytes"
    [ "$(bed_field "$BED_REPORT" peers)" = "$PEERS" ] ||
        bed_fail "IPv$fam: the server sees $(bed_field "$BED_REPORT" peers) client addresses, expected $PEERS"
    client=$(grep '^sent=' "$WORK/ipv$fam.client.log")
    [ "$(bed_field "$client" peers)" = "$PEERS" ] ||
        bed_fail "IPv$fam: the client sees $(bed_field "$client" peers) server addresses, expected $PEERS"
done
echo "PASS: multihomed associations carry all data over IPv4 and IPv6"
