"""Build the student and the teacher notebooks of the masterclass library from its sources.

    python -m servicekit.lessons SOURCES STUDENTS TEACHERS

SOURCES holds one folder per masterclass (``NN-name/``) with one MyST-markdown source in
jupytext's ``myst`` format (``NN-name.md``) and the data files it reads. From each source
two notebooks are written, without outputs:

- the student version into ``STUDENTS/NN-name/NN-name.ipynb``, beside the data files,
  without the cells tagged ``solution`` or ``teacher``; STUDENTS also gets a student
  index page (``index.md``) and nothing else (no sources, no developer notes);
- the teacher version, every cell, into ``TEACHERS/NN-name/`` (with the data too, so it
  runs from its folder). TEACHERS must never be a folder students receive.

A source's ``lesson`` block in the front matter (level, duration, prerequisites, goals)
becomes the "about this lesson" cell under the title. The student index has one section per
track (level): school, then university; a lesson with ``start_here: true`` (a school lesson,
at most one in the library: the Python primer) comes first in its track, marked as the place
to start for students new to Python. Runs at the user image's build
(images/singleuser/Dockerfile); jupytext is imported only here.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

#: cells kept in the teacher version only
TEACHER_ONLY = frozenset({"solution", "teacher"})
#: a cell where the student writes code or a value (kept in both versions)
YOUR_TURN = "your-turn"
LEVELS = {"school": "school, from grade 10", "university": "university"}
#: the index's sections, in this order: one per level
TRACKS = {"school": "School track (from grade 10)", "university": "University track"}
INDEX = "index.md"


class LessonError(ValueError):
    pass


def sources(root: Path) -> list[Path]:
    """The masterclass sources: ``NN-name/*.md`` (one per folder)."""
    return sorted(p for p in root.glob("[0-9][0-9]-*/*.md"))


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def lesson_card(meta: dict) -> str:
    """The "about this lesson" cell from the front matter's ``lesson`` block."""
    missing = {"level", "duration_min", "prerequisites", "goals"} - set(meta)
    if missing:
        raise LessonError(f"the lesson block lacks {', '.join(sorted(missing))}")
    if meta["level"] not in LEVELS:
        raise LessonError(f"level {meta['level']!r} is not one of {', '.join(LEVELS)}")
    if not 3 <= len(meta["goals"]) <= 4:
        raise LessonError("a lesson has 3-4 learning goals")
    if meta.get("start_here", False) not in (True, False):  # a typo such as "yes " would mark nothing
        raise LessonError(f"start_here is true or false, not {meta['start_here']!r}")
    if meta.get("start_here") and meta["level"] != "school":
        raise LessonError("start_here marks a school lesson: students new to Python start there")
    lines = [f"**Level:** {LEVELS[meta['level']]} | **Time:** about {meta['duration_min']} minutes", "",
             "**You need:** " + "; ".join(meta["prerequisites"]), "", "**After this lesson you can:**"]
    lines += [f"- {goal}" for goal in meta["goals"]]
    return "\n".join(lines)


def versions(source: Path):
    """(student, teacher) notebooks built from one source."""
    import jupytext
    import nbformat

    nb = jupytext.read(source, fmt="myst")
    nb.metadata.pop("jupytext", None)  # a built notebook is not paired with its source
    nb.metadata["language_info"] = {"name": "python"}
    cells = list(nb.cells)
    meta = nb.metadata.get("lesson")
    if meta is not None:
        try:
            card = nbformat.v4.new_markdown_cell(lesson_card(meta))
            if not _is_title(cells[0] if cells else {}):
                # a note tagged above the title would take the title into the teachers' cell
                raise LessonError("a lesson starts with its title (# ...) in a cell of its own kind, untagged")
        except LessonError as e:
            raise LessonError(f"{source}: {e}") from None
        cells.insert(1, card)
    built = []
    for keep in (lambda c: not tags(c) & TEACHER_ONLY, lambda c: True):
        out = nbformat.v4.new_notebook(metadata=nb.metadata)
        out.cells = [nbformat.from_dict(dict(c)) for c in cells if keep(c)]
        for i, cell in enumerate(out.cells):  # stable ids: a rebuild changes only what was edited
            cell["id"] = f"cell-{i:02d}"
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.validate(out)
        built.append(out)
    return tuple(built)


