"""The exchange's gate against a real JupyterHub with the roles astrohub configures.

Who may use the exchange (the hub's answer for a token, its scopes, its kind),
the course rosters read from the hub's groups, and the upload limit on a real
HTTP server on loopback; and the real ngshare (SQLAlchemy<2, so from its image, in a
container on the host network) behind this checkout's gate, against that hub: a
chunked upload past the limit, a course past its quota.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets.config import Config

from astrohub.config import apply
from servicekit.exchange_gate import Gate, Refused, UploadLimit
from astrohub.settings import VERSION, load
from tests.support import needs
from tests.support.hub import HubProcess
from tests.support.net import free_port, wait_for_http

COURSES = "astro101:teachers-astro101:students-astro101,astro201:teachers-astro201"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A real hub with astrohub's course roles; services carry their own tokens."""
    settings = load({"ASTROHUB_COURSES": COURSES}, secrets_dir="/nonexistent")
    c = apply(settings, Config())
    tokens = {name: secrets.token_hex(16) for name in ("ngshare", "astro101", "astro201")}
    services = [{"name": name, "api_token": tok} for name, tok in tokens.items()]
    ours = [r for r in c.JupyterHub.load_roles if r["name"] == "exchange"
            or r["name"].startswith(("nbgrader-", "formgrade-"))]
    with HubProcess(tmp_path_factory.mktemp("hub"), services=services, roles=ours,
                    extra_config=["c.Authenticator.allow_all = True"]) as h:
        h.create_user("tina", groups=["formgrade-astro101", "nbgrader-astro101"])
        h.create_user("sam", groups=["nbgrader-astro101"])
        h.create_user("otto", groups=["nbgrader-astro201"])
        h.create_user("walter")
        h.tokens = tokens
        yield h


def gate(hub) -> Gate:
    return Gate(hub.api_url, hub.tokens["ngshare"], "ngshare", ["astro101", "astro201"])


def identify(hub, header):
    return asyncio.run(gate(hub).identify(header))


def refused(hub, header) -> Refused:
    with pytest.raises(Refused) as e:
        identify(hub, header)
    assert e.value.code == 403
    return e.value


def test_a_course_members_token_names_its_owner(hub):
    assert identify(hub, f"token {hub.create_token('sam')}") == "sam"
    assert identify(hub, f"Bearer {hub.create_token('otto')}") == "otto"


def test_no_token_or_an_unknown_token_is_refused_with_a_message(hub):
    assert "Authorization: token" in refused(hub, None).message
    assert "does not accept" in refused(hub, "token not-a-token").message


def test_a_token_without_the_exchange_scope_is_refused(hub):
    narrow = hub.create_token("sam", scopes=["read:users:name!user"])
    assert "access:services!service=ngshare" in refused(hub, f"token {narrow}").message
    # Outside every course the user holds no exchange scope at all.
    refused(hub, f"token {hub.create_token('walter')}")


def test_a_course_formgrader_acts_under_its_own_id_and_other_services_are_refused(hub):
    assert identify(hub, f"token {hub.tokens['astro101']}") == "formgrader:astro101"
    # The exchange's own token has no exchange scope: refused, as any other service would be.
    refused(hub, f"token {hub.tokens['ngshare']}")


def test_rosters_follow_the_hub_groups(hub):
    rosters = asyncio.run(gate(hub).rosters())
    assert rosters["astro101"] == ({"tina", "formgrader:astro101"}, {"sam"})
    assert rosters["astro201"] == ({"formgrader:astro201"}, {"otto"})
    hub.add_to_group("nbgrader-astro101", "walter")
    try:
        assert asyncio.run(gate(hub).rosters())["astro101"][1] == {"sam", "walter"}
    finally:
        hub.api("DELETE", "groups/nbgrader-astro101/users", json={"users": ["walter"]})


class Echo(web.RequestHandler):
    def post(self):
        self.write({"received": len(self.request.body)})


@pytest.fixture(scope="module")
def limited():
    """A tornado app behind UploadLimit(1000 bytes), served on loopback in a thread."""
    import threading

    from tornado.ioloop import IOLoop

    port = free_port()
    started = threading.Event()
    holder = {}

    def serve():
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = HTTPServer(UploadLimit(web.Application([("/up", Echo)]), 1000), max_body_size=10_000)
        server.listen(port, "127.0.0.1")
        holder["loop"] = IOLoop.current()
        started.set()
        holder["loop"].start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    yield f"http://127.0.0.1:{port}/up"
    holder["loop"].add_callback(holder["loop"].stop)
    thread.join(5)


def test_uploads_up_to_the_limit_pass(limited):
    r = requests.post(limited, data=b"x" * 1000, timeout=10)
    assert r.status_code == 200 and r.json() == {"received": 1000}


def test_an_upload_over_the_limit_is_refused_with_413_and_the_server_keeps_serving(limited):
    r = requests.post(limited, data=b"x" * 1001, timeout=10)
    assert r.status_code == 413
    assert "limit of 1000 bytes" in json.loads(r.text)["message"]
    with requests.Session() as s:  # the same connection serves the next request
        assert s.post(limited, data=b"x" * 5000, timeout=10).status_code == 413
        assert s.post(limited, data=b"x", timeout=10).status_code == 200


