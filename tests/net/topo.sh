# shellcheck shell=bash
# tests/net/topo.sh: the two-site test topology, as a sourceable bash library.
#
# Two sites are network namespaces, ${SCTPGW_NS_PREFIX:-sg}a and ...b, joined
# by N veth links (default 2). Link i (1-based) is interface "l<i>" at both
# ends, with its own subnets:
#     site a: 10.i.0.1/24  fd00:i::1/64      site b: 10.i.0.2/24  fd00:i::2/64
# Impairments are netem qdiscs on both ends of a link, so --delay MS is added
# in each direction (RTT = 2 x MS) and --loss PCT applies to each direction.
# Per-link settings live in /run/sctpgw-topo-<prefix> so that `restore`
# brings back what `cut` took away.
#
# Functions (each returns non-zero on failure, never exits the shell):
#   topo_up [--links N] [--delay MS] [--loss PCT] [--rate RATE]
#   topo_set LINK [--delay MS] [--loss PCT] [--rate RATE]
#   topo_cut [--on-stdin] LINK...  100% loss both ways (several links: at
#                            once; --on-stdin: says "ready", then cuts when
#                            a line comes on stdin)
#   topo_restore LINK...     back to the links' stored delay/loss/rate
#   topo_down                remove everything (idempotent)
#   topo_addr SITE LINK [4|6]   print the address of SITE (a|b) on LINK
#   topo_ns SITE             print the namespace name of SITE
#   topo_exec SITE CMD...    run CMD in SITE's namespace
#   topo_status              print the state and the qdiscs
# The executable tests/net/topo wraps these as subcommands.
#
# Every program start is expensive under emulation (the test VM), so this
# code batches ip/tc commands and avoids subshells.

# Sets _topo_p (namespace prefix) and _topo_st (state folder).
_topo_init() {
    _topo_p=${SCTPGW_NS_PREFIX:-sg}
    _topo_st=/run/sctpgw-topo-$_topo_p
}

_topo_err() {
    echo "topo: $*" >&2
    return 1
}

_topo_is_num() {
    [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]
}

_topo_check_site() {
    case "$1" in
    a | b) return 0 ;;
    *) _topo_err "site must be a or b (got '$1')" ;;
    esac
}

# Sets _topo_n to the number of links of the running topology.
_topo_links() {
    _topo_n=
    [ -f "$_topo_st/links" ] && read -r _topo_n <"$_topo_st/links"
    [ -n "$_topo_n" ] || _topo_err "topology $_topo_p is not up"
}

