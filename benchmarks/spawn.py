"""How fast a masterclass starts: N students at once, this spawner against stock.

First the floor of this run: the CPU-seconds of one bare `jupyter server` start of
the user image (read from its container's cgroup). Then for each spawner
(`astrohub`, then dockerspawner's stock `SwarmSpawner`) a bench stack is deployed
on the local Swarm; for each N, N users' servers are requested through the hub API
(0.05 s apart, so the request order is the order the hub sees) and watched by one
poller of the hub's user list, which also times the hub's API and login page during
the burst. Each student starts a kernel and runs `5 * 4` as soon as their server is
ready. Printed per N: failures, ready p50 / p95 / last, kernel start p50, the hub's
answers during the burst (p50 / max), the floor N x (CPU-s of one bare start) / cores,
last / floor and p50 / last; then the CPU-seconds per start the whole machine and the
container engine's own processes spent during the burst, and each service's containers
(users' servers with their first kernels together). Figures only, no pass/fail.

    .venv/bin/python benchmarks/spawn.py [--users 1 10 30 60] [--spawners astrohub stock]
        [--starts 0 4] [--stack astrohub-bench] [--port 19000]

``--starts K ...`` runs this spawner once per value of ``concurrent_starts`` (0: the
default, the nodes' cores), each on a freshly deployed stack, to compare them in one run.

The image tag is ASTROHUB_IMAGE_TAG (default the release's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from astrohub import images, settings  # noqa: E402
from astrohub.deploy import Stack, docker  # noqa: E402
from astrohub.hubapi import Burst, HubClient  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def container_cpu_seconds(container: str) -> float:
    """CPU-seconds a running container has used so far, from its cgroup (v1 or v2)."""
    pid = docker("inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return int(Path(f"/sys/fs/cgroup/{controllers}{path}/cpuacct.usage").read_text()) / 1e9
    path = Path(f"/proc/{pid}/cgroup").read_text().splitlines()[0].split(":", 2)[2]
    stat = dict(line.split() for line in Path(f"/sys/fs/cgroup{path}/cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6


#: host processes of the container machinery (the engine, its runtime, the per-container shims)
ENGINE = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc")


def cpu_now() -> tuple[float, float]:
    """(CPU-seconds the whole machine has been busy, CPU-seconds of the container engine's own
    processes) so far: the difference over a burst says what its starts cost beyond the servers."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(fields) - fields[3] - fields[4]) / tick  # all but idle and iowait
    engine = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if name.startswith(ENGINE):
            engine += (int(rest[11]) + int(rest[12])) / tick  # utime + stime
    return busy, engine


def containers_cpu() -> dict[str, tuple[str, float]]:
    """Running containers: id -> (Swarm service, CPU-seconds used so far)."""
    out = {}
    listing = docker("ps", "--format", '{{.ID}} {{.Label "com.docker.swarm.service.name"}}').stdout
    for line in listing.splitlines():
        cid, _, service = line.partition(" ")
        try:
            out[cid] = (service, container_cpu_seconds(cid))
        except (OSError, ValueError):  # gone meanwhile
            pass
    return out


def cpu_by_service(before: dict, after: dict) -> dict[str, float]:
    """CPU-seconds each service's containers spent between two snapshots; users' servers
    (services ``<stack>-user-<escaped name>``, astrohub.spawner) as one."""
    spent: dict[str, float] = {}
    for cid, (service, cpu) in after.items():
        group = "user servers" if "-user-" in service else service.split("_", 1)[-1]
        spent[group] = spent.get(group, 0.0) + cpu - before.get(cid, (service, 0.0))[1]
    return dict(sorted(spent.items(), key=lambda kv: -kv[1]))


