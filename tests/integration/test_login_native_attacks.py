"""Attacks on the native login, tried against a real hub configured by astrohub.

Issue 19, item 3: a signup under an admin's name made an admin (NativeAuthenticator
pre-approves names in admin_users); the signup form told which names exist; and
passwords could be guessed without limit. Each test tries the attack and expects
refusal.
"""
from __future__ import annotations

import re
import secrets
import time

import pytest
import requests

from astrohub.admins import admin_accounts
from tests.support.hub import ASTROHUB_NATIVE_LOGIN_CONFIG, HubProcess

ADMIN_PASSWORD = secrets.token_urlsafe(12)
OPS_TOKEN = secrets.token_hex(32)
ADMIN_KEY = secrets.token_hex(32)
ADMINS = ("teacher-admin", "second-admin", "third-admin")
BLOCK_SECONDS = 3


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = HubProcess(tmp_path_factory.mktemp("native-attacks") / "hub",
                   services=[{"name": "ops", "api_token": OPS_TOKEN}])
    h.env.update({
        "ASTROHUB_AUTHENTICATOR": "native",
        "ASTROHUB_ADMIN_USERS": ",".join(ADMINS),
        "ASTROHUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ASTROHUB_ADMIN_KEY": ADMIN_KEY,
        "ASTROHUB_LOGIN_FAILURES_ALLOWED": "3",
        "ASTROHUB_LOGIN_BLOCK_SECONDS": str(BLOCK_SECONDS),
    })
    h.extra_config += ASTROHUB_NATIVE_LOGIN_CONFIG
    with h:
        yield h


def login(hub, username, password) -> requests.Response:
    s = requests.Session()
    s.get(hub.url + "hub/login", timeout=30)
    return s.post(hub.url + "hub/login", data={"username": username, "password": password,
                                               "_xsrf": s.cookies.get("_xsrf", "")},
                  allow_redirects=False, timeout=30)


def signup(hub, username, password, confirmation=None) -> str:
    """The signup page's answer (the alert's text)."""
    s = requests.Session()
    s.get(hub.url + "hub/signup", timeout=30)
    r = s.post(hub.url + "hub/signup", timeout=30, data={
        "username": username, "signup_password": password,
        "signup_password_confirmation": password if confirmation is None else confirmation,
        "_xsrf": s.cookies.get("_xsrf", "")})
    assert r.status_code == 200, r.text[:500]
    alert = re.search(r'<div class="alert ([^"]*)" role="alert">\s*<p>\s*(.*?)\s*</p>', r.text, re.S)
    assert alert, "the signup page gave no answer:\n" + r.text[:2000]
    return f"{alert.group(1)}: {alert.group(2)}"


def test_every_admin_has_an_operator_made_account(hub):
    for name, password in admin_accounts(ADMINS, ADMIN_PASSWORD, ADMIN_KEY).items():
        assert login(hub, name, password).status_code == 302, f"{name} cannot log in with the password kept for it"
    assert len(set(admin_accounts(ADMINS, ADMIN_PASSWORD, ADMIN_KEY).values())) == len(ADMINS)


@pytest.mark.parametrize("name", ["second-admin", "Third-Admin", "teacher-admin"])
def test_signing_up_under_an_admin_name_is_refused(hub, name):
    attacker_password = "attacker-" + secrets.token_hex(6)
    answer = signup(hub, name, attacker_password)
    assert answer.startswith("alert-danger") and "reserved for an administrator" in answer, answer
    assert login(hub, name, attacker_password).status_code != 302, "the attacker's password logs in as an admin"
    real = admin_accounts(ADMINS, ADMIN_PASSWORD, ADMIN_KEY)[name.lower()]
    assert login(hub, name.lower(), real).status_code == 302, "the signup replaced the admin's account"


def test_a_taken_name_answers_like_a_free_one(hub):
    password = "a-good-passphrase-" + secrets.token_hex(4)
    first = signup(hub, "ada-" + secrets.token_hex(3), password)
    taken = signup(hub, "ada-" + secrets.token_hex(3), password)
    assert first == taken  # two new names
    name = "lise-" + secrets.token_hex(3)
    assert signup(hub, name, password) == first  # new
    assert signup(hub, name, "another-" + password) == first, "the answer tells that the name is taken"
    assert first.startswith("alert-info")
    # the signup made an account an admin must still authorise
    assert login(hub, name, password).status_code != 302


def test_bad_signups_say_what_to_change(hub):
    assert "type the same password twice" in signup(hub, "emmy-x", "a-good-passphrase", "different-one")
    assert "at least 8 characters" in signup(hub, "emmy-y", "short")
    assert "spaces, commas or slashes" in signup(hub, "emmy z", "a-good-passphrase")


def test_password_guessing_is_throttled(hub):
    name, password = ADMINS[1], admin_accounts(ADMINS, ADMIN_PASSWORD, ADMIN_KEY)[ADMINS[1]]
    for _ in range(3):
        assert login(hub, name, "guess-" + secrets.token_hex(4)).status_code == 200
    assert login(hub, name, password).status_code == 200, "after 3 failures the right password still logged in at once"
    time.sleep(BLOCK_SECONDS + 1.5)
    assert login(hub, name, password).status_code == 302, "the block did not end"


def test_a_roster_cannot_make_an_admin_account(hub):
    r = requests.post(hub.url + "hub/api/astrohub/accounts", headers={"Authorization": f"token {OPS_TOKEN}"},
                      json={"accounts": [{"username": "fresh-student", "groups": []},
                                         {"username": "second-admin", "groups": []}]}, timeout=30)
    assert r.status_code == 400 and "admin name" in r.json()["problems"][0], r.text
    assert "fresh-student" not in {u["name"] for u in hub.api("GET", "users").json()}
