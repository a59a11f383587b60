"""Logins through two real OpenID Connect providers into a real hub, on loopback.

The hub is configured by astrohub's own login step (``astrohub.config._login``) from ASTROHUB_* settings
(as in production); the providers are django-oauth-toolkit ("kcdc") and the npm
oidc-provider ("gradlci"), both with hashed passwords, groups and PKCE required.
Access tokens live 20 s and are renewed 8 s before they expire, so the refresh
path runs for real.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
import requests

from tests.support.hub import wait_until
from tests.support.oidc.flow import parse_form
from tests.support.oidc.loginhub import KEYS, PASSWORDS, login_hub


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with login_hub(tmp_path_factory.mktemp("login")) as e:
        yield e


def test_the_login_page_is_branded_and_offers_both_providers(env):
    html = requests.get(env.hub.url + "hub/login", timeout=30).text
    assert "astroparticle.online" in html
    assert 'id="login-kcdc"' in html and "Sign in with your KCDC account" in html
    assert 'id="login-gradlci"' in html and "Sign in with your GRADLCI account" in html
    assert 'name="password"' not in html, "the hub must not ask for the provider's password"


@pytest.mark.parametrize("key", KEYS)
def test_student_and_teacher_log_in_end_to_end(env, key):
    for name in ("ada", "emmy"):
        result = env.login(key, name)
        assert result.code, f"{key} issued no code for {name}"
        r = result.response
        assert r.status_code == 302, r.text[:500]
        assert urlparse(r.headers["Location"]).path.startswith("/hub"), r.headers["Location"]
        home = result.session.get(env.hub.url + "hub/home", timeout=30)
        assert home.status_code == 200 and f"{key}-{name}" in home.text
    student, teacher = env.user(f"{key}-ada"), env.user(f"{key}-emmy")
    assert set(student["groups"]) == {"students"}
    assert set(teacher["groups"]) == {"teachers", "teachers-astro101", "formgrade-astro101", "nbgrader-astro101"}
    assert not student["admin"] and not teacher["admin"]


@pytest.mark.parametrize("key", KEYS)
def test_the_teacher_has_the_course_role_and_the_student_not(env, key):
    def scopes(user):
        token = env.hub.create_token(user)
        r = requests.get(env.hub.api_url + "/user", headers={"Authorization": f"token {token}"}, timeout=30)
        return set(r.json()["scopes"])
    assert "access:services!service=astro101" in scopes(f"{key}-emmy")
    assert "read:users!group=nbgrader-astro101" in scopes(f"{key}-emmy")
    assert not any("astro101" in s for s in scopes(f"{key}-ada"))


def test_the_same_name_at_two_providers_is_two_users(env):
    for key in KEYS:
        env.login(key, "ada")
    names = {u["name"] for u in env.hub.api("GET", "users").json()}
    assert {"kcdc-ada", "gradlci-ada"} <= names
    assert "ada" not in names


@pytest.mark.parametrize("key", KEYS)
def test_a_wrong_password_is_refused_at_the_provider(env, key):
    result = env.login(key, "ada", "not-" + PASSWORDS["ada"])
    assert result.callback_url is None, "a wrong password produced an authorization code"
    assert "Wrong username or password" in result.form_page.text


@pytest.mark.parametrize("key", KEYS)
def test_a_user_in_no_allowed_group_gets_a_clear_refusal(env, key):
    result = env.login(key, "mallory")
    r = result.response
    assert r.status_code == 403
    assert "none of the groups" in r.text and "students" in r.text
    assert "astroparticle.online" in r.text and "Traceback" not in r.text
    assert f"{key}-mallory" not in {u["name"] for u in env.hub.api("GET", "users").json()}


@pytest.mark.parametrize("key", KEYS)
def test_a_tampered_state_is_refused(env, key):
    result = env.login(key, "ada", complete=False)
    url = urlparse(result.callback_url)
    q = parse_qs(url.query)
    q["state"] = [q["state"][0][:-4] + "AAAA"]
    tampered = urlunparse(url._replace(query=urlencode({k: v[0] for k, v in q.items()})))
    r = result.session.get(tampered, allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "state" in r.text.lower()
    home = result.session.get(env.hub.url + "hub/home", allow_redirects=False, timeout=30)
    assert home.status_code == 302 and "/hub/login" in home.headers["Location"], "a tampered state logged the user in"


@pytest.mark.parametrize("key", KEYS)
def test_a_replayed_code_is_refused(env, key):
    first = env.login(key, "ada")
    assert first.response.status_code == 302
    # an attacker who saw the callback URL starts a login of their own and
    # presents the victim's code with their own state
    attacker = requests.Session()
    r = attacker.get(f"{env.hub.url}hub/{key}/oauth_login", allow_redirects=False, timeout=30)
    own_state = parse_qs(urlparse(r.headers["Location"]).query)["state"][0]
    url = urlparse(first.callback_url)
    replay = urlunparse(url._replace(query=urlencode({"code": first.code, "state": own_state})))
    r = attacker.get(replay, allow_redirects=False, timeout=30)
    assert r.status_code in (400, 403), r.status_code
    assert attacker.get(env.hub.url + "hub/home", allow_redirects=False, timeout=30).status_code == 302
    # and the provider itself redeems a code once only, even with the right verifier
    p = env.providers[key]
    again = requests.post(p.token_url, data={
        "grant_type": "authorization_code", "code": first.code, "redirect_uri": f"{env.hub.url}hub/{key}/oauth_callback",
        "client_id": p.client_id, "client_secret": p.client_secret, "code_verifier": "x" * 43}, timeout=30)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("key", KEYS)
def test_an_authorization_request_without_pkce_is_refused(env, key):
    p = env.providers[key]
    s = requests.Session()
    params = {"client_id": p.client_id, "response_type": "code", "scope": "openid profile groups",
              "redirect_uri": f"{env.hub.url}hub/{key}/oauth_callback", "state": "s" * 20}
    r = s.get(p.authorize_url + "?" + urlencode(params), allow_redirects=False, timeout=30)
    # either refused at once, or after the login: never a code
    for _ in range(8):
        location = r.headers.get("Location", "")
        if r.status_code in (301, 302, 303) and not urlparse(location).path.endswith("oauth_callback"):
            r = s.get(requests.compat.urljoin(r.url, location), allow_redirects=False, timeout=30)
            continue
        if r.status_code == 200 and "password" in r.text:
            action, fields = parse_form(r.text)
            fields.update(username="ada", password=PASSWORDS["ada"])
            r = s.post(requests.compat.urljoin(r.url, action), data=fields, allow_redirects=False, timeout=30)
            continue
        break
    location = r.headers.get("Location", "")
    assert "code=" not in location, "the provider issued a code without PKCE"
    assert "error=invalid_request" in location or r.status_code == 400, (r.status_code, location, r.text[:300])


def _server_environ(env, user) -> dict[str, str]:
    state = env.hub.api("GET", f"users/{user}").json()["servers"][""]["state"]
    raw = Path(f"/proc/{state['pid']}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.mark.slow
def test_an_expired_token_is_renewed_and_the_new_one_reaches_the_server(env):
    key, user = "kcdc", "kcdc-ada"
    env.login(key, "ada")
    old = env.auth_state(user)
    assert old["refresh_token"], "the provider issued no refresh token"
    # past expiry: the provider must refuse the old token
    time.sleep(max(0.0, old["expires_at"] - time.time()) + 1)
    p = env.providers[key]
    assert requests.get(p.userinfo_url, headers={"Authorization": f"Bearer {old['access_token']}"}, timeout=30).status_code == 401
    env.hub.api("POST", f"users/{user}/server")
    wait_until(lambda: env.user(user)["servers"].get("", {}).get("ready"), timeout=90, what="server ready")
    new = env.auth_state(user)
    assert new["access_token"] != old["access_token"]
    assert new["expires_at"] > time.time()
    r = requests.get(p.userinfo_url, headers={"Authorization": f"Bearer {new['access_token']}"}, timeout=30)
    assert r.status_code == 200 and r.json()["preferred_username"] == "ada"
    server_env = _server_environ(env, user)
    assert server_env["KCDC_ACCESS_TOKEN"] == new["access_token"]
    # a second user's server carries that user's token only
    env.login("gradlci", "emmy")
    env.hub.api("POST", "users/gradlci-emmy/server")
    wait_until(lambda: env.user("gradlci-emmy")["servers"].get("", {}).get("ready"), timeout=90, what="server ready")
    other = _server_environ(env, "gradlci-emmy")
    emmy_state = env.auth_state("gradlci-emmy")
    assert other["GRADLCI_ACCESS_TOKEN"] == emmy_state["access_token"]
    assert new["access_token"] not in "\0".join(other.values())
    assert "KCDC_ACCESS_TOKEN" not in other
    for u in (user, "gradlci-emmy"):
        env.hub.api("DELETE", f"users/{u}/server")


def test_a_running_users_token_is_renewed_before_it_expires(env):
    s = env.login("gradlci", "ada").session
    first = env.auth_state("gradlci-ada")
    # within the margin before expiry any request of the user lets the hub renew
    wait_until(lambda: first["expires_at"] - time.time() < 7, timeout=30, what="token close to expiry")
    renewed = wait_until(
        lambda: (s.get(env.hub.url + "hub/home", timeout=30)
                 and env.auth_state("gradlci-ada")["access_token"] != first["access_token"]),
        timeout=20, interval=1, what="renewed token")
    assert renewed
    assert env.auth_state("gradlci-ada")["expires_at"] > first["expires_at"]


def test_no_token_code_or_secret_appears_in_any_log(env):
    # runs last in this module: everything above has been logged by now
    log = env.hub.log()  # the hub, its proxy and the single-user servers
    assert "oauth_callback" in log, "the log does not show the logins at all"
    assert len(env.secrets_seen) > 20
    leaked = sorted(s for s in env.secrets_seen if s and len(s) >= 8 and s in log)
    assert not leaked, f"{len(leaked)} secrets in the hub log, e.g. {leaked[0][:6]}..."
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.", log), "a JWT in the hub log"


def test_the_ops_token_reads_no_auth_state(env):
    """Issue 19, item 9: `admin:users` (the ops role's before) includes `admin:auth_state`."""
    env.login("kcdc", "ada")
    assert env.auth_state("kcdc-ada")["access_token"], "the user has no auth state: the probe proves nothing"
    ops = {"Authorization": f"token {env.ops_token}"}
    r = requests.get(env.hub.api_url + "/users/kcdc-ada", headers=ops, timeout=30)
    assert r.status_code == 200 and r.json()["name"] == "kcdc-ada"
    assert "auth_state" not in r.json(), "the ops token reads the user's provider tokens"
    listing = requests.get(env.hub.api_url + "/users", headers=ops, timeout=30)
    assert listing.status_code == 200 and not any("auth_state" in u for u in listing.json())
    # nor can it make itself a user who could: admins are the operator's
    assert requests.patch(env.hub.api_url + "/users/kcdc-ada", json={"admin": True}, headers=ops, timeout=30).status_code == 403
    assert requests.post(env.hub.api_url + "/users/ops-made", headers=ops, timeout=30).status_code == 403
    # what it needs still works: a plain user, made through astrohub.opsapi, and removed
    made = requests.post(env.hub.url + "hub/api/astrohub/users/ops-made", headers=ops, timeout=30)
    assert made.status_code == 201 and not made.json()["admin"]
    again = requests.post(env.hub.url + "hub/api/astrohub/users/ops-made", headers=ops, timeout=30)
    assert again.status_code == 409
    assert requests.delete(env.hub.api_url + "/users/ops-made", headers=ops, timeout=30).status_code == 204
    # nor mint a token for an admin, whose token would read auth state
    env.hub.create_user("boss", admin=True)
    r = requests.post(env.hub.api_url + "/users/boss/tokens", json={"note": "escalate"}, headers=ops, timeout=30)
    assert r.status_code == 403 and "admin" in r.json()["message"], r.text
    r = requests.post(env.hub.api_url + "/users/kcdc-ada/tokens", json={"note": "plain"}, headers=ops, timeout=30)
    assert r.status_code == 201, r.text  # a plain user's token, as the tests and benchmarks need
    # the route is the ops service's only
    student = env.hub.create_token("kcdc-ada")
    r = requests.post(env.hub.url + "hub/api/astrohub/users/intruder", headers={"Authorization": f"token {student}"}, timeout=30)
    assert r.status_code == 403
