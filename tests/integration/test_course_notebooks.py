"""The astro101 assignments with real nbgrader: solutions pass the hidden tests,
releases carry neither solutions nor hidden tests, an unanswered notebook scores 0."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

COURSE = Path(__file__).resolve().parents[2] / "courses" / "astro101"
ASSIGNMENTS = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("astro101")
    shutil.copytree(COURSE, root, dirs_exist_ok=True)
    return root


def nbgrader(course, *args):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def test_there_are_at_least_three_assignments_each_with_a_manually_graded_answer():
    assert len(ASSIGNMENTS) >= 3
    for name in ASSIGNMENTS:
        (nb_path,) = (COURSE / "source" / name).glob("*.ipynb")
        cells = [c.metadata.get("nbgrader", {}) for c in nbformat.read(nb_path, 4).cells]
        assert any(m.get("grade") and m.get("solution") for m in cells), f"{name}: no manually graded answer"
        assert any(m.get("grade") and not m.get("solution") for m in cells), f"{name}: no autograded tests"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_solutions_pass_every_test_including_the_hidden_ones(name):
    (nb_path,) = (COURSE / "source" / name).glob("*.ipynb")
    nb = nbformat.read(nb_path, 4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(nb_path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_releases_hold_neither_solutions_nor_hidden_tests_and_score_zero_unanswered(course):
    for name in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", name, "--force")
        for path in (course / "release" / name).glob("*.ipynb"):
            text = path.read_text()
            assert "HIDDEN TESTS" not in text and "_ref" not in text and "BEGIN SOLUTION" not in text
            assert "raise NotImplementedError()" in text
    # A student who hands in the release unchanged gets no autograded point.
    name = ASSIGNMENTS[0]
    shutil.copytree(course / "release" / name, course / "submitted" / "nobody" / name)
    nbgrader(course, "autograde", name, "--create")
    r = subprocess.run([sys.executable, "-c", (
        "from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///gradebook.db') as gb:\n"
        f"    s = gb.find_submission('{name}', 'nobody'); print(s.score, s.max_score)")],
        cwd=course, capture_output=True, text=True)
    score, max_score = map(float, r.stdout.split())
    assert score == 0.0 and max_score == 5.0
