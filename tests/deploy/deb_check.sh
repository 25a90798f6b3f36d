#!/usr/bin/env bash
# The Debian package, natively: `cpack -G DEB` builds it from this build
# tree into a temporary folder, and dpkg-deb shows that
#   - it holds exactly the expected files, in Debian's places, and nothing
#     under /etc (the operator's);
#   - the binary is the stripped daemon and runs (--version);
#   - Depends names every library the binary links (libuv1, libsctp1,
#     libinih1, libsodium23, libsystemd0, libc6), adduser (postinst) and
#     procps (the unit's reload: /bin/kill);
#   - the unit runs /usr/sbin/sctpgw as the user sctpgw, and the postinst
#     creates that user and /etc/sctpgw only when missing;
#   - the maintainer scripts are valid sh;
# and, as root, `dpkg --dry-run -i` accepts it on this machine (what it
# would do; nothing is installed).
#
# With OUTDIR, the package is also copied to OUTDIR/sctpgw.deb (for the VM
# test that installs it, tests/gw/t_package.sh).
#
# Usage: deb_check.sh BUILD_DIR [OUTDIR]
set -euo pipefail
build=$1 outdir=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "deb_check: FAIL: $*" >&2
    exit 1
}

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 || {
    cat "$work/cpack.log" >&2
    fail "cpack -G DEB failed"
}
debs=("$work"/sctpgw_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one sctpgw_*.deb, got: $(ls "$work")"
deb=${debs[0]}
echo "ok: built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# Files (not folders), by path.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sort >"$work/files"
sort >"$work/want" <<'LIST'
./usr/lib/modules-load.d/sctp.conf
./usr/lib/sysctl.d/60-sctpgw.conf
./usr/lib/systemd/system/sctpgw@.service
./usr/sbin/sctpgw
./usr/share/doc/sctpgw/examples/hub.ini
./usr/share/doc/sctpgw/examples/site-a.ini
./usr/share/doc/sctpgw/examples/site-b.ini
./usr/share/man/man5/sctpgw.ini.5.gz
./usr/share/man/man8/sctpgw.8.gz
LIST
diff -u "$work/want" "$work/files" || fail "the file list differs (- expected, + in the package)"
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/all"
! grep -q '^\./etc' "$work/all" || fail "the package ships /etc"
echo "ok: the $(wc -l <"$work/files") expected files, nothing under /etc"

dpkg-deb -x "$deb" "$work/root"
# Read whole, not piped into grep -q: grep would stop at the first match,
# and the writer's next write then fails (SIGPIPE), which pipefail counts.
readelf -S "$work/root/usr/sbin/sctpgw" >"$work/sections" || fail "readelf cannot read the binary"
! grep -q '\.symtab' "$work/sections" || fail "/usr/sbin/sctpgw is not stripped"
"$work/root/usr/sbin/sctpgw" --version | grep -q '^sctpgw ' || fail "the packaged binary does not run"
zcat "$work/root/usr/share/man/man8/sctpgw.8.gz" >"$work/man8" || fail "sctpgw.8.gz is not gzip'd"
grep -q '^\.TH "sctpgw" "8"' "$work/man8" || fail "sctpgw.8.gz is not the man page"
echo "ok: the binary runs and is stripped; the man pages are gzip'd roff"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in adduser procps libc6 libuv1 libsctp1 libinih1 libsodium23 libsystemd0; do
    grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib"
done
# What the binary itself links (its NEEDED entries, not their own
# dependencies), by package: each must be in Depends.
ldd "$work/root/usr/sbin/sctpgw" >"$work/ldd"
for soname in $(readelf -d "$work/root/usr/sbin/sctpgw" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    so=$(awk -v n="$soname" '$1 == n && $3 ~ /^\// { print $3 }' "$work/ldd")
    [ -n "$so" ] || fail "$soname, which the binary links, is not found"
    # dpkg knows a file by the path its package gave: /lib or /usr/lib
    # (merged /usr), the link's or its target's.
    real=$(readlink -f "$so")
    pkg=
    for p in "$so" "$real" "${real#/usr}" "/usr$so"; do
        pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && break
    done
    [ -n "$pkg" ] || fail "no package holds $so"
    grep -qE "(^|, )$pkg( |,|$)" <<<"$depends" || fail "the binary links $so ($pkg), not in Depends"
done
echo "ok: Depends names every library the binary links, adduser and procps"

unit=$work/root/usr/lib/systemd/system/sctpgw@.service
grep -q '^ExecStart=/usr/sbin/sctpgw -c /etc/sctpgw/%i.ini$' "$unit" || fail "the unit's ExecStart"
grep -q '^User=sctpgw$' "$unit" || fail "the unit does not run as sctpgw"
grep -q '^Type=notify$' "$unit" || fail "the unit is not Type=notify"
echo "ok: the unit runs /usr/sbin/sctpgw -c /etc/sctpgw/%i.ini as sctpgw, Type=notify"

dpkg-deb -e "$deb" "$work/ctrl"
for s in postinst prerm postrm; do
    [ -x "$work/ctrl/$s" ] || fail "no executable $s"
    sh -n "$work/ctrl/$s" || fail "$s is not valid sh"
done
# (continuation lines joined)
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$work/ctrl/postinst" |
    grep -qE 'adduser --system .*--ingroup sctpgw .* sctpgw$' || fail "postinst does not create sctpgw"
grep -qE 'addgroup --system .*sctpgw$' "$work/ctrl/postinst" ||
    fail "postinst does not create the group sctpgw first"
grep -q 'if \[ ! -e /etc/sctpgw \]; then' "$work/ctrl/postinst" ||
    fail "postinst does not leave an existing /etc/sctpgw alone"
! grep -q '/etc/sctpgw/' "$work/ctrl/postinst" "$work/ctrl/postrm" "$work/ctrl/prerm" ||
    fail "a maintainer script touches a file in /etc/sctpgw"
echo "ok: maintainer scripts: valid sh, user sctpgw, /etc/sctpgw created only if missing"

if [ "$(id -u)" -eq 0 ]; then
    dpkg --dry-run -i "$deb" >"$work/dry.log" 2>&1 || {
        cat "$work/dry.log" >&2
        fail "dpkg --dry-run -i refuses the package"
    }
    echo "ok: dpkg --dry-run -i accepts it"
fi
if [ -n "$outdir" ]; then
    mkdir -p "$outdir"
    cp "$deb" "$outdir/sctpgw.deb"
fi
echo "PASS: deb_check"
