"""Dashboard time to first rendered plot: preheated kernels against stock Voila.

Starts two Voila servers on loopback over the same notebooks, data service and warm
selection cache: this project's server (src/dashboards/app.py, preheated pool) and
stock ``voila`` on the same folder (every visit starts a kernel and runs the
notebook). For every dashboard and round, a fresh browser context (Debian's chromium
through Playwright) opens the page and the clock stops when the first bokeh canvas in
the plot is painted. Prints the medians per dashboard and the ratio stock / preheated.

    .venv/bin/python benchmarks/first_plot.py --kcdc-url http://127.0.0.1:10101/services/datacentre/ [--rounds 3]

The data service must answer at --kcdc-url (e.g. `datacentre` with DATACENTRE_AUTH=none
on a `showersim bundle`); the first server start fills the cache.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from dashboards import DASHBOARDS
from dashboards.app import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
BASE = "/services/dashboards/"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def start(kind: str, port: int, env: dict) -> subprocess.Popen:
    if kind == "preheated":
        cmd = [sys.executable, "-m", "dashboards"]
        env = {**env, "DASHBOARDS_PORT": str(port)}
    else:  # stock Voila: no pool, no BokehJS route (plots carry it inline); the same base URL and extensions
        env = {**env, "DASHBOARDS_BOKEH_RESOURCES": "inline"}
        cmd = [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
               f"--Voila.base_url={BASE}",
               "--VoilaConfiguration.extension_allowlist=['@jupyter-widgets/jupyterlab-manager',"
               "'@voila-dashboards/widgets-manager8']", str(NOTEBOOKS)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def first_plot(browser, url: str) -> float:
    print(f"  {url}", file=sys.stderr, flush=True)
    context = browser.new_context()
    page = context.new_page()
    t0 = time.monotonic()
    page.goto(url)
    page.frame_locator("iframe.dash-plot").locator("canvas").first.wait_for(state="attached", timeout=180_000)
    elapsed = time.monotonic() - t0
    context.close()
    return elapsed


def measure(kind: str, port: int, env: dict, rounds: int, settle: float) -> dict[str, list[float]]:
    proc = start(kind, port, env)
    try:
        wait_http(f"http://127.0.0.1:{port}{BASE}voila/render/spectrum.ipynb" if kind == "stock"
                  else f"http://127.0.0.1:{port}{BASE}")
        # The pool (and the cache) fill after start; a visitor normally arrives later.
        time.sleep(settle)
        times: dict[str, list[float]] = {nb: [] for nb in DASHBOARDS}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(rounds):
                for nb in DASHBOARDS:
                    times[nb].append(first_plot(browser, f"http://127.0.0.1:{port}{BASE}voila/render/{nb}"))
                    time.sleep(settle / 4)  # let the pool refill, as between two visitors
            browser.close()
        return times
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kcdc-url", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=40.0, help="seconds after start before the first visit")
    ap.add_argument("--port", type=int, default=18890)
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="dashboards-bench-")
    env = {**os.environ, "KCDC_URL": args.kcdc_url, "DASHBOARDS_CACHE_DIR": cache,
           "DASHBOARDS_TOKEN_FILE": os.environ.get("DASHBOARDS_TOKEN_FILE", "/nonexistent"),
           "PYTHONPATH": str(ROOT / "src")}
    results = {}
    for kind, port in (("preheated", args.port), ("stock", args.port + 1)):
        results[kind] = measure(kind, port, env, args.rounds, args.settle)
    print(f"time to first rendered plot, median of {args.rounds} visits (s); 2-core machine, warm data cache")
    print(f"{'dashboard':28s} {'preheated':>10s} {'stock':>8s} {'stock/preheated':>16s}")
    ratios = []
    for nb in DASHBOARDS:
        pre, stock = statistics.median(results["preheated"][nb]), statistics.median(results["stock"][nb])
        ratios.append(stock / pre)
        print(f"{nb:28s} {pre:10.2f} {stock:8.2f} {stock / pre:16.1f}")
    allpre = statistics.median([t for v in results["preheated"].values() for t in v])
    allstock = statistics.median([t for v in results["stock"].values() for t in v])
    print(f"{'all':28s} {allpre:10.2f} {allstock:8.2f} {allstock / allpre:16.1f}")


if __name__ == "__main__":
    main()
