#!/usr/bin/env bash
# The link-flap soak (tests/soak/soak.sh) inside UDP (udp_port) across
# links that drop native SCTP, three flaps: link 1, link 2, both. Every
# path must come back inside UDP after each flap (the association never
# re-forms, no native packet leaves), no flow lost, every byte verified.
SOAK_BULK_BYTES=$((4 << 20)) SOAK_BOTH_EVERY=3 exec "$(dirname "$0")/../soak/soak.sh" --flaps 3 --udp 9899 "$@"
