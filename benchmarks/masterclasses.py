"""Execution time of each masterclass against a real datacentre (the real bundle).

    .venv/bin/python benchmarks/masterclasses.py [--repeat 2]

Prints, per masterclass: wall time of a top-to-bottom run in a fresh kernel (first run:
the data requests are computed by the datacentre; later runs: identical requests are
served from the datacentre's shared results and the local kcdc cache) and the result
check lines. The bundle is generated once (cached, see tests/support/masterclasses.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.masterclasses import MasterclassStack, masterclass_notebooks, passed_checks, slowest_cell  # noqa: E402


# the kernel's peak resident memory (Linux reports ru_maxrss in KiB): the notebooks must fit a 2 GB container
PEAK_RSS = "import resource; print('peak kernel memory: %.0f MiB' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))"


def result_lines(nb) -> list[str]:
    """The 'your result' and 'published' lines printed by kcdc.masterclass.check."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out += [line.strip() for line in o.get("text", "").splitlines()
                    if line.strip().startswith(("your result", "published:", "peak kernel memory"))]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs per masterclass (default 2: cold, warm)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MasterclassStack(tmp) as ms:
        print(f"{'masterclass':38s} " + " ".join(f"run{i + 1:d} (s)" for i in range(args.repeat)) + "  check")
        total = [0.0] * args.repeat
        for path in masterclass_notebooks("teachers"):  # with the solutions: every check runs
            times, verdict = [], ""
            for i in range(args.repeat):
                nb, seconds = ms.run(path, after=PEAK_RSS)
                times.append(seconds)
                total[i] += seconds
                passed, failed = passed_checks(nb)
                verdict = "FAILED" if failed else ("passed" if passed else "no check")
            print(f"{path.parent.name:38s} " + " ".join(f"{t:9.1f}" for t in times) + f"  {verdict}", flush=True)
            print("    " + "; ".join(result_lines(nb)), flush=True)
            print("    slowest cell of the last run: %.1f s (%s)" % slowest_cell(nb), flush=True)
        print(f"{'total':38s} " + " ".join(f"{t:9.1f}" for t in total))
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    rc = main()
    print(f"(whole benchmark incl. hub and datacentre start: {time.perf_counter() - t0:.0f} s)")
    sys.exit(rc)
