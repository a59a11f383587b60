"""What a user server loads when the hub starts it (issue 22, start cost).

Not timed: the test looks inside the running server process. The modules behind
the slow import (rfc3987_syntax and its parser generator lark) must not be
loaded: the process's memory is searched for their module names (a `docker exec`
into the task's container as the server's own user reads /proc/<pid>/mem); the
names of modules every server loads are the control that the search sees the
interpreter's modules at all. And a student's server must not serve nbgrader's
formgrader while a teacher's does: asked over HTTP, since nbgrader's
assignment list imports the formgrader's modules without loading the extension.
"""

from __future__ import annotations

import pytest

from astrohub.deploy import docker

STUDENT, TEACHER = "lise", "cecilia"
# A teacher is a member of a course's formgrade-<course> group (AstroSwarmSpawner.is_teacher).
TEACHERS = "formgrade-astro201"
# Module names as they exist in memory only once imported: the submodules of the
# packages (a package name alone also appears in code that merely tries to import it,
# as jsonschema does, and in the server's list of disabled extensions).
SLOW_IMPORT = ["rfc3987_syntax.syntax_helpers", "lark.lark", "lark.parser_frontends"]
EVERY_SERVER = ["jupyter_server.serverapp", "jupyter_events.logger", "jsonschema._format"]

SCAN = r"""
import os, sys
needles = [n.encode() for n in sys.argv[1:]]
def argv(pid):
    return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
# The Python process running the server (not tini, not this scan).
servers = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()
           and b"python" in argv(p)[0] and any(a.endswith(b"bin/jupyterhub-singleuser") for a in argv(p))]
if len(servers) != 1:
    sys.exit(f"expected one jupyterhub-singleuser process in this container, found {servers}")
server = servers[0]
found = set()
with open(f"/proc/{server}/maps") as maps, open(f"/proc/{server}/mem", "rb", 0) as mem:
    for line in maps:
        span, perms = line.split()[:2]
        if not perms.startswith("r"):
            continue
        start, end = (int(a, 16) for a in span.split("-"))
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, OverflowError, ValueError):  # [vvar], [vsyscall]: not readable
            continue
        found.update(n for n in needles if n in data)
print("\n".join(sorted(n.decode() for n in found)))
"""


def server_container(service: str) -> str:
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}").stdout.split()
    assert len(ids) == 1, f"expected one running container of {service}, found {ids}"
    return ids[0]


def modules_in_server(stack, user: str, names: list[str]) -> set[str]:
    container = server_container(f"{stack.name}-user-{user}")
    result = docker("exec", container, "python", "-c", SCAN, *names)
    return set(result.stdout.split())


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
