#!/usr/bin/env python3
"""report.py's --check on made-up figures: a peer whose W6b flows were all
lost has no gap, and that is its figure (its lost flows are counted beside
it); sctpgw without a gap has lost a figure. A number is always fine, and
a failed workload never is."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def figures(overrides):
    keys = [m[0] for m in report.metrics([])]
    data = {s: {k: "1" for k in keys} for s in ("ssh", "sctpgw")}
    for (s, k), v in overrides.items():
        data[s][k] = v
    return data


def missing(overrides):
    return report.check(figures(overrides), {"systems": "ssh sctpgw"}, [])


def main():
    lost = "n/a: every flow lost"
    cases = [
        ({}, []),
        ({("ssh", "w6b_gap_ms"): lost}, []),
        ({("sctpgw", "w6b_gap_ms"): lost}, [f"sctpgw w6b_gap_ms: {lost}"]),
        ({("ssh", "w6b_gap_ms"): "failed: timeout"}, ["ssh w6b_gap_ms: failed: timeout"]),
        ({("ssh", "w1_mbit"): "n/a: raw SCTP only"}, []),
    ]
    bad = 0
    for overrides, want in cases:
        got = missing(overrides)
        if got != want:
            print(f"test_report: {overrides}: got {got}, want {want}")
            bad += 1
    print(f"test_report: {len(cases)} cases, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
