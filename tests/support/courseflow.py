"""Teaching a course through people's kernels on a real stack (nbgrader as typed).

Shared by tests/e2e/test_courses.py (every step and every refusal) and the restore
drill (a graded course must come back). ``hub`` is an astrohub.hubapi.HubClient; a
formgrader is addressed as ``services/<course>`` with a teacher's token."""

from __future__ import annotations

import json
import textwrap
import time

ASSIGNMENT = "01-energy"

# What a student types into the answer cells (grade ids of source/01-energy/energy.ipynb).
RIGHT_ANSWERS = {
    "lg-energy": "def lg_energy(lg_ne, lg_nmu, zenith_deg):\n"
                 "    return 0.313 * lg_ne + 0.666 * lg_nmu + 1.24 / np.cos(np.radians(zenith_deg)) + 0.580 + 9",
    "n-above-pev": "n_above_pev = int((lg_energy(events.Ne, events.Nmu, events.Ze) > 15).sum())",
    "why-cos": "Inclined showers cross more air, so more electrons are absorbed before reaching the ground.",
}
# The classic slip: lg(E/GeV) instead of lg(E/eV); both autograded answers fail.
WRONG_ANSWERS = {**RIGHT_ANSWERS, "lg-energy": RIGHT_ANSWERS["lg-energy"].replace(" + 9", "")}

SHELL = textwrap.dedent("""
    import subprocess
    def sh(cmd):
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
        print("rc=%d" % r.returncode)
        print(r.stdout[-4000:] + r.stderr[-4000:])
""")


def run(hub, who, code, token=None, timeout=300) -> str:
    out, _, _ = hub.execute(who, SHELL + textwrap.dedent(code), token=token, timeout=timeout)
    return out


def nbgrader(hub, who, args, token=None) -> str:
    return run(hub, who, f"sh({('nbgrader ' + args)!r})", token=token)


def ok(out: str) -> str:
    assert "rc=0" in out, out
    return out


def answer(hub, student, answers):
    """Fill in the answer cells of the fetched notebook, as the student would in Lab."""
    ok(run(hub, student, f"""
        import nbformat
        path = "{ASSIGNMENT}/energy.ipynb"
        nb = nbformat.read(path, 4)
        answers = {answers!r}
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {{}}).get("grade_id")
            if gid in answers:
                cell.source = answers[gid]
        nbformat.write(nb, path)
        print("rc=0")
    """))


def gradebook_scores(hub, formgrader, token, students) -> dict[str, float]:
    """The scores of ``students`` for the assignment, from the course's gradebook."""
    out = run(hub, formgrader, f"""
        import json
        from nbgrader.api import Gradebook
        with Gradebook("sqlite:///gradebook.db") as gb:
            print(json.dumps({{s: gb.find_submission("{ASSIGNMENT}", s).score for s in {list(students)!r}}}))
    """, token=token)
    return json.loads(out.strip().splitlines()[-1])


def feedback_html(hub, student) -> str:
    """The newest feedback the student fetched (or NO FEEDBACK)."""
    return run(hub, student, f"""
        import glob
        files = sorted(glob.glob("{ASSIGNMENT}/feedback/*/energy.html"))
        print(open(files[-1]).read() if files else "NO FEEDBACK")
    """)


def join_groups(hub, members: dict[str, list[str]]) -> None:
    """Put users into hub groups (``formgrade-<course>``, ``nbgrader-<course>``), creating them."""
    for group, users in members.items():
        r = hub.api("POST", f"/groups/{group}")
        assert r.status_code in (201, 409), r.text
        r = hub.api("POST", f"/groups/{group}/users", json={"users": users})
        assert r.status_code == 200, r.text


def wait_for_formgrader(hub, formgrader, token, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        r = hub.server("GET", formgrader, "/api/status", token=token)
        if r.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the formgrader {formgrader} did not answer: {r.status_code} {r.text[:300]}")
        time.sleep(2)
