"""The masterclass library in a student's server: present in ~/masterclasses, and the
masterclasses run top to bottom in the user's own kernel against the stack's datacentre.

Each notebook is executed inside the user's container (nbclient, started from a kernel of
that server), with the environment the spawner gives it (JUPYTERHUB_API_TOKEN, KCDC_URL).
The execution time per masterclass in the user image is printed (run with -s to see it).
The server has the student versions only: a lesson (tests.support.masterclasses.LESSONS)
runs with its "your turn" cells unanswered and must say "not answered yet", never fail;
its teacher version passes in tests/integration/test_masterclasses.py.
"""
import json

import pytest

from tests.support.masterclasses import LESSONS

USER = "marie"
# The knee first: it reads its published points from the copied asset and the exposure
# from the data shop, so it covers the library copy as well as the data path.
FIRST = "06-the-knee"

RUN_CODE = """
import json, time, pathlib, nbformat
from nbclient import NotebookClient
from kcdc.masterclass import PASSED, FAILED, NOT_ANSWERED
lib = pathlib.Path.home() / "masterclasses"
out = {{}}
for name in {names!r}:
    path = lib / name / (name + ".ipynb")
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    error = None
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={{"metadata": {{"path": str(path.parent)}}}}).execute()
    except Exception as e:
        error = f"{{type(e).__name__}}: {{str(e)[-800:]}}"
    lines = [l for c in nb.cells for o in c.get("outputs", []) for l in o.get("text", "").splitlines()]
    out[name] = {{"seconds": time.perf_counter() - t0, "error": error,
                 "passed": [l for l in lines if l.startswith(PASSED)], "failed": [l for l in lines if l.startswith(FAILED)],
                 "not_answered": [l for l in lines if NOT_ANSWERED in l]}}
print(json.dumps(out))
"""


def ran_well(name, result) -> bool:
    """No error and no failed check; a result check passed (a lesson: waits for the student)."""
    waited = result["not_answered"] if name in LESSONS else result["passed"]
    return result["error"] is None and not result["failed"] and bool(waited)


def run_masterclasses(hub, names, timeout):
    text, _, _ = hub.execute(USER, RUN_CODE.format(names=list(names)), timeout=timeout)
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def student(hub):
    hub.create_user(USER)
    hub.start(USER)
    yield USER
    hub.stop(USER)


def library(hub):
    r = hub.server("GET", USER, "/api/contents/masterclasses")
    assert r.status_code == 200, r.text
    return sorted(item["name"] for item in r.json()["content"] if item["type"] == "directory")


def test_the_library_is_in_the_home(hub, student):
    names = library(hub)
    masterclasses = [n for n in names if n[:2].isdigit() and n[:2] != "00"]
    assert len(masterclasses) >= 10, names
    r = hub.server("GET", USER, f"/api/contents/masterclasses/{FIRST}")
    assert {"06-the-knee.ipynb", "published_spectra.csv"} <= {i["name"] for i in r.json()["content"]}


def test_a_masterclass_runs_in_the_users_kernel(hub, student):
    result = run_masterclasses(hub, [FIRST], timeout=600)[FIRST]
    print(f"\n{FIRST} in the user image: {result['seconds']:.1f} s")
    assert ran_well(FIRST, result), result


def test_every_masterclass_runs_in_the_users_kernel(hub, student):
    names = [n for n in library(hub) if n[:2].isdigit() and n[:2] != "00" and n != FIRST]
    results = run_masterclasses(hub, names, timeout=1800)
    print("\nexecution time per masterclass in the user image:")
    for name, r in results.items():
        print(f"  {name:38s} {r['seconds']:6.1f} s  {'ran well' if ran_well(name, r) else 'FAILED'}")
    bad = {n: r for n, r in results.items() if not ran_well(n, r)}
    assert not bad, bad
