#!/usr/bin/env bash
# An SCTP socket opens (inside the test-bed VM), and `ss` sees SCTP sockets
# (the sctp_diag module is there). Usage: sctp_socket.sh PROBE
. "${BASH_SOURCE[0]%/*}/lib.sh"

out=$("$PROBE" socket)
rc=$?
echo "$out"
[ "$rc" -eq 0 ] || bed_fail "sctp_probe socket exited $rc: $out"

# A listening probe on the loopback must show in `ss -A sctp`.
"$PROBE" server --bind 127.0.0.1 --port 7913 --ready "$WORK/ready" --idle-timeout 20 \
    >"$WORK/server.log" 2>&1 &
BED_PIDS+=($!)
bed_wait_file "$WORK/ready" 20 || bed_fail "the probe server did not start"
listing=$(ss -Hln -A sctp 2>&1)
echo "ss -Hln -A sctp: $listing"
[[ "$listing" == *":7913"* ]] || bed_fail "ss does not list the listening SCTP socket"
echo "PASS: SCTP sockets work${SCTPGW_IN_VM:+ inside the VM}"