def chunks(total: int, size: int = 256):
    """A body without Content-Length: requests sends it chunked."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_a_chunked_upload_over_the_limit_is_refused_with_413(limited):
    """Issue 19, item 7: a chunked body has no Content-Length to read."""
    r = requests.post(limited, data=chunks(5000), timeout=10)
    assert r.status_code == 413, f"a chunked upload of 5000 bytes passed a limit of 1000: {r.text}"
    assert "upload of 5000 bytes" in r.json()["message"] and "limit of 1000 bytes" in r.json()["message"]
    assert requests.post(limited, data=chunks(1001, 100), timeout=10).status_code == 413
    with requests.Session() as s:  # and the connection still serves
        r = s.post(limited, data=chunks(1000, 100), timeout=10)
        assert r.status_code == 200 and r.json() == {"received": 1000}


# -- the real ngshare (its image) behind the gate of this checkout, against the hub above

NGSHARE_IMAGE = f"astrohub/ngshare:{os.environ.get('ASTROHUB_IMAGE_TAG', VERSION)}"
GATE_SOURCE = Path(__file__).resolve().parents[2] / "src/servicekit"
MAX_UPLOAD = 20_000
COURSE_QUOTA = 60_000


@pytest.fixture(scope="module")
def ngshare(hub, tmp_path_factory):
    needs.docker_image(NGSHARE_IMAGE)
    # The token as the stack gives it: a file (docker secret), not in the environment.
    secrets_dir = tmp_path_factory.mktemp("ngshare-secrets")
    (secrets_dir / "service_token").write_text(hub.tokens["ngshare"] + "\n")
    (secrets_dir / "service_token").chmod(0o644)
    secrets_dir.chmod(0o755)  # the gate runs as its own user
    port = free_port()
    name = f"it-ngshare-{secrets.token_hex(4)}"
    mb = 1024 * 1024
    subprocess.run([
        "docker", "run", "-d", "--rm", "--name", name, "--network", "host",
        "-v", f"{GATE_SOURCE}:/opt/gate/servicekit:ro",
        "-e", f"JUPYTERHUB_API_URL={hub.api_url}", "-v", f"{secrets_dir}:/run/secrets:ro", "-e", "JUPYTERHUB_API_TOKEN_FILE=/run/secrets/service_token",
        "-e", "JUPYTERHUB_SERVICE_NAME=ngshare", "-e", "JUPYTERHUB_CLIENT_ID=service-ngshare",
        "-e", "JUPYTERHUB_SERVICE_PREFIX=/services/ngshare/",
        "-e", f"JUPYTERHUB_SERVICE_URL=http://127.0.0.1:{port}", "-e", "EXCHANGE_COURSES=astro101",
        "-e", "EXCHANGE_DATABASE=sqlite:////tmp/ngshare.db", "-e", "EXCHANGE_STORAGE=/tmp/files/",
        "-e", f"EXCHANGE_MAX_UPLOAD_MB={MAX_UPLOAD / mb}", "-e", f"EXCHANGE_COURSE_QUOTA_MB={COURSE_QUOTA / mb}",
        NGSHARE_IMAGE, "python", "-m", "servicekit.exchange_gate",
    ], check=True, capture_output=True)
    url = f"http://127.0.0.1:{port}/services/ngshare/"
    try:
        wait_for_http(url + "healthz", timeout=120, ok=(200,))
        yield url
    finally:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        print(logs.stdout[-3000:], logs.stderr[-3000:])
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def files_form(size: int) -> bytes:
    content = base64.b64encode(os.urandom(size)).decode()
    return urlencode({"files": json.dumps([{"path": "answer.ipynb", "content": content}])}).encode()


def submissions(hub, ngshare) -> int:
    r = requests.get(ngshare + "submissions/astro101/a1", headers={"Authorization": f"token {hub.tokens['astro101']}"},
                     timeout=30)
    assert r.status_code == 200, r.text
    return len(r.json()["submissions"])


def test_the_real_exchange_refuses_a_chunked_submission_over_the_limit(hub, ngshare):
    teacher = {"Authorization": f"token {hub.tokens['astro101']}", "Content-Type": "application/x-www-form-urlencoded"}
    r = requests.post(ngshare + "assignment/astro101/a1", data=files_form(1000), headers=teacher, timeout=30)
    assert r.status_code == 200 and r.json()["success"], r.text
    student = {"Authorization": f"token {hub.create_token('sam')}", "Content-Type": "application/x-www-form-urlencoded"}
    body = files_form(MAX_UPLOAD)  # base64 and JSON: more than MAX_UPLOAD bytes on the wire
    r = requests.post(ngshare + "submission/astro101/a1", data=iter([body[i:i + 4096] for i in range(0, len(body), 4096)]),
                      headers=student, timeout=30)
    assert r.status_code == 413 and "over the exchange's limit" in r.json()["message"], r.text
    assert submissions(hub, ngshare) == 0, "the refused submission was stored"
    small = files_form(2000)
    r = requests.post(ngshare + "submission/astro101/a1", data=iter([small]), headers=student, timeout=30)
    assert r.status_code == 200 and r.json()["success"], "a small chunked submission was refused: " + r.text
    assert submissions(hub, ngshare) == 1


def test_the_real_exchange_keeps_at_most_the_course_quota(hub, ngshare):
    student = {"Authorization": f"token {hub.create_token('sam')}", "Content-Type": "application/x-www-form-urlencoded"}
    before = submissions(hub, ngshare)
    answers = []
    for _ in range(COURSE_QUOTA // 10_000 + 2):  # each one under the upload limit, together past the quota
        r = requests.post(ngshare + "submission/astro101/a1", data=files_form(10_000), headers=student, timeout=30)
        answers.append(r)
        if r.status_code != 200:
            break
    last = answers[-1]
    assert last.status_code == 413, "the course's uploads passed its quota"
    message = last.json()["message"]
    assert "course astro101 keeps" in message and "ASTROHUB_EXCHANGE_COURSE_QUOTA_MB" in message, message
    stored = submissions(hub, ngshare) - before
    assert stored == len(answers) - 1 and 1000 + 2000 + stored * 10_000 <= COURSE_QUOTA
