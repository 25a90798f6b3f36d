#!/usr/bin/env python3
"""Turns the benchmark's raw figures into its results: the markdown table
(results.md, also printed), the targets with their measured values, and
PNG charts drawn with gnuplot (throughput, latency, failover timeline).

Usage: report.py OUT_DIR [--check] [--wall SECONDS]
  OUT_DIR   holds raw/results.tsv and raw/w6-*.tl|cut from tests/bench/inner.sh
  --check   exit 1 when a system/workload produced no figure at all (a value
            that failed, or is missing); n/a by design (a system without a
            gateway process has no gateway memory) is fine
  --wall S  the run's wall time, noted under the table
"""
import argparse
import os
import shutil
import subprocess
import sys

SYSTEMS = [
    ("limit-tcp", "limit: TCP"),
    ("limit-sctp", "limit: SCTP"),
    ("socat", "socat chain"),
    ("ssh", "ssh -L"),
    ("mptcp", "MPTCP chain"),
    ("sctpgw", "sctpgw"),
]
# Variants of a system run through some workloads only, reported in a table
# of their own beside that system: (key, name, system, heading, the system's
# name there, the ratio's name, rows).
VARIANTS = [
    ("sctpgw-clear", "sctpgw, encryption = off", "sctpgw", "Encryption",
     "sctpgw, encrypted (default)", "encrypted / off",
     ("w1_mbit", "w1_cpu_s_gib", "w2_mbit", "w2_cpu_s_gib", "w3_p50_ms", "w3_p99_ms",
      "w5b_p99_alone_ms", "w5b_p99_bulk_ms", "w5b_bulk_mbit")),
    ("sctpgw-300", "sctpgw, failover_ms = 300", "sctpgw", "Failover at 300 ms",
     "sctpgw, failover_ms = 500", "500 / 300",
     ("w6_gap_ms", "w6_gap_before_ms", "w6_lost", "w6_retrans", "w6b_gap_ms",
      "w6b_gap_before_ms", "w6b_lost", "w6b_retrans")),
]
PEERS = ["socat", "ssh", "mptcp"]
LIMIT = "limit-sctp"  # what sctpgw rides on: its ratios are against this one
# Rows whose ratios mean nothing (counts that are 0 when all is well).
NO_RATIO = ("w1_iperf3_mbit", "w2_one_assoc_mbit", "w6_lost", "w6b_lost", "w6_retrans",
            "w6b_retrans", "lingering")
# Reasons for which a missing figure is by design, not a failure.
DESIGN_NA = ("no gateway process", "one process per flow", "not tried", "raw SCTP only")
# A gap no flow lived to have: a figure of its own for a peer (its lost
# flows are counted beside it), a figure lost for sctpgw.
PEER_NA = ("every flow lost",)


