#!/usr/bin/env bash
# The link-flap soak (tests/soak/soak.sh) with ten flaps: links 1 and 2 cut
# in turn and twice both together, under bulk, paced and short flows; no flow
# lost, every byte verified, each flap's gap within its bound, the gateways'
# descriptors and memory back where they started.
exec "$(dirname "$0")/../soak/soak.sh" --flaps 10 "$@"
