"""servicekit.lessons: one MyST source gives a student and a teacher notebook; students get
no solution or teacher cells, no sources and a student index page; the masterclasses
converted to the lesson template have its parts (level, duration, goals, checked exercises).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from servicekit import lessons

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.masterclasses import LESSONS, LIBRARY, built_library  # noqa: E402

SOURCE = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
lesson:
  level: school
  duration_min: 45
  prerequisites: [fractions]
  goals: [one, two, three]
---

# 1. A lesson

+++ {"tags": ["teacher"]}

Teacher note: students forget the units.

```{code-cell}
:tags: [your-turn]

x = ...
```

```{code-cell}
:tags: [solution]

x = 2
```

```{code-cell}
print(x)
```
'''


@pytest.fixture
def library(tmp_path):
    src = tmp_path / "src"
    (src / "01-a-lesson").mkdir(parents=True)
    (src / "01-a-lesson" / "01-a-lesson.md").write_text(SOURCE)
    (src / "01-a-lesson" / "points.csv").write_text("a,b\n1,2\n")
    (src / "README.md").write_text("for developers\n")
    (src / "_helper.py").write_text("")
    return src


def test_student_and_teacher_versions_from_one_source(library, tmp_path):
    students, teachers = tmp_path / "students", tmp_path / "teachers"
    lessons.build(library, students, teachers)
    student = nbformat.read(students / "01-a-lesson" / "01-a-lesson.ipynb", as_version=4)
    teacher = nbformat.read(teachers / "01-a-lesson" / "01-a-lesson.ipynb", as_version=4)
    assert [c.source for c in student.cells][2:] == ["x = ...", "print(x)"]
    assert [c.source for c in teacher.cells][2:] == ["Teacher note: students forget the units.", "x = ...", "x = 2",
                                                     "print(x)"]
    # the lesson block becomes the card under the title, in both versions
    assert student.cells[1].source.startswith("**Level:** school, from grade 10 | **Time:** about 45 minutes")
    assert "- three" in teacher.cells[1].source
    assert [c.id for c in student.cells] == [f"cell-{i:02d}" for i in range(4)]
    assert "jupytext" not in student.metadata
    # students get the notebook, its data and their index page: no source, no developer notes
    assert sorted(p.relative_to(students).as_posix() for p in students.rglob("*")) == [
        "01-a-lesson", "01-a-lesson/01-a-lesson.ipynb", "01-a-lesson/points.csv", "index.md"]
    assert "| [1. A lesson](01-a-lesson/01-a-lesson.ipynb) | 45 min |" in (students / "index.md").read_text()
    assert (teachers / "01-a-lesson" / "points.csv").exists()


def test_the_build_writes_into_new_folders_only(library, tmp_path):
    (tmp_path / "students").mkdir()
    (tmp_path / "students" / "mine.ipynb").write_text("{}")
    with pytest.raises(lessons.LessonError, match="not empty"):
        lessons.build(library, tmp_path / "students", tmp_path / "teachers")


@pytest.mark.parametrize("change, broken, message", [
    ("  goals: [one, two, three]", "  goals: [one]", "3-4 learning goals"),
    ("  level: school", "  level: college", "level 'college'"),
    ("  duration_min: 45", "", "lacks duration_min"),
    ("  level: school", "  level: school\n  start_here: yes please", "start_here is true or false"),
    ("  level: school", "  level: university\n  start_here: true", "start_here marks a school lesson"),
    # a teacher's note above the title: the title would vanish from the student version
    ("---\n\n# 1. A lesson", '---\n\n+++ {"tags": ["teacher"]}\n\nnote\n\n# 1. A lesson', "starts with its title")])
def test_a_lesson_without_the_templates_parts_stops_the_build(library, tmp_path, change, broken, message):
    source = library / "01-a-lesson" / "01-a-lesson.md"
    assert change in SOURCE
    source.write_text(SOURCE.replace(change, broken))
    assert lessons.main([str(library), str(tmp_path / "s"), str(tmp_path / "t")]) == 1
    with pytest.raises(lessons.LessonError, match=message):
        lessons.build(library, tmp_path / "s2", tmp_path / "t2")


def _add_lesson(library, folder, title, level, extra=""):
    (library / folder).mkdir()
    text = SOURCE.replace("# 1. A lesson", f"# {title}").replace("  level: school", f"  level: {level}{extra}")
    (library / folder / f"{folder}.md").write_text(text)


def test_the_index_has_a_school_and_a_university_track_and_the_primer_first(library, tmp_path):
    _add_lesson(library, "00-welcome", "Welcome", "school")
    welcome = library / "00-welcome" / "00-welcome.md"  # no lesson block: listed above the tracks
    welcome.write_text(re.sub(r"lesson:\n(  .*\n)+", "", welcome.read_text()))
    _add_lesson(library, "02-a-hard-one", "2. A hard one", "university")
    _add_lesson(library, "03-the-primer", "3. The primer", "school", "\n  start_here: true")
    lessons.build(library, tmp_path / "s", tmp_path / "t")
    index = (tmp_path / "s" / "index.md").read_text()
    lines = index.splitlines()
    school, university = lines.index("## School track (from grade 10)"), lines.index("## University track")
    assert lines.index("- [Welcome](00-welcome/00-welcome.ipynb)") < school < university
    # the primer leads the school track although its folder comes later; the others keep their order
    rows = [x for x in lines if x.startswith("| ") and "](" in x]
    assert rows == ["| **Start here:** [3. The primer](03-the-primer/03-the-primer.ipynb) | 45 min |",
                    "| [1. A lesson](01-a-lesson/01-a-lesson.ipynb) | 45 min |",
                    "| [2. A hard one](02-a-hard-one/02-a-hard-one.ipynb) | 45 min |"]
    assert school < lines.index(rows[1]) < university < lines.index(rows[2])
    assert "New to Python? Start with **3. The primer**" in "\n".join(lines[school:university])
    # no start_here lesson: no marker, and a track without lessons has no section
    (library / "03-the-primer" / "03-the-primer.md").unlink()
    (library / "02-a-hard-one" / "02-a-hard-one.md").unlink()
    lessons.build(library, tmp_path / "s2", tmp_path / "t2")
    index = (tmp_path / "s2" / "index.md").read_text()
    assert "Start here" not in index and "New to Python" not in index and "University track" not in index


def test_only_one_lesson_is_the_place_to_start(library, tmp_path):
    _add_lesson(library, "02-a-primer", "2. A primer", "school", "\n  start_here: true")
    _add_lesson(library, "03-another-primer", "3. Another primer", "school", "\n  start_here: true")
    with pytest.raises(lessons.LessonError, match="start_here is set in 2 lessons"):
        lessons.build(library, tmp_path / "s", tmp_path / "t")


def test_the_librarys_index_starts_the_school_track_with_the_python_primer():
    students, _ = built_library()
    lines = (students / "index.md").read_text().splitlines()
    school = lines.index("## School track (from grade 10)")
    first_row = next(x for x in lines[school:] if x.startswith("| ") and "](" in x)
    assert first_row.startswith("| **Start here:** [11. ") and "(11-python-primer/11-python-primer.ipynb)" in first_row
    for track, level in (("## School track (from grade 10)", "school"), ("## University track", "university")):
        start = lines.index(track)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        listed = sorted(re.findall(r"\]\((\d\d-[^/]+)/", "\n".join(lines[start:end])))
        assert listed == sorted(n for n in LESSONS if _level(n) == level), track


def _level(name: str) -> str:
    import jupytext

    return jupytext.read(LIBRARY / name / f"{name}.md", fmt="myst").metadata["lesson"]["level"]


def test_the_library_builds_and_students_get_no_solutions():
    students, teachers = built_library()
    sources = lessons.sources(LIBRARY)
    assert len(sources) >= 11
    for source in sources:
        rel = f"{source.parent.name}/{source.stem}.ipynb"
        student = nbformat.read(students / rel, as_version=4)
        teacher = nbformat.read(teachers / rel, as_version=4)
        assert not any(lessons.tags(c) & lessons.TEACHER_ONLY for c in student.cells), rel
        assert len(teacher.cells) >= len(student.cells)
    assert [p.relative_to(students).as_posix() for p in students.rglob("*.md")] == ["index.md"]
    assert not list(students.rglob("*.py")) and not (students / "README.md").exists()
    assert (students / "06-the-knee" / "published_spectra.csv").exists()


def test_the_published_points_beside_the_notebooks_are_the_reference():
    reference = ROOT.parent / "shared" / "reference" / "published_spectra.csv"
    if not reference.exists():
        pytest.skip("no ../shared/reference beside this checkout")
    copies = sorted(LIBRARY.glob("*/published_spectra.csv"))
    assert copies and all(c.read_bytes() == reference.read_bytes() for c in copies), copies


def _placeholder_names(cell) -> list[str]:
    return re.findall(r"^(\w+) = \.\.\.", cell.source, flags=re.M)


@pytest.mark.parametrize("name", LESSONS)
def test_a_converted_masterclass_has_the_lesson_template(name):
    import jupytext

    nb = jupytext.read(LIBRARY / name / f"{name}.md", fmt="myst")
    meta = nb.metadata["lesson"]
    lessons.lesson_card(meta)  # level, duration, prerequisites, 3-4 goals
    student, _ = lessons.versions(LIBRARY / name / f"{name}.md")
    assert student.cells[0].source.startswith("# ") and student.cells[1].source.startswith("**Level:**")
    assert meta["level"] in lessons.LEVELS and meta["duration_min"] > 0 and meta["prerequisites"]
    cells = nb.cells
    exercises = [i for i, c in enumerate(cells) if c.cell_type == "code" and lessons.YOUR_TURN in lessons.tags(c)]
    assert len(exercises) >= 2, name
    for i in exercises:
        (var,) = _placeholder_names(cells[i])  # the scaffold leaves one value to the student
        rest = cells[i + 1:]
        solution = next(c for c in rest if "solution" in lessons.tags(c))
        assert re.search(rf"^{var} = ", solution.source, flags=re.M), (name, var)
        # checked on the student's own value, in a cell the students have too
        assert any(re.search(rf"mc\.answer\([^,]+, {var},", c.source) and not lessons.tags(c) & lessons.TEACHER_ONLY
                   for c in rest), (name, var)
    assert any("teacher" in lessons.tags(c) for c in cells)
    text = "\n".join(c.source for c in cells)
    assert "## What you learned" in text and "**Next:**" in text and "mc.check(" in text


def result_checks(source: str) -> list[str]:
    """The text of every ``mc.check(...)`` call in a masterclass source."""
    calls = []
    for start in (m.start() for m in re.finditer(r"mc\.check\(", source)):
        depth = 0
        for end in range(start + len("mc.check"), len(source)):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            if depth == 0:
                calls.append(source[start:end + 1])
                break
    return calls


@pytest.mark.parametrize("source", sorted(LIBRARY.glob("*/*.md")), ids=lambda p: p.parent.name)
def test_a_closure_test_does_not_print_its_reference_as_published(source):
    for call in result_checks(source.read_text()):
        if "closure test" in call:
            against = re.search(r'against="([^"]+)"', call)
            assert against and against.group(1) != "published", f"{source.name}: {call[:80]}"
