#!/usr/bin/env bash
# The systemd unit, natively: `systemd-analyze verify` finds nothing to say
# about it (an unknown or misspelt key is only a warning there, so any
# output at all fails), its Documentation= pages exist (the build's man
# pages), and `systemd-analyze security` rates its exposure at most 2.0 of
# 10 (the hardening holds). The unit names /usr/sbin/sctpgw, which verify
# wants to exist: a copy pointing at the build's binary is checked.
#
# Usage: systemd_verify.sh UNIT SCTPGW MANDIR
set -euo pipefail
unit=$1 binary=$(realpath "$2") mandir=$3
command -v systemd-analyze >/dev/null || {
    echo "systemd_verify: systemd-analyze not found (package systemd)" >&2
    exit 1
}
[ -f "$mandir/man8/sctpgw.8" ] || {
    echo "systemd_verify: no man pages in $mandir (scdoc missing? deploy/install-deps)" >&2
    exit 1
}
grep -q '^ExecStart=/usr/sbin/sctpgw ' "$unit" || {
    echo "systemd_verify: $unit does not run /usr/sbin/sctpgw" >&2
    exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/sbin/sctpgw|$binary|g" "$unit" >"$work/sctpgw@.service"

out=$(MANPATH=$mandir systemd-analyze verify "$work/sctpgw@.service" 2>&1) || {
    echo "systemd_verify: systemd-analyze verify failed:" >&2
    echo "$out" >&2
    exit 1
}
if [ -n "$out" ]; then
    echo "systemd_verify: systemd-analyze verify has something to say:" >&2
    echo "$out" >&2
    exit 1
fi
echo "ok: systemd-analyze verify: nothing to say"

if ! out=$(systemd-analyze security --offline=true --threshold=20 "$work/sctpgw@.service" 2>&1); then
    echo "$out" | grep -F '✗' >&2 || true
    echo "$out" | tail -n 1 >&2
    echo "systemd_verify: exposure above 2.0" >&2
    exit 1
fi
echo "ok: $(echo "$out" | tail -n 1)"
