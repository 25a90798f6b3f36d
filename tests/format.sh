#!/usr/bin/env bash
# Every C file follows the checked-in .clang-format.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests -name '*.[ch]'); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run clang-format -i $f)"
        bad=1
    fi
done
[ "$bad" -eq 0 ] && echo "format: all files formatted"
exit "$bad"
