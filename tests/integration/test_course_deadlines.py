"""Deadlines, extensions and late penalties with real nbgrader, and the formgrader's
deadlines page on a real Jupyter server (servicekit.late_penalty, servicekit.deadlines,
servicekit.grade_export).

A course of its own: one assignment of 5 points due 2026-11-01 12:00 UTC; ada hands in
on time, ben 30 h late (two days begun: 20 % off at 10 % a day), cal is on the roster
and hands in nothing."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import requests

from nbgrader.api import Gradebook
from servicekit import deadlines, grade_export

from tests.support.jupyter_server import jupyter_server

ROOT = Path(__file__).resolve().parents[2]
COURSE, ASSIGNMENT = "term101", "ps1"
DUE = "2026-11-01 12:00:00 UTC"
SUBMITTED = {"ada": "2026-11-01 11:59:00.000000 UTC", "ben": "2026-11-02 18:00:00.000000 UTC"}
CONFIG = f"""
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{COURSE}"
c.AssignLatePenalties.plugin_class = "servicekit.late_penalty.CourseLatePenalty"
c.CourseLatePenalty.rule = "percent-per-day"
c.CourseLatePenalty.percent_per_day = 10
"""


def _cell(kind, source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                 "task": False, **nbgrader}
    return cell


def _source_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
              grade_id="double", solution=True),
        _cell("code", "assert double(2) == 4", grade_id="test_positive", grade=True, points=2, locked=True),
        _cell("code", "assert double(-1) == -2", grade_id="test_negative", grade=True, points=3, locked=True),
    ]
    return nb


def nbgrader(course: Path, *args: str) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               PYTHONPATH=f"{ROOT / 'src'}:{os.environ.get('PYTHONPATH', '')}")
    r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp(COURSE)
    (root / "nbgrader_config.py").write_text(CONFIG)
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(_source_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    nbgrader(root, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    for student in ("ada", "ben", "cal"):
        nbgrader(root, "db", "student", "add", student)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    solved = nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    for student, stamp in SUBMITTED.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(solved, folder / f"{ASSIGNMENT}.ipynb")
        (folder / "timestamp.txt").write_text(stamp)
    nbgrader(root, "autograde", ASSIGNMENT, "--force")
    return root


def scores(course: Path) -> dict[str, tuple[float, float]]:
    """student -> (score, late penalty) from the gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        return {s.student.id: (s.score, s.late_submission_penalty) for s in gb.find_assignment(ASSIGNMENT).submissions}


def test_autograding_takes_the_courses_share_per_day_late(course):
    assert scores(course) == {"ada": (5.0, 0.0), "ben": (5.0, pytest.approx(1.0))}


def test_an_extension_moves_the_deadline_and_the_penalty_with_it(course):
    plugin = deadlines.late_penalty_plugin(_course_config(course))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        assert deadlines.grant_extension(gb, ASSIGNMENT, "ben", deadlines.EXTENSION_CHOICES["1 day"], plugin) \
            == pytest.approx(0.5)  # 6 h late after a day's extension: one day begun
        assert deadlines.grant_extension(gb, ASSIGNMENT, "ben", deadlines.EXTENSION_CHOICES["1 week"], plugin) == 0.0
    assert scores(course)["ben"] == (5.0, 0.0)
    # Autograding again keeps the extension (nbgrader's own field) and so the penalty.
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    assert scores(course)["ben"] == (5.0, 0.0)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        deadlines.grant_extension(gb, ASSIGNMENT, "ben", deadlines.EXTENSION_CHOICES["none"], plugin)
    assert scores(course)["ben"] == (5.0, pytest.approx(1.0))