def metrics(sizes):
    """(key, label, higher_is_better) for every row of the table."""
    rows = [
        ("w1_mbit", "W1 single-flow bulk, Mbit/s", True),
        ("w1_iperf3_mbit", "W1 iperf3 on the same path (reference), Mbit/s", True),
        ("w1_cpu_s_gib", "W1 CPU time of the whole bed per GiB moved, s", False),
        ("w2_mbit", "W2 aggregate of 64 flows, Mbit/s", True),
        ("w2_cpu_s_gib", "W2 CPU time of the whole bed per GiB moved, s", False),
        ("w2_one_assoc_mbit", "W2 as 64 streams of one SCTP association (raw), Mbit/s", True),
        ("w3_p50_ms", "W3 request/response 100 B, p50 ms", False),
        ("w3_p99_ms", "W3 request/response 100 B, p99 ms", False),
        ("w4_setup_p50_ms", "W4 connect to first response byte, p50 ms", False),
        ("w4_flows_per_s", "W4 flows completed per second", True),
        ("w5_p99_alone_ms", "W5 2% loss: interactive p99 alone, ms", False),
        ("w5_p99_bulk_ms", "W5 2% loss: interactive p99 beside a bulk flow, ms", False),
        ("w5_hol", "W5 p99 beside bulk / alone", False),
        ("w5b_p50_alone_ms", "W5b clean links: interactive p50 alone, ms", False),
        ("w5b_p99_alone_ms", "W5b clean links: interactive p99 alone, ms", False),
        ("w5b_p50_bulk_ms", "W5b clean links: interactive p50 beside 4 bulk flows, ms", False),
        ("w5b_p99_bulk_ms", "W5b clean links: interactive p99 beside 4 bulk flows, ms", False),
        ("w5b_hol", "W5b p99 beside bulk / alone", False),
        ("w5b_bulk_mbit", "W5b the 4 bulk flows' aggregate, Mbit/s", True),
        ("w6_gap_ms", "W6 link 1 cut: largest gap from the cut on, ms", False),
        ("w6_gap_before_ms", "W6 largest gap that ended before the cut, ms", False),
        ("w6_lost", "W6 link 1 cut: flows lost", False),
        ("w6_retrans", "W6 link 1 cut: retransmissions at site a (SCTP: T3 and fast events; TCP: segments)", False),
        ("w6b_gap_ms", "W6b link 1 cut beside 4 bulk flows: largest gap from the cut on, ms", False),
        ("w6b_gap_before_ms", "W6b largest gap that ended before the cut (the load's own), ms", False),
        ("w6b_lost", "W6b link 1 cut beside 4 bulk flows: flows lost", False),
        ("w6b_retrans", "W6b link 1 cut beside 4 bulk flows: retransmissions (as W6's)", False),
        ("lingering", "Connections to the back end still open 30 s after a workload (most)", False),
    ]
    for n in sizes:
        rows += [
            (f"w7_{n}_open_s", f"W7 {n:,} idle flows: time to open all, s", False),
            (f"w7_{n}_kib_a", f"W7 {n:,} idle flows: memory per flow, near gateway, KiB", False),
            (f"w7_{n}_kib_b", f"W7 {n:,} idle flows: memory per flow, far gateway, KiB", False),
            (f"w7_{n}_one_ms", f"W7 {n:,} idle flows: 1 MB echo on one of them, ms", False),
        ]
    return rows


