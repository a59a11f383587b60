"""A course's grades as one CSV, a row per student, assignment and question.

For schools without an LMS link: a spreadsheet sums ``points`` per student and
assignment to the score in the gradebook (a late penalty is a row of its own, with
negative points). Students on the roster who submitted nothing get their questions
at 0 points, marked ``not submitted``, so the sheet shows every student.

The formgrader's deadlines page offers it as a download; from a terminal::

    nbgrader export --exporter servicekit.grade_export.PerQuestionCsv --to grades.csv
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

COLUMNS = ("assignment", "duedate", "student_id", "last_name", "first_name", "email", "timestamp",
           "seconds_late", "extension_hours", "notebook", "question", "points", "max_points", "status")
LATE_PENALTY = "late penalty"


def _question_status(grade) -> str:
    return "needs manual grading" if grade.needs_manual_grade else "graded"


def rows(gradebook: Gradebook, *, assignments=(), students=()) -> Iterator[dict]:
    """The CSV's rows, in gradebook order (assignments, then students, notebooks, cells)."""
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            base = {"assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
                    "last_name": student.last_name or "", "first_name": student.first_name or "",
                    "email": student.email or ""}
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                for notebook in assignment.notebooks:
                    for cell in (*notebook.grade_cells, *notebook.task_cells):
                        yield {**base, "timestamp": "", "seconds_late": 0, "extension_hours": "",
                               "notebook": notebook.name, "question": cell.name, "points": 0.0,
                               "max_points": cell.max_score, "status": "not submitted"}
                continue
            extension = submission.extension.total_seconds() / 3600 if submission.extension else ""
            base.update(timestamp=submission.timestamp or "", seconds_late=round(submission.total_seconds_late),
                        extension_hours=extension)
            for notebook in submission.notebooks:
                for grade in sorted(notebook.grades, key=lambda g: g.name):
                    yield {**base, "notebook": notebook.name, "question": grade.name,
                           "points": grade.score or 0.0, "max_points": grade.max_score,
                           "status": _question_status(grade)}
                if notebook.late_submission_penalty:
                    yield {**base, "notebook": notebook.name, "question": LATE_PENALTY,
                           "points": -notebook.late_submission_penalty, "max_points": 0.0, "status": "late"}


def write_csv(gradebook: Gradebook, out: io.TextIOBase, **select) -> int:
    """Write the CSV to ``out``; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows(gradebook, **select):
        writer.writerow(row)
        n += 1
    return n


class PerQuestionCsv(ExportPlugin):
    """``nbgrader export --exporter servicekit.grade_export.PerQuestionCsv``."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades-per-question.csv"
        with open(dest, "w", newline="") as fh:
            n = write_csv(gradebook, fh, assignments=[str(a) for a in self.assignment],
                          students=[str(s) for s in self.student])
        self.log.info("wrote %d rows to %s", n, dest)
