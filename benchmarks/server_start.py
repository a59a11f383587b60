"""What one user server costs to start, by role, and what its first kernel costs.

For each configuration a fresh container of the user image runs `jupyter server`
(what jupyterhub-singleuser wraps) on the default bridge network. Printed:
- start: CPU-seconds of the container's cgroup until the server answers /api,
  and the wall time from `docker run` to that answer;
- the five costliest imports by their own time (a second start under
  `python -X importtime`, so its timing does not disturb the first);
- first kernel: CPU-seconds and wall time from asking for a kernel to the reply
  of `5*4`, then of the first `import matplotlib.pyplot` (a masterclass's first cell).

Configurations: `student` and `teacher` (ASTROHUB_SERVER_ROLE, as the spawner
sets it) on astrohub/singleuser:<tag>, and `stock` as the baseline of the same
run: the same image with what the start-cost work took away put back
(STOCK_PACKAGES installed, every server extension on, no compiled
/opt/astrohub/src, no prebuilt font cache). Figures only, no pass/fail; on a
busy machine the wall times grow, the CPU-seconds much less.

    .venv/bin/python benchmarks/server_start.py [--tag TAG] [--configs student teacher stock] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from astrohub import images, settings  # noqa: E402
from servicekit.server_roles import ROLE_VARIABLE  # noqa: E402

PORT = 8888
TIMEOUT = 300


def locked_version(name: str) -> str:
    for line in (ROOT / "requirements/lock.txt").read_text().splitlines():
        if re.match(rf"{re.escape(name)}==", line.strip(), re.I):
            return line.strip().split("==")[1].split()[0]
    raise SystemExit(f"{name} is not in requirements/lock.txt")


# What images/python/Dockerfile uninstalls for the start cost (rfc3987-syntax and
# isoduration, both jsonschema format checkers, with what only they use).
STOCK_PACKAGES = ("rfc3987-syntax", "lark", "isoduration", "arrow")


def build_stock(tag: str) -> str:
    """The user image as it was before the start-cost work: the baseline."""
    ref = f"astrohub/singleuser-stock:{tag}"
    dockerfile = f"""FROM astrohub/singleuser:{tag}
USER root
RUN --mount=type=secret,id=ca_bundle,required=false \\
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \\
 && pip install --no-deps {' '.join(f'{name}=={locked_version(name)}' for name in STOCK_PACKAGES)} \\
 && rm /etc/jupyter/jupyter_server_config.py \\
 && find /opt/astrohub/src -name __pycache__ -prune -exec rm -r {{}} + \\
 && rm -r /opt/astrohub/matplotlib
ENV MPLCONFIGDIR=
USER jovyan
"""
    cmd = [images.docker_for_builds(), "build", "-q", "-t", ref, "-f", "-"]
    if Path(images.CA_BUNDLE).exists():
        cmd += ["--secret", f"id=ca_bundle,src={images.CA_BUNDLE}"]
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    subprocess.run(cmd + [str(ROOT)], input=dockerfile, text=True, check=True, env=env, capture_output=True)
    return ref


def cgroup_cpu_seconds(container_id: str) -> float:
    """CPU time of the container's cgroup (v1 cpuacct or v2 cpu.stat)."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    for v2 in (Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
               Path(f"/sys/fs/cgroup/docker/{container_id}/cpu.stat")):
        if v2.exists():
            stat = dict(line.split() for line in v2.read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6
    raise SystemExit(f"no cgroup CPU accounting found for container {container_id[:12]}")


class Server:
    """One fresh container running `jupyter server`."""

    def __init__(self, image: str, role: str | None, importtime: bool = False):
        self.token = secrets.token_hex(16)
        env = ["-e", f"{ROLE_VARIABLE}={role}"] if role else []
        python = ["python", "-X", "importtime"] if importtime else ["python"]
        self.started = time.monotonic()
        self.id = subprocess.run(
            ["docker", "run", "-d", "--label", "astrohub.benchmark=server_start", *env, image,
             *python, "-m", "jupyter_server", "--ip=0.0.0.0", f"--port={PORT}", "--no-browser",
             f"--IdentityProvider.token={self.token}"],
            capture_output=True, text=True, check=True).stdout.strip()
        ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", self.id],
                            capture_output=True, text=True, check=True).stdout.strip()
        self.url = f"http://{ip}:{PORT}"

    def wait_for_api(self) -> tuple[float, float]:
        """(wall s, CPU s) at the first answer of /api."""
        deadline = self.started + TIMEOUT
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api", timeout=2).read()
                return time.monotonic() - self.started, cgroup_cpu_seconds(self.id)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise RuntimeError(f"server {self.id[:12]} did not answer /api within {TIMEOUT} s")

    def logs(self) -> str:
        return subprocess.run(["docker", "logs", self.id], capture_output=True, text=True).stderr

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.id], capture_output=True)

    async def first_kernel(self) -> list[tuple[str, float, float]]:
        """(step, wall s, CPU s) of: a new kernel answering `5*4`; then `import matplotlib.pyplot`."""
        from tornado.httpclient import AsyncHTTPClient
        from tornado.websocket import websocket_connect

        auth = {"Authorization": f"token {self.token}"}
        steps = []
        cpu, t0 = cgroup_cpu_seconds(self.id), time.monotonic()
        reply = await AsyncHTTPClient().fetch(f"{self.url}/api/kernels", method="POST", body="{}", headers=auth,
                                              request_timeout=TIMEOUT)
        kernel = json.loads(reply.body)["id"]
        ws = await websocket_connect(f"ws{self.url[4:]}/api/kernels/{kernel}/channels?token={self.token}")
        session = uuid.uuid4().hex
        for step, code in (("5*4", "5*4"), ("import matplotlib.pyplot", "import matplotlib.pyplot")):
            msg_id = uuid.uuid4().hex
            await ws.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                           "username": "bench", "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            }))
            while True:
                message = await asyncio.wait_for(ws.read_message(), TIMEOUT)
                if message is None:
                    raise RuntimeError("kernel websocket closed")
                message = json.loads(message)
                if message["msg_type"] == "execute_reply" and message["parent_header"].get("msg_id") == msg_id:
                    break
            if message["content"]["status"] != "ok":
                raise RuntimeError(f"{code!r} failed in the kernel: {message['content']}")
            now = time.monotonic(), cgroup_cpu_seconds(self.id)
            steps.append((step, now[0] - t0, now[1] - cpu))
            t0, cpu = now
        ws.close()
        return steps


