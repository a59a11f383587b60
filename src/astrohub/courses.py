"""Courses on the hub: the ``courses`` setting, course groups and roles, service tokens.

The ``courses`` setting (``course:teacher_group[:student_group]``, see
astrohub.settings) names the courses. For them the stack runs (astrohub.topology)

- ``ngshare``: the exchange (ngshare behind servicekit.exchange_gate), one for all
  courses, its database and files on the volume ``ngshare-data``;
- ``formgrader-<course>``: the course's formgrader, a hub service named after the
  course at /services/<course>/, its home the volume ``course-<course>``
  (source, release, submitted, autograded, feedback and the gradebook).

Both are external hub services: the hub knows their tokens (``service_token``,
derived from the crypt key, so the hub config stays a pure function of the
settings) and the services get them as docker secrets (``secret_name``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Iterable

from .settings import Settings

EXCHANGE = "ngshare"
# Hub names the course ids may not take: they are services already.
RESERVED = {EXCHANGE, "ops", "datacentre", "dashboards"}


@dataclass(frozen=True)
class Course:
    name: str
    teacher_group: str
    student_group: str | None = None


def course_list(settings: Settings) -> list[Course]:
    """The ``courses`` setting as Course entries (checked by astrohub.settings); the one
    place that reads its ``course:teacher_group[:student_group]`` entries."""
    out = []
    for entry in settings.courses:
        name, teacher, *student = entry.split(":")
        out.append(Course(name, teacher, student[0] if student else None))
    return out


def course_teachers(settings: Settings) -> dict[str, str]:
    """{course: teacher group}, e.g. {"astro101": "teachers-astro101"}.

    Members of the teacher group are also in the hub groups ``formgrade-<course>``
    and ``nbgrader-<course>`` (nbgrader's own convention), which is what a
    formgrader service should check.
    """
    return {c.name: c.teacher_group for c in course_list(settings)}


def course_groups(groups: Iterable[str], course_list: Iterable[Course]) -> set[str]:
    """The nbgrader course groups that follow from a user's provider groups."""
    groups = set(groups)
    derived = set()
    for c in course_list:
        if c.teacher_group in groups:
            derived |= {f"formgrade-{c.name}", f"nbgrader-{c.name}"}
        if c.student_group and c.student_group in groups:
            derived.add(f"nbgrader-{c.name}")
    return derived


def course_roles(course_list: Iterable[Course]) -> list[dict]:
    """Roles of the course groups: a course's teachers reach its formgrader
    service (named after the course) and see who is enrolled."""
    roles = []
    for c in course_list:
        roles.append({
            "name": f"formgrade-{c.name}",
            "description": f"teachers of {c.name}: its formgrader and its students",
            "groups": [f"formgrade-{c.name}"],
            "scopes": [
                f"access:services!service={c.name}",
                f"read:users!group=nbgrader-{c.name}",
                f"read:groups!group=nbgrader-{c.name}",
                "list:services",
            ],
        })
        if c.student_group:
            # Course staff help in their students' servers (open them, start one that is
            # stopped), scoped to the course's student group, never beyond it: no hub
            # admin. Each visit is logged by the student's server (servicekit.visitors).
            roles.append({
                "name": f"course-staff-{c.name}",
                "description": f"teachers of {c.name} open and start the servers of its students",
                "groups": [f"formgrade-{c.name}"],
                "scopes": [f"access:servers!group={c.student_group}", f"servers!group={c.student_group}",
                           f"read:users!group={c.student_group}", f"list:users!group={c.student_group}"],
            })
    return roles


def course_ids(settings: Settings) -> list[str]:
    """Course ids of the ``courses`` setting, in order."""
    ids = [c.name for c in course_list(settings)]
    clash = sorted(set(ids) & RESERVED)
    if clash:
        raise ValueError(f"course ids {clash} are names of hub services; rename the course in ASTROHUB_COURSES")
    return ids


def service_token(settings: Settings, service: str) -> str | None:
    """The API token of a course service, derived from the crypt key (None without it)."""
    if not settings.crypt_key:
        return None
    return hmac.new(bytes.fromhex(settings.crypt_key), f"service-token:{service}".encode(), hashlib.sha256).hexdigest()


def secret_name(settings: Settings, service: str) -> str:
    return f"{settings.stack_name}_service_{service}_token"