_topo_check_link() {
    _topo_links || return 1
    [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$_topo_n" ] ||
        _topo_err "no link '$1' (links are 1..$_topo_n)"
}

# Sets _topo_a to the address of SITE on LINK (family 4 or 6).
_topo_addr() {
    local host=1
    [ "$1" = a ] || host=2
    if [ "${3:-4}" = 6 ]; then
        _topo_a=fd00:$2::$host
    else
        _topo_a=10.$2.0.$host
    fi
}

# Sets _topo_q to the tc command (batch syntax) that gives LINK its netem
# qdisc, or removes it when there is no impairment.
_topo_qdisc_cmd() {
    local link=$1 delay=$2 loss=$3 rate=$4
    if [ "$delay" = 0 ] && [ "$loss" = 0 ] && [ -z "$rate" ]; then
        _topo_q="qdisc del dev l$link root"
        return
    fi
    # A big queue limit: netem's default (1000 packets) drops at high rates.
    _topo_q="qdisc replace dev l$link root netem limit 100000 delay ${delay}ms"
    [ "$loss" = 0 ] || _topo_q+=" loss $loss%"
    [ -z "$rate" ] || _topo_q+=" rate $rate"
}

# _topo_apply LINK DELAY LOSS RATE: set the qdisc on both ends of LINK.
_topo_apply() {
    local site rc=0
    _topo_qdisc_cmd "$@"
    for site in a b; do
        if [[ "$_topo_q" == "qdisc del"* ]]; then
            # Deleting the default qdisc fails harmlessly.
            tc -n "$_topo_p$site" $_topo_q 2>/dev/null
        else
            tc -n "$_topo_p$site" $_topo_q || rc=1
        fi
    done
    return $rc
}

# Reads link settings into the caller's delay/loss/rate variables.
_topo_load() {
    delay=0
    loss=0
    rate=
    [ -f "$_topo_st/link$1" ] || return 0
    read -r delay loss rate <"$_topo_st/link$1"
}

_topo_store() {
    printf '%s %s %s\n' "$2" "$3" "$4" >"$_topo_st/link$1"
}

# _topo_parse_impairment ARGS...: --delay/--loss/--rate into the caller's
# delay/loss/rate; --links into links when the caller allows it ($1=links).
_topo_parse() {
    local allow_links=$1
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --links | --delay | --loss | --rate)
            [ $# -ge 2 ] || {
                _topo_err "$1 needs a value"
                return 2
            }
            case "$1" in
            --links)
                [ "$allow_links" = links ] || {
                    _topo_err "--links only goes with up"
                    return 2
                }
                links=$2
                ;;
            --delay) delay=$2 ;;
            --loss) loss=$2 ;;
            --rate) rate=$2 ;;
            esac
            shift 2
            ;;
        *)
            _topo_err "unknown argument '$1'"
            return 2
            ;;
        esac
    done
    _topo_is_num "$delay" || {
        _topo_err "--delay wants milliseconds (got '$delay')"
        return 2
    }
    _topo_is_num "$loss" || {
        _topo_err "--loss wants a percentage (got '$loss')"
        return 2
    }
}

topo_ns() {
    local site
    _topo_init
    [ $# -gt 0 ] || set -- ''
    for site in "$@"; do
        _topo_check_site "$site" || return 1
        echo "$_topo_p$site"
    done
}

topo_addr() {
    local site=${1:-} link=${2:-} fam=${3:-4}
    _topo_check_site "$site" || return 1
    [[ "$link" =~ ^[0-9]+$ ]] && [ "$link" -ge 1 ] && [ "$link" -le 255 ] ||
        {
            _topo_err "bad link '$link'"
            return 1
        }
    case "$fam" in
    4 | 6) ;;
    *)
        _topo_err "address family must be 4 or 6 (got '$fam')"
        return 1
        ;;
    esac
    _topo_addr "$site" "$link" "$fam"
    echo "$_topo_a"
}

topo_down() {
    local site cmds=
    _topo_init
    for site in a b; do
        [ ! -e "/run/netns/$_topo_p$site" ] || cmds+="netns del $_topo_p$site"$'\n'
    done
    if [ -n "$cmds" ]; then
        printf '%s' "$cmds" | ip -force -batch - ||
            {
                _topo_err "cannot delete the namespaces of $_topo_p"
                return 1
            }
    fi
    [ ! -e "$_topo_st" ] || rm -rf "$_topo_st"
}

