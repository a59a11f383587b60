"""Log in to a real hub with a KCDC password, checked by the KCDC portal (its double,
tests/support/kcdc_portal.py); the portal's session, never the password, reaches the user's
server, whose kcdc.Client reaches the portal as that user without a second login."""
from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
import requests

import kcdc
from tests.support.hub import HubProcess, wait_until
from tests.support.kcdc_portal import KCDCPortal
from tests.support.oidc.loginhub import astrohub_login_config

PASSWORD = "Ada's KCDC password 42"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("kcdc-login")
    portal = KCDCPortal(users={"ada": PASSWORD}).start()
    crypt_key = secrets.token_hex(32)
    hub = HubProcess(base / "hub", services=[{"name": "ops", "api_token": secrets.token_hex(32)}], env={
        "ASTROHUB_AUTHENTICATOR": "kcdc-password", "ASTROHUB_KCDC_PORTAL_URL": portal.url,
        "ASTROHUB_CRYPT_KEY": crypt_key, "ASTROHUB_TOKEN_REFRESH_AGE": "1"})
    hub.extra_config += astrohub_login_config(crypt_key)
    hub.start()
    try:
        yield hub, portal
    finally:
        hub.stop()
        portal.stop()


def _login(hub, username, password):
    s = requests.Session()
    s.get(hub.url + "hub/login", timeout=30)
    r = s.post(hub.url + "hub/login", data={"username": username, "password": password,
                                            "_xsrf": s.cookies.get("_xsrf", "")}, timeout=60, allow_redirects=False)
    return s, r


def test_wrong_password_is_refused_on_the_login_page(env):
    hub, portal = env
    s, r = _login(hub, "ada", "not her password")
    assert r.status_code == 403 or r.status_code == 200
    assert "Invalid username or password" in r.text
    with pytest.raises(RuntimeError, match="404"):
        hub.api("GET", "users/kcdc-ada")
    assert portal.portal.logins[-1] == ("ada", False)


def test_login_keeps_the_session_not_the_password_and_the_server_gets_it(env):
    hub, portal = env
    s, r = _login(hub, "ada", PASSWORD)
    assert r.status_code in (302, 303), r.text[:500]
    state = hub.api("GET", "users/kcdc-ada").json().get("auth_state")
    if state is None:  # the admin service may need the auth_state scope explicitly
        state = hub.api("GET", "users/kcdc-ada?include_auth_state=1").json().get("auth_state")
    assert state is not None and set(state) == {"kcdc_username", "kcdc_session"}
    assert PASSWORD not in str(state) and PASSWORD not in hub.log()
    db = Path(hub.workdir / "jupyterhub.sqlite").read_bytes()
    assert PASSWORD.encode() not in db and state["kcdc_session"].encode() not in db  # encrypted at rest

    logins_before = len(portal.portal.logins)
    hub.api("POST", "users/kcdc-ada/server")
    model = wait_until(lambda: (lambda m: m if m["servers"].get("", {}).get("ready") else None)(
        hub.api("GET", "users/kcdc-ada").json()), timeout=60, what="ada's server ready")
    pid = hub.api("GET", "users/kcdc-ada").json()["servers"][""].get("state", {}).get("pid")
    if pid is None:
        pid = model["servers"][""]["state"]["pid"]
    environ = dict(x.split("=", 1) for x in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in x)
    assert environ["KCDC_SESSION"] == state["kcdc_session"] and environ["KCDC_PORTAL_URL"] == portal.url.rstrip("/")
    assert "KCDC_PASSWORD" not in environ
    # what kcdc.Client(portal=True) does in that server: reaches the portal as ada, no second login
    c = kcdc.Client(portal=True, url=environ["KCDC_PORTAL_URL"], session=environ["KCDC_SESSION"],
                    username=environ["KCDC_USERNAME"], cache_dir=False, progress=False)
    req = c.request("kascade", ["E"], cuts=[("E", ">", 16.0)], format="ascii")
    assert portal.portal.requests[req.id].owner == "ada"
    assert len(portal.portal.logins) == logins_before
    hub.api("DELETE", "users/kcdc-ada/server")

    # the portal forgets the session: the hub asks ada to log in again
    portal.portal.sessions.clear()
    time.sleep(1.5)
    r = s.get(hub.url + "hub/home", timeout=30, allow_redirects=False)
    assert r.status_code in (302, 303) and "/hub/login" in r.headers["Location"]


def test_portal_down_says_so(env):
    hub, portal = env
    portal.stop()
    s, r = _login(hub, "ada", PASSWORD)
    assert r.status_code == 503 and "KCDC portal cannot be reached" in r.text
