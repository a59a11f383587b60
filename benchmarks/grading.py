"""How long a teacher waits: collect, autograde and feedback of N submissions.

Deploys a bench stack with the course astro101, releases `01-energy` from the
course's formgrader, lets N students submit through the exchange (half right,
half wrong, as `nbgrader submit` would upload them), then times in the
formgrader's kernel, as the teacher would run them: `nbgrader collect`,
`nbgrader autograde`, `nbgrader generate_feedback` + `release_feedback`.
Autograde runs student code in the formgrader's sandbox (servicekit.grading_sandbox);
for comparison it runs once more with nbgrader's stock kernels (the teacher's own
uid, as before the sandbox), which the course's nbgrader_config.py can ask for.
Printed: seconds per phase and per submission. Figures only, no pass/fail.

    .venv/bin/python benchmarks/grading.py [--students 4 16] [--keep] [--stack NAME --port PORT]

The image tag is $ASTROHUB_IMAGE_TAG (default: the release).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from astrohub import settings  # noqa: E402
from astrohub.deploy import Stack  # noqa: E402
from astrohub.hubapi import HubClient  # noqa: E402

STACK, PORT = "astrohub-gradebench", "19100"
COURSE, ASSIGNMENT = "astro101", "01-energy"
FORMGRADER = f"services/{COURSE}"
RIGHT = ("def lg_energy(lg_ne, lg_nmu, zenith_deg):\n"
         "    return 0.313 * lg_ne + 0.666 * lg_nmu + 1.24 / np.cos(np.radians(zenith_deg)) + 0.580 + 9")
# nbgrader's own autograde chain: its kernels run as the teacher's uid (the comparison).
STOCK_KERNELS = ("from nbgrader.converters import Autograde; c.Autograde.autograde_preprocessors = "
                 "Autograde.class_traits()['autograde_preprocessors'].default()")
COUNT = "n_above_pev = int((lg_energy(events.Ne, events.Nmu, events.Ze) > 15).sum())"


def teacher_runs(hub: HubClient, token: str, command: str) -> float:
    """Run a shell command in the formgrader's kernel; its wall time in seconds."""
    code = (f"import subprocess, time\nt = time.monotonic()\n"
            f"r = subprocess.run({command!r}, shell=True, capture_output=True, text=True)\n"
            f"print(r.returncode, time.monotonic() - t)\nprint(r.stderr[-2000:])")
    out, _, _ = hub.execute(FORMGRADER, code, token=token, timeout=3600)
    rc, seconds = out.split()[:2]
    if rc != "0":
        raise RuntimeError(f"{command}: {out}")
    return float(seconds)