topo_up() {
    local links=2 delay=0 loss=0 rate='' i site root='' conf tcs ingress
    _topo_init
    _topo_parse links "$@" || return
    [[ "$links" =~ ^[0-9]+$ ]] && [ "$links" -ge 1 ] && [ "$links" -le 16 ] ||
        {
            _topo_err "--links must be 1..16"
            return 2
        }
    topo_down || return 1
    mkdir -p "$_topo_st" || return 1

    root="netns add ${_topo_p}a"$'\n'"netns add ${_topo_p}b"$'\n'
    for ((i = 1; i <= links; i++)); do
        root+="link add l$i netns ${_topo_p}a type veth peer name l$i netns ${_topo_p}b"$'\n'
    done
    printf '%s' "$root" | ip -batch - || {
        _topo_err "cannot create the namespaces and links"
        return 1
    }
    tcs=
    ingress=
    for ((i = 1; i <= links; i++)); do
        _topo_qdisc_cmd "$i" "$delay" "$loss" "$rate"
        tcs+=$_topo_q$'\n'
        ingress+="qdisc add dev l$i handle ffff: ingress"$'\n' # for topo_cut's filter
    done
    for site in a b; do
        conf="link set lo up"$'\n'
        for ((i = 1; i <= links; i++)); do
            _topo_addr "$site" "$i" 4
            conf+="addr add $_topo_a/24 dev l$i"$'\n'
            _topo_addr "$site" "$i" 6
            conf+="addr add $_topo_a/64 dev l$i nodad"$'\n'
            conf+="link set l$i up"$'\n'
        done
        printf '%s' "$conf" | ip -n "$_topo_p$site" -batch - || {
            _topo_err "cannot configure site $site"
            return 1
        }
        if [[ "$tcs" != *"qdisc del"* ]]; then
            printf '%s' "$tcs" | tc -n "$_topo_p$site" -batch - || {
                _topo_err "cannot set the impairments at site $site"
                return 1
            }
        fi
    done
    printf '%s' "$ingress" | tc -n "${_topo_p}a" -batch - || {
        _topo_err "cannot add the ingress qdiscs at site a"
        return 1
    }
    _topo_sites_set || return 1
    echo "$links" >"$_topo_st/links"
    for ((i = 1; i <= links; i++)); do
        _topo_store "$i" "$delay" "$loss" "$rate"
    done
}

# Keeps every link in order, as a real link is. A veth hands each packet to
# the backlog of the CPU that sent it, and netem releases packets from
# whichever CPU runs its timer or the next enqueue: with several CPUs a link
# reorders. SCTP reads reordering as loss (spurious fast retransmits halve
# its window; TCP copes), so an unsteered bed understates SCTP. RPS over all
# CPUs picks the CPU by flow hash, like a NIC's RSS: one flow, one CPU.
# Both sites also allow I-DATA (RFC 8260) and SCTP-AUTH by default
# (net.sctp.auth_enable, which lets the kernel check a COOKIE-ECHO's AUTH),
# as deploy/sysctl.d has a gateway's host do; a test that wants either off
# sets it to 0 itself. Without SCTP in the kernel (the host) there is
# nothing to allow.
# One shell a site does both: each program start counts under emulation.
_topo_sites_set() {
    local site mask cpus rc
    cpus=$(nproc)
    ((cpus > 32)) && cpus=32 # the first 32 are plenty, and fit one mask word
    mask=$(printf '%x' $(((1 << cpus) - 1)))
    for site in a b; do
        ip netns exec "$_topo_p$site" sh -c '
            for q in /sys/class/net/l*/queues/rx-*/rps_cpus; do echo "$1" >"$q" || exit 3; done
            [ ! -e /proc/sys/net/sctp ] || { echo 1 >/proc/sys/net/sctp/intl_enable &&
                echo 1 >/proc/sys/net/sctp/auth_enable; } || exit 4' \
            sh "$mask"
        rc=$?
        case $rc in
        0) ;;
        4) _topo_err "cannot set net.sctp.intl_enable and auth_enable at site $site" ;;
        *) _topo_err "cannot steer the links' receive queues (RPS) at site $site" ;;
        esac || return 1
    done
}

topo_set() {
    local link=${1:-} delay loss rate
    _topo_init
    _topo_check_link "$link" || return 1
    shift
    _topo_load "$link"
    _topo_parse no "$@" || return
    _topo_store "$link" "$delay" "$loss" "$rate"
    _topo_apply "$link" "$delay" "$loss" "$rate"
}

