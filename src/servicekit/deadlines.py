"""The formgrader's deadlines page: due dates, who was late, extensions in two clicks,
and the per-question grades CSV (servicekit.grade_export).

A Jupyter server extension of the course's formgrader (servicekit.server_roles turns
it on there): ``<formgrader>/deadlines``. nbgrader keeps the due dates (set them in
Manage Assignments) and the extensions (``SubmittedAssignment.extension``); this page
writes the extension and at once recomputes the late penalty of that submission with
the course's own rule (the plugin autograding uses, servicekit.late_penalty), so the
score the teacher sees is the score the student gets. nbgrader keeps an extension on a
submission: a student appears here once their submission is collected.
"""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from jupyter_server.utils import url_path_join
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from tornado import web

from .grade_export import write_csv

TEMPLATE = Path(__file__).with_name("templates") / "deadlines.html"
# The extensions a teacher gives most, one click each; "none" takes it back.
EXTENSION_CHOICES = {"1 day": timedelta(days=1), "3 days": timedelta(days=3), "1 week": timedelta(weeks=1),
                     "none": timedelta(0)}


def late_penalty_plugin(config):
    """The course's late-submission plugin, configured as autograding configures it."""
    return AssignLatePenalties(config=config).plugin_class(config=config)


def grant_extension(gradebook: Gradebook, assignment: str, student: str, extension: timedelta, plugin) -> float:
    """Give ``student`` ``extension`` on ``assignment`` (0: none) and reassess the late
    penalty of each of its notebooks; returns the submission's new total penalty."""
    submission = gradebook.find_submission(assignment, student)
    submission.extension = extension or None
    gradebook.db.commit()
    late = submission.total_seconds_late
    total = 0.0
    for notebook in submission.notebooks:
        points = plugin.late_submission_penalty(student, notebook.score, late) if late else 0.0
        notebook.late_submission_penalty = max(0.0, min(points or 0.0, notebook.score))
        total += notebook.late_submission_penalty
    gradebook.db.commit()
    return total


def overview(gradebook: Gradebook) -> list[dict]:
    """Per assignment: its due date and its collected submissions with lateness and extension."""
    out = []
    for assignment in gradebook.assignments:
        rows = []
        for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
            rows.append({"student": submission.student.id, "timestamp": submission.timestamp,
                         "hours_late": submission.total_seconds_late / 3600,
                         "extension_days": submission.extension.total_seconds() / 86400 if submission.extension else 0,
                         "score": submission.score, "penalty": submission.late_submission_penalty or 0.0,
                         "max_score": submission.max_score})
        out.append({"name": assignment.name, "duedate": assignment.duedate, "submissions": rows})
    return out


class _CourseMixin:
    """Shared by the page's handlers (on JupyterHandler): the course's gradebook, read
    afresh each request (autograding writes it from other processes)."""

    def _coursedir(self):
        formgrader = self.settings.get("nbgrader_formgrader")
        if formgrader is None:
            raise web.HTTPError(503, "nbgrader's formgrader is not loaded in this server: the deadlines page "
                                     "needs its gradebook (ASTROHUB_SERVER_ROLE=formgrader)")
        return formgrader.coursedir

    def gradebook(self) -> Gradebook:
        coursedir = self._coursedir()
        return Gradebook(coursedir.db_url, coursedir.course_id)

    def page_url(self) -> str:
        return url_path_join(self.base_url, "deadlines")

    def page(self, notice: str) -> str:
        import jinja2

        with self.gradebook() as gb:
            assignments = overview(gb)
        template = jinja2.Template(TEMPLATE.read_text(), autoescape=True)
        return template.render(assignments=assignments, choices=list(EXTENSION_CHOICES),
                               base=self.page_url(), xsrf=self.xsrf_form_html(),
                               notice=notice)

    def course_config(self):
        coursedir = self._coursedir()
        coursedir.parent.load_config_file()  # the teacher may have changed the rule since the start
        return coursedir.parent.config


def _handlers(serverapp):
    from jupyter_server.base.handlers import JupyterHandler

    class Page(_CourseMixin, JupyterHandler):
        @web.authenticated
        def get(self):
            self.finish(self.page(self.get_argument("notice", "")))

    class Extension(_CourseMixin, JupyterHandler):
        @web.authenticated
        def post(self):
            assignment, student = self.get_body_argument("assignment"), self.get_body_argument("student")
            choice = self.get_body_argument("extension")
            if choice not in EXTENSION_CHOICES:
                raise web.HTTPError(400, f"extension must be one of {', '.join(EXTENSION_CHOICES)}")
            plugin = late_penalty_plugin(self.course_config())
            with self.gradebook() as gb:
                try:
                    penalty = grant_extension(gb, assignment, student, EXTENSION_CHOICES[choice], plugin)
                except MissingEntry:
                    # The page again, saying why: the teacher clicked in a browser.
                    self.set_status(404)
                    return self.finish(self.page(f"{student} has no collected submission of {assignment}: "
                                                 "collect it first (Manage Assignments), then give the extension"))
            self.log.info("deadlines: %s gave %s an extension of %s on %s (penalty now %.2f)",
                          self.current_user.username, student, choice, assignment, penalty)
            notice = f"{student}: extension {choice} on {assignment}; late penalty now {penalty:g} points"
            self.redirect(self.page_url() + "?" + urlencode({"notice": notice}))

    class GradesCsv(_CourseMixin, JupyterHandler):
        @web.authenticated
        def get(self):
            buf = io.StringIO()
            with self.gradebook() as gb:
                write_csv(gb, buf)
            course = self._coursedir().course_id or "course"
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header("Content-Disposition", f'attachment; filename="{course}-grades-per-question.csv"')
            self.finish(buf.getvalue())

    base = serverapp.web_app.settings["base_url"]
    return [(url_path_join(base, "deadlines"), Page),
            (url_path_join(base, "deadlines", "extension"), Extension),
            (url_path_join(base, "deadlines", "grades.csv"), GradesCsv)]


def _jupyter_server_extension_points():
    return [{"module": "servicekit.deadlines"}]


def _load_jupyter_server_extension(serverapp):
    serverapp.web_app.add_handlers(".*$", _handlers(serverapp))