def submission(right: bool) -> str:
    """The files of a submission as the exchange receives them (JSON, base64)."""
    folder = ROOT / "courses" / COURSE / "source" / ASSIGNMENT
    nb = nbformat.read(folder / "energy.ipynb", 4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "lg-energy":
            cell.source = RIGHT if right else RIGHT.replace(" + 9", "")
        elif gid == "n-above-pev":
            cell.source = COUNT
    files = [("energy.ipynb", nbformat.writes(nb).encode())]
    files += [(p.name, p.read_bytes()) for p in folder.iterdir() if p.suffix in (".parquet", ".json")]
    return json.dumps([{"path": name, "content": base64.encodebytes(data).decode()} for name, data in files])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, nargs="+", default=[4, 16])
    p.add_argument("--keep", action="store_true", help="leave the bench stack running")
    p.add_argument("--stack", default=STACK, help="the bench stack's name")
    p.add_argument("--port", default=PORT, help="its https port (plain http: port + 80)")
    args = p.parse_args()

    env = {"ASTROHUB_STACK_NAME": args.stack, "ASTROHUB_HTTP_PORT": args.port, "ASTROHUB_MEM_LIMIT": "1G",
           "ASTROHUB_REDIRECT_PORT": str(int(args.port) + 80), "ASTROHUB_COURSES": f"{COURSE}:teachers-{COURSE}"}
    if os.environ.get("ASTROHUB_IMAGE_TAG"):
        env["ASTROHUB_IMAGE_TAG"] = os.environ["ASTROHUB_IMAGE_TAG"]
    stack = Stack(ROOT, settings.load(env, secrets_dir="/nonexistent"))
    stack.deploy_fresh()
    hub = stack.hub_client(timeout=120)  # https through the edge, its CA trusted
    try:
        hub.create_user("teacher")
        hub.api("POST", f"/groups/formgrade-{COURSE}")
        hub.api("POST", f"/groups/formgrade-{COURSE}/users", json={"users": ["teacher"]})
        token = hub.user_token("teacher", note="bench")
        deadline = time.monotonic() + 180
        while hub.server("GET", FORMGRADER, "/api/status", token=token).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the formgrader did not start")
            time.sleep(2)
        bodies = {True: submission(True), False: submission(False)}
        print(f"cores: 2 shared; submission: {len(bodies[True]) / 1e6:.2f} MB as uploaded")
        print(f"{'N':>4} {'collect s':>10} {'autograde s':>12} {'stock s':>8} {'feedback s':>11} "
              f"{'per submission s':>17}")
        group = f"/groups/nbgrader-{COURSE}/users"
        hub.api("POST", f"/groups/nbgrader-{COURSE}")
        previous: list[str] = []
        for n in args.students:
            # A fresh course for each N: --force on release also drops the exchange's
            # copy with its submissions.
            teacher_runs(hub, token, "rm -rf release submitted autograded feedback gradebook.db")
            if previous:
                hub.api("DELETE", group, json={"users": previous})
            students = previous = [f"s{n}-{i:03d}" for i in range(n)]
            for s in students:
                hub.create_user(s)
            hub.api("POST", group, json={"users": students})
            assignment = ASSIGNMENT
            teacher_runs(hub, token, f"nbgrader generate_assignment {assignment} --force")
            teacher_runs(hub, token, f"nbgrader release_assignment {assignment} --force")
            time.sleep(6)  # the exchange re-reads the course groups when its copy is older than 5 s

            def submit(i_s):
                i, s = i_s
                tok = hub.user_token(s, note="bench")
                r = requests.post(f"{stack.local_url}/services/ngshare/submission/{COURSE}/{assignment}",
                                  headers={"Authorization": f"token {tok}"}, data={"files": bodies[i % 2 == 0]},
                                  timeout=300, verify=hub.verify)
                r.raise_for_status()

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(submit, enumerate(students)))
            collect = teacher_runs(hub, token, f"nbgrader collect {assignment}")
            autograde = teacher_runs(hub, token, f"nbgrader autograde {assignment}")
            stock = teacher_runs(hub, token, f"cp nbgrader_config.py /tmp/course_config.py && "
                                             f"echo {STOCK_KERNELS!r} >> nbgrader_config.py && "
                                             f"nbgrader autograde {assignment} --force; "
                                             f"rc=$?; cp /tmp/course_config.py nbgrader_config.py; exit $rc")
            feedback = teacher_runs(hub, token, f"nbgrader generate_feedback {assignment} && "
                                                f"nbgrader release_feedback {assignment}")
            graded, _, _ = hub.execute(FORMGRADER, (
                "from nbgrader.api import Gradebook\n"
                "with Gradebook('sqlite:///gradebook.db') as gb:\n"
                f"    print(sorted(s.score for s in gb.assignment_submissions('{assignment}')))"), token=token)
            scores = json.loads(graded)
            print(f"{n:>4} {collect:>10.1f} {autograde:>12.1f} {stock:>8.1f} {feedback:>11.1f} "
                  f"{(collect + autograde + feedback) / n:>17.2f}   scores: {scores.count(3.0)} x 3.0, "
                  f"{scores.count(0.0)} x 0.0 of {len(scores)}", flush=True)
    finally:
        if not args.keep:
            stack.remove()


if __name__ == "__main__":
    main()