def bare_start(image: str, timeout: float = 600) -> tuple[float, float]:
    """One bare `jupyter server` of the user image: (CPU-seconds, wall seconds) until /api answers."""
    t0 = time.monotonic()
    container = docker("run", "-d", image, "jupyter", "server", "--ip=0.0.0.0", "--port=8888",
                       "--no-browser", "--IdentityProvider.token=").stdout.strip()
    try:
        ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", container).stdout.strip()
        while time.monotonic() - t0 < timeout:
            try:
                urllib.request.urlopen(f"http://{ip}:8888/api", timeout=1).read()
                return container_cpu_seconds(container), time.monotonic() - t0
            except OSError:
                if docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip() != "true":
                    logs = docker("logs", "--tail", "20", container, check=False)
                    raise RuntimeError(f"a bare server of {image} exited:\n{logs.stdout}{logs.stderr}") from None
                time.sleep(0.1)
        raise RuntimeError(f"a bare server of {image} did not answer within {timeout:.0f} s")
    finally:
        docker("rm", "-f", container, check=False)


def bench_settings(stack: str, port: str, spawner: str = "astrohub", starts: int = 0) -> settings.Settings:
    return settings.load({
        "ASTROHUB_STACK_NAME": stack,
        "ASTROHUB_HTTP_PORT": port,
        "ASTROHUB_SPAWNER": spawner,
        "ASTROHUB_CONCURRENT_STARTS": str(starts),
        "ASTROHUB_MEM_LIMIT": "1G",
        "ASTROHUB_IMAGE_TAG": os.environ.get("ASTROHUB_IMAGE_TAG", settings.VERSION),
    }, secrets_dir="/nonexistent")


def variants(spawners: list[str], starts: list[int]) -> list[tuple[str, str, int]]:
    """(label, spawner, concurrent_starts) of each stack to measure; the stock spawner has no line."""
    out = []
    for spawner in spawners:
        if spawner == "stock" or len(starts) == 1:
            out.append((spawner, spawner, starts[0] if spawner != "stock" else 0))
        else:
            out += [(f"{spawner} K={k or 'cores'}", spawner, k) for k in starts]
    return out


def deploy(config: settings.Settings) -> tuple[Stack, HubClient]:
    stack = Stack(ROOT, config)
    stack.remove()
    stack.forget()  # a bench stack starts empty, with fresh secrets
    stack.ensure_secrets()
    stack.deploy()
    stack.wait_until_ready()
    return stack, stack.hub_client(timeout=120)  # https through the edge, its CA trusted


def run(hub: HubClient, n: int, tag: str) -> dict:
    """N servers at once; each student runs a kernel as soon as their server is ready."""
    names = [f"bench-{tag}-{i:02d}" for i in range(n)]
    with ThreadPoolExecutor(min(n, 10)) as pool:
        list(pool.map(hub.create_user, names))
    kernels, errors = {}, {}

    def kernel(name: str) -> None:
        try:
            text, started, _ = hub.execute(name, "5 * 4", timeout=120)
            assert text == "20", text
            kernels[name] = started
        except Exception as e:  # a failure is a figure too
            errors[name] = f"kernel: {type(e).__name__}: {e}"[:200]

    with ThreadPoolExecutor(n) as students:
        before, containers_before = cpu_now(), containers_cpu()
        burst = Burst(hub, names).run(timeout=1800, on_ready=lambda name: students.submit(kernel, name))
        after, containers_after = cpu_now(), containers_cpu()
    with ThreadPoolExecutor(min(n, 10)) as pool:
        list(pool.map(lambda name: (hub.stop(name, timeout=180), hub.delete_user(name)), names))
    errors.update(burst.failed)
    return {"n": n, "ready": list(burst.ready.values()), "kernel": list(kernels.values()),
            "machine_cpu": after[0] - before[0], "engine_cpu": after[1] - before[1],
            "services_cpu": cpu_by_service(containers_before, containers_after),
            "api": burst.api_times, "login": burst.login_times, "errors": errors}


def p50_p95_max(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):6.2f} / {percentile(values, 0.95):6.2f} / {max(values):6.2f}"


