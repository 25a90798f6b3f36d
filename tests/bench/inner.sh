#!/usr/bin/env bash
# tests/bench/inner.sh: the part of the benchmark that runs inside the test
# bed (as root, with kernel SCTP): builds the two-site topology, runs every
# workload through every system, one system at a time, and writes raw
# figures to OUT/raw/results.tsv ("system<TAB>key<TAB>value", value a
# number or "n/a: reason" or "failed: reason") plus W6 timelines.
# tests/bench/run calls it through tests/vm/run and turns the figures into
# the table and charts (report.py).
#
# Usage: inner.sh OUT_DIR full|smoke [SYSTEM...]
# Environment: SCTPGW, GWLOAD, SCTPSTREAMS (binaries); BUDGET_S, seconds
# after which no workload is started (its figures are recorded as not run),
# so that the run ends within the VM's time limit.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The topology's functions, sourced: a program start is costly under emulation.
# shellcheck source=../net/topo.sh
. "$ROOT/tests/net/topo.sh"
# shellcheck source=gwpair.sh
. "$ROOT/tests/bench/gwpair.sh"
: "${SCTPGW:?path of the sctpgw binary}"
: "${GWLOAD:?path of the gwload binary}"
: "${SCTPSTREAMS:?path of the sctpstreams binary}"
OUT=${1:?output folder}
PROFILE=${2:?full or smoke}
shift 2
ALL_SYSTEMS=(limit-tcp limit-sctp socat ssh mptcp sctpgw sctpgw-clear sctpgw-300)
if [ $# -gt 0 ]; then SYSTEMS=("$@"); else SYSTEMS=("${ALL_SYSTEMS[@]}"); fi
BUDGET_S=${BUDGET_S:-100000}
RAW=$OUT/raw
mkdir -p "$RAW"
rm -rf "${RAW:?}"/*
RES=$RAW/results.tsv
: >"$RES"
WORK=$(mktemp -d /tmp/sctpgw-bench.XXXXXX)
NS_A=sga
NS_B=sgb

# Sizes. The full run fits in 15 minutes of the emulated VM; the smoke run
# only proves that every system yields every figure.
FAILOVER_MS=500 # sctpgw's failover budget, as in the integration tests
case "$PROFILE" in
full)
    W1_BYTES=32M IPERF_S=4 BULK_RUNS=5
    W2_FLOWS=64 W2_BYTES=512K
    W3_COUNT=300
    W4_FLOWS=4 W4_COUNT=25
    W5_COUNT=250 # 5 s of requests every 20 ms
    W5B_BYTES=$((48 << 20)) # per bulk flow at least, and enough for...
    W5B_SPAN_S=20  # ...this long at the system's W1 or W2 rate (four flows go faster)
    W6_FLOWS=8 W6_COUNT=1500 W6_CUT_S=5 W6_GRACE_MS=4000
    W6B_BYTES=64G # per bulk flow: runs until W6b kills it
    W7_SIZES=(1000 10000) W7_HOLD_MS=4000 W7_ONE=1M
    # Process-per-flow systems: skip 10,000 when 1,000 took longer. At 6 s,
    # socat's 1,000 in 5.8 s (a fast boot) let it try 10,000, which held
    # the run for over ten minutes, until it was stopped (7 December 2026).
    W7_SKIP_S=2
    SETTLE_S=1 # pauses: a bulk flow ramps up, closed flows go
    ;;
smoke)
    W1_BYTES=256K IPERF_S=1 BULK_RUNS=1
    W2_FLOWS=8 W2_BYTES=32K
    W3_COUNT=10
    W4_FLOWS=2 W4_COUNT=3
    W5_COUNT=8
    W5B_BYTES=$((2 << 20)) W5B_SPAN_S=20
    # A grace of 2 s past the last message: with 400 ms, sctpgw-300's
    # paced flows beside bulk once had their last 2 KiB arrive just after
    # it, every flow counted lost and no gap left to report.
    W6_FLOWS=2 W6_COUNT=80 W6_CUT_S=0.3 W6_GRACE_MS=2000
    # W6b's bulk flows bounded: killed after the cut, 64G flows left up to
    # 8 MB each in socket buffers and proxies, drained for 2-7 s before the
    # next step, and their load slowed every program start of W6b. At 4M
    # sctpgw's still run through the cut; faster systems' may end before.
    W6B_BYTES=4M
    W7_SIZES=(20) W7_HOLD_MS=500 W7_ONE=64K
    W7_SKIP_S=1000
    SETTLE_S=0.1
    ;;
*)
    echo "inner.sh: profile must be full or smoke" >&2
    exit 2
    ;;
esac

# nap SECONDS: a pause without a program start (read times out on a fifo
# that nobody writes to), or sleep(1) where that does not work.
NAP_FD=
nap_init() {
    local t0 t1
    mkfifo "$WORK/nap" 2>/dev/null && exec {NAP_FD}<>"$WORK/nap" || {
        NAP_FD=
        return 0
    }
    t0=$EPOCHREALTIME
    read -rt 0.05 -u "$NAP_FD" _
    t1=$EPOCHREALTIME
    # A read that returned at once would turn every poll into a busy loop.
    if ((${t1//[.,]/} - ${t0//[.,]/} < 40000)); then
        exec {NAP_FD}>&-
        NAP_FD=
    fi
}
nap() {
    if [ -n "$NAP_FD" ]; then read -rt "$1" -u "$NAP_FD" _; else sleep "$1"; fi
    return 0
}
# pause_s SECONDS: every pause and poll of the run. The full run sleeps as
# it always did; the smoke run naps, sparing a program start each time.
pause_s() { if [ "$PROFILE" = smoke ]; then nap "$1"; else sleep "$1"; fi; }
[ "$PROFILE" != smoke ] || nap_init

PIDS=() # processes of the current system (roots)
MEM_A=() MEM_B=() # their gateway processes at each site, for memory

# Under emulation every program start costs: the helpers below are pure bash.
log() { printf '%(%T)T bench: %s\n' -1 "$*" >&2; }

rec() { # rec SYSTEM KEY VALUE
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"
    log "$1 $2 = $3"
}

kv() { # kv REPORT KEY: a value of a gwload report line
    local t
    for t in $1; do
        [ "${t%%=*}" = "$2" ] && {
            echo "${t#*=}"
            return
        }
    done
}

# div A B: A / B with two decimals (A, B integers; A may be negative).
div() {
    local v=$((${1} * 100 / ${2})) sign=
    [ "$v" -lt 0 ] && sign=- v=$((-v))
    printf '%s%d.%02d\n' "$sign" $((v / 100)) $((v % 100))
}

# Gateway memory: each site's gateway processes (and every process they
# fork) run in a memory cgroup of their own, whose anonymous memory is what
# RSS counts of private pages, counted once however many processes share it.
CG=/sys/fs/cgroup
cg_init() {
    mountpoint -q "$CG" || mount -t cgroup2 none "$CG" || return 1
    echo +memory >"$CG/cgroup.subtree_control" 2>/dev/null
    mkdir -p "$CG/bench-a" "$CG/bench-b" && [ -e "$CG/bench-a/memory.stat" ]
}

# mem_kb SITE: anonymous memory (kB) of the site's gateway processes.
mem_kb() {
    local f=$CG/bench-$1/memory.stat k v
    [ -r "$f" ] || {
        echo 0
        return
    }
    while read -r k v _; do
        [ "$k" = anon ] && echo $((v / 1024))
    done <"$f"
}

# tree PID... : every process these root processes started, the roots
# included, and every pid listed in the files of the array TREE_FILES; each
# once.
tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
        FNR == 1 { files++ }
        files == 1 { parent[$1] = $2; pids[++m] = $1; next }
        $1 != "" { listed[$1] = 1 }
        END {
            do {
                changed = 0
                for (i = 1; i <= m; i++)
                    if (!(pids[i] in keep) && (parent[pids[i]] in keep)) { keep[pids[i]] = 1; changed = 1 }
            } while (changed)
            for (p in keep) print p
            for (p in listed) if (!(p in keep)) print p
        }' - "${TREE_FILES[@]}"
}
TREE_FILES=()



# bg NAME SITE CMD...: start a long-running process in a site.
bg() {
    local name=$1 site=$2
    shift 2
    local ns=$NS_A
    [ "$site" = b ] && ns=$NS_B
    # Into the site's cgroup first (before ip netns exec mounts its own
    # /sys); the subshell then execs ip, which execs the command: one pid
    # throughout, and no shell started for it.
    (
        { echo "$BASHPID" >"$CG/bench-$site/cgroup.procs"; } 2>/dev/null
        exec ip netns exec "$ns" "$@"
    ) >>"$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# A client still running past its workload would load every later figure.
stray_clients() {
    local p
    for p in $(pgrep -f "^$GWLOAD client"); do
        log "a client outlived its workload: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)"
        kill "$p" 2>/dev/null
    done
}

stop_all() {
    local p all=()
    stray_clients
    [ ${#PIDS[@]} -gt 0 ] || return 0
    # What we started, what it forked, and what sits in the sites' cgroups
    # (one program for all of it: ps, then awk).
    TREE_FILES=()
    for p in "$CG"/bench-[ab]/cgroup.procs; do [ -r "$p" ] && TREE_FILES+=("$p"); done
    mapfile -t all < <(tree "${PIDS[@]}")
    for p in "${all[@]}"; do kill "$p" 2>/dev/null; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        pause_s 0.1
    done
    for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null; done
    PIDS=()
    MEM_A=()
    MEM_B=()
}

cleanup() {
    stop_all
    for p in "${BACKENDS[@]}"; do kill "$p" 2>/dev/null; done
    topo_down >/dev/null 2>&1
    rm -rf "$WORK"
}
BACKENDS=()
trap cleanup EXIT

# wait_listen SITE PORT [tcp|sctp] [SECONDS]. ss -N enters the namespace
# itself: one program per look, not ip, ss and grep.
wait_listen() {
    local ns=$NS_A i
    [ "$1" = b ] && ns=$NS_B
    for ((i = 0; i < ${4:-20} * 10; i++)); do
        [ -n "$(ss -N "$ns" -Hln "--${3:-tcp}" "sport = :$2" 2>/dev/null)" ] && return 0
        pause_s 0.1
    done
    return 1
}

# client ARGS...: a gwload client at site a; prints its report line.
client() { ip netns exec "$NS_A" "$GWLOAD" client "$@" 2>>"$WORK/client.log"; }

# client_bg ARGS...: a client in the background whose pid ($!) is gwload's
# own (ip execs it), so that killing $! stops the transfer: a backgrounded
# function would leave its child running.
client_bg() { (exec ip netns exec "$NS_A" "$GWLOAD" client "$@" 2>>"$WORK/client.log") & }

# ---------------------------------------------------------------- systems
# Each setup function starts a system and sets BULK_EP and ECHO_EP (where
# the client at site a connects for the bulk and the echo back end) and CF
# (extra client flags); it returns non-zero with SETUP_ERR when it cannot.

# Back ends at site b, shared by all systems: TCP bulk and echo (what the
# proxies connect to, and the direct-TCP ceiling), and the same over bare
# SCTP for the SCTP ceiling. Bound to every address: the SCTP ones are thus
# multihomed over both links, with the kernel's stock timers.
start_backends() {
    local spec
    for spec in "9001 bulk" "9002 echo" "9011 bulk --sctp" "9012 echo --sctp"; do
        set -- $spec
        ip netns exec "$NS_B" "$GWLOAD" server --listen "0.0.0.0:$1" --mode "$2" ${3:-} \
            2>>"$WORK/backend-$1.log" &
        BACKENDS+=($!)
    done
    # Appended: its log is emptied after each system (a plain > would go on
    # writing at its old offset, behind a hole).
    ip netns exec "$NS_B" iperf3 -s -p 5201 >>"$WORK/iperf3-server.log" 2>&1 &
    BACKENDS+=($!)
    ip netns exec "$NS_B" "$SCTPSTREAMS" server --listen 0.0.0.0:9013 2>>"$WORK/backend-9013.log" &
    BACKENDS+=($!)
    wait_listen b 9001 tcp && wait_listen b 9002 tcp && wait_listen b 9011 sctp &&
        wait_listen b 9012 sctp && wait_listen b 5201 tcp && wait_listen b 9013 sctp
}

setup_limit-tcp() {
    BULK_EP=10.1.0.2:9001 ECHO_EP=10.1.0.2:9002 CF=()
}

setup_limit-sctp() {
    BULK_EP=10.1.0.2:9011 ECHO_EP=10.1.0.2:9012 CF=(--sctp)
}

# socat chain: a TCP listener at site a forks one socat per connection,
# which opens its own single-homed SCTP association (bound to link 1) to a
# forking SCTP listener at site b, which connects to the back end.
setup_socat() {
    local svc
    for svc in "1 9001" "2 9002"; do
        set -- $svc
        bg socat-b$1 b socat SCTP-LISTEN:810$1,bind=10.1.0.2,fork,reuseaddr,backlog=4096 \
            TCP:127.0.0.1:$2
        MEM_B+=("$LAST_PID")
        bg socat-a$1 a socat TCP-LISTEN:710$1,bind=127.0.0.1,fork,reuseaddr,backlog=4096 \
            SCTP:10.1.0.2:810$1,bind=10.1.0.1
        MEM_A+=("$LAST_PID")
    done
    BULK_EP=127.0.0.1:7101 ECHO_EP=127.0.0.1:7102 CF=(--no-fin)
    wait_listen b 8101 sctp && wait_listen b 8102 sctp && wait_listen a 7101 && wait_listen a 7102 ||
        SETUP_ERR="socat did not start"
}

# ssh -L: one OpenSSH connection over link 1 carries every flow as a channel.
setup_ssh() {
    local d=$WORK/ssh
    mkdir -p "$d" /run/sshd
    chmod 700 "$d"
    ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" </dev/null || true
    ssh-keygen -q -t ed25519 -N '' -f "$d/client_key" </dev/null || true
    local key conf
    read -r key <"$d/client_key.pub"
    printf '%s\n' "$key" >"$d/authorized_keys"
    read -r -d '' conf <<EOF
Port 2222
ListenAddress 10.1.0.2
HostKey $d/host_key
PermitRootLogin yes
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $d/authorized_keys
StrictModes no
AllowTcpForwarding yes
PidFile none
UseDNS no
LogLevel ERROR
EOF
    printf '%s\n' "$conf" >"$d/sshd_config"
    bg sshd b /usr/sbin/sshd -f "$d/sshd_config" -D -e
    MEM_B+=("$LAST_PID")
    wait_listen b 2222 || {
        SETUP_ERR="sshd did not start: $(tail -n 3 "$WORK/sshd.log" | tr '\n' ' ')"
        return 1
    }
    bg ssh a ssh -N -F /dev/null -p 2222 -i "$d/client_key" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ExitOnForwardFailure=yes \
        -L 127.0.0.1:7201:127.0.0.1:9001 -L 127.0.0.1:7202:127.0.0.1:9002 root@10.1.0.2
    MEM_A+=("$LAST_PID")
    BULK_EP=127.0.0.1:7201 ECHO_EP=127.0.0.1:7202 CF=(--no-fin)
    wait_listen a 7201 tcp 30 && wait_listen a 7202 tcp 5 ||
        SETUP_ERR="ssh -L did not come up: $(tail -n 3 "$WORK/ssh.log" | tr '\n' ' ')"
}

# MPTCP chain: the socat chain over TCP, made multipath TCP by mptcpize,
# with link 2 as a second subflow (site a: subflow endpoint; site b
# announces its link-2 address).
setup_mptcp() {
    local svc n
    for ns in "$NS_A" "$NS_B"; do
        ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1 || {
            SETUP_ERR="no MPTCP in this kernel"
            return 1
        }
        ip -n "$ns" mptcp endpoint flush 2>/dev/null
        ip -n "$ns" mptcp limits set subflow 2 add_addr_accepted 2 || {
            SETUP_ERR="ip mptcp limits failed"
            return 1
        }
    done
    ip -n "$NS_A" mptcp endpoint add 10.2.0.1 dev l2 subflow &&
        ip -n "$NS_B" mptcp endpoint add 10.2.0.2 dev l2 signal || {
        SETUP_ERR="ip mptcp endpoint failed"
        return 1
    }
    for svc in "1 9001" "2 9002"; do
        set -- $svc
        bg mptcp-b$1 b mptcpize run socat TCP-LISTEN:830$1,fork,reuseaddr,backlog=4096 \
            TCP:127.0.0.1:$2
        MEM_B+=("$LAST_PID")
        bg mptcp-a$1 a mptcpize run socat \
            TCP-LISTEN:730$1,bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:10.1.0.2:830$1
        MEM_A+=("$LAST_PID")
    done
    BULK_EP=127.0.0.1:7301 ECHO_EP=127.0.0.1:7302 CF=(--no-fin)
    wait_listen b 8301 && wait_listen b 8302 && wait_listen a 7301 && wait_listen a 7302 || {
        SETUP_ERR="socat (mptcpize) did not start"
        return 1
    }
    # Proof that a connection really runs two subflows, one per link.
    client_bg --connect "$ECHO_EP" --mode idle --flows 1 --hold-ms 6000 --no-fin >/dev/null
    local probe=$! i subflows=() l la pa
    for ((i = 0; i < 50; i++)); do # the second subflow joins a round trip later
        pause_s 0.1
        mapfile -t subflows < <(ss -N "$NS_A" -Htn state established '( dport = :8302 )')
        n=${#subflows[@]}
        [ "$n" -ge 2 ] && break
    done
    MPTCP_PATHS=
    for l in "${subflows[@]}"; do
        read -r _ _ la pa _ <<<"$l"
        MPTCP_PATHS+="$la->$pa "
    done
    kill "$probe" 2>/dev/null
    wait "$probe"
    rec mptcp subflows "$n"
    [ "$n" -ge 2 ] || SETUP_ERR="only $n MPTCP subflow(s): $MPTCP_PATHS"
}

teardown_mptcp() {
    ip -n "$NS_A" mptcp endpoint flush 2>/dev/null
    ip -n "$NS_B" mptcp endpoint flush 2>/dev/null
}

# sctpgw: one multihomed association over both links, every flow a stream,
# encrypted (the default); sctpgw-clear: the same with encryption = off
# (no sealing, no SCTP-AUTH), for what encryption costs; sctpgw-300: the
# same as sctpgw at the tighter failover budget of 300 ms.
setup_sctpgw() { sctpgw_start sctpgw on "$FAILOVER_MS"; }
setup_sctpgw-clear() { sctpgw_start sctpgw-clear off "$FAILOVER_MS"; }
setup_sctpgw-300() { sctpgw_start sctpgw-300 on 300; }

# sctpgw_start SYSTEM on|off FAILOVER_MS: the pair, its budget recorded as
# SYSTEM's failover_ms for the report's targets.
sctpgw_start() {
    local d=$WORK/gw
    rm -rf "$d"
    rec "$1" failover_ms "$3"
    gwpair_write "$d" "$3" "$2" || {
        SETUP_ERR="cannot write the gateways' configuration"
        return 1
    }
    bg sctpgw-b b "$SCTPGW" -c "$d/listen.ini"
    MEM_B+=("$LAST_PID")
    bg sctpgw-a a "$SCTPGW" -c "$d/connect.ini"
    MEM_A+=("$LAST_PID")
    BULK_EP=127.0.0.1:7401 ECHO_EP=127.0.0.1:7402 CF=(--no-fin)
    local i
    for ((i = 0; i < 200; i++)); do
        log_has "$WORK/sctpgw-a.log" 'up: peer proved the key' && break
        pause_s 0.1
    done
    log_has "$WORK/sctpgw-a.log" 'up: peer proved the key' || {
        SETUP_ERR="the association did not come up: $(tail -n 2 "$WORK/sctpgw-a.log" | tr '\n' ' ')"
        return 1
    }
    pause_s "$SETTLE_S" # both paths confirmed by heartbeats
}

# log_has FILE TEXT: whether a line of FILE holds TEXT (grep -q, in bash).
log_has() {
    local l
    [ -r "$1" ] || return 1
    while IFS= read -r l || [ -n "$l" ]; do
        [[ $l == *"$2"* ]] && return 0
    done <"$1"
    return 1
}

# ---------------------------------------------------------------- workloads
# Each records its figures, or "failed: ..." when the run gave none.

# Waits (30 s at most) until the TCP back ends hold no connection: flows a
# workload closed are torn down all the way, so that closing thousands of
# them does not load the next figure (W7 closes 10,000 just before W1), and
# a proxy has delivered what a killed bulk client had handed it (W5's bulk
# flow drained for 2.4 s into W5b's interactive flow alone, W5b's into W6).
# Raw SCTP's back ends too (9011, 9012).
quiesce() {
    local i n conns sctp
    for ((i = 0; i < 150; i++)); do
        mapfile -t conns < <(ss -N "$NS_B" -Htn state established '( sport = :9001 or sport = :9002 )')
        mapfile -t sctp < <(ss -N "$NS_B" -HnS state established '( sport = :9011 or sport = :9012 )')
        n=$((${#conns[@]} + ${#sctp[@]}))
        [ "$n" = 0 ] && break
        pause_s 0.2
    done
    if [ "$n" != 0 ]; then
        log "$n connections to the back ends still open"
        [ "$n" -gt "$LINGER_MAX" ] && LINGER_MAX=$n
    fi
    pause_s "$SETTLE_S"
}

failed_reason() { # a report line's first error, or the tool's stderr
    local e
    e=$(kv "$1" first_error)
    [ -n "$e" ] && [ "$e" != none ] && {
        echo "$e"
        return
    }
    [ -n "$1" ] && echo "$(kv "$1" failed) flow(s) failed" || echo "no report: $(tail -n 1 "$WORK/client.log")"
}

ok_all() { [ -n "$1" ] && [ "$(kv "$1" failed)" = 0 ] && [ "$(kv "$1" ok)" = "$(kv "$1" flows)" ]; }

ms() { div "${1%.*}" 1000; } # microseconds (maybe with decimals) to ms

# Clock ticks the whole VM spent busy so far (every process and interrupt of
# both sites; idle and iowait left out).
cpu_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# bulk KEY FLOWS BYTES: the median of BULK_RUNS transfers (one emulated run
# varies by tens of percent), every run kept in KEY_runs; and, as wN_cpu_s_gib,
# the CPU seconds all of the bed spent per GiB moved: with the CPUs
# saturated, that cost is what sets the throughput. wN_busy_cpus says
# whether they were: how many of the bed's CPUs were busy on average.
bulk() {
    local key=$1 flows=$2 bytes=$3 r i runs=() err= sent=0 t0 t1 w0=$EPOCHREALTIME
    t0=$(cpu_busy_ticks)
    for ((i = 0; i < BULK_RUNS; i++)); do
        r=$(client --connect "$BULK_EP" --mode bulk --flows "$flows" --bytes "$bytes" "${CF[@]}" \
            --timeout-ms 180000)
        if ok_all "$r"; then
            runs+=("$(kv "$r" mbit_s)")
            sent=$((sent + $(kv "$r" bytes_sent)))
        else err=$(failed_reason "$r"); fi
    done
    t1=$(cpu_busy_ticks)
    if [ -n "$err" ]; then
        rec "$s" "$key" "failed: $err"
        rec "$s" "${key%_mbit}_cpu_s_gib" "failed: $err"
        return
    fi
    rec "$s" "${key}_runs" "n/a: runs ${runs[*]}"
    rec "$s" "$key" "$(printf '%s\n' "${runs[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    rec "$s" "${key%_mbit}_cpu_s_gib" "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v b="$sent" \
        'BEGIN { printf "%.2f", t / hz / (b / 1073741824) }')"
    rec "$s" "${key%_mbit}_busy_cpus" "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
        -v w0="$w0" -v w1="$EPOCHREALTIME" 'BEGIN { printf "%.2f", t / hz / (w1 - w0) }')"
}

w1() {
    local s=$1 r
    bulk w1_mbit 1 "$W1_BYTES"
    case $s in
    limit-tcp | limit-sctp)
        local flag=
        [ "$s" = limit-sctp ] && flag=--sctp
        r=$(ip netns exec "$NS_A" iperf3 -c 10.1.0.2 -p 5201 -t "$IPERF_S" -f m $flag 2>&1 |
            awk '/receiver/ { print $(NF-2) }')
        rec "$s" w1_iperf3_mbit "${r:-failed: iperf3 gave no figure}"
        ;;
    esac
}

w2() {
    local s=$1 r i runs=() err=
    bulk w2_mbit "$W2_FLOWS" "$W2_BYTES"
    if [ "$s" != limit-sctp ]; then
        rec "$s" w2_one_assoc_mbit "n/a: raw SCTP only (one association of 64 streams)"
        return
    fi
    # The same flows as streams of one association, with I-DATA as sctpgw
    # has it: what one association costs, apart from what the gateway does.
    for ((i = 0; i < BULK_RUNS; i++)); do
        r=$(ip netns exec "$NS_A" timeout 180 "$SCTPSTREAMS" client --connect 10.1.0.2:9013 \
            --streams "$W2_FLOWS" --bytes "$W2_BYTES" 2>>"$WORK/client.log")
        if ok_all "$r"; then runs+=("$(kv "$r" mbit_s)"); else err=$(failed_reason "$r"); fi
    done
    if [ -n "$err" ]; then
        rec "$s" w2_one_assoc_mbit "failed: $err"
        return
    fi
    rec "$s" w2_one_assoc_mbit_runs "n/a: runs ${runs[*]}"
    rec "$s" w2_one_assoc_mbit "$(printf '%s\n' "${runs[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
}

# rec_latency SYSTEM KEY REPORT: the report's p50 and p99 in ms, or why there
# are none, under KEY with its "@" replaced by p50 and p99.
rec_latency() {
    local p
    for p in p50 p99; do
        if ok_all "$3"; then
            rec "$1" "${2/@/$p}" "$(ms "$(kv "$3" "${p}_us")")"
        else
            rec "$1" "${2/@/$p}" "failed: $(failed_reason "$3")"
        fi
    done
}

w3() {
    local s=$1 r
    r=$(client --connect "$ECHO_EP" --mode rr --chunk 100 --count "$W3_COUNT" "${CF[@]}" --no-fin \
        --timeout-ms 60000)
    rec_latency "$s" "w3_@_ms" "$r"
}

w4() {
    local s=$1 r
    r=$(client --connect "$ECHO_EP" --mode connect-rate --flows "$W4_FLOWS" --count "$W4_COUNT" \
        "${CF[@]}" --timeout-ms 60000)
    if ok_all "$r"; then
        rec "$s" w4_setup_p50_ms "$(ms "$(kv "$r" setup_p50_us)")"
        rec "$s" w4_flows_per_s "$(kv "$r" connects_per_s)"
    else
        rec "$s" w4_setup_p50_ms "failed: $(failed_reason "$r")"
        rec "$s" w4_flows_per_s "failed: $(failed_reason "$r")"
    fi
}

interactive() {
    client --connect "$ECHO_EP" --mode interactive --chunk 100 --interval-ms 20 --count "$W5_COUNT" \
        "${CF[@]}" --no-fin --timeout-ms $((W5_COUNT * 20 + 30000))
}

w5() {
    local s=$1 bulk k
    if ! topo_set 1 --loss 2 || ! topo_set 2 --loss 2; then
        # Clean links would pass for lossy ones.
        for k in $(wkeys w5); do rec "$s" "$k" "failed: could not set the links' 2% loss"; done
        topo_set 1 --loss 0
        topo_set 2 --loss 0
        return
    fi
    rec_latency "$s" "w5_@_alone_ms" "$(interactive)"
    client_bg --connect "$BULK_EP" --mode bulk --bytes 64G "${CF[@]}" --timeout-ms 600000 >/dev/null
    bulk=$!
    pause_s "$SETTLE_S" # the bulk flow fills its window
    rec_latency "$s" "w5_@_bulk_ms" "$(interactive)"
    kill "$bulk" 2>/dev/null
    wait "$bulk" 2>/dev/null
    # The next workloads want clean links: both are tried, and a failure said.
    topo_set 1 --loss 0 || log "could not take link 1's loss away after W5"
    topo_set 2 --loss 0 || log "could not take link 2's loss away after W5"
}

# w5b_bytes SYSTEM: each W5b bulk flow's size: W5B_BYTES, or what four of
# them move in W5B_SPAN_S at the system's W1 or W2 rate (the higher), if
# more. Sized flows give the aggregate; at 48 MiB the fastest systems'
# (direct TCP's in 0.9 s) had ended before the interactive flow beside them
# began.
w5b_bytes() {
    awk -F'\t' -v s="$1" -v min="$W5B_BYTES" -v span="$W5B_SPAN_S" '
        $1 == s && ($2 == "w1_mbit" || $2 == "w2_mbit") && $3 + 0 > m { m = $3 + 0 }
        END { w = m * 1e6 / 8 * span / 4; printf "%d\n", (w > min ? w : min) }' "$RES"
}

# W5b: the same interactive flow on clean links, alone and beside four bulk
# flows that fill the association; the bulk flows' aggregate is recorded too.
# Figures beside bulk flows that ended first would be figures alone: failed.
w5b() {
    local s=$1 r bulk out=$WORK/w5b-bulk.out bytes beside why
    rec_latency "$s" "w5b_@_alone_ms" "$(interactive)"
    bytes=$(w5b_bytes "$s")
    (client --connect "$BULK_EP" --mode bulk --flows 4 --bytes "$bytes" "${CF[@]}" \
        --timeout-ms 300000 >"$out") &
    bulk=$!
    pause_s "$SETTLE_S" # the bulk flows fill their windows
    beside=$(interactive)
    if kill -0 "$bulk" 2>/dev/null; then
        rec_latency "$s" "w5b_@_bulk_ms" "$beside"
    else
        why="failed: the bulk flows ($bytes bytes each) ended before the interactive flow beside them"
        rec "$s" w5b_p50_bulk_ms "$why"
        rec "$s" w5b_p99_bulk_ms "$why"
    fi
    wait "$bulk"
    r=$(<"$out")
    if ok_all "$r"; then
        rec "$s" w5b_bulk_mbit "$(kv "$r" mbit_s)"
    else
        rec "$s" w5b_bulk_mbit "failed: $(failed_reason "$r")"
    fi
}

# Retransmissions counted in site a's namespace: SCTP's retransmission
# events (a T3 timeout or a fast retransmit, each of one chunk or more), or
# TCP's retransmitted segments for the systems that carry the links with
# TCP. (Linux has no count of SCTP chunks retransmitted.)
retrans() {
    local k v n=0
    while read -r k v _; do
        case $k in
        SctpT3Retransmits | SctpFastRetransmits | TcpRetransSegs)
            [[ $v =~ ^[0-9]+$ ]] && n=$((n + v))
            ;;
        esac
    done < <(ip netns exec "$NS_A" nstat -az SctpT3Retransmits SctpFastRetransmits TcpRetransSegs \
        2>/dev/null)
    echo "$n"
}

# s_to_ms SECONDS: whole milliseconds (at most three decimals), in bash.
s_to_ms() {
    local i=${1%%.*} f=
    [[ $1 == *.* ]] && f=${1#*.}
    f=${f}000
    echo $((10#${i:-0} * 1000 + 10#${f:0:3}))
}

# w6_cut SYSTEM KEY: W6's paced flows with link 1 cut W6_CUT_S after they
# started; KEY_gap_ms (the largest gap that ended after the cut began),
# KEY_lost and KEY_retrans recorded, and KEY_gap_before_ms, the largest gap
# that ended before: what the load costs by itself, beside which the cut's
# gap is read. The cut command starts before the flows and waits for
# gwload's word (--at-early): started at the cut, its shell, script and tc
# took 0.5 to 2 s of the bed's CPUs, and the flows' largest gap was then
# often that, before the cut took effect (tests/bench/README.md, "W6 at
# 300 ms"). Timeline in RAW/KEY-SYSTEM.tl.
w6_cut() {
    local s=$1 key=$2 r ready=$WORK/$2.ready lost rt0 t_cut= why
    rm -f "$ready" "$WORK/cut.t"
    rt0=$(retrans)
    # The client cuts link 1 itself, W6_CUT_S after its flows started.
    r=$(client --connect "$ECHO_EP" --mode paced --flows "$W6_FLOWS" --chunk 1024 --interval-ms 10 \
        --count "$W6_COUNT" "${CF[@]}" --no-fin --ready-file "$ready" --timeline "$RAW/$key-$s.tl" \
        --timeline-ms 50 --timeout-ms $((W6_COUNT * 10 + W6_GRACE_MS)) \
        --at-ms "$(s_to_ms "$W6_CUT_S")" --at-early \
        --at-cmd "'$ROOT/tests/net/topo' cut --on-stdin 1 && date +%s.%N >'$WORK/cut.t'")
    # When the cut was in place, in ms since the flows started (the
    # timeline's 0).
    { read -r t_cut <"$WORK/cut.t"; } 2>/dev/null
    awk -v t1="$t_cut" -v t0="$(date +%s.%N -r "$ready" 2>/dev/null)" \
        'BEGIN { if (t1 && t0) printf "%.0f\n", (t1 - t0) * 1000 }' >"$RAW/$key-$s.cut"
    topo_restore 1
    rec "$s" "${key}_retrans" $(($(retrans) - rt0))
    if [ -z "$t_cut" ] || ! awk -v t="$(kv "$r" at_ms)" 'BEGIN { exit !(t != "" && t >= 0) }'; then
        # Without a cut the gaps are the load's alone: no failover figure.
        why="failed: no cut (at_ms=$(kv "$r" at_ms); $(failed_reason "$r"))"
        rec "$s" "${key}_gap_ms" "$why"
        rec "$s" "${key}_gap_before_ms" "$why"
        rec "$s" "${key}_lost" "$why"
    elif [ -n "$r" ] && [ "$(kv "$r" ok)" -eq 0 ]; then
        # No flow lived to have a largest gap: 0 ms would read as the best.
        rec "$s" "${key}_gap_ms" "n/a: every flow lost"
        rec "$s" "${key}_gap_before_ms" "n/a: every flow lost"
        rec "$s" "${key}_lost" "$(kv "$r" flows)"
    elif [ -n "$r" ]; then
        lost=$(($(kv "$r" flows) - $(kv "$r" ok)))
        rec "$s" "${key}_gap_ms" "$(kv "$r" max_gap_after_at_ms)"
        rec "$s" "${key}_gap_before_ms" "$(kv "$r" max_gap_before_at_ms)"
        rec "$s" "${key}_lost" "$lost"
    else
        rec "$s" "${key}_gap_ms" "failed: $(failed_reason "$r")"
        rec "$s" "${key}_gap_before_ms" "failed: $(failed_reason "$r")"
        rec "$s" "${key}_lost" "failed: $(failed_reason "$r")"
    fi
}

w6() { w6_cut "$1" w6; }

# W6b: the same cut while four bulk flows fill the links (W6B_BYTES each:
# the full run's outlast the cut, and are killed after it).
w6b() {
    local s=$1 bulk
    client_bg --connect "$BULK_EP" --mode bulk --flows 4 --bytes "$W6B_BYTES" "${CF[@]}" \
        --timeout-ms 600000 >/dev/null
    bulk=$!
    pause_s "$SETTLE_S" # the bulk flows fill their windows
    w6_cut "$s" w6b
    kill "$bulk" 2>/dev/null
    wait "$bulk" 2>/dev/null
}

w7() {
    local s=$1 n r pid ready=$WORK/w7.ready i a0 b0 a1 b1 t_open='' kib_prev='' why
    for n in "${W7_SIZES[@]}"; do
        if [ -n "$t_open" ] && [ -n "${SLOW_FORK[$s]:-}" ] &&
            awk -v t="$t_open" -v m="$W7_SKIP_S" 'BEGIN { exit !(t > m) }'; then
            if [ -n "$kib_prev" ]; then
                why="one process per flow: ${W7_SIZES[0]} flows took ${t_open} s to open and ${kib_prev} KiB per flow at the two ends, so $n would not fit this run's time and memory"
            else
                why="not tried: ${W7_SIZES[0]} flows already failed"
            fi
            for k in open_s kib_a kib_b one_ms; do rec "$s" "w7_${n}_$k" "n/a: $why"; done
            continue
        fi
        rm -f "$ready"
        quiesce
        a0=$(mem_kb a)
        b0=$(mem_kb b)
        client --connect "$ECHO_EP" --mode idle --flows "$n" --open-echo --hold-ms "$W7_HOLD_MS" \
            --one-bytes "$W7_ONE" "${CF[@]}" --no-fin --ready-file "$ready" \
            --timeout-ms 240000 >"$WORK/w7.out" &
        pid=$!
        while [ ! -e "$ready" ] && kill -0 "$pid" 2>/dev/null; do pause_s 0.1; done
        a1=$(mem_kb a)
        b1=$(mem_kb b)
        log "$s $n flows: gateway memory a ${a0}->${a1} kB, b ${b0}->${b1} kB"
        wait "$pid"
        r=$(<"$WORK/w7.out")
        if ok_all "$r"; then
            t_open=$(div "$(kv "$r" open_ms)" 1000)
            kib_prev=$(((a1 - a0 + b1 - b0) / n))
            rec "$s" "w7_${n}_open_s" "$t_open"
            rec "$s" "w7_${n}_one_ms" "$(kv "$r" one_ms)"
            if [ ${#MEM_A[@]} -gt 0 ] && [ "$CG_OK" = 1 ]; then
                rec "$s" "w7_${n}_kib_a" "$(div $((a1 - a0)) "$n")"
                rec "$s" "w7_${n}_kib_b" "$(div $((b1 - b0)) "$n")"
            elif [ ${#MEM_A[@]} -gt 0 ]; then
                rec "$s" "w7_${n}_kib_a" "failed: no memory cgroup in this kernel"
                rec "$s" "w7_${n}_kib_b" "failed: no memory cgroup in this kernel"
            else
                rec "$s" "w7_${n}_kib_a" "n/a: no gateway process"
                rec "$s" "w7_${n}_kib_b" "n/a: no gateway process"
            fi
        else
            t_open=$((W7_SKIP_S + 1)) kib_prev=
            for k in open_s kib_a kib_b one_ms; do
                rec "$s" "w7_${n}_$k" "failed: $(failed_reason "$r")"
            done
        fi
    done
}
declare -A SLOW_FORK=([socat]=1 [mptcp]=1 [ssh]=1)

# ---------------------------------------------------------------- main
T_START=$SECONDS
CG_OK=0
cg_init && CG_OK=1
topo_up --links 2 --delay 5 || exit 1
# 10,000 flows connect at once: let every listener queue them (each program
# still picks its own backlog; this only lifts the kernel's cap).
for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
done
start_backends || {
    echo "inner.sh: the back ends did not start" >&2
    exit 1
}
rec meta profile "$PROFILE"
rec meta failover_ms "$FAILOVER_MS"
rec meta kernel "$(uname -r)"
rec meta cpus "$(nproc)"
rec meta systems "${SYSTEMS[*]}"

# wkeys W: the figures workload W records.
wkeys() {
    local n k
    case $1 in
    w1) echo w1_mbit w1_cpu_s_gib ;;
    w2) echo w2_mbit w2_cpu_s_gib w2_one_assoc_mbit ;;
    w3) echo w3_p50_ms w3_p99_ms ;;
    w4) echo w4_setup_p50_ms w4_flows_per_s ;;
    w5) echo w5_p50_alone_ms w5_p99_alone_ms w5_p50_bulk_ms w5_p99_bulk_ms ;;
    w5b) echo w5b_p50_alone_ms w5b_p99_alone_ms w5b_p50_bulk_ms w5b_p99_bulk_ms w5b_bulk_mbit ;;
    w6 | w6b) echo "$1_gap_ms" "$1_gap_before_ms" "$1_lost" "$1_retrans" ;;
    w7) for n in "${W7_SIZES[@]}"; do for k in open_s kib_a kib_b one_ms; do echo "w7_${n}_$k"; done; done ;;
    esac
}

# Every workload, in this order: W7 first, on fresh processes, since memory
# grown by earlier workloads would otherwise be reused and hide the cost of
# idle flows.
WORKLOADS=(w7 w1 w2 w3 w4 w5 w5b w6 w6b)
# Systems that run some of them only: sctpgw-clear is there to tell what
# encryption costs in bulk, in latency and in isolation under load (on the
# bed the bulk flows' sealing fills the emulated CPUs), sctpgw-300 whether
# the failover budget holds at 300 ms too, not to add minutes to the run.
declare -A SYS_WORKLOADS=([sctpgw-clear]="w1 w2 w3 w5b" [sctpgw-300]="w6 w6b")

for s in "${SYSTEMS[@]}"; do
    log "---- $s"
    SETUP_ERR=
    T_SYS=$SECONDS
    LINGER_MAX=0
    # Every system starts on whole links, whatever the one before left.
    topo_restore 1 2 || log "could not restore the links before $s"
    "setup_$s" || true
    read -ra wls <<<"${SYS_WORKLOADS[$s]:-${WORKLOADS[*]}}"
    for w in "${wls[@]}"; do
        why=
        [ -n "$SETUP_ERR" ] && why="n/a: $SETUP_ERR"
        # A workload that may not end before the VM's time limit is not
        # started: the run records why and still reports everything else.
        [ -z "$why" ] && [ $((SECONDS - T_START)) -gt "$BUDGET_S" ] &&
            why="failed: not run: the run's ${BUDGET_S} s were spent"
        if [ -n "$why" ]; then
            for k in $(wkeys "$w"); do rec "$s" "$k" "$why"; done
            continue
        fi
        quiesce
        T_W=$SECONDS
        # Said at once: if the VM's time limit ends the run, the report
        # says where.
        rec meta running "$s $w"
        "$w" "$s"
        rec meta running ""
        rec "$s" "time_$w" $((SECONDS - T_W))
    done
    [ -n "$SETUP_ERR" ] || quiesce
    rec "$s" lingering "$LINGER_MAX"
    stop_all
    declare -F "teardown_$s" >/dev/null && "teardown_$s"
    # The programs' own logs, for what went wrong. Most are empty (the back
    # ends', the systems' before): no tail started for those.
    mkdir -p "$RAW/logs/$s"
    for f in "$WORK"/*.log; do
        if [ -s "$f" ]; then
            tail -n 200 "$f" >"$RAW/logs/$s/${f##*/}" && : >"$f"
        elif [ -f "$f" ]; then
            : >"$RAW/logs/$s/${f##*/}"
        fi
    done
    rec "$s" time_total $((SECONDS - T_SYS))
done
rec meta time_total $((SECONDS - T_START))
