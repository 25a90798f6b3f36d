# shellcheck shell=bash
# Shared by the test-bed self-tests that run inside the VM (tests/bed/*.sh):
# the topology functions, a work folder, background process bookkeeping and
# probe helpers. Usage in a test: . "${BASH_SOURCE[0]%/*}/lib.sh" PROBE
set -uo pipefail

BED_DIR=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
ROOT=$(cd "$BED_DIR/../.." && pwd)
# shellcheck source=../net/topo.sh
. "$ROOT/tests/net/topo.sh"

PROBE=${1:?usage: $0 PATH-OF-sctp_probe}
[ -x "$PROBE" ] || {
    echo "FAIL: no probe binary at $PROBE" >&2
    exit 1
}
WORK=$(mktemp -d /tmp/sctpgw-bed.XXXXXX)
NS_A=$(topo_ns a)
NS_B=$(topo_ns b)
BED_PIDS=()

bed_log() {
    printf '[%(%T)T] %s\n' -1 "$*" >&2
}

bed_fail() {
    bed_log "FAIL: $*"
    exit 1
}

bed_cleanup() {
    local rc=$? pid
    for pid in "${BED_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    if [ "$rc" -ne 0 ]; then
        for f in "$WORK"/*.log; do
            [ -s "$f" ] || continue
            echo "----- ${f##*/}" >&2
            tail -n 30 "$f" >&2
        done
    fi
    topo_down >/dev/null 2>&1
    rm -rf "$WORK"
    exit "$rc"
}
trap bed_cleanup EXIT

# bed_wait_file FILE SECONDS: wait until FILE exists.
bed_wait_file() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# bed_field LINE NAME: the value of NAME=... in a probe report line.
bed_field() {
    local w
    for w in $1; do
        case "$w" in "$2"=*)
            echo "${w#*=}"
            return 0
            ;;
        esac
    done
    return 1
}

# bed_gt A B: A > B for decimal numbers.
bed_gt() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'
}

# bed_start_server NAME PORT ADDRS [probe options...]: starts a probe server
# in site b; its report lands in $WORK/NAME.report.
bed_start_server() {
    local name=$1 port=$2 addrs=$3
    shift 3
    rm -f "$WORK/$name.ready" "$WORK/$name.report"
    # ip execs the probe: $! is the probe's own pid.
    ip netns exec "$NS_B" "$PROBE" server --bind "$addrs" --port "$port" \
        --report "$WORK/$name.report" --ready "$WORK/$name.ready" "$@" \
        >"$WORK/$name.server.log" 2>&1 &
    BED_SERVER=$!
    BED_PIDS+=("$BED_SERVER")
    bed_wait_file "$WORK/$name.ready" 20 || bed_fail "$name: the probe server did not start"
}

# bed_start_client NAME PORT LOCAL REMOTE [probe options...]: starts a probe
# client in site a.
bed_start_client() {
    local name=$1 port=$2 local_addrs=$3 remote=$4
    shift 4
    ip netns exec "$NS_A" "$PROBE" client --bind "$local_addrs" --connect "$remote" --port "$port" -v "$@" \
        >"$WORK/$name.client.log" 2>&1 &
    BED_CLIENT=$!
    BED_PIDS+=("$BED_CLIENT")
}

# bed_finish NAME: waits for the client and server of NAME; sets BED_REPORT
# to the server's report line; fails the test if either failed.
bed_finish() {
    local name=$1 crc src
    wait "$BED_CLIENT"
    crc=$?
    wait "$BED_SERVER"
    src=$?
    BED_REPORT=$(cat "$WORK/$name.report" 2>/dev/null)
    [ "$crc" -eq 0 ] || bed_fail "$name: probe client exited $crc"
    [ "$src" -eq 0 ] || bed_fail "$name: probe server exited $src (${BED_REPORT:-no report})"
    [ -n "$BED_REPORT" ] || bed_fail "$name: no report from the server"
}