def _is_title(cell) -> bool:
    return cell.get("cell_type") == "markdown" and not tags(cell) and cell.get("source", "").startswith("# ")


def title(nb) -> str:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return first.splitlines()[0].lstrip("# ").strip() if first else ""


def index_page(rows: list[tuple[str, str, object]]) -> str:
    """The students' index (rows: link to the notebook, title, lesson block or None): the
    masterclasses without a lesson block first, then one section per track (level) with a
    line per lesson, the ``start_here`` lesson first in its track."""
    lines = ["# Masterclasses", "",
             "Open a folder, then its notebook, and run the cells from the top (Shift+Enter).",
             "Cells marked **Your turn** are yours: write your code or value where the `...` is.",
             "Your edits are kept; when a masterclass changes, the new version arrives beside",
             "yours as `<name>.updated.ipynb`.", ""]
    lines += [f"- [{name}]({link})" for link, name, meta in rows if not meta]
    for level, heading in TRACKS.items():
        # sorted() is stable: after the start_here lesson the others keep the library's order
        track = sorted((r for r in rows if r[2] and r[2]["level"] == level), key=lambda r: not r[2].get("start_here"))
        if not track:
            continue
        lines += ["", f"## {heading}", ""]
        first = [name for _, name, meta in track if meta.get("start_here")]
        if first:
            lines += [f"New to Python? Start with **{first[0]}**: it shows everything the other lessons use.", ""]
        lines += ["| masterclass | time |", "|---|---|"]
        for link, name, meta in track:
            mark = "**Start here:** " if meta.get("start_here") else ""
            lines.append(f"| {mark}[{name}]({link}) | {meta['duration_min']} min |")
    return "\n".join(lines) + "\n"


def _empty_folder(path: Path) -> None:
    if path.exists() and any(path.iterdir()):
        raise LessonError(f"{path} is not empty: the build writes into a new folder only")
    path.mkdir(parents=True, exist_ok=True)


def build(root: Path, students: Path, teachers: Path) -> list[Path]:
    """Write both versions of every source; returns the notebooks written."""
    import nbformat

    _empty_folder(students)
    _empty_folder(teachers)
    written, rows = [], []
    for source in sources(root):
        folder = source.parent.name
        student, teacher = versions(source)
        for out, nb in ((students, student), (teachers, teacher)):
            (out / folder).mkdir()
            for data in source.parent.iterdir():  # the data a notebook reads from its folder
                if data.is_file() and data.suffix not in (".md", ".ipynb") and not data.name.startswith((".", "_")):
                    shutil.copy2(data, out / folder / data.name)
            path = out / folder / f"{source.stem}.ipynb"
            nbformat.write(nb, path)
            written.append(path)
        rows.append((f"{folder}/{source.stem}.ipynb", title(student), student.metadata.get("lesson")))
    starts = [link for link, _, meta in rows if meta and meta.get("start_here")]
    if len(starts) > 1:  # the index can point beginners to one place only
        raise LessonError(f"start_here is set in {len(starts)} lessons ({', '.join(starts)}): one at most")
    (students / INDEX).write_text(index_page(rows))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.lessons", description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path)
    parser.add_argument("students", type=Path)
    parser.add_argument("teachers", type=Path)
    args = parser.parse_args(argv)
    try:
        written = build(args.sources, args.students, args.teachers)
    except LessonError as e:
        print(f"lessons: {e}", file=sys.stderr)
        return 1
    print(f"lessons: {len(written) // 2} masterclasses, student and teacher versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
