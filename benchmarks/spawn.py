"""How fast a masterclass starts: N students at once, this spawner against stock.

For each spawner (`astrohub`, then dockerspawner's stock `SwarmSpawner`) a bench
stack is deployed on the local Swarm; for each N, N users are created and their
servers requested at the same moment through the hub API; then each starts a
kernel and runs `5 * 4`. Printed: time to ready (p50 / p95 / max), kernel start,
execution, failures, the floor (N x single start / cores) and the ratio stock /
astrohub. Figures only, no pass/fail.

    .venv/bin/python benchmarks/spawn.py [--users 1 10 30] [--spawners astrohub stock]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from astrohub import images, settings  # noqa: E402
from astrohub.deploy import Stack  # noqa: E402
from astrohub.hubapi import HubClient  # noqa: E402

STACK = "astrohub-bench"
PORT = "19000"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def deploy(spawner: str) -> tuple[Stack, HubClient]:
    env = {
        "ASTROHUB_STACK_NAME": STACK,
        "ASTROHUB_HTTP_PORT": PORT,
        "ASTROHUB_SPAWNER": spawner,
        "ASTROHUB_MEM_LIMIT": "1G",
    }
    stack = Stack(ROOT, settings.load(env, secrets_dir="/nonexistent"))
    stack.remove()
    stack.forget()  # a bench stack starts empty, with fresh secrets
    stack.ensure_secrets()
    stack.deploy()
    stack.wait_until_ready()
    return stack, stack.hub_client(timeout=120)  # https through the edge, its CA trusted


def one_user(hub: HubClient, name: str) -> dict:
    result = {"name": name}
    try:
        hub.create_user(name)
        result["ready"] = hub.start(name, timeout=300)
        text, kernel, execute = hub.execute(name, "5 * 4", timeout=120)
        assert text == "20", text
        result["kernel"], result["execute"] = kernel, execute
    except Exception as e:  # a failure is a figure too
        result["error"] = f"{type(e).__name__}: {e}"[:200]
    return result


def run(hub: HubClient, n: int, tag: str) -> list[dict]:
    names = [f"bench-{tag}-{i}" for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda name: one_user(hub, name), names))
    with ThreadPoolExecutor(min(n, 10)) as pool:
        list(pool.map(lambda name: (hub.stop(name, timeout=120), hub.delete_user(name)), names))
    return results


def summarise(results: list[dict]) -> dict:
    ok = [r for r in results if "error" not in r]
    out = {"n": len(results), "failed": len(results) - len(ok), "errors": sorted({r["error"] for r in results if "error" in r})}
    for key in ("ready", "kernel", "execute"):
        values = [r[key] for r in ok]
        if values:
            out[key] = (statistics.median(values), percentile(values, 0.95), max(values))
    return out


def fmt(triple) -> str:
    return "   n/a" if not triple else " / ".join(f"{v:6.2f}" for v in triple)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--spawners", nargs="+", default=["astrohub", "stock"])
    args = parser.parse_args()
    os.environ.setdefault("ASTROHUB_STATE_DIR", tempfile.mkdtemp(prefix="astrohub-bench-"))
    images.build(ROOT, settings.VERSION)
    cores = os.cpu_count() or 1
    table: dict[tuple[str, int], dict] = {}
    try:
        for spawner in args.spawners:
            stack, hub = deploy(spawner)
            for n in args.users:
                started = time.monotonic()
                table[(spawner, n)] = summary = summarise(run(hub, n, f"{spawner[:1]}{n}"))
                summary["wall"] = time.monotonic() - started
                print(f"{spawner:8s} N={n:3d}: ready p50/p95/max {fmt(summary.get('ready'))} s, "
                      f"failed {summary['failed']}", flush=True)
                for error in summary["errors"][:3]:
                    print(f"          {error}")
    finally:
        bench = Stack(ROOT, settings.load({"ASTROHUB_STACK_NAME": STACK}, secrets_dir="/nonexistent"))
        bench.remove()
        bench.forget()

    single = table.get(("astrohub", 1), {}).get("ready")
    print(f"\nSpawn benchmark, {cores} cores, image astrohub/singleuser:{settings.VERSION}")
    if single:
        print(f"single-server start (astrohub, N=1): {single[0]:.2f} s; floor for N users = N x {single[0]:.2f} / {cores}")
    print(f"{'spawner':9s}{'N':>4s}  {'ready p50 / p95 / max (s)':>26s}  {'kernel p50/p95/max':>24s}  {'exec p50/p95/max':>24s}  failed  floor  last/floor")
    for (spawner, n), s in table.items():
        floor = n * single[0] / cores if single else float("nan")
        last = s["ready"][2] if s.get("ready") else float("nan")
        print(f"{spawner:9s}{n:4d}  {fmt(s.get('ready')):>26s}  {fmt(s.get('kernel')):>24s}  {fmt(s.get('execute')):>24s}  {s['failed']:6d}  {max(floor, single[0] if single else 0):5.1f}  {last / max(floor, single[0]) if single else float('nan'):9.2f}")
    print("\nratio stock / astrohub (max time to ready; higher is better for astrohub):")
    for n in args.users:
        a, b = table.get(("astrohub", n)), table.get(("stock", n))
        if a and b and a.get("ready") and b.get("ready"):
            print(f"  N={n:3d}: {b['ready'][2] / a['ready'][2]:.2f}x  (failures: astrohub {a['failed']}, stock {b['failed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
