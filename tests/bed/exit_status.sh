#!/usr/bin/env bash
# tests/vm/run itself: exit statuses, output streams, the environment, a
# writable share, PATH, the timeout and a stalled boot. Runs on the host;
# boots the VM five times.
# Usage: exit_status.sh PATH-OF-tests/vm/run
set -u
run=${1:?usage: $0 PATH-OF-tests/vm/run}
work=$(mktemp -d "${TMPDIR:-/tmp}/sctpgw-bed-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAIL: $1: expected [$2], got [$3]"
        failed=1
    fi
}

"$run" --vm -- true
check "exit status 0 comes back" 0 $?

BED_VALUE='two words' "$run" --vm --share "$work" -- \
    sh -c 'echo "hello stdout"; echo "hello stderr" >&2;
           printf "%s|%s|%s" "$BED_VALUE" "$SCTPGW_IN_VM" "$(pwd)" >"$1/inside";
           printf "%s" "$PATH" >"$1/path"; exit 3' \
    sh "$work" >"$work/out" 2>"$work/err"
check "exit status 3 with output" 3 $?
sys=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
path=$(cat "$work/path" 2>/dev/null)
check "PATH inside: the system's folders first" "$sys" "${path:0:${#sys}}"
check "stdout comes back" "hello stdout" "$(cat "$work/out")"
check "stderr comes back apart" "hello stderr" "$(cat "$work/err")"
check "environment, SCTPGW_IN_VM and cwd inside; file written to the share" \
    "two words|1|$(pwd -P)" "$(cat "$work/inside" 2>/dev/null)"

start=$SECONDS
"$run" --vm --timeout 3 -- sleep 60 2>"$work/err"
check "timeout gives 124" 124 $?
elapsed=$((SECONDS - start))
if [ "$elapsed" -ge 60 ]; then
    echo "FAIL: the timeout did not stop the command (${elapsed}s)"
    failed=1
fi
grep -q "timed out" "$work/err" || {
    echo "FAIL: no timeout message: $(cat "$work/err")"
    failed=1
}

# A boot that does not reach the command in time (a limit of 0 s: none
# can) is tried once more, then given up with 125 and the reason.
start=$SECONDS
SCTPGW_VM_BOOT_LIMIT=0 "$run" --vm --timeout 60 -- true 2>"$work/err"
check "a stalled boot gives 125" 125 $?
check "a stalled boot is tried twice" 2 "$(grep -c 'did not start the command within 0s' "$work/err")"
if [ $((SECONDS - start)) -ge 30 ]; then
    echo "FAIL: giving up on stalled boots took $((SECONDS - start))s"
    failed=1
fi

[ "$failed" -eq 0 ] && echo "PASS: tests/vm/run carries exit status, output, environment and timeout, and boots again once"
exit "$failed"
