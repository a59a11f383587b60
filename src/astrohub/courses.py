"""Courses on the hub: the nbgrader exchange and one formgrader per course.

The ``courses`` setting (``course:teacher_group[:student_group]``, see
astrohub.settings) names the courses. For them the stack gets, next to
swarm/stack.yml, a generated compose file (``stack_overlay``) with

- ``ngshare``: the exchange (ngshare behind servicekit.exchange_gate), one for all
  courses, its database and files on the volume ``ngshare-data``;
- ``formgrader-<course>``: the course's formgrader, a hub service named after the
  course at /services/<course>/, its home the volume ``course-<course>``
  (source, release, submitted, autograded, feedback and the gradebook).

Both are external hub services: the hub knows their tokens (``service_token``,
derived from the crypt key, so the hub config stays a pure function of the
settings) and the services get them as docker secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .settings import Settings

EXCHANGE = "ngshare"
EXCHANGE_PORT = 10101
FORMGRADER_PORT = 8888
# The exchange's route on the proxy; the URL is what services on the backend network call.
EXCHANGE_PATH = f"/services/{EXCHANGE}"
EXCHANGE_URL = f"http://{EXCHANGE}:{EXCHANGE_PORT}{EXCHANGE_PATH}"
HUB_API = "http://hub:8081/hub/api"
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


def _service_env(settings: Settings, name: str, port: int) -> dict[str, str]:
    """What the hub gives a service it runs itself, for a service Swarm runs."""
    return {
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_SERVICE_PREFIX": f"/services/{name}/",
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{port}",
        "JUPYTERHUB_API_URL": HUB_API,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"/services/{name}/oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([f"access:services!service={name}"]),
        "JUPYTERHUB_OAUTH_SCOPES": json.dumps([f"access:services!service={name}"]),
        "JUPYTERHUB_PUBLIC_URL": settings.public_url,
        "JUPYTERHUB_API_TOKEN_FILE": "/run/secrets/service_token",
    }


def stack_overlay(settings: Settings) -> dict:
    """The compose file of the exchange and the formgraders (empty without courses)."""
    courses = course_ids(settings)
    if not courses:
        return {}
    tag = settings.image_tag
    # Course volumes are local to one node: the services stay on the manager.
    dnsrr = {"endpoint_mode": "dnsrr", "placement": {"constraints": ["node.role == manager"]}}

    def secret(service):
        return [{"source": f"{service}_token", "target": "service_token", "uid": "1000", "mode": 0o400}]

    services = {
        EXCHANGE: {
            "image": f"{settings.image_prefix}astrohub/ngshare:{tag}",
            "networks": ["backend"],
            "volumes": ["ngshare-data:/srv/ngshare"],
            "environment": {**_service_env(settings, EXCHANGE, EXCHANGE_PORT),
                            "EXCHANGE_COURSES": ",".join(courses),
                            "EXCHANGE_MAX_UPLOAD_MB": str(settings.exchange_max_upload_mb),
                            "EXCHANGE_COURSE_QUOTA_MB": str(settings.exchange_course_quota_mb)},
            "secrets": secret(EXCHANGE),
            "deploy": {**dnsrr, "resources": {"limits": {"memory": "512M"}}},
        }
    }
    volumes = {"ngshare-data": {}}
    for course in courses:
        services[f"formgrader-{course}"] = {
            # Its own image: only this course's sources (astrohub.images.course_images).
            "image": f"{settings.image_prefix}astrohub/formgrader-{course}:{tag}",
            "networks": ["backend"],
            # Root at start sets the autograding sandbox's firewall (images/formgrader/start-formgrader).
            "cap_add": ["NET_ADMIN"],
            "volumes": [f"course-{course}:/home/jovyan"],
            "environment": {**_service_env(settings, course, FORMGRADER_PORT),
                            "ASTROHUB_COURSE": course, "ASTROHUB_EXCHANGE_URL": EXCHANGE_URL},
            "secrets": secret(course),
            "deploy": {**dnsrr, "resources": {"limits": {"memory": settings.mem_limit}}},
        }
        volumes[f"course-{course}"] = {}
    secrets = {f"{s}_token": {"external": True, "name": secret_name(settings, s)} for s in [EXCHANGE, *courses]}
    return {"version": "3.8", "services": services, "volumes": volumes, "secrets": secrets}


def write_overlay(settings: Settings, state_dir: Path, docker) -> Path | None:
    """Create the services' token secrets and write the overlay; None without courses.

    ``docker`` is astrohub.deploy.docker (run a docker command, raise on failure).
    """
    overlay = stack_overlay(settings)
    if not overlay:
        return None
    existing = set(docker("secret", "ls", "--format", "{{.Name}}").stdout.split())
    for service in [EXCHANGE, *course_ids(settings)]:
        name = secret_name(settings, service)
        token = service_token(settings, service)
        if token is None:
            raise ValueError("the crypt key is needed to make the course services' tokens")
        if name not in existing:
            docker("secret", "create", name, "-", input=token)
    path = state_dir / "courses.stack.json"  # JSON is YAML: docker stack deploy reads it
    path.write_text(json.dumps(overlay, indent=1))
    return path
