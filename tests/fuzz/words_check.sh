#!/usr/bin/env bash
# fuzz_config's words keep up with the configuration: every key of the
# table in src/config.c is in config.dict (as "key = ", the form libFuzzer
# splices in) and set in the seed corpus's all-keys file, and the corpus's
# copies of the shipped configs are the files in config/, so that a new key
# is fuzzed from the first run, not only when the fuzzer happens to spell
# it. tests/fuzz/seeds.py writes the corpus.
#
# Usage: words_check.sh SRCDIR
set -euo pipefail
src=$1
keys=$("$src/tests/tools/config_keys.sh" "$src")
bad=0
while IFS=$'\t' read -r key _; do
    grep -qxF "\"$key = \"" "$src/tests/fuzz/config.dict" || {
        echo "words_check: key $key (src/config.c) is not in tests/fuzz/config.dict" >&2
        bad=1
    }
    grep -q "^$key = " "$src/tests/fuzz/corpus/config/all-keys" || {
        echo "words_check: key $key (src/config.c) is not set in tests/fuzz/corpus/config/all-keys" \
            "(seeds.py)" >&2
        bad=1
    }
done <<<"$keys"
for ini in "$src"/config/*.ini; do
    cmp -s "$ini" "$src/tests/fuzz/corpus/config/${ini##*/}" || {
        echo "words_check: tests/fuzz/corpus/config/${ini##*/} is not config/${ini##*/}" \
            "(run tests/fuzz/seeds.py)" >&2
        bad=1
    }
done
[ "$bad" -eq 0 ] && echo "ok: $(grep -c . <<<"$keys") keys in config.dict and all-keys; the shipped configs' copies current"
exit "$bad"
