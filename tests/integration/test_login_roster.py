"""The embedded default: native login, the first admin, and `astrohub users import`.

A real hub configured by astrohub's own functions from ASTROHUB_* settings; the
roster import is the real command, talking to the hub's API as the ops service.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.hub import ASTROHUB_NATIVE_LOGIN_CONFIG, HubProcess

OPS_TOKEN = secrets.token_hex(32)
ADMIN_PASSWORD = secrets.token_urlsafe(12)
ASTROHUB = str(Path(sys.executable).parent / "astrohub")

GOOD = """username,groups,email
ada,students;students-astro101,ada@example.org
lise,students students-astro101,
emmy,teachers-astro101,emmy@example.org
"""
BAD = """username,groups,email
ada,students,ada@example.org
Marie Curie,students,
ada,students,
bob,stu/dents,bob@
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = HubProcess(tmp_path_factory.mktemp("native") / "hub",
                   services=[{"name": "ops", "api_token": OPS_TOKEN}])
    h.env.update({
        "ASTROHUB_AUTHENTICATOR": "native",
        "ASTROHUB_ADMIN_USERS": "teacher-admin",
        "ASTROHUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ASTROHUB_COURSES": "astro101:teachers-astro101:students-astro101",
    })
    h.extra_config += ASTROHUB_NATIVE_LOGIN_CONFIG
    with h:
        yield h


def run_import(hub, roster_path, token=OPS_TOKEN):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTROHUB_")}
    env["ASTROHUB_OPS_TOKEN"] = token
    return subprocess.run([ASTROHUB, "users", "import", str(roster_path), "--hub-url", hub.url.rstrip("/")],
                          capture_output=True, text=True, env=env, timeout=120)


def native_login(hub, username, password) -> int:
    s = requests.Session()
    s.get(hub.url + "hub/login", timeout=30)
    r = s.post(hub.url + "hub/login", data={"username": username, "password": password,
                                            "_xsrf": s.cookies.get("_xsrf", "")},
               allow_redirects=False, timeout=30)
    return r.status_code


def hub_state(hub):
    users = {u["name"] for u in hub.api("GET", "users").json()}
    groups = {g["name"] for g in hub.api("GET", "groups").json()}
    return users, groups


def test_the_first_admin_exists_and_logs_in(hub):
    assert native_login(hub, "teacher-admin", ADMIN_PASSWORD) == 302
    assert native_login(hub, "teacher-admin", "wrong-" + ADMIN_PASSWORD) == 200  # the form again


def test_the_native_login_page_is_branded(hub):
    html = requests.get(hub.url + "hub/login", timeout=30).text
    assert "astroparticle.online" in html and 'name="password"' in html and "login-kcdc" not in html


def test_a_malformed_roster_creates_nothing_and_says_what_to_fix(hub, tmp_path):
    before = hub_state(hub)
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    r = run_import(hub, path)
    assert r.returncode == 2
    assert "nothing was created" in r.stderr
    assert "line 3: username 'Marie Curie' is not allowed" in r.stderr and "'marie.curie'" in r.stderr
    assert "line 4: username 'ada' is already on line 2" in r.stderr
    assert "line 5: group 'stu/dents'" in r.stderr and "line 5: email 'bob@'" in r.stderr
    assert hub_state(hub) == before, "a malformed roster created something"


def test_the_endpoint_checks_too_and_creates_nothing(hub):
    before = hub_state(hub)
    r = requests.post(hub.url + "hub/api/astrohub/accounts", headers={"Authorization": f"token {OPS_TOKEN}"},
                      json={"accounts": [{"username": "ok1", "groups": []}, {"username": "../etc", "groups": []}]},
                      timeout=30)
    assert r.status_code == 400 and "account 2" in r.json()["problems"][0]
    assert hub_state(hub) == before


def test_only_the_accounts_scope_may_create_accounts(hub):
    before = hub_state(hub)
    # the hub's own admin service holds every built-in scope, still not this one
    for token in (hub.admin_token, "not-a-token"):
        r = requests.post(hub.url + "hub/api/astrohub/accounts", headers={"Authorization": f"token {token}"},
                          json={"accounts": [{"username": "intruder", "groups": ["teachers-astro101"]}]}, timeout=30)
        assert r.status_code == 403
    assert hub_state(hub) == before


def test_a_roster_makes_accounts_groups_and_one_time_passwords(hub, tmp_path):
    path = tmp_path / "astro101.csv"
    path.write_text(GOOD)
    r = run_import(hub, path)
    assert r.returncode == 0, r.stderr
    assert "3 account(s) created, 0 existed" in r.stdout
    passwords = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in ("ada", "lise", "emmy"):
            passwords[parts[0]] = parts[1]
    assert set(passwords) == {"ada", "lise", "emmy"} and len(set(passwords.values())) == 3
    groups = {g["name"]: set(g["users"]) for g in hub.api("GET", "groups").json()}
    assert groups["students-astro101"] == {"ada", "lise"}
    assert groups["nbgrader-astro101"] == {"ada", "lise", "emmy"}
    assert groups["formgrade-astro101"] == {"emmy"}
    for name, password in passwords.items():
        assert native_login(hub, name, password) == 302
    assert native_login(hub, "ada", passwords["lise"]) == 200
    # a second import changes no password and prints none
    again = run_import(hub, path)
    assert again.returncode == 0 and "0 account(s) created, 3 existed" in again.stdout
    assert passwords["ada"] not in again.stdout
    assert native_login(hub, "ada", passwords["ada"]) == 302
    # the passwords are printed once, never logged
    assert not any(p in hub.log() for p in passwords.values())
