#!/usr/bin/env bash
# The Debian package, installed for real: the VM's root is a throwaway
# overlay of the host's, so `apt-get install ./sctpgw.deb` runs its
# postinst as on a Debian 12 host with the dependencies already there (the
# VM has no network: apt cannot fetch any). Then the operator's steps of
# sctpgw(8): configs and key in /etc/sctpgw, and a gateway pair run as the
# unit runs them: user sctpgw, only CAP_NET_BIND_SERVICE (ambient and
# bounding), no new privileges. Asserts:
#   - the postinst made the system user sctpgw (in the group sctpgw the
#     operator made first) and /etc/sctpgw (0750 root:sctpgw, empty); the
#     man pages are found by man;
#   - the pair carries echo flows through an accept service on port 443,
#     with the gateway's effective capabilities exactly CAP_NET_BIND_SERVICE;
#   - without that capability the same gateway cannot take port 444 and
#     says why (exit 1): the unit needs it, and nothing more, for that;
#     and a sock_buffer past net.core.wmem_max is reported, not taken
#     smaller without a word;
#   - reinstalling and removing the package leave the operator's files in
#     /etc/sctpgw as they were, and the user; the runtime folder goes; a
#     purge with /etc/sctpgw empty removes it.
. "$(dirname "$0")/lib.sh"
# Never on a host: the package, its user and its folders would stay there.
[ -n "${SCTPGW_IN_VM:-}" ] ||
    fail "installs the package for real: runs only in the VM's throwaway root (tests/vm/run --vm)"
# The VM reads the host's files with the rights of whoever started it:
# groupadd and apt need root's (/etc/gshadow, dpkg's lock).
if ! cat /etc/gshadow >/dev/null 2>&1; then
    log "SKIP: the host's /etc/gshadow is unreadable in the VM: run the suite as root to install the package"
    exit 77
fi
: "${SCTPGW_DEB:?the package deploy_deb builds (build/package/sctpgw.deb)}"
[ -f "$SCTPGW_DEB" ] || fail "no package at $SCTPGW_DEB: run ctest -R deploy_deb first"
deb=$WORK/sctpgw.deb
cp "$SCTPGW_DEB" "$deb"

# Under emulation two things take most of the time, and neither is the
# package's: apt reading the mirror's package lists, and man-db's trigger
# rebuilding its index. apt is given no sources (the dependencies are
# installed, and there is no network to fetch any), and man-db's automatic
# update is off in this throwaway root (man -w finds the pages without it).
rm -f /var/lib/man-db/auto-update
# The operator made the group before installing (to own files with it),
# as an ordinary group: the postinst makes the user in it.
groupadd sctpgw
log "installing $(basename "$SCTPGW_DEB")"
mkdir "$WORK/sources.list.d"
touch "$WORK/sources.list"
apt-get install -y -q -o Dir::Etc::SourceList="$WORK/sources.list" \
    -o Dir::Etc::SourceParts="$WORK/sources.list.d" "$deb" >"$WORK/apt.log" 2>&1 || {
    cat "$WORK/apt.log" >&2
    fail "apt-get install ./sctpgw.deb failed"
}
log "ok: apt-get install $(dpkg-query -W -f='${Package} ${Version}' sctpgw)"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd sctpgw) || fail "no user sctpgw"
[ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] ||
    fail "sctpgw is not a system user: uid $uid, shell $shell"
[ "$(id -gn sctpgw)" = sctpgw ] || fail "sctpgw's group is $(id -gn sctpgw), not sctpgw"
[ "$(stat -c '%a %U %G' /etc/sctpgw)" = "750 root sctpgw" ] ||
    fail "/etc/sctpgw is $(stat -c '%a %U %G' /etc/sctpgw), not 750 root sctpgw"
[ -z "$(ls -A /etc/sctpgw)" ] || fail "/etc/sctpgw is not empty: $(ls -A /etc/sctpgw)"
[ "$(man -w sctpgw.ini)" = /usr/share/man/man5/sctpgw.ini.5.gz ] || fail "man -w sctpgw.ini"
[ "$(man -w 8 sctpgw)" = /usr/share/man/man8/sctpgw.8.gz ] || fail "man -w 8 sctpgw"
log "ok: system user sctpgw (uid $uid), /etc/sctpgw 750 root:sctpgw and empty, man pages found"

# The operator's steps (sctpgw(8), FILES and SECURITY).
pair_up
gw_config site-a connect <<'INI'
[echo]
accept = 127.0.0.1:443
INI
gw_config site-b listen <<'INI'
[echo]
connect = 127.0.0.1:9001
INI
gw_config site-c connect <<'INI'
[echo]
accept = 127.0.0.1:444
INI
# Past net.core.wmem_max and rmem_max only CAP_NET_ADMIN gets more: ask
# for twice the smaller.
cap=$(sort -n /proc/sys/net/core/wmem_max /proc/sys/net/core/rmem_max | head -1)
sed -i "s/^role = connect/&\nsock_buffer = $((2 * cap))/" "$WORK/site-c.ini"
# The operator's files name no control socket: the default, in the folder
# the unit's RuntimeDirectory= makes (made here as systemd would).
sed -i '/^control = /d' "$WORK"/site-{a,b,c}.ini
install -d -o sctpgw -g sctpgw -m 0750 /run/sctpgw
install -o sctpgw -g sctpgw -m 600 "$WORK/site.key" /etc/sctpgw/
install -o root -g sctpgw -m 640 "$WORK"/site-{a,b,c}.ini /etc/sctpgw/
server_start b 127.0.0.1:9001 echo

