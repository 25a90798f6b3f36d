#!/usr/bin/env bash
# A TCP reset on either side becomes a reset on the other, promptly.
. "$(dirname "$0")/lib.sh"
PROBE="$(dirname "$0")/reset_probe.py"
pair_up
gw_config site-a connect <<'INI'
[r1]
accept = 127.0.0.1:7021
[r2]
accept = 127.0.0.1:7022
INI
gw_config site-b listen <<'INI'
[r1]
connect = 127.0.0.1:9021
[r2]
connect = 127.0.0.1:9022
INI
pair_start

# The client resets: the back end must see a reset, not a clean end.
in_site b python3 "$PROBE" server 9021 >"$WORK/backend.out" &
wait_listen b 9021
in_site a python3 "$PROBE" client 7021 --reset
wait $!
read -r how secs <"$WORK/backend.out"
log "back end saw: $how after ${secs}s"
[ "$how" = reset ] || fail "the back end saw '$how' instead of a reset"
awk -v s="$secs" 'BEGIN { exit !(s < 2) }' || fail "the reset took ${secs}s to arrive"

# The back end resets: the client must see a reset.
in_site b python3 "$PROBE" server 9022 --reset &
wait_listen b 9022
read -r how secs < <(in_site a python3 "$PROBE" client 7022)
log "client saw: $how after ${secs}s"
[ "$how" = reset ] || fail "the client saw '$how' instead of a reset"
awk -v s="$secs" 'BEGIN { exit !(s < 2) }' || fail "the reset took ${secs}s to arrive"
done_ok
