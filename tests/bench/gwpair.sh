# shellcheck shell=bash
# tests/bench/gwpair.sh: the sctpgw pair the benchmark measures and
# profile.sh profiles, defined once so that both run the same gateways.
#
# gwpair_write DIR FAILOVER_MS [ENCRYPTION]: writes DIR/site.key,
# DIR/connect.ini (site a: [bulk] on 127.0.0.1:7401, [echo] on 7402) and
# DIR/listen.ini (site b, to the back ends on 127.0.0.1:9001 and 9002), over
# both links of the topology; ENCRYPTION (on or off) is written as
# `encryption =` when given, else the default (on) holds.
gwpair_write() {
    local d=$1 failover_ms=$2 enc=${3:-} role site
    mkdir -p "$d" || return 1
    head -c 48 /dev/urandom >"$d/site.key" && chmod 600 "$d/site.key" || return 1
    for role in connect listen; do
        site=b
        [ $role = listen ] || site=a
        {
            printf '[gateway]\nname = site-%s\nlog_level = info\npsk_file = site.key\n\n' "$site"
            printf '[association]\nrole = %s\nport = 9899\nfailover_ms = %s\n' "$role" "$failover_ms"
            printf 'max_flows = 12000\n'
            [ -z "$enc" ] || printf 'encryption = %s\n' "$enc"
            if [ $role = connect ]; then
                printf 'local = 10.1.0.1, 10.2.0.1\nremote = 10.1.0.2, 10.2.0.2\nprimary = 10.1.0.2\n\n'
                printf '[bulk]\naccept = 127.0.0.1:7401\n\n[echo]\naccept = 127.0.0.1:7402\n'
            else
                printf 'local = 10.1.0.2, 10.2.0.2\n\n'
                printf '[bulk]\nconnect = 127.0.0.1:9001\n\n[echo]\nconnect = 127.0.0.1:9002\n'
            fi
        } >"$d/$role.ini" || return 1
    done
}
