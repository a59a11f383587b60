"""The exchange's gate against a real JupyterHub with the roles astrohub configures.

Who may use the exchange (the hub's answer for a token, its scopes, its kind),
the course rosters read from the hub's groups, and the upload limit on a real
HTTP server on loopback. ngshare itself (SQLAlchemy<2) runs only in its image:
the e2e tests (tests/e2e/test_courses.py) cover the gate in front of it.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
import requests
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets.config import Config

from astrohub.config import apply
from astrohub.exchange_gate import Gate, Refused, UploadLimit
from astrohub.settings import load
from tests.support.hub import HubProcess
from tests.support.net import free_port

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
