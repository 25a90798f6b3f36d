#!/usr/bin/python3
"""What each SCTP path's congestion window did around a failover, from the
kernel's sctp tracepoints that `profile.sh paths` records, plain Python.

    paths.py DIR

DIR holds trace.txt (the ftrace text of sctp:sctp_probe_path, one line per
path each time a SACK is processed, with a `MARK <epoch seconds>` line from
trace_marker that ties the trace's clock to the wall clock) and gaps.txt
(gwload's --gap-log: `start end gap_ms flow`, wall clock). Prints, for each
association's view of each peer address:

  - every change of its slow-start threshold, and the window then;
  - at the first time the primary left the active state (the failover),
    the state, window, threshold and bytes in flight of every path, and
    then every 100 ms for a second;

and the paced flows' gaps of 100 ms or more from one second before the
failover to two after, relative to it. A threshold of four packets on the
path a failover lands on means it starts in congestion avoidance: its
window grows by one packet a round trip.
"""
import bisect
import re
import sys

PROBE = re.compile(
    r"\s(\d+\.\d+): sctp_probe_path: asoc=(0x[0-9a-f]+)\S* ipaddr=(\S+) "
    r"state=(\d+) cwnd=(\d+) ssthresh=(\d+) flight_size=(\d+)"
)
MARK = re.compile(r"\s(\d+\.\d+): tracing_mark_write: MARK (\d+\.\d+)")
STATES = {0: "inactive", 1: "pf", 2: "active", 3: "unconfirmed"}


def read_trace(path):
    """(offset to wall clock, [(t, asoc, addr, state, cwnd, ssthresh, flight)])"""
    offset, rows = None, []
    with open(path, errors="replace") as f:
        for line in f:
            m = PROBE.search(line)
            if m:
                t, asoc, addr = float(m[1]), m[2], m[3]
                rows.append((t, asoc, addr) + tuple(int(m[i]) for i in range(4, 8)))
                continue
            m = MARK.search(line)
            if m and offset is None:
                offset = float(m[2]) - float(m[1])
    rows.sort()
    return offset, rows


def read_gaps(path):
    try:
        with open(path) as f:
            return [tuple(float(x) for x in line.split()) for line in f if line.strip()]
    except OSError:
        return []


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    offset, rows = read_trace(out + "/trace.txt")
    if not rows:
        print("paths: no sctp_probe_path lines in the trace", file=sys.stderr)
        return 1
    paths = sorted({(r[1], r[2]) for r in rows})
    t0 = rows[0][0]
    print("slow-start threshold changes (s since the first SACK traced):")
    for key in paths:
        last = None
        for r in rows:
            if (r[1], r[2]) == key and r[5] != last:
                print(f"  {key[0][-6:]} {key[1]:<22} {r[0] - t0:8.3f}  ssthresh {r[5]:>8}  cwnd {r[4]:>7}")
                last = r[5]
    fail = next((r for r in rows if r[3] != 2 and r[3] != 3), None)
    if fail is None:
        print("no path left the active state")
        return 0
    tf = fail[0]
    print(f"\nfailover: {fail[2]} of {fail[1][-6:]} {STATES.get(fail[3], fail[3])} at {tf - t0:.3f} s")
    print("  ms    path                     state        cwnd  ssthresh  flight")
    per_path = {key: [r for r in rows if (r[1], r[2]) == key] for key in paths}
    for step in range(0, 1001, 100):
        at = tf + step / 1000
        for key in paths:
            i = bisect.bisect_right(per_path[key], (at, "\uffff"))
            last = per_path[key][i - 1] if i else None
            if last is not None and last[0] > tf - 1:
                st = STATES.get(last[3], str(last[3]))
                print(f"  {step:4d}  {key[0][-6:]} {key[1]:<22} {st:<11} {last[4]:>7} {last[5]:>9} {last[6]:>7}")
    gaps = read_gaps(out + "/gaps.txt")
    if offset is None or not gaps:
        return 0
    print("\ngaps of 100 ms or more (ms from the failover: start, end; gap; flow):")
    for start, end, gap, flow in sorted(gaps):
        s, e = (start - offset - tf) * 1000, (end - offset - tf) * 1000
        if gap >= 100 and -1000 <= s <= 2000:
            print(f"  {s:+7.0f} {e:+7.0f}  {gap:6.0f}  {int(flow)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
