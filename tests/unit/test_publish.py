"""servicekit.publish: a teacher's edited masterclass reaches the course's students
without an image rebuild; a student's untouched copy follows, an edited one stays; a
source that does not build publishes nothing and says why."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from servicekit.lessons import LessonError
from servicekit.library import sync
from servicekit.publish import page_rows, publish, published

ROOT = Path(__file__).resolve().parents[2]
LESSON = "01-anatomy-of-a-shower"


@pytest.fixture
def course(tmp_path):
    sources = tmp_path / "sources"
    shutil.copytree(ROOT / "masterclasses" / LESSON, sources / LESSON)
    return sources, tmp_path / "library", tmp_path / "home"


def notebook(folder: Path):
    return nbformat.read(folder / LESSON / f"{LESSON}.ipynb", as_version=4)


def edit_title(source: Path, new: str) -> None:
    path = source / LESSON / f"{LESSON}.md"
    text = path.read_text()
    path.write_text(text.replace("# 1. ", f"# 1. {new} ", 1))


def test_publishing_gives_students_the_student_version_only(course):
    sources, library, _ = course
    version = publish(sources, library)
    assert published(library) == version.resolve()
    nb = notebook(library / "current")
    tags = {t for c in nb.cells for t in c.get("metadata", {}).get("tags", [])}
    assert "your-turn" in tags and not tags & {"solution", "teacher"}
    # no teacher version, no source in the students' volume
    assert [p.name for p in library.rglob("*.md")] == ["index.md"]
    assert page_rows(sources, library)["published"] == [LESSON]


def test_a_republished_change_updates_untouched_copies_and_keeps_edited_ones(course, tmp_path):
    sources, library, home = course
    publish(sources, library)
    for student in ("sam", "sue"):
        sync(library / "current", home / student)
    # sue works in her copy
    mine = home / "sue" / LESSON / f"{LESSON}.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[-1].source += "\n# my notes"
    nbformat.write(nb, mine)

    edit_title(sources, "(revised)")
    publish(sources, library)
    for student in ("sam", "sue"):
        sync(library / "current", home / student)
    assert "(revised)" in notebook(home / "sam").cells[0].source
    assert "my notes" in notebook(home / "sue").cells[-1].source
    beside = home / "sue" / LESSON / f"{LESSON}.updated.ipynb"
    assert "(revised)" in nbformat.read(beside, as_version=4).cells[0].source
    # the two newest versions stay (a server copying the previous one finishes), no more
    publish(sources, library)
    assert len([p for p in library.glob("v*")]) == 2


def test_a_broken_source_publishes_nothing_and_says_what_is_wrong(course):
    sources, library, _ = course
    first = publish(sources, library)
    path = sources / LESSON / f"{LESSON}.md"
    path.write_text(path.read_text().replace("  level: school", "  level: kindergarten"))
    with pytest.raises(LessonError, match="kindergarten"):
        publish(sources, library)
    assert published(library) == first.resolve()
    assert [p.name for p in library.glob("v*")] == [first.name]


def test_a_source_that_is_not_myst_gets_an_error_not_a_crash(course):
    sources, library, _ = course
    (sources / LESSON / f"{LESSON}.md").write_text("---\nkernelspec: [not, a, mapping\n---\n# x\n")
    with pytest.raises(LessonError):
        publish(sources, library)
    assert published(library) is None


def test_nothing_to_publish_is_refused(tmp_path):
    with pytest.raises(LessonError, match="no masterclass sources"):
        publish(tmp_path / "empty", tmp_path / "library")
    assert json.dumps(page_rows(tmp_path / "empty", tmp_path / "library"), default=str)
