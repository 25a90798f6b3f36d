#!/usr/bin/env bash
# Gateways with different keys: no association, no back-end connection,
# the dialling end logs why and counts it, and clients are refused
# promptly. Site a dials a peer that is not up yet first: its failed dials
# are logged at the 1st, 2nd, 4th..., but the first one with the new
# reason (the key) at once. With net.sctp.auth_enable = 1 (the bed's, as
# deploy/sysctl.d sets it) site b's kernel drops site a's COOKIE-ECHO for
# its AUTH: site b's gateway hears of nothing, and site a says that its
# COOKIE-ECHO was never taken and what that means.
. "$(dirname "$0")/lib.sh"
pair_up
make_key "$WORK/other.key"
LOG_LEVEL=debug gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001
INI
KEY_FILE=other.key gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001
INI
server_start b 127.0.0.1:9001 echo
gw_start a site-a
wait_log site-a 'DEBUG .*failed dial 5 in a row' 15
gw_start b site-b
KEY_WHY="never took this end's COOKIE-ECHO: with encryption on, that is what a different psk_file looks like"
wait_log site-a "$KEY_WHY" 15
first=$(grep -m 1 "$KEY_WHY" "$WORK/site-a.log")
log "site-a: $first"
[[ $first == *" WARN "* && $first == *"failed dial"* ]] || fail "the key's first failure was not told"
[ "$(count_log site-b 'assoc [0-9]+')" -eq 0 ] ||
    fail "site b heard of an association: $(grep -E 'assoc [0-9]+' "$WORK/site-b.log")"
failures=$(gw_status site-a --json | grep -oE '"handshake_failures":[0-9]+' | cut -d: -f2)
[ "${failures:-0}" -ge 1 ] || fail "site a counted no handshake failure ($failures)"
# No pause before the client: site a has had no association up from the
# start and never will, whatever its next dial is doing (a client is
# refused on that alone), so waiting longer would test nothing more.
r=$(client a --connect 127.0.0.1:7001 --flows 2 --mode expect-close --timeout-ms 5000)
log "client: $r"
expect "$r" ok == 2
expect "$r" refused == 0 # turned away by the gateway, not by no one listening
expect "$r" close_ms '<=' 1000
proc_running "$(gw_pid site-a)" || fail "site-a's gateway is gone"
proc_running "$(gw_pid site-b)" || fail "site-b's gateway is gone"
[ "$(count_log site-a 'up: peer proved the key')" -eq 0 ] || fail "site-a came up with a wrong key"
[ "$(count_log site-b 'up: peer proved the key')" -eq 0 ] || fail "site-b came up with a wrong key"
[ "$(grep -c 'accept' "$WORK/server-9001.log" || true)" -eq 0 ] || fail "the back end saw a connection"
done_ok
