"""Dashboards under a class: N visitors at once, through the edge of a deployed stack.

Deploys a bench stack the way `make up` does (settings from the ASTROHUB_* environment;
stack name and port default to a bench stack beside the real one), waits for the
dashboards' pools, then for each N: N visitors ask for the spectrum dashboard at the
same moment (tests/support/dashboard_visitor.py: like a browser, the waiting page
followed, the kernel websocket opened, the page held --hold s and closed as a tab
closes), plus --browsers of them in Chromium, for whom the clock stops when the plot's
canvas is there. Printed per N: served at once / after waiting / failed, time to the
rendered HTML p50 / p95 / max (waiting included), the Chromium sample's time to the
first plot, and the dashboards container's peak memory against its limit.

Baseline from the same run: the same loads with the line off (the dashboards service
updated to bounds of 1000, i.e. stock Voila: every visitor starts a kernel at once),
after which the service is rolled back.

    ASTROHUB_IMAGE_TAG=dev ASTROHUB_STACK_NAME=bench-dash ASTROHUB_HTTP_PORT=18700 \\
        .venv/bin/python benchmarks/dashboards_class.py --visitors 1 30 100 [--existing] [--keep]

Figures only, no pass/fail. Timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from astrohub import settings  # noqa: E402
from astrohub.deploy import Stack, docker  # noqa: E402
from tests.support.dashboard_visitor import PREFIX, visit  # noqa: E402

NOTEBOOK = "spectrum.ipynb"
LINE_OFF = {"DASHBOARDS_MAX_KERNELS": "1000", "DASHBOARDS_RENDERS_AT_ONCE": "1000",
            "DASHBOARDS_KERNELS_PER_CLIENT": "1000", "DASHBOARDS_KERNELS_PER_ADDRESS": "1000"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def dashboards_container(stack: Stack, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_dashboards").stdout.split()
        if ids:
            return ids[0]
        time.sleep(2)
    raise SystemExit("no running dashboards container")


class MemoryPeak(threading.Thread):
    """The container's cgroup memory, sampled every second while a load runs."""

    def __init__(self, container: str):
        super().__init__(daemon=True)
        self.container, self.peak, self.running = container, 0, True

    def run(self):
        while self.running:
            out = docker("exec", self.container, "sh", "-c", "cat /sys/fs/cgroup/memory.current 2>/dev/null || "
                         "cat /sys/fs/cgroup/memory/memory.usage_in_bytes", check=False).stdout.strip()  # cgroup v2 / v1
            if out.isdigit():
                self.peak = max(self.peak, int(out))
            time.sleep(1)


def wait_for_dashboards(stack: Stack, ca: str, settle: float) -> None:
    import requests

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(stack.local_url + PREFIX, timeout=10, verify=ca).status_code == 200:
                time.sleep(settle)  # the preheated pools fill after the server answers
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    raise SystemExit("the dashboards did not answer within 300 s")


def chromium_first_plot(site: str, seconds: list, errors: list, timeout: float) -> None:
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            # Timing only: the bench stack's local CA is not in this browser's store.
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            t0 = time.monotonic()
            page.goto(f"{site}{PREFIX}voila/render/{NOTEBOOK}")  # a waiting page refreshes by itself
            page.frame_locator("iframe.dash-plot").locator("canvas").first.wait_for(
                state="attached", timeout=timeout * 1000)
            seconds.append(time.monotonic() - t0)
            page.evaluate("() => window.dispatchEvent(new Event('beforeunload'))")
            context.close()
            browser.close()
    except Exception as e:  # noqa: BLE001 - a figure, not a crash
        errors.append(f"{type(e).__name__}: {str(e)[:120]}")


