#!/usr/bin/env bash
# config_keys.sh SRCDIR: every key of the table in SRCDIR/src/config.c,
# `KEY(SECTION, "name", ...)` or `NUM(...)`, one per line as
# "name<TAB>default" (the default as the table writes it: "text" or NULL).
# Fails when it reads fewer keys than the table had when this was written,
# so that a change of the table's form cannot make its readers check nothing.
set -euo pipefail
out=$(sed -n '/^static const key_def_t keys\[\] = {$/,/^};$/p' "$1/src/config.c" |
    tr '\n' ' ' | grep -oE '(KEY|NUM)\(SEC_[A-Z]+, "[a-z_]+",[^()]*(\([^()]*\)[^()]*)*\)' |
    sed -E 's/^(KEY|NUM)\(SEC_[A-Z]+, "([a-z_]+)",.*, *("[^"]*"|NULL)\)$/\2\t\3/')
n=$(grep -c . <<<"$out" || true)
[ "$n" -ge 22 ] || {
    echo "config_keys: read only $n keys from src/config.c's table; has its form changed?" >&2
    exit 1
}
printf '%s\n' "$out"