# unit_start SITE NAME CAPS: /usr/sbin/sctpgw -c /etc/sctpgw/NAME.ini as
# the unit starts it, with CAPS ("+net_bind_service" or "").
unit_start() {
    local site=$1 name=$2 caps=$3
    "$TOPO" exec "$site" setpriv --reuid=sctpgw --regid=sctpgw --init-groups \
        --inh-caps="-all${caps:+,$caps}" --ambient-caps="-all${caps:+,$caps}" \
        --bounding-set="-all${caps:+,$caps}" --no-new-privs \
        /usr/sbin/sctpgw -c "/etc/sctpgw/$name.ini" 2>>"$WORK/$name.log" &
    PIDS+=($!)
    PID_NAME[$!]=$name
    eval "GW_PID_${name//-/_}=$!"
}
unit_start b site-b +net_bind_service
unit_start a site-a +net_bind_service
wait_log site-a 'up: peer proved the key'
wait_log site-b 'up: peer proved the key'
pid=$(gw_pid site-a)
caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
[ "$caps" = 0000000000000400 ] || fail "site-a's effective capabilities are $caps, not CAP_NET_BIND_SERVICE alone"
[ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")" = 1 ] || fail "site-a may gain privileges"
[ "$(stat -c %U "/proc/$pid")" = sctpgw ] || fail "site-a does not run as sctpgw"
# 16 KiB a flow: what is checked is that flows pass on port 443, not how much.
r=$(client a --connect 127.0.0.1:443 --flows 4 --mode echo --bytes 16K)
log "echo through port 443: $r"
expect "$r" ok == 4
log "ok: the pair runs as sctpgw with CAP_NET_BIND_SERVICE alone and carries flows on port 443"
st=$(/usr/sbin/sctpgw status -c /etc/sctpgw/site-a.ini) || fail "sctpgw status -c /etc/sctpgw/site-a.ini: $st"
grep -qE '^association [0-9]+: peer site-b' <<<"$st" || fail "status shows no association: $st"
[ "$(stat -c '%a %U' /run/sctpgw/site-a.sock)" = "660 sctpgw" ] ||
    fail "the control socket is $(stat -c '%a %U' /run/sctpgw/site-a.sock), not 660 sctpgw"
log "ok: sctpgw status through the default control socket /run/sctpgw/site-a.sock"

unit_start a site-c ""
set +e
wait "$(gw_pid site-c)"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "site-c without CAP_NET_BIND_SERVICE exited $rc, not 1"
grep -qE 'cannot listen on 127.0.0.1:444: permission denied' "$WORK/site-c.log" ||
    fail "site-c did not say why: $(<"$WORK/site-c.log")"
log "ok: without the capability port 444 is refused with a clear error (exit 1)"
grep -qE "sock_buffer = $((2 * cap)): the kernel gives $cap \(net.core.wmem_max" "$WORK/site-c.log" ||
    fail "site-c took a smaller buffer without a word: $(<"$WORK/site-c.log")"
log "ok: a sock_buffer past the kernel's caps is reported with what it gives"

# Both stopped at once, as proc_stop_all would; each is waited for.
kill -TERM "$(gw_pid site-a)" "$(gw_pid site-b)"
for s in a b; do
    set +e
    wait "$(gw_pid site-$s)"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || fail "site-$s exited $rc after SIGTERM"
done

# The operator's files survive a reinstall and a removal.
chmod 0755 /etc/sctpgw
snapshot() { (cd /etc/sctpgw && stat -c '%a %U %G %n' . * && sha256sum ./*); }
before=$(snapshot)
dpkg -i "$deb" >>"$WORK/apt.log" 2>&1 || fail "reinstalling the package failed"
[ "$(snapshot)" = "$before" ] || fail "a reinstall changed /etc/sctpgw: $(diff <(echo "$before") <(snapshot))"
dpkg --purge sctpgw >>"$WORK/apt.log" 2>&1 || fail "dpkg --purge sctpgw failed"
[ ! -e /usr/sbin/sctpgw ] || fail "/usr/sbin/sctpgw is still there after the purge"
[ "$(snapshot)" = "$before" ] || fail "the purge changed /etc/sctpgw: $(diff <(echo "$before") <(snapshot))"
getent passwd sctpgw >/dev/null || fail "the purge removed the user sctpgw, who owns the key file"
[ ! -e /run/sctpgw ] || fail "the purge left /run/sctpgw: $(ls -A /run/sctpgw)"
log "ok: reinstall and purge left /etc/sctpgw (mode, owners, contents) and the user as they were; /run/sctpgw went"
# Emptied by the operator, the folder goes with the next purge.
rm -f /etc/sctpgw/*
dpkg -i "$deb" >>"$WORK/apt.log" 2>&1 || fail "installing the package again failed"
dpkg --purge sctpgw >>"$WORK/apt.log" 2>&1 || fail "the second dpkg --purge sctpgw failed"
[ ! -e /etc/sctpgw ] || fail "the purge left an empty /etc/sctpgw"
log "ok: a purge with /etc/sctpgw empty removed it"

done_ok