def costliest_imports(stderr: str, n: int = 5) -> list[tuple[str, float]]:
    """The n modules with the largest own import time (s) in -X importtime output."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)", line)
        if match:
            rows.append((match.group(3), int(match.group(1)) / 1e6))
    return sorted(rows, key=lambda row: -row[1])[:n]


def measure(image: str, role: str | None, repeat: int) -> dict:
    starts, kernels = [], []
    for _ in range(repeat):
        server = Server(image, role)
        try:
            starts.append(server.wait_for_api())
            kernels.append(asyncio.run(server.first_kernel()))
        finally:
            server.remove()
    server = Server(image, role, importtime=True)
    try:
        server.wait_for_api()
        imports = costliest_imports(server.logs())
    finally:
        server.remove()
    return {"starts": starts, "kernels": kernels, "imports": imports}


def report(name: str, figures: dict) -> None:
    walls = [s[0] for s in figures["starts"]]
    cpus = [s[1] for s in figures["starts"]]
    print(f"\n{name}: start to /api  CPU {statistics.median(cpus):.2f} s (runs: {', '.join(f'{c:.2f}' for c in cpus)})"
          f"  wall {statistics.median(walls):.1f} s")
    steps = {}
    for run in figures["kernels"]:
        for step, wall, cpu in run:
            steps.setdefault(step, []).append((wall, cpu))
    for step, values in steps.items():
        print(f"  first kernel, {step:<26} CPU {statistics.median(v[1] for v in values):.2f} s"
              f"  wall {statistics.median(v[0] for v in values):.1f} s")
    print("  costliest imports (own time under -X importtime):")
    for module, seconds in figures["imports"]:
        print(f"    {seconds:6.3f} s  {module}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default=settings.load(secrets_dir="/nonexistent").image_tag,
                        help="tag of astrohub/singleuser to measure (default: the configured image_tag)")
    parser.add_argument("--configs", nargs="+", default=["student", "teacher", "stock"],
                        choices=["student", "teacher", "stock"])
    parser.add_argument("--repeat", type=int, default=1, help="starts per configuration (median printed)")
    parser.add_argument("--build", action="store_true", help="build the images of the tag first")
    args = parser.parse_args(argv)
    if args.build:
        images.build(ROOT, args.tag, ("python", "singleuser"))
    image = f"astrohub/singleuser:{args.tag}"
    if not images.image_exists(image):
        raise SystemExit(f"{image} does not exist: build it (make images, or --build)")
    print(f"image {image}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for config in args.configs:
        if config == "stock":
            report("stock (baseline: slow import back, all extensions)", measure(build_stock(args.tag), None, args.repeat))
        else:
            report(config, measure(image, config, args.repeat))


if __name__ == "__main__":
    main()
