# Shared by the gateway integration tests. Sourced inside the test-bed VM
# (tests/vm/run) by each tests/gw/t_*.sh: builds the two-site topology,
# writes real config files, starts real sctpgw and gwload processes in the
# sites' namespaces and offers assertions on what gwload measured.
#
# Environment: SCTPGW (the gateway binary), GWLOAD (the traffic tool);
# SCTPGW_SANITIZED=1 when they were built with sanitizers (slower: timing
# bounds may be looser, see t_failover.sh).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOPO=${SCTPGW_TOPO:-$ROOT/tests/net/topo}
: "${SCTPGW:?path of the sctpgw binary}"
: "${GWLOAD:?path of the gwload binary}"
WORK=$(mktemp -d /tmp/sctpgw-test.XXXXXX)
PIDS=()
declare -A PID_NAME=()
# The gateways started (gw_start), and those whose end a test has taken in
# hand (gw_stop, gw_killed): every other one must exit with status 0 when
# proc_stop_all stops it, or must not have died before.
GW_PIDS=()
declare -A GW_ENDED=()
FAILED=0

# Sanitizers (a build with SCTPGW_SANITIZE): the gateways run in the
# background, so a report could change no exit status the test sees. Every
# sanitized process here (sctpgw, gwload) writes its reports to
# $WORK/sanitizer.PID instead of stderr, and cleanup fails the test when any
# such file exists, after stopping the gateways gracefully: LeakSanitizer
# reports at exit. The other settings hold whatever the caller gave.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1:log_path=$WORK/sanitizer"

# Helpers called often are bash builtins only: under emulation each program
# start costs about 0.1 s (an assertion used to cost half a second).
log() {
    local now=${EPOCHREALTIME/,/.}
    printf '%(%T)T.%s %s\n' "${now%.*}" "${now:${#now}-6:3}" "$*" >&2
}

fail() {
    log "FAIL: $*"
    FAILED=1
    exit 1
}