def p50_max(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} / {max(values):5.2f}" if values else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 30, 60], help="N: servers requested at once")
    parser.add_argument("--spawners", nargs="+", default=["astrohub", "stock"], choices=["astrohub", "stock"])
    parser.add_argument("--starts", type=int, nargs="+", default=[0],
                        help="concurrent_starts of this spawner, one stack each (0: the nodes' cores)")
    parser.add_argument("--stack", default="astrohub-bench", help="name of the bench stack (removed afterwards)")
    parser.add_argument("--port", default="19000", help="https port of the bench stack")
    args = parser.parse_args()
    os.environ.setdefault("ASTROHUB_STATE_DIR", tempfile.mkdtemp(prefix="astrohub-bench-"))
    config = bench_settings(args.stack, args.port)
    images.build(ROOT, config.image_tag)
    cores = os.cpu_count() or 1
    cpu, wall = bare_start(config.image)
    print(f"bare `jupyter server` of {config.image}: {cpu:.2f} CPU-s, answered after {wall:.2f} s", flush=True)
    table: dict[tuple[str, int], dict] = {}
    try:
        for label, spawner, starts in variants(args.spawners, args.starts):
            stack, hub = deploy(bench_settings(args.stack, args.port, spawner, starts))
            for n in args.users:
                table[(label, n)] = result = run(hub, n, f"{spawner[:1]}{starts}n{n}")
                print(f"{label:8s} N={n:3d}: ready p50/p95/last {p50_p95_max(result['ready'])} s, "
                      f"failed {len(result['errors'])}", flush=True)
                if result["errors"]:  # the hub's reasons (its API says only 500), before the stack goes
                    print("\n".join(line for line in stack.logs(tail=400).splitlines()
                                    if "Error starting" in line or "did not start" in line)[-2000:])
    finally:
        bench = Stack(ROOT, config)
        bench.remove()
        bench.forget()

    print(f"\nSpawn benchmark, {cores} cores, image {config.image}; one bare start {cpu:.2f} CPU-s "
          f"({wall:.2f} s); floor = N x {cpu:.2f} / {cores}")
    width = max(9, *(len(label) + 1 for label, _ in table))
    print(f"{'spawner':{width}s}{'N':>4s} {'failed':>6s}  {'ready p50 / p95 / last (s)':>26s}  {'kernel p50':>10s}  "
          f"{'hub API p50/max':>15s}  {'login p50/max':>13s}  {'floor':>6s}  {'last/floor':>10s}  {'p50/last':>8s}")
    for (spawner, n), r in table.items():
        floor = n * cpu / cores
        ready = r["ready"]
        last = max(ready) if ready else float("nan")
        kernel = f"{statistics.median(r['kernel']):10.2f}" if r["kernel"] else f"{'n/a':>10s}"
        p50_last = statistics.median(ready) / last if ready else float("nan")
        print(f"{spawner:{width}s}{n:4d} {len(r['errors']):6d}  {p50_p95_max(ready):>26s}  {kernel}  "
              f"{p50_max(r['api']):>15s}  {p50_max(r['login']):>13s}  {floor:6.1f}  {last / floor:10.2f}  {p50_last:8.2f}")
        for name, error in sorted(r["errors"].items())[:5]:
            print(f"          {name}: {error}")
    # Where the time above the floor goes: CPU the whole machine spent per start during the
    # burst (servers, their first kernels, hub, proxy, engine), and the engine's own share.
    print(f"\nCPU-s per start during the burst (one bare server start: {cpu:.2f}):")
    for (spawner, n), r in table.items():
        print(f"  {spawner:{width}s} N={n:3d}: machine {r['machine_cpu'] / n:5.2f}, of it the container engine "
              f"(dockerd, containerd, shims, runc) {r['engine_cpu'] / n:5.2f}; by service: "
              + ", ".join(f"{name} {spent / n:.2f}" for name, spent in r["services_cpu"].items() if spent / n >= 0.01))
    labels = list(dict.fromkeys(label for label, _ in table))
    print(f"\nlast ready of each against {labels[0]} (above 1: {labels[0]} is faster):")
    for other in labels[1:]:
        for n in args.users:
            a, b = table.get((labels[0], n)), table.get((other, n))
            if a and b and a["ready"] and b["ready"]:
                print(f"  {other} N={n:3d}: {max(b['ready']) / max(a['ready']):.2f}x  "
                      f"(failures: {labels[0]} {len(a['errors'])}, {other} {len(b['errors'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