def _course_config(course: Path):
    from traitlets.config import Config

    c = Config()
    exec(compile(CONFIG.replace("c = get_config()  # noqa: F821", ""), "nbgrader_config.py", "exec"), {"c": c})
    return c


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_per_question_csv_sums_to_the_gradebook_and_lists_everyone(course):
    out = course / "grades.csv"
    nbgrader(course, "export", "--exporter", "servicekit.grade_export.PerQuestionCsv", "--to", str(out))
    rows = _csv_rows(out.read_text())
    assert set(rows[0]) == set(grade_export.COLUMNS)
    total = {}
    for r in rows:
        total[r["student_id"]] = total.get(r["student_id"], 0.0) + float(r["points"])
    book = scores(course)
    assert total == {"ada": 5.0, "ben": pytest.approx(book["ben"][0] - book["ben"][1]), "cal": 0.0}
    questions = {r["question"] for r in rows if r["student_id"] == "ada"}
    assert {"test_positive", "test_negative"} <= questions
    assert {r["status"] for r in rows if r["student_id"] == "cal"} == {"not submitted"}
    late = [r for r in rows if r["question"] == grade_export.LATE_PENALTY]
    assert [(r["student_id"], float(r["points"])) for r in late] == [("ben", pytest.approx(-1.0))]
    assert int(next(r for r in late)["seconds_late"]) == 30 * 3600


@pytest.fixture(scope="module")
def formgrader(course):
    """A real Jupyter server in the course folder with nbgrader's formgrader and the page."""
    extensions = {"nbgrader.server_extensions.formgrader": True, "servicekit.deadlines": True,
                  "jupyter_lsp": False, "voila.server_extension": False}
    with jupyter_server(course, course.parent / f"{COURSE}-server", extensions) as (url, auth, _log):
        yield url, auth


def test_the_page_shows_who_was_late_and_refuses_strangers(formgrader):
    url, auth = formgrader
    r = requests.get(f"{url}/deadlines", headers=auth, timeout=30)
    assert r.status_code == 200, r.text[:500]
    assert 'id="row-ps1-ben"' in r.text and "30.0 h" in r.text and "2026-11-01 12:00 UTC" in r.text
    assert requests.get(f"{url}/deadlines", timeout=30, allow_redirects=False).status_code in (302, 403)
    assert requests.get(f"{url}/deadlines/grades.csv", timeout=30, allow_redirects=False).status_code in (302, 403)
    r = requests.post(f"{url}/deadlines/extension", timeout=30, allow_redirects=False,
                      data={"assignment": ASSIGNMENT, "student": "ben", "extension": "1 week"})
    assert r.status_code == 403


def test_two_clicks_give_an_extension_and_the_csv_follows(formgrader, course):
    url, auth = formgrader
    r = requests.post(f"{url}/deadlines/extension", headers=auth, timeout=30, allow_redirects=False,
                      data={"assignment": ASSIGNMENT, "student": "ben", "extension": "3 days"})
    assert r.status_code == 302, r.text[:500]
    page = requests.get(url + r.headers["Location"], headers=auth, timeout=30).text
    assert "ben: extension 3 days on ps1; late penalty now 0 points" in page
    assert scores(course)["ben"] == (5.0, 0.0)
    r = requests.get(f"{url}/deadlines/grades.csv", headers=auth, timeout=30)
    assert r.headers["Content-Disposition"] == f'attachment; filename="{COURSE}-grades-per-question.csv"'
    ben = [row for row in _csv_rows(r.text) if row["student_id"] == "ben"]
    assert sum(float(row["points"]) for row in ben) == 5.0 and {row["extension_hours"] for row in ben} == {"72.0"}


def test_a_wrong_choice_or_student_gets_a_clear_refusal(formgrader):
    url, auth = formgrader
    r = requests.post(f"{url}/deadlines/extension", headers=auth, timeout=30,
                      data={"assignment": ASSIGNMENT, "student": "ben", "extension": "forever"})
    assert r.status_code == 400 and "1 day, 3 days, 1 week, none" in r.text
    r = requests.post(f"{url}/deadlines/extension", headers=auth, timeout=30,
                      data={"assignment": ASSIGNMENT, "student": "cal", "extension": "1 day"})
    assert r.status_code == 404 and "cal has no collected submission of ps1" in r.text
