#!/usr/bin/env bash
# Every script in the tree parses: shell scripts with `bash -n` (`sh -n`
# for /bin/sh ones), python ones with python3's own parser. Some run only
# by hand (the bench's profile.sh, cut.py, hops.py, paths.py; the soak's
# and the fuzzers' host wrappers) or only on a fresh machine
# (deploy/install-deps): a syntax error there would otherwise wait for its
# next user. Scripts are told by name (.sh, .py) or by their #! line.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bad=0 shells=0 pys=()
while IFS= read -r f; do
    [ -f "$f" ] || continue
    first=
    IFS= read -r first <"$f" 2>/dev/null || :
    case "$f:$first" in
    *.py:* | *:'#!'*python*) pys+=("$f") ;;
    *:'#!/bin/sh'* | *'#!/usr/bin/env sh'*)
        shells=$((shells + 1))
        sh -n "$f" || { echo "does not parse: $f"; bad=1; }
        ;;
    *.sh:* | *:'#!'*bash*)
        shells=$((shells + 1))
        bash -n "$f" || { echo "does not parse: $f"; bad=1; }
        ;;
    esac
done < <(git ls-files 2>/dev/null || find . -type f -not -path './build*' -not -path './.git/*')
# One python start for them all (a start is costly on a slow machine).
python3 - "${pys[@]}" <<'PY' || bad=1
import ast, sys
bad = 0
for f in sys.argv[1:]:
    try:
        with open(f, "rb") as fh:
            ast.parse(fh.read(), f)
    except SyntaxError as e:
        print(f"does not parse: {f}:{e.lineno}: {e.msg}")
        bad = 1
sys.exit(bad)
PY
# Too few means the listing went wrong, not that all is well.
[ "$shells" -ge 40 ] && [ "${#pys[@]}" -ge 10 ] ||
    { echo "scripts: found only $shells shell and ${#pys[@]} python scripts"; exit 1; }
[ "$bad" = 0 ] && echo "scripts: $shells shell and ${#pys[@]} python scripts parse"
exit "$bad"
