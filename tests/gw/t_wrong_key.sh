#!/usr/bin/env bash
# Gateways with different keys: no association, no back-end connection,
# both ends log why, and clients are refused promptly. Site a dials a peer
# that is not up yet first: its failed dials are logged at the 1st, 2nd,
# 4th..., but the first one with the new reason (the key) at once.
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
# SCTP-AUTH keys come from the key file, so each end hears nothing at all.
wait_log site-a 'without a word from the peer: .* a different psk_file' 15
wait_log site-b 'without a word from the peer: .* a different psk_file' 15
first=$(grep -m 1 'without a word from the peer' "$WORK/site-a.log")
log "site-a: $first"
[[ $first == *" WARN "* && $first == *"failed dial"* ]] || fail "the key's first failure was not told"
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
