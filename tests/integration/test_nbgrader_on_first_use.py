"""A student's server loads nbgrader at the first use of its Assignments tab or
Validate button, not at start (issue 22, start cost; servicekit.nbgrader_on_first_use).

The real user image runs `jupyter server` as a student's server (the role and
the URL prefix the spawner sets) in a container of its own. Until a request asks for nbgrader, the
server process holds none of nbgrader's modules (tests.support.server_memory);
then the assignment list, fetch and validate answer as nbgrader answers, and the
same modules are found in memory: the control that the search would see them.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time

import pytest
import requests

from astrohub import settings
from servicekit.server_roles import ROLE_VARIABLE
from tests.support import needs, server_memory

IMAGE = f"astrohub/singleuser:{os.environ.get('ASTROHUB_IMAGE_TAG', settings.VERSION)}"
PORT = 8888
# Under the hub, a server is served under the user's prefix.
BASE_URL = "/user/lise/"
# Imported by nbgrader's student extensions alone (its database layer, its handlers).
NBGRADER = ["nbgrader.server_extensions.assignment_list.handlers", "nbgrader.api", "sqlalchemy.orm.session"]
EVERY_SERVER = ["jupyter_server.serverapp", "jupyter_events.logger"]
NOTEBOOK = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "5 * 4"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


class Server:
    def __init__(self, container: str, url: str, token: str):
        self.container, self.url = container, url
        self.headers = {"Authorization": f"token {token}"}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(f"{self.url}/{path}", headers=self.headers, timeout=60, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(f"{self.url}/{path}", headers=self.headers, timeout=60, **kw)

    def put(self, path: str, **kw) -> requests.Response:
        return requests.put(f"{self.url}/{path}", headers=self.headers, timeout=60, **kw)

    def modules(self, names: list[str]) -> set[str]:
        return server_memory.modules_in(self.container, names, command="jupyter_server")

    def log(self) -> str:
        return subprocess.run(["docker", "logs", self.container], capture_output=True, text=True).stderr


@pytest.fixture(scope="module")
def student_server():
    needs.docker_image(IMAGE)
    token = secrets.token_hex(16)
    container = subprocess.run(
        ["docker", "run", "-d", "--rm", "--label", "astrohub.test=nbgrader_on_first_use",
         "-e", f"{ROLE_VARIABLE}=student", IMAGE,
         "python", "-m", "jupyter_server", "--ip=0.0.0.0", f"--port={PORT}", "--no-browser",
         f"--ServerApp.base_url={BASE_URL}", f"--IdentityProvider.token={token}"],
        capture_output=True, text=True, check=True).stdout.strip()
    try:
        ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             container], capture_output=True, text=True, check=True).stdout.strip()
        server = Server(container, f"http://{ip}:{PORT}{BASE_URL.rstrip('/')}", token)
        deadline = time.monotonic() + 120
        while True:
            try:
                if server.get("api").ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"the server did not answer /api:\n{server.log()[-3000:]}"
            time.sleep(0.2)
        yield server
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def test_nbgrader_is_not_loaded_at_start(student_server):
    found = student_server.modules(NBGRADER + EVERY_SERVER)
    assert set(EVERY_SERVER) <= found, f"the search did not see the server's own modules: {found}"
    assert not found & set(NBGRADER), f"loaded at start: {found & set(NBGRADER)}"


def test_the_assignments_tab_loads_it_at_its_first_request(student_server):
    # What the Assignments tab asks first; the exchange (ngshare) is not reachable
    # here, nbgrader answers that in its JSON.
    r = student_server.get("assignments", params={"course_id": "astro101"})
    assert r.status_code == 200, r.text[:500]
    assert "success" in r.json()
    assert set(NBGRADER) <= student_server.modules(NBGRADER), "nbgrader's modules are not in memory after its first use"
    r = student_server.post("assignments/fetch", params={"course_id": "astro101", "assignment_id": "cosmic-rays"})
    assert r.status_code == 200 and "success" in r.json(), r.text[:500]
    r = student_server.get("nbgrader_version", params={"version": "0.9.6"})
    assert r.status_code == 200 and "success" in r.json(), r.text[:500]
    assert student_server.log().count("loaded on first use") == 1


def test_validate_answers(student_server):
    r = student_server.put("api/contents/first.ipynb", data=json.dumps({"type": "notebook", "content": NOTEBOOK}))
    assert r.status_code == 201, r.text[:500]
    r = student_server.post("assignments/validate", params={"path": "first.ipynb"})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["success"] is True, r.json()


def test_nothing_is_served_without_login(student_server):
    r = requests.get(f"{student_server.url}/assignments", params={"course_id": "astro101"},
                     timeout=60, allow_redirects=False)
    assert r.status_code in (302, 403), r.status_code
