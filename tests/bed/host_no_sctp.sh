#!/usr/bin/env bash
# Natively on a host without SCTP, `sctp_probe socket` must fail with exit
# status 3 (that is why the test bed boots a VM). Skipped (77) where the
# host kernel has SCTP. Usage: host_no_sctp.sh PROBE
set -u
probe=${1:?usage: $0 PATH-OF-sctp_probe}
if python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' \
    >/dev/null 2>&1; then
    echo "SKIP: this host's kernel has SCTP"
    exit 77
fi
out=$("$probe" socket 2>&1)
rc=$?
echo "$out"
if [ "$rc" -ne 3 ]; then
    echo "FAIL: sctp_probe socket exited $rc on a host without SCTP (expected 3)"
    exit 1
fi
echo "PASS: no SCTP on this host, and the probe says so"
