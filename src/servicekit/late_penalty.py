"""A course's rule for late submissions, applied by nbgrader when it autogrades.

nbgrader knows two rules ("none", "zero"); courses here also take a share of the
score per day late, the rule most syllabi state. A course sets it in its
``nbgrader_config.py``::

    c.AssignLatePenalties.plugin_class = "servicekit.late_penalty.CourseLatePenalty"
    c.CourseLatePenalty.rule = "percent-per-day"
    c.CourseLatePenalty.percent_per_day = 10

Lateness is nbgrader's: the submission's timestamp against the assignment's due date
plus the student's extension (``Gradebook.grant_extension``, the formgrader's
deadlines page), so an extension moves the deadline and the penalty with it.
"""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

RULES = ("none", "zero", "percent-per-day")
DAY = 86400.0


def penalty(rule: str, score: float, seconds_late: float, *, percent_per_day: float = 0.0,
            grace_minutes: float = 0.0) -> float:
    """Points taken from ``score`` for a submission ``seconds_late`` after its deadline.

    A day begun counts as a whole day (one minute late is one day late); never more than
    the score itself, never for a submission within the grace period."""
    if rule not in RULES:
        raise ValueError(f"late-penalty rule {rule!r} is not one of {', '.join(RULES)}")
    late = seconds_late - 60.0 * grace_minutes
    if late <= 0 or rule == "none" or score <= 0:
        return 0.0
    if rule == "zero":
        return score
    days = math.ceil(late / DAY)
    return min(score, score * percent_per_day / 100.0 * days)


class CourseLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with the course's rule."""

    rule = Enum(RULES, default_value="none",
                help="none: no penalty; zero: a late notebook scores 0; percent-per-day: "
                     "percent_per_day of the score for each day (begun) late").tag(config=True)
    percent_per_day = Float(10.0, help="Share of the score taken per day late (rule percent-per-day).").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes after the deadline that still count as on time "
                                    "(uploads on a slow school network).").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        points = penalty(self.rule, score, total_seconds_late, percent_per_day=self.percent_per_day,
                         grace_minutes=self.grace_minutes)
        if points:
            self.log.info("%s: %.0f s late, rule %s: %.2f of %.2f points taken", student_id,
                          total_seconds_late, self.rule, points, score)
        return points
