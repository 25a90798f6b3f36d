#!/usr/bin/env bash
# 64 concurrent flows x 1 MiB of random data, verified byte for byte at the
# back end (echo) and on the echo back at the client.
. "$(dirname "$0")/lib.sh"
echo_pair
r=$(client a --connect 127.0.0.1:7001 --flows 64 --bytes $((1 << 20)) --mode echo --timeout-ms 240000)
log "$r"
expect "$r" ok == 64
expect "$r" failed == 0
expect "$r" bytes_verified == $((64 * (1 << 20)))
done_ok