def load(raw):
    data, meta = {}, {}
    with open(os.path.join(raw, "results.tsv")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            sysname, key, value = parts
            if sysname == "meta":
                meta[key] = value
            else:
                data.setdefault(sysname, {})[key] = value
    return data, meta


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def derive(data):
    for vals in data.values():
        for w in ("w5", "w5b"):
            alone, beside = vals.get(f"{w}_p99_alone_ms"), vals.get(f"{w}_p99_bulk_ms")
            a, b = num(alone), num(beside)
            if a and b is not None:
                vals[f"{w}_hol"] = f"{b / a:.2f}"
            elif alone is not None or beside is not None:
                bad = [v for v in (alone, beside) if num(v) is None]
                vals[f"{w}_hol"] = bad[0] if bad else "failed: no figure"


def fmt(v):
    x = num(v)
    if x is None:
        return None
    if x == int(x) and abs(x) < 1e6:
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(a, b):
    if a is None or b is None or b <= 0 or a < 0:
        return "—"
    return f"{a / b:.2f}×"


class Notes:
    """Footnotes for cells without a figure, one per distinct reason."""

    def __init__(self):
        self.reasons = []

    def mark(self, value):
        reason = value.split(":", 1)[1].strip() if ":" in value else value
        kind = "failed" if value.startswith("failed") else "n/a"
        text = f"{kind}: {reason}"
        if text not in self.reasons:
            self.reasons.append(text)
        return f"{kind} [{self.reasons.index(text) + 1}]"


def table(data, meta, sizes, wall):
    present = SYSTEMS
    for k, _ in SYSTEMS:
        data.setdefault(k, {})
    notes = Notes()
    head = ["workload"] + [name for _, name in present] + ["sctpgw/limit", "sctpgw/best peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, up in metrics(sizes):
        if not any(key in data[k] for k, _ in present):
            continue
        cells = []
        for k, _ in present:
            v = data[k].get(key)
            if v is None:
                cells.append("—" if k.startswith("limit") or key != "w1_iperf3_mbit" else "")
            else:
                cells.append(fmt(v) or notes.mark(v))
        g = num(data.get("sctpgw", {}).get(key))
        lim = num(data.get(LIMIT, {}).get(key))
        peers = [num(data.get(p, {}).get(key)) for p in PEERS]
        peers = [p for p in peers if p is not None]
        best = (max(peers) if up else min(peers)) if peers else None
        skip = key in NO_RATIO or key.endswith(("_kib_a", "_kib_b"))
        r_lim = "—" if skip else ratio(g, lim)
        r_peer = "—" if key in NO_RATIO else ratio(g, best)
        arrow = "↑" if up else "↓"
        lines.append(f"| {label} {arrow} | " + " | ".join(cells + [r_lim, r_peer]) + " |")
    out = ["## Results", ""]
    out.append(
        f"Profile `{meta.get('profile', '?')}`, kernel {meta.get('kernel', '?')}, "
        f"{meta.get('cpus', '?')} emulated CPUs; two links, 5 ms each way; "
        f"sctpgw failover_ms = {meta.get('failover_ms', '?')}. "
        "↑ higher is better, ↓ lower is better. sctpgw/limit is against raw SCTP "
        "(what sctpgw rides on); sctpgw/best peer against the best of socat, ssh -L "
        "and MPTCP on that row. sctpgw runs encrypted (the default). Absolute figures "
        "come from an emulated CPU: compare within the table only."
    )
    out.append("")
    out += lines
    if notes.reasons:
        out.append("")
        for i, r in enumerate(notes.reasons, 1):
            out.append(f"[{i}] {r}")
    runs = []
    for k, name in present + [(v[0], v[1]) for v in VARIANTS if v[0] in data]:
        for key, w in (("w1_mbit_runs", "W1"), ("w2_mbit_runs", "W2"),
                       ("w2_one_assoc_mbit_runs", "W2 one association")):
            v = data[k].get(key, "")
            busy = fmt(data[k].get(key.replace("_mbit_runs", "_busy_cpus")))
            if v.startswith("n/a: runs "):
                runs.append(f"{name} {w} {v[len('n/a: runs '):].replace(' ', '/')}"
                            + (f" ({busy} CPUs busy)" if busy else ""))
    if runs:
        out += ["", "W1 and W2 show the median of several transfers (Mbit/s; in brackets, how many "
                f"of the bed's {meta.get('cpus', '?')} CPUs were busy on average across them): "
                + "; ".join(runs) + "."]
    if "subflows" in data.get("mptcp", {}):
        out.append("")
        out.append(f"MPTCP subflows per connection, seen with ss: {data['mptcp']['subflows']}.")
    t = meta.get("time_total")
    times = ([f"{t} s inside the VM"] if t else []) + ([f"{wall} s wall clock in all"] if wall else [])
    if times:
        out += ["", "Time: " + ", ".join(times) + "."]
    if meta.get("running"):
        out += ["", f"**The run ended during {meta['running']}** (the VM's time limit, or a crash): "
                "its figures and every later one are missing."]
    return out, notes


def variants(data):
    """A table per variant that ran: its rows beside its system's, and the ratio."""
    out = []
    labels = {key: (label, up) for key, label, up in metrics([])}
    for k, name, base, heading, base_name, ratio_name, keys in VARIANTS:
        if k not in data:
            continue
        b = data.get(base, {})
        notes = Notes()
        out += ["", f"## {heading}", "",
                f"The {dict(SYSTEMS)[base]} column of the table above beside {name}: the same "
                "gateways, links and workloads in the same run.", "",
                f"| workload | {base_name} | {name} | {ratio_name} |", "|---|---|---|---|"]
        for key in keys:
            label, up = labels[key]
            cells = []
            for v in (b.get(key), data[k].get(key)):
                cells.append("—" if v is None else fmt(v) or notes.mark(v))
            cells.append("—" if key in NO_RATIO else ratio(num(b.get(key)), num(data[k].get(key))))
            out.append(f"| {label} {'↑' if up else '↓'} | " + " | ".join(cells) + " |")
        if notes.reasons:
            out.append("")
            out += [f"[{i}] {r}" for i, r in enumerate(notes.reasons, 1)]
    return out


def targets(data, meta, sizes):
    g = data.get("sctpgw", {})
    lim = data.get(LIMIT, {})
    rows = []

    def add(name, measured, ok):
        measured = measured.replace("None", "—")
        rows.append(f"| {name} | {measured} | {'met' if ok else 'missed' if ok is False else 'no figure'} |")

    for key, w in (("w1_mbit", "W1"), ("w2_mbit", "W2")):
        a, b = num(g.get(key)), num(lim.get(key))
        ok = None if a is None or not b else a / b >= 0.9
        cpu = key.replace("_mbit", "_cpu_s_gib")
        add(f"{w}: ≥ 0.9 of raw SCTP", f"{fmt(a)} / {fmt(b)} Mbit/s = {ratio(a, b)} "
            f"(CPU per GiB {ratio(num(g.get(cpu)), num(lim.get(cpu)))} raw SCTP's)", ok)
    a, b = num(g.get("w3_p50_ms")), num(lim.get("w3_p50_ms"))
    add("W3: p50 ≤ 1.5× raw SCTP", f"{fmt(a)} / {fmt(b)} ms = {ratio(a, b)}",
        None if a is None or not b else a / b <= 1.5)
    s = data.get("socat", {})
    a1, b1 = num(g.get("w4_setup_p50_ms")), num(s.get("w4_setup_p50_ms"))
    a2, b2 = num(g.get("w4_flows_per_s")), num(s.get("w4_flows_per_s"))
    ok = None if None in (a1, b1, a2, b2) else (a1 < b1 and a2 > b2)
    add("W4: faster than the socat chain",
        f"setup p50 {fmt(a1)} vs {fmt(b1)} ms; {fmt(a2)} vs {fmt(b2)} flows/s", ok)
    a, b = num(g.get("w5_p99_bulk_ms")), num(g.get("w5_p99_alone_ms"))
    add("W5: p99 beside bulk ≤ 1.5× alone", f"{fmt(a)} / {fmt(b)} ms = {ratio(a, b)}",
        None if a is None or not b else a / b <= 1.5)
    c = num(data.get("ssh", {}).get("w5_p99_bulk_ms"))
    add("W5: p99 beside bulk below ssh -L's", f"{fmt(a)} vs {fmt(c)} ms",
        None if a is None or c is None else a < c)
    a, b = num(g.get("w5b_p99_bulk_ms")), num(g.get("w5b_p99_alone_ms"))
    add("W5b: p99 beside 4 bulk flows ≤ 2× alone", f"{fmt(a)} / {fmt(b)} ms = {ratio(a, b)}",
        None if a is None or not b else a / b <= 2)
    peers = [num(data.get(p, {}).get("w5b_p99_bulk_ms")) for p in PEERS if p in data]
    best = min((p for p in peers if p is not None), default=None)
    add("W5b: p99 beside bulk below every peer's", f"{fmt(a)} vs best peer {fmt(best)} ms",
        None if a is None or best is None else a < best)
    # Each pair's budget as the bench recorded it when it started the pair.
    pairs = [data[k] for k in ["sctpgw"] + [v[0] for v in VARIANTS if "w6_gap_ms" in v[-1]]
             if k in data]
    for w, label in (("w6", "W6: gap"), ("w6b", "W6b: beside bulk, gap")):
        for d in pairs:
            f = num(d.get("failover_ms"))
            gap, lost = num(d.get(f"{w}_gap_ms")), num(d.get(f"{w}_lost"))
            add(f"{label} ≤ failover_ms ({fmt(f)} ms), no flow lost",
                f"gap {fmt(gap)} ms (before the cut {fmt(d.get(f'{w}_gap_before_ms'))} ms), "
                f"{fmt(lost)} lost",
                None if None in (gap, lost, f) else gap <= f and lost == 0)
    c = data.get("sctpgw-clear", {})
    a, b = num(g.get("w1_mbit")), num(c.get("w1_mbit"))
    add("W1 encrypted ≥ 0.8× W1 clear (encryption = off)",
        f"{fmt(a)} / {fmt(b)} Mbit/s = {ratio(a, b)} (CPU per GiB "
        f"{fmt(g.get('w1_cpu_s_gib'))} / {fmt(c.get('w1_cpu_s_gib'))} s = "
        f"{ratio(num(g.get('w1_cpu_s_gib')), num(c.get('w1_cpu_s_gib')))})",
        None if a is None or not b else a / b >= 0.8)
    n_left = num(g.get("lingering"))
    add("No connection left behind after a workload", f"{fmt(n_left)} left",
        None if n_left is None else n_left == 0)
    if sizes:
        n = sizes[-1]
        o, ka, kb = (num(g.get(f"w7_{n}_{k}")) for k in ("open_s", "kib_a", "kib_b"))
        add(f"W7: {n:,} flows, ≤ 4 KiB gateway memory per idle flow",
            f"opened in {fmt(o)} s; {fmt(ka)} KiB near, {fmt(kb)} KiB far",
            None if None in (o, ka, kb) else ka <= 4 and kb <= 4)
    return ["## Targets", "", "| target | measured (sctpgw) | |", "|---|---|---|"] + rows


def gnuplot(out, name, script):
    path = os.path.join(out, f"{name}.gp")
    with open(path, "w") as f:
        f.write(script)
    if not shutil.which("gnuplot"):
        return f"{name}.png: gnuplot is not installed"
    r = subprocess.run(["gnuplot", f"{name}.gp"], cwd=out, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(os.path.join(out, f"{name}.png")):
        return f"{name}.png: gnuplot failed: {r.stderr.strip()[:300]}"
    return None


def charts(out, data, meta):
    present = [(k, name) for k, name in SYSTEMS if k in data]
    clear = [(v[0], v[1]) for v in VARIANTS if v[0] in data and "w1_mbit" in v[-1]]
    errors = []
    term = "set terminal pngcairo size 1100,620 font 'sans,10'\n"

    def col(k, key):
        v = num(data[k].get(key))
        return "NaN" if v is None else f"{v:g}"

    with open(os.path.join(out, "throughput.dat"), "w") as f:
        f.write("# system W1_single_flow W2_64_flows\n")
        for k, name in present + clear:
            f.write(f'"{name}" {col(k, "w1_mbit")} {col(k, "w2_mbit")}\n')
    e = gnuplot(out, "throughput", term + """set output 'throughput.png'
set title 'Bulk throughput (W1 one flow, W2 64 flows), same run, same links'
set ylabel 'Mbit/s (log scale)'
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top right
plot 'throughput.dat' using 2:xtic(1) title 'W1 single flow', '' using 3 title 'W2 64 flows'
""")
    errors += [e] if e else []

    with open(os.path.join(out, "latency.dat"), "w") as f:
        f.write("# system W3_p50 W3_p99 W5_p99_alone W5_p99_bulk\n")
        for k, name in present:
            f.write(f'"{name}" ' + " ".join(col(k, key) for key in
                    ("w3_p50_ms", "w3_p99_ms", "w5_p99_alone_ms", "w5_p99_bulk_ms")) + "\n")
    e = gnuplot(out, "latency", term + """set output 'latency.png'
set title 'Latency of 100-byte exchanges (W3 back to back; W5 every 20 ms on 2% loss)'
set ylabel 'ms (log scale)'
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left
plot 'latency.dat' using 2:xtic(1) title 'W3 p50', '' using 3 title 'W3 p99', \\
     '' using 4 title 'W5 p99 alone', '' using 5 title 'W5 p99 beside bulk'
""")
    errors += [e] if e else []

    raw = os.path.join(out, "raw")
    plots, cuts = [], []
    for k, name in present:
        tl = os.path.join(raw, f"w6-{k}.tl")
        if not os.path.exists(tl):
            continue
        with open(tl) as f, open(os.path.join(out, f"failover-{k}.dat"), "w") as g:
            for line in f:
                t, b = line.split()
                g.write(f"{int(t) / 1000:.3f} {int(b) / 0.05 / 1024:.1f}\n")
        gap = fmt(data[k].get("w6_gap_ms")) or "?"
        lost = fmt(data[k].get("w6_lost")) or "?"
        plots.append(f"'failover-{k}.dat' using 1:2 with steps lw 1.5 "
                     f"title '{name}: gap {gap} ms, {lost} lost'")
        try:
            with open(os.path.join(raw, f"w6-{k}.cut")) as f:
                cuts.append(int(f.read().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
    if plots:
        cut = sum(cuts) / len(cuts) / 1000 if cuts else 5
        e = gnuplot(out, "failover", term + f"""set output 'failover.png'
set title 'W6: echoed bytes per 50 ms while link 1 is cut (dashed line), 8 paced flows'
set xlabel 's since the flows started'
set ylabel 'KiB/s received'
set grid
set yrange [0:*]
set key outside bottom center horizontal maxrows 2
set arrow from {cut:.3f}, graph 0 to {cut:.3f}, graph 1 nohead dt 2 lw 2 lc rgb 'red'
plot """ + ", \\\n     ".join(plots) + "\n")
        errors += [e] if e else []
    else:
        errors.append("failover.png: no W6 timeline")
    return errors


def acceptable_na(system, v):
    if not v.startswith("n/a"):
        return False
    if any(d in v for d in DESIGN_NA):
        return True
    return not system.startswith("sctpgw") and any(d in v for d in PEER_NA)


def check(data, meta, sizes):
    missing = []
    every = [(k, [m[0] for m in metrics(sizes)]) for k, _ in SYSTEMS]
    every += [(v[0], list(v[-1])) for v in VARIANTS]
    asked = meta.get("systems", " ".join(k for k, _ in every)).split()
    for k, keys in every:
        if k not in asked:
            continue
        vals = data.get(k)
        if vals is None:
            missing.append(f"{k}: no figures at all")
            continue
        for key in keys:
            if key == "w1_iperf3_mbit" and not k.startswith("limit"):
                continue
            v = vals.get(key)
            if v is None:
                missing.append(f"{k} {key}: missing")
            elif num(v) is None and not acceptable_na(k, v):
                missing.append(f"{k} {key}: {v}")
    return missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--wall")
    args = ap.parse_args()
    data, meta = load(os.path.join(args.out, "raw"))
    derive(data)
    sizes = sorted({int(k.split("_")[1]) for v in data.values() for k in v if k.startswith("w7_")})
    lines, _ = table(data, meta, sizes, args.wall)
    lines += variants(data)
    lines += [""] + targets(data, meta, sizes)
    errors = charts(args.out, data, meta)
    lines += ["", "Charts: throughput.png, latency.png, failover.png (this folder)."]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print(text, end="")
    for e in errors:
        print(f"report: {e}", file=sys.stderr)
    if args.check:
        missing = check(data, meta, sizes)
        for m in missing:
            print(f"report: no figure: {m}", file=sys.stderr)
        if missing or errors:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