# _topo_feed ON_STDIN BATCH [FILE...]: prints BATCH for tc and creates each
# FILE (a cut's mark). With ON_STDIN 1 it first says "ready" on fd 4 and
# waits for a line on stdin (end of file: never). tc is then already
# running when the line comes, so the switch lands at that moment and not
# after the start-up of the script and of tc (gwload --at-early).
_topo_feed() {
    local on_stdin=$1 batch=$2 f
    shift 2
    if [ "$on_stdin" = 1 ]; then
        echo ready >&4
        read -r _ || return 0
    fi
    for f in "$@"; do
        : >"$f"
    done
    printf '%s' "$batch"
}

topo_cut() { _topo_switch cut "$@"; }
topo_restore() { _topo_switch restore "$@"; }

# _topo_switch cut|restore LINK...: every LINK cut (100% loss both ways) or
# back to its stored settings, all in one tc batch at site a: its egress
# qdisc drops what a sends and a filter on its ingress qdisc what b sends.
# One batch in one namespace takes effect at once; a batch per site, both
# started together, took effect up to a quarter of a second apart under
# emulation, and a failover's measured gap grew by that. The ingress qdisc
# itself is made once, by topo_up: only the filter comes and goes. While it
# was made and deleted with every cut, under traffic, the bed's kernel
# locked both CPUs up twice in CI right after a cut or restore (soft
# lockup, the gateways the tasks on them; never seen here in 17 runs of
# the cutting tests), and the benchmark's W6 ran on for minutes with both
# CPUs busy. Suspected, not proven: adding and deleting a filter is the
# kernel's well-trodden path, grafting ingress qdiscs under traffic is not.
_topo_switch() {
    local how=$1 link delay loss rate cmds='' del=0 rc=0 on_stdin=0 marks=()
    shift
    _topo_init
    if [ "${1:-}" = --on-stdin ]; then
        on_stdin=1
        shift
    fi
    [ $# -gt 0 ] || {
        _topo_err "$how: which link?"
        return 1
    }
    for link in "$@"; do
        _topo_check_link "$link" || return 1
        _topo_load "$link"
        [ "$how" = restore ] || loss=100
        _topo_qdisc_cmd "$link" "$delay" "$loss" "$rate"
        cmds+="$_topo_q"$'\n'
        [[ "$_topo_q" != "qdisc del"* ]] || del=1
        if [ "$how" = cut ]; then
            cmds+="filter replace dev l$link parent ffff: prio 1 handle 1 matchall action drop"$'\n'
            marks+=("$_topo_st/cut$link")
        elif [ -e "$_topo_st/cut$link" ]; then
            cmds+="filter del dev l$link parent ffff: prio 1"$'\n'
            rm -f "$_topo_st/cut$link"
        fi
    done
    {
        if [ "$del" = 1 ]; then
            # Deleting the default qdisc fails harmlessly.
            _topo_feed "$on_stdin" "$cmds" "${marks[@]}" 4>&3 |
                tc -force -n "${_topo_p}a" -batch - 2>/dev/null
        else
            _topo_feed "$on_stdin" "$cmds" "${marks[@]}" 4>&3 |
                tc -force -n "${_topo_p}a" -batch - || rc=1
        fi
    } 3>&1
    return $rc
}

topo_exec() {
    local site=${1:-}
    _topo_init
    _topo_check_site "$site" || return 1
    shift
    [ $# -gt 0 ] || {
        _topo_err "exec: no command"
        return 2
    }
    ip netns exec "$_topo_p$site" "$@"
}

topo_status() {
    local i delay loss rate site a b
    _topo_init
    _topo_links || return 1
    echo "topology $_topo_p: sites ${_topo_p}a ${_topo_p}b, $_topo_n link(s)"
    for ((i = 1; i <= _topo_n; i++)); do
        _topo_load "$i"
        _topo_addr a "$i"
        a=$_topo_a
        _topo_addr b "$i"
        b=$_topo_a
        echo "link $i: $a <-> $b, stored delay=${delay}ms loss=${loss}% rate=${rate:-none}"
        for site in a b; do
            printf '  %s: ' "$site"
            tc -n "$_topo_p$site" qdisc show dev "l$i" | head -n1
        done
    done
}
