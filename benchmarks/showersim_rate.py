"""showersim throughput and memory (prints figures; not a pass/fail test).

    .venv/bin/python benchmarks/showersim_rate.py [--big 10000000] [--skip-big]

1. events/s for scalar columns: 1,000,000 measured-like events, generation only
   (Simulation.chunks) and generation + Parquet data set (generate_dataset);
2. events/s with per-station arrays: 20,000 labelled events, both ways;
3. peak RSS of a child process that writes a data set of --big events
   (default 10^7): streaming keeps it flat;
4. wall time of the default bundle (showersim bundle).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def _gen_only(n, **kw):
    from showersim.generator import Config, Simulation

    sim = Simulation(Config(seed=1, **kw), n)
    t = time.perf_counter()
    k = sum(len(c["E"]) for c, _ in sim.chunks())
    return k / (time.perf_counter() - t)


def _dataset(n, out, **kw):
    from showersim.dataset import generate_dataset

    t = time.perf_counter()
    generate_dataset(out, events=n, seed=1, **kw)
    return n / (time.perf_counter() - t)


# VmHWM (peak RSS of this process image) rather than ru_maxrss: Linux carries the
# parent's ru_maxrss over fork+exec, VmHWM starts afresh with the new image.
CHILD = """
import sys, time
from showersim.dataset import generate_dataset
t = time.perf_counter()
generate_dataset(sys.argv[1], events=int(sys.argv[2]), seed=1, stations=sys.argv[3] == '1',
                 kind='simulation' if sys.argv[3] == '1' else 'measured-like')
dt = time.perf_counter() - t
hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]
print(dt, hwm)
"""


def _child(out, n, stations):
    r = subprocess.run([sys.executable, "-c", CHILD, out, str(n), "1" if stations else "0"],
                       capture_output=True, text=True, check=True)
    dt, kb = r.stdout.split()
    return float(dt), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--skip-big", action="store_true")
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory() as tmp:
        _gen_only(10_000)  # warm up (imports, flux table, muon truncation table)
        _gen_only(100, kind="simulation", stations=True)
        print(f"scalar columns, generation only:      {_gen_only(1_000_000):>12,.0f} events/s")
        print(f"scalar columns, + parquet data set:   {_dataset(1_000_000, tmp + '/a'):>12,.0f} events/s")
        print(f"per-station arrays, generation only:  {_gen_only(20_000, kind='simulation', stations=True):>12,.0f} events/s")
        print(f"per-station arrays, + parquet:        "
              f"{_dataset(20_000, tmp + '/b', kind='simulation', stations=True):>12,.0f} events/s")
        if not a.skip_big:
            for n in (1_000_000, a.big):
                dt, mib = _child(tmp + f"/big{n}", n, False)
                print(f"{n:,} measured-like events to parquet: {dt:.1f} s, peak RSS {mib:.0f} MiB")
                subprocess.run(["rm", "-rf", tmp + f"/big{n}"], check=True)
            dt, mib = _child(tmp + "/st", 100_000, True)
            print(f"100,000 events with station arrays to parquet: {dt:.1f} s, peak RSS {mib:.0f} MiB")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "showersim.cli", "bundle", "--out", tmp + "/bundle", "--quiet"],
                       check=True, capture_output=True)
        print(f"default bundle (1,000,000 + 200,000 + 20,000 with stations): {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
