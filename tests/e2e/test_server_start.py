"""What a user server loads when the hub starts it (issue 22, start cost).

Not timed: the test looks inside the running server process. The modules behind
the slow import (rfc3987_syntax and its parser generator lark) must not be
loaded: the process's memory is searched for their module names
(tests.support.server_memory); the names of modules every server loads are the
control that the search sees the interpreter's modules at all. And a student's
server must not serve nbgrader's formgrader while a teacher's does: asked over
HTTP, since nbgrader's assignment list imports the formgrader's modules without
loading the extension.
"""

from __future__ import annotations

import pytest

from astrohub.deploy import docker
from tests.support import server_memory

STUDENT, TEACHER = "lise", "cecilia"
# A teacher is a member of a course's formgrade-<course> group (AstroSwarmSpawner.is_teacher).
TEACHERS = "formgrade-astro201"
# Module names as they exist in memory only once imported (submodules: jsonschema
# names the package in code that merely tries to import it).
SLOW_IMPORT = ["rfc3987_syntax.syntax_helpers", "lark.lark", "lark.parser_frontends"]
EVERY_SERVER = ["jupyter_server.serverapp", "jupyter_events.logger", "jsonschema._format"]

def server_container(service: str) -> str:
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}").stdout.split()
    assert len(ids) == 1, f"expected one running container of {service}, found {ids}"
    return ids[0]


def modules_in_server(stack, user: str, names: list[str]) -> set[str]:
    return server_memory.modules_in(server_container(f"{stack.name}-user-{user}"), names)


@pytest.fixture(scope="module")
def servers(stack, hub):
    hub.create_user(STUDENT)
    hub.create_user(TEACHER)
    assert hub.api("POST", f"/groups/{TEACHERS}").status_code in (201, 409)
    r = hub.api("POST", f"/groups/{TEACHERS}/users", json={"users": [TEACHER]})
    assert r.status_code == 200, r.text
    for user in (STUDENT, TEACHER):
        hub.start(user, timeout=300)
    yield
    for user in (STUDENT, TEACHER):
        hub.stop(user)


@pytest.mark.parametrize("user", [STUDENT, TEACHER])
def test_the_slow_import_is_not_loaded(stack, servers, user):
    found = modules_in_server(stack, user, SLOW_IMPORT + EVERY_SERVER)
    assert set(EVERY_SERVER) <= found, f"the search did not see the server's own modules: {found}"
    assert not found & set(SLOW_IMPORT), f"loaded in the server of {user}: {found & set(SLOW_IMPORT)}"


def test_only_the_teacher_loads_the_formgrader(hub, servers):
    assert hub.server("GET", STUDENT, "/formgrader").status_code == 404
    assert hub.server("GET", TEACHER, "/formgrader").status_code != 404


def test_the_student_keeps_the_assignment_list(hub, servers):
    # nbgrader's fetch/submit panel asks its server for the assignments.
    assert hub.server("GET", STUDENT, "/assignments").status_code != 404
