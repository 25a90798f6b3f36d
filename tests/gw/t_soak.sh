#!/usr/bin/env bash
# The link-flap soak (tests/soak/soak.sh) with three flaps: links 1 and 2
# cut in turn and then both together, under bulk, paced and short flows; no flow
# lost, every byte verified, each flap's gap within its bound, the gateways'
# descriptors and memory back where they started. Bulk rounds of 2 x 4 MiB,
# not 16: the warm-up and the round under way at the end take that long.
SOAK_BULK_BYTES=$((4 << 20)) SOAK_BOTH_EVERY=3 exec "$(dirname "$0")/../soak/soak.sh" --flaps 3 "$@"