# proc_running PID: whether PID still runs (an exited child not yet reaped
# is a zombie: it no longer runs). The proc_ names keep clear of the tests'
# own helpers. $(<FILE) forks but starts no program: 5 ms a call in the
# bed, against 100 for $(cat FILE), and cleanup polls every PID started.
proc_running() {
    local stat
    { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# now_ms: the wall clock in milliseconds.
now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }

# proc_wait_exit SECONDS PID...: waits until none of the PIDs runs; prints
# those still running after SECONDS of wall-clock time (not of polls: on a
# busy bed each poll takes far longer than its sleep).
proc_wait_exit() {
    local limit=$1 pid left end
    shift
    end=$(($(now_ms) + limit * 1000))
    while :; do
        left=()
        for pid in "$@"; do proc_running "$pid" && left+=("$pid"); done
        [ ${#left[@]} -gt 0 ] && [ "$(now_ms)" -lt "$end" ] || break
        sleep 0.1
    done
    echo "${left[@]}"
}

# proc_stop_all: SIGTERM to everything started. A gateway drains (usually
# no flow is left by now) and shuts its association down; if that has not
# ended within 3 s (a flow still open, the peer gone), a second SIGTERM
# stops it at once. Only then SIGKILL: a gateway that survives both is a
# failure, and a sanitized process must exit by itself for LeakSanitizer
# to report.
proc_stop_all() {
    local pid left
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    left=$(proc_wait_exit 3 "${PIDS[@]}")
    [ -z "$left" ] || kill $left 2>/dev/null || true
    left=$(proc_wait_exit 5 $left)
    for pid in $left; do
        kill -9 "$pid" 2>/dev/null || true
        log "FAIL: ${PID_NAME[$pid]:-pid $pid} still ran 8 s after SIGTERM, 5 s after a second one"
        FAILED=1
        GW_ENDED[$pid]=1
    done
    gw_statuses
}

# wait_file FILE SECONDS [PID]: waits until FILE exists (a program's
# --ready-file); false after SECONDS, or as soon as PID, the program that
# makes it, has ended without.
wait_file() {
    local end=$(($(now_ms) + $2 * 1000))
    until [ -e "$1" ]; do
        [ -z "${3:-}" ] || proc_running "$3" || [ -e "$1" ] || return 1
        [ "$(now_ms)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# proc_sweep_sites: stops whatever still runs in the sites' namespaces, a
# program a test started there in the background and left (its sockets
# would outlive the namespaces, and its output the test: the VM waits for
# it before it stops).
proc_sweep_sites() {
    local ns pids=() left
    declare -p SITE_NS >/dev/null 2>&1 || return 0
    for ns in "${SITE_NS[@]}"; do
        pids+=($(ip netns pids "$ns" 2>/dev/null)) || true
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill "${pids[@]}" 2>/dev/null || true
    left=$(proc_wait_exit 2 "${pids[@]}")
    [ -z "$left" ] || kill -9 $left 2>/dev/null || true
}

# gw_statuses: each gateway no test took in hand exited with status 0 (a
# clean stop after a signal), whether it was stopped just now or had died
# before, unnoticed.
gw_statuses() {
    local pid rc
    for pid in "${GW_PIDS[@]}"; do
        [ -z "${GW_ENDED[$pid]:-}" ] || continue
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        # 127: not a child of this shell any more (a test waited for it).
        [ "$rc" -eq 0 ] || [ "$rc" -eq 127 ] && continue
        log "FAIL: ${PID_NAME[$pid]:-pid $pid} exited with status $rc"
        FAILED=1
    done
}

# gw_stop SIGNAL NAME...: stops gateways with SIGNAL (TERM, INT) and waits
# for each; fails unless each exits with status 0 within 10 s.
gw_stop() {
    local sig=$1 name
    shift
    for name in "$@"; do kill "-$sig" "$(gw_pid "$name")"; done
    for name in "$@"; do gw_wait_exit "$name" "$sig"; done
}

# gw_wait_exit NAME SIG: the gateway, sent SIG, exits within 10 s with
# status 0.
gw_wait_exit() {
    local pid rc left
    pid=$(gw_pid "$1")
    GW_ENDED[$pid]=1
    left=$(proc_wait_exit 10 "$pid")
    [ -z "$left" ] || fail "$1 still runs 10 s after SIG$2"
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    [ "$rc" -eq 0 ] || fail "$1 exited with status $rc after SIG$2"
}

# gw_killed NAME: the test killed the gateway on purpose (SIGKILL).
gw_killed() { GW_ENDED[$(gw_pid "$1")]=1; }

# sanitizer_reports: prints every sanitizer report written; fails if any.
sanitizer_reports() {
    local f pid found=0
    for f in "$WORK"/sanitizer.*; do
        [ -f "$f" ] || continue
        pid=${f##*.}
        echo "----- sanitizer report from ${PID_NAME[$pid]:-pid $pid}" >&2
        cat "$f" >&2
        found=1
    done
    [ "$found" = 0 ] || log "FAIL: a sanitizer reported an error (above)"
    return "$found"
}

# On the way out: stop everything, fail on a sanitizer report, and when the
# test failed show the logs.
cleanup() {
    local rc=$?
    proc_stop_all
    proc_sweep_sites
    sanitizer_reports || FAILED=1
    [ "$FAILED" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1
    if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
        for f in "$WORK"/*.log; do
            [ -f "$f" ] || continue
            echo "----- $(basename "$f") (last 60 lines)" >&2
            tail -n 60 "$f" >&2
        done
        # Why flows ended, counted: a burst of one reason shows at a glance.
        for f in "$WORK"/site-*.log; do
            [ -f "$f" ] || continue
            echo "----- $(basename "$f"): flows ended, by reason" >&2
            grep -oE '(reset|closed|refused): [^(]*' "$f" | sort | uniq -c | sort -rn | head -n 20 >&2 || true
        done
        # SCTPGW_TEST_KEEP=DIR (shared into the VM with --share) keeps the logs.
        [ -z "${SCTPGW_TEST_KEEP:-}" ] || cp -r "$WORK" "$SCTPGW_TEST_KEEP/" || true
    elif [ -n "${SCTPGW_TEST_KEEP_ALL:-}" ] && [ -n "${SCTPGW_TEST_KEEP:-}" ]; then
        cp -r "$WORK" "$SCTPGW_TEST_KEEP/" || true # ...and of a passing test too
    fi
    # The test-bed VM stops right after, and its namespaces and files go
    # with it: deleting them there took 0.6 s of every test.
    if [ -z "${SCTPGW_IN_VM:-}" ]; then
        "$TOPO" down >/dev/null 2>&1 || true
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT

# topo_up [--links N] [--delay MS] [--loss PCT]
topo_up() { "$TOPO" up "$@"; }
topo_cut() { log "cut link $*"; "$TOPO" cut "$@"; }
topo_restore() { log "restore link $*"; "$TOPO" restore "$@"; }
topo_set() { log "set link $*"; "$TOPO" set "$@" || fail "topo set $* failed"; }
# The sites' namespaces, named once: in_site runs often, and each start of
# the topo executable (bash) costs 0.3 s under emulation.
mapfile -t _ns < <("$TOPO" ns a b)
[ ${#_ns[@]} -eq 2 ] || fail "cannot name the sites' namespaces (topo ns a b)"
declare -A SITE_NS=([a]=${_ns[0]} [b]=${_ns[1]})
unset _ns
in_site() {
    local ns=${SITE_NS[$1]:?in_site: site must be a or b}
    shift
    ip netns exec "$ns" "$@"
}

# net_stat SITE COUNTER: a counter of SITE's namespace as nstat names it,
# e.g. IpFragCreates, Ip6FragCreates (fragments the stack created).
net_stat() {
    in_site "$1" nstat -asz "$2" | awk -v k="$2" '$1 == k { n = $2 } END { if (n == "") exit 1; print n }'
}

make_key() { # make_key FILE, readable by its owner only
    (
        umask 077
        head -c 48 /dev/urandom >"$1"
    )
}

# native_sctp_drop: both links drop native SCTP (IP protocol 132) at both
# sites, as some clouds and firewalls do: u32 filters on each link's
# ingress, priority 2 for IPv4 and 4 for IPv6 (a priority holds one
# protocol; site a's ingress qdisc is topo's, whose cuts use priority 1).
# SCTP inside UDP (udp_port) passes.
native_sctp_drop() {
    local site l
    for site in a b; do
        for l in 1 2; do
            [ "$site" = a ] || in_site b tc qdisc add dev "l$l" handle ffff: ingress ||
                fail "cannot add an ingress qdisc at site b"
            in_site "$site" tc filter add dev "l$l" parent ffff: prio 2 protocol ip \
                u32 match ip protocol 132 0xff action drop &&
                in_site "$site" tc filter add dev "l$l" parent ffff: prio 4 protocol ipv6 \
                    u32 match ip6 protocol 132 0xff action drop ||
                fail "cannot drop SCTP on l$l at site $site"
        done
    done
}

# tc_hits SITE DEV PRIO: packets the ingress filter of that priority matched.
tc_hits() {
    local c
    c=$(in_site "$1" tc -s filter show dev "$2" parent ffff: prio "$3" |
        awk '/Sent [0-9]+ bytes [0-9]+ pkt/ { print $4; exit }')
    echo "${c:-0}"
}

# native_dropped: native SCTP packets native_sctp_drop's filters dropped
# (priorities 2 and 4 on both links at both sites), read with one tc a site
# and bash builtins: tc_hits for each would start 24 programs, 2 s under
# emulation. A change of tc's output that this misread would show as no
# drops where a test expects some.
native_dropped() {
    local site line pref=0 counted=0 n=0
    for site in a b; do
        while read -r line; do
            case $line in
            "filter "*" pref "*)
                pref=${line#* pref }
                pref=${pref%% *}
                counted=0
                ;;
            "Sent "*" bytes "*" pkt"*)
                # The first Sent line below a filter: its action's packets.
                if [ "$counted" = 0 ] && { [ "$pref" = 2 ] || [ "$pref" = 4 ]; }; then
                    line=${line#Sent * bytes }
                    n=$((n + ${line%% pkt*}))
                fi
                counted=1
                ;;
            esac
        done < <(printf 'filter show dev l1 parent ffff:\nfilter show dev l2 parent ffff:\n' |
            tc -s -n "${SITE_NS[$site]}" -batch -)
    done
    echo "$n"
}

# udp_sysctl PORT: net.sctp.udp_port (per namespace) at both sites, the
# kernel's UDP socket for SCTP inside UDP.
udp_sysctl() {
    local site
    for site in a b; do
        in_site "$site" sh -c "echo $1 >/proc/sys/net/sctp/udp_port" ||
            fail "cannot set net.sctp.udp_port at site $site"
    done
}

# gw_config NAME ROLE
# Writes $WORK/NAME.ini for site a (connect) or site b (listen), with the
# control socket $WORK/NAME.sock (gw_status), the key $WORK/site.key, the
# lines in $GW_EXTRA added to [gateway] and those in $ASSOC_EXTRA to
# [association],
# then the text on stdin appended (services).
gw_config() {
    local name=$1 role=$2 failover=${FAILOVER_MS:-500} outage=${OUTAGE_MS:-30000}
    [ -f "$WORK/site.key" ] || make_key "$WORK/site.key"
    {
        printf '[gateway]\nname = %s\nlog_level = %s\npsk_file = %s\ndrain_ms = %s\n' \
            "$name" "${LOG_LEVEL:-info}" "${KEY_FILE:-site.key}" "${DRAIN_MS:-5000}"
        printf 'control = %s\n%s\n\n' "$WORK/$name.sock" "${GW_EXTRA:-}"
        printf '[association]\nrole = %s\nport = 9899\n' "$role"
        printf 'failover_ms = %s\noutage_ms = %s\nmax_flows = %s\n' \
            "$failover" "$outage" "${MAX_FLOWS:-4096}"
        if [ "$role" = connect ]; then
            printf 'local = 10.1.0.1, 10.2.0.1\nremote = 10.1.0.2, 10.2.0.2\n'
            printf 'primary = 10.1.0.2\n'
        else
            printf 'local = 10.1.0.2, 10.2.0.2\n'
        fi
        printf '%s\n\n' "${ASSOC_EXTRA:-}"
        cat
    } >"$WORK/$name.ini"
}

# gw_start SITE NAME: runs sctpgw -c $WORK/NAME.ini in the site's namespace
# (with GW_NOFILE=SOFT:HARD, under that descriptor limit; with GW_SETENV set
# to VAR=VALUE words, in that environment).
gw_start() {
    local site=$1 name=$2 wrap=()
    [ -z "${GW_NOFILE:-}" ] || wrap=(prlimit "--nofile=$GW_NOFILE")
    [ -z "${GW_SETENV:-}" ] || wrap+=(env $GW_SETENV)
    # Started directly (not through a shell function) so that $! is the
    # gateway itself once topo, prlimit and env have exec'd into it: signals
    # reach it.
    "$TOPO" exec "$site" "${wrap[@]}" "$SCTPGW" -c "$WORK/$name.ini" 2>>"$WORK/$name.log" &
    PIDS+=($!)
    GW_PIDS+=($!)
    PID_NAME[$!]=$name
    eval "GW_PID_${name//-/_}=$!"
}

# gw_status NAME [status options]: `sctpgw status` of a running gateway.
gw_status() {
    local name=$1
    shift
    "$SCTPGW" status -s "$WORK/$name.sock" "$@"
}

# svc_field NAME SERVICE FIELD: a number of a service's object in a running
# gateway's status (the object holds no other; python3 would cost 0.3 s);
# fails, saying what it got, when there is none.
svc_field() {
    local json
    json=$(gw_status "$1" --json)
    [[ $json =~ \{\"name\":\"$2\",[^}]*\"$3\":([0-9]+) ]] ||
        fail "no $3 of [$2] in $1's status: $json"
    echo "${BASH_REMATCH[1]}"
}

# gw_field NAME FIELD: a number of the gateway's own in its JSON status
# (its first object: "handshake_failures", "peers_accept_failures", ...).
gw_field() {
    local json
    json=$(gw_status "$1" --json)
    [[ $json =~ \"gateway\":\{[^}]*\"$2\":([0-9]+) ]] || fail "no $2 in $1's status: $json"
    echo "${BASH_REMATCH[1]}"
}

gw_pid() { local v="GW_PID_${1//-/_}"; echo "${!v}"; }

# paths_active NAME N [SECONDS]: waits until N paths of NAME's association
# are active (confirmed by a heartbeat), within SECONDS (default 10).
paths_active() {
    local end=$(($(now_ms) + ${3:-10} * 1000))
    until [ "$(gw_status "$1" | grep -cE '^ +[0-9a-f.:]+ +active( |$)')" -ge "$2" ]; do
        [ "$(now_ms)" -lt "$end" ] ||
            fail "$1: fewer than $2 paths active within ${3:-10} s: $(gw_status "$1" 2>&1)"
        sleep 0.1
    done
}

# wait_log NAME PATTERN [SECONDS] [COUNT]: waits until COUNT (default 1)
# lines of a gateway's log match, within SECONDS of wall-clock time (not of
# polls: on a busy bed each poll takes far longer than its sleep).
wait_log() {
    local name=$1 pattern=$2 limit=${3:-20} want=${4:-1} end
    end=$(($(now_ms) + limit * 1000))
    until [ "$(count_log "$name" "$pattern")" -ge "$want" ]; do
        [ "$(now_ms)" -lt "$end" ] ||
            fail "$name: fewer than $want log lines matching '$pattern' within ${limit}s"
        sleep 0.1
    done
}

# count_log NAME PATTERN: how many lines of a gateway's log match.
count_log() { grep -cE "$2" "$WORK/$1.log" 2>/dev/null || true; }
# log_times NAME PATTERN: the time (ms since the epoch) of each line of a
# gateway's log that matches, one per line.
log_times() { grep -E "$2" "$WORK/$1.log" | cut -d' ' -f1 | date -f - +%s%3N; }

# inject_start TAG [inject.py options and actions]: tests/gw/inject.py on
# site a's link 1 against site b, in the background (INJECT_PID, its report
# in $WORK/forge-TAG.out); returns once scapy is loaded and it watches for
# a flow's data, so the caller starts the flows then.
inject_start() {
    local tag=$1
    shift
    in_site a /usr/bin/python3 "$ROOT/tests/gw/inject.py" --iface l1 --src 10.1.0.1 \
        --dst 10.1.0.2 --ready-file "$WORK/forge-$tag.ready" "$@" >"$WORK/forge-$tag.out" 2>&1 &
    INJECT_PID=$!
    wait_file "$WORK/forge-$tag.ready" 60 "$INJECT_PID" ||
        fail "$tag: inject.py did not start: $(<"$WORK/forge-$tag.out")"
}

# server_start SITE ADDR MODE [gwload server options]: a back end.
server_start() {
    local site=$1 addr=$2 mode=$3
    shift 3
    # Not in_site in the background: that forks a subshell around the
    # server, and stopping the subshell would leave the server running.
    ip netns exec "${SITE_NS[$site]}" "$GWLOAD" server --listen "$addr" --mode "$mode" -v "$@" \
        2>>"$WORK/server-${addr##*:}.log" &
    PIDS+=($!)
    PID_NAME[$!]="server-${addr##*:}"
    wait_listen "$site" "${addr##*:}"
}

# wait_listen SITE PORT: waits until a TCP listener on PORT is up in SITE
# (a program start can take a second on a busy machine).
wait_listen() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ -z "$(in_site "$1" ss -Hltn "sport = :$2")" ] || return 0
        sleep 0.1
    done
    fail "nothing listens on port $2 at site $1"
}

# client SITE [gwload client options]: runs a client, prints its report.
client() {
    local site=$1
    shift
    in_site "$site" "$GWLOAD" client "$@" 2>>"$WORK/client.log" || true
}
# client_bg SITE OUT [gwload client options]: a client in the background,
# its report into OUT. CLIENT_PID is the client itself, not a subshell
# around it (as `client ... &` gives), so that a kill reaches it.
client_bg() {
    local site=$1 out=$2
    shift 2
    ip netns exec "${SITE_NS[$site]}" "$GWLOAD" client "$@" >"$out" 2>>"$WORK/client.log" &
    CLIENT_PID=$!
}

# kv REPORT KEY: a value from a gwload report line.
kv() {
    local -a words
    local w
    read -r -a words <<<"$1"
    for w in "${words[@]}"; do
        [ "${w%%=*}" != "$2" ] || {
            echo "${w#*=}"
            return
        }
    done
}

# micro VAR NUMBER: a decimal number in millionths, into VAR; fails on
# anything else (more than six decimals are cut).
micro() {
    local -n into=$1
    [[ $2 =~ ^(-?)([0-9]+)(\.([0-9]*))?$ ]] || return 1
    local frac=${BASH_REMATCH[4]}000000
    into=$((10#${BASH_REMATCH[2]} * 1000000 + 10#${frac:0:6}))
    [ -z "${BASH_REMATCH[1]}" ] || into=$((-into))
}

# holds GOT OP WANT: whether the numeric relation holds (OP: == != < <= > >=).
holds() {
    local g w num='^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$'
    if micro g "$1" && micro w "$3"; then
        (("g $2 w"))
    elif [[ $1 =~ $num && $3 =~ $num ]]; then
        awk -v g="$1" -v w="$3" "BEGIN { exit !(g $2 w) }"
    else
        return 1 # not numbers ("nan", "-"): nothing holds
    fi
}

# expect REPORT KEY OP VALUE: asserts a numeric relation.
expect() {
    local report=$1 key=$2 op=$3 want=$4 got
    got=$(kv "$report" "$key")
    [ -n "$got" ] || fail "no $key in report: $report"
    if holds "$got" "$op" "$want"; then
        log "ok: $key = $got ($op $want)"
    else
        fail "$key = $got, expected $op $want; report: $report"
    fi
}

# expect_whole REPORT FLOWS: FLOWS flows ended well and every byte they
# sent came back, some at least (a stop file ends paced flows whatever
# they had sent by then).
expect_whole() {
    expect "$1" ok == "$2"
    expect "$1" bytes_sent '>' 0
    expect "$1" bytes_verified == "$(kv "$1" bytes_sent)"
}

# The standard pair: site a dials, site b listens; both get the services
# given on stdin of each call.
pair_up() {
    topo_up --links 2 --delay "${DELAY_MS:-5}"
}

# pair_start [SUFFIX]: starts site b's gateway (site-bSUFFIX), then site a's
# (site-aSUFFIX), and returns once the association is up at both ends.
pair_start() {
    gw_start b "site-b${1:-}"
    gw_start a "site-a${1:-}"
    wait_log "site-a${1:-}" 'up: peer proved the key'
    wait_log "site-b${1:-}" 'up: peer proved the key'
}

# echo_pair: the standard pair, site a accepting [echo] on 127.0.0.1:7001
# and site b carrying it to an echo back end on 127.0.0.1:9001; returns once
# the association is up.
echo_pair() {
    pair_up
    echo_config
    server_start b 127.0.0.1:9001 echo
    pair_start
}

# echo_config [SUFFIX]: the echo pair's configs, site-aSUFFIX and
# site-bSUFFIX (with $ASSOC_EXTRA, as gw_config).
echo_config() {
    gw_config "site-a${1:-}" connect <<'INI'
[echo]
accept = 127.0.0.1:7001
INI
    gw_config "site-b${1:-}" listen <<'INI'
[echo]
connect = 127.0.0.1:9001
INI
}

# trap_config: the echo pair's configs, site b also carrying [trap] (the
# service tests/tools/hostile names) to a sink back end on 127.0.0.1:9009;
# both back ends started.
trap_config() {
    gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:7001
INI
    gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001

[trap]
connect = 127.0.0.1:9009
INI
    server_start b 127.0.0.1:9001 echo
    server_start b 127.0.0.1:9009 sink
}

# echo_bulk_config [SUFFIX]: configs site-aSUFFIX and site-bSUFFIX with two
# services: [echo] 127.0.0.1:7001 -> 9001 and [bulk] 127.0.0.1:7002 -> 9002.
echo_bulk_config() {
    gw_config "site-a${1:-}" connect <<'INI'
[echo]
accept = 127.0.0.1:7001

[bulk]
accept = 127.0.0.1:7002
INI
    gw_config "site-b${1:-}" listen <<'INI'
[echo]
connect = 127.0.0.1:9001

[bulk]
connect = 127.0.0.1:9002
INI
}

# gw_bytes_out NAME: "MS BYTES", the gateway's clock and its association's
# bytes out, both from one status snapshot (a status call takes seconds
# beside a load on the bed's emulated CPUs); the association comes before
# the services in the JSON.
gw_bytes_out() {
    gw_status "$1" --json | grep -oE '"(now_ms|bytes_out)":[0-9]+' | head -n 2 | cut -d: -f2 | paste -sd ' '
}

# bytes_rate "MS BYTES" "MS BYTES": bytes per second between two gw_bytes_out.
bytes_rate() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d", (y[2] - x[2]) * 1000 / (y[1] - x[1]) }'
}

done_ok() { log "PASS: ${0##*/}"; }
