#!/usr/bin/env bash
# The man pages: built (scdoc), lint-clean under `mandoc -Tlint` at the
# level of warnings, and sctpgw.ini(5) documents every key of the table in
# src/config.c with its default (so a new key cannot go undocumented), and
# sctpgw(8) names every metric src/render_prom.c serves.
#
# scdoc 1.11 writes a .PP after every .SH and before every indented block,
# which mandoc reports as "skipping paragraph macro: PP empty / after SH";
# those are scdoc's, not the pages', and are left out. Every other message
# of level warning or above fails the test (mandoc's style notes, such as
# long source lines, do not).
#
# Usage: man_lint.sh MANDIR SRCDIR
set -euo pipefail
mandir=$1 src=$2
command -v mandoc >/dev/null || {
    echo "man_lint: mandoc not found (deploy/install-deps installs it)" >&2
    exit 1
}
bad=0
for page in man8/sctpgw.8 man5/sctpgw.ini.5; do
    [ -f "$mandir/$page" ] || {
        echo "man_lint: $mandir/$page was not built (scdoc missing? deploy/install-deps)" >&2
        exit 1
    }
    out=$(mandoc -Tlint -W warning "$mandir/$page" 2>&1 |
        grep -vE 'WARNING: skipping paragraph macro: PP (empty|after SH)$' || true)
    if [ -n "$out" ]; then
        echo "$out" >&2
        bad=1
    else
        echo "ok: $page: mandoc -Tlint clean"
    fi
done

# Every key of the table, `KEY(SECTION, "name", ...)` or `NUM(...)`, with
# its default: the page has "*name* =" and, where the table has a default,
# the same text in "Default: _value_" in that key's paragraph.
ini=$src/deploy/man/sctpgw.ini.5.scd
keys=$("$src/tests/tools/config_keys.sh" "$src")
while IFS=$'\t' read -r key deflt; do
    if ! grep -qF "*$key* =" "$ini"; then
        echo "man_lint: key $key (src/config.c) is not in sctpgw.ini(5)" >&2
        bad=1
        continue
    fi
    [ "$deflt" != NULL ] || continue
    deflt=${deflt//\"/}
    # The paragraph of the key, up to the next key.
    para=$(awk -v k="*$key* =" 'index($0, k) == 1 { on = 1; print; next }
        on && /^\*[a-z_]+\* =/ { exit } on { print }' "$ini")
    if ! grep -qF "Default: _${deflt}_" <<<"$para"; then
        echo "man_lint: sctpgw.ini(5) does not give $key's default, $deflt" >&2
        bad=1
    fi
done <<<"$keys"

# Every metric name in the renderer's source, as "*name*" in METRICS.
m=0
for metric in $(grep -oE '"sctpgw_[a-z_]+"' "$src/src/render_prom.c" | tr -d '"' | sort -u); do
    m=$((m + 1))
    grep -qF "*$metric*" "$src/deploy/man/sctpgw.8.scd" || {
        echo "man_lint: metric $metric (src/render_prom.c) is not in sctpgw(8), METRICS" >&2
        bad=1
    }
done
[ "$m" -ge 30 ] || {
    echo "man_lint: found only $m metric names in src/render_prom.c; has its form changed?" >&2
    exit 1
}
[ "$bad" -eq 0 ] && echo "ok: all $(grep -c . <<<"$keys") keys of src/config.c documented with their defaults" &&
    echo "ok: all $m metrics of src/render_prom.c named in sctpgw(8)"
exit "$bad"