def load(stack: Stack, ca: str, n: int, browsers: int, hold: float, timeout: float) -> dict:
    memory = MemoryPeak(dashboards_container(stack))
    memory.start()
    deadline = time.monotonic() + timeout
    plot_seconds, plot_errors = [], []
    threads = [threading.Thread(target=chromium_first_plot, args=(stack.local_url, plot_seconds, plot_errors, timeout))
               for _ in range(min(browsers, n))]
    for t in threads:
        t.start()
    with ThreadPoolExecutor(max(1, n - len(threads))) as pool:
        visits = list(pool.map(lambda i: visit(stack.local_url, NOTEBOOK, deadline=deadline, ca_file=ca, hold=hold,
                                               query=f"visitor={i}"), range(n - len(threads))))
    for t in threads:
        t.join()
    memory.running = False
    html = sorted(v.html_seconds for v in visits if v.html_seconds is not None)
    q = (lambda p: html[min(len(html) - 1, int(p * len(html)))]) if html else (lambda p: float("nan"))
    return {
        "served": sum(v.outcome == "served" for v in visits) + len(plot_seconds),
        "waited": sum(v.outcome == "waited" for v in visits),
        "failed": sum(v.outcome == "failed" for v in visits) + len(plot_errors),
        "errors": sorted({v.error for v in visits if v.error} | set(plot_errors))[:3],
        "p50": statistics.median(html) if html else float("nan"), "p95": q(0.95), "max": html[-1] if html else float("nan"),
        "plot": statistics.median(plot_seconds) if plot_seconds else float("nan"),
        "peak_mb": memory.peak / 2**20,
    }


def switch_line(stack: Stack, off: bool) -> None:
    service = f"{stack.name}_dashboards"
    if off:
        docker("service", "update", "--quiet", *[a for k, v in LINE_OFF.items() for a in ("--env-add", f"{k}={v}")],
               service)
    else:
        docker("service", "rollback", "--quiet", service)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, nargs="+", default=[1, 30, 100])
    ap.add_argument("--browsers", type=int, default=1, help="visitors of each load in Chromium (time to first plot)")
    ap.add_argument("--hold", type=float, default=5.0, help="seconds each visitor keeps its page open")
    ap.add_argument("--timeout", type=float, default=600.0, help="a visitor not served within this fails")
    ap.add_argument("--settle", type=float, default=60.0, help="seconds for the pools to fill after a (re)start")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--existing", action="store_true", help="use the stack already deployed under that name")
    ap.add_argument("--keep", action="store_true", help="leave the bench stack running")
    args = ap.parse_args()

    known = {s.env for s in settings.SCHEMA}
    env = {k: v for k, v in os.environ.items() if k in known}
    env.setdefault("ASTROHUB_STACK_NAME", "bench-dashboards")
    env.setdefault("ASTROHUB_HTTP_PORT", "18700")
    stack = Stack(ROOT, settings.load(env, secrets_dir="/nonexistent"))
    if not args.existing:
        stack.deploy_fresh()
    stack.state_dir.mkdir(parents=True, exist_ok=True)  # --existing: a stack deployed from elsewhere
    ca = stack.ca_bundle()
    limit_mb = settings.memory_mb(stack.settings.dashboards_mem_limit)
    try:
        wait_for_dashboards(stack, ca, args.settle)
        runs = [("line on", False)] + ([] if args.no_baseline else [("line off (stock)", True)])
        print(f"{NOTEBOOK}, {len(os.sched_getaffinity(0))} cores, dashboards limit {limit_mb:.0f} MB, "
              f"max kernels {settings.dashboards_max_kernels(stack.settings)}, hold {args.hold:.0f} s", flush=True)
        print(f"{'mode':18s} {'N':>4s} {'served':>7s} {'waited':>7s} {'failed':>7s} {'html p50':>9s} {'p95':>7s} "
              f"{'max':>7s} {'1st plot':>9s} {'peak MB':>8s}", flush=True)
        for mode, off in runs:
            if off:
                switch_line(stack, True)
                time.sleep(5)
                wait_for_dashboards(stack, ca, args.settle)
            for n in args.visitors:
                r = load(stack, ca, n, args.browsers, args.hold, args.timeout)
                print(f"{mode:18s} {n:4d} {r['served']:7d} {r['waited']:7d} {r['failed']:7d} {r['p50']:9.2f} "
                      f"{r['p95']:7.2f} {r['max']:7.2f} {r['plot']:9.2f} {r['peak_mb']:8.0f}"
                      + (f"   errors: {r['errors']}" if r["errors"] else ""), flush=True)
                time.sleep(args.hold + 5)  # the closed pages' kernels go before the next load
            if off:
                switch_line(stack, False)
    finally:
        if not (args.keep or args.existing):
            stack.remove()


if __name__ == "__main__":
    main()
