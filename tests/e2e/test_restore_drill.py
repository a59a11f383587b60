"""The restore drill: a populated stack backed up, wiped off the machine, restored.

Its own stack (nothing else must lose its volumes): a student with a password, a
file in the home, a data request, and a course (astro101) whose teacher released an
assignment that the student submitted, graded by the autograder with feedback
returned, and published the masterclasses to the course; then `astrohub backup`,
`astrohub down`, every volume, secret and the state folder removed; then `astrohub restore` and `astrohub up`: the same password logs
in, the file has the same hash, the request is still downloadable with the same
rows, the gradebook has the same score, the feedback is the same, the exchange still
lists the assignment, the course's students get the same published masterclasses,
and the edge's local CA is the same (browsers that trust it keep trusting it).
Then the same stack with OpenID Connect login: a KCDC user's encrypted auth state
comes back and still decrypts. Printed with -s: backup and restore times."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time

import pytest
import requests

from astrohub import courses, images, roster, settings
from astrohub.deploy import Stack
from servicekit.publish import PUBLISHED
from tests.support.net import swarm_gateway
from tests.support.oidc import flow as oidc_flow
from tests.support.oidc.provider import DjangoProvider
from tests.support.courseflow import (ASSIGNMENT, RIGHT_ANSWERS, answer, feedback_html, gradebook_scores, join_groups,
                                      nbgrader, ok, wait_for_formgrader)

from .conftest import ROOT, wipe

STUDENT, TEACHER = "drill-ada", "drill-tina"
COURSE = "astro101"
FORMGRADER = f"services/{COURSE}"
FILE_TEXT = "Ne-Nmu notes of a whole term\n" * 2000
OIDC_USER = {"username": "lise", "password": secrets.token_urlsafe(12), "groups": ["students"]}
OIDC_HUB_USER = f"kcdc-{OIDC_USER['username']}"

REQUEST = """
import kcdc, json
r = kcdc.Client(progress=False).request("kascade", ["E", "Ze"], cuts=[("E", ">", 16.5)], format="parquet")
r.wait(timeout=180)
print(json.dumps({"id": r.id, "rows": len(r.to_pandas())}))
"""


def astrohub(env: dict, *args: str) -> subprocess.CompletedProcess:
    """The operator's command, as typed (`.venv/bin/astrohub ...` from the checkout)."""
    r = subprocess.run([sys.executable, "-m", "astrohub.cli", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"astrohub {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r


def login(stack: Stack, username: str, password: str) -> int:
    s = requests.Session()
    s.verify = stack.ca_bundle()
    s.get(f"{stack.local_url}/hub/login", timeout=30)
    r = s.post(f"{stack.local_url}/hub/login", allow_redirects=False, timeout=30,
               data={"username": username, "password": password, "_xsrf": s.cookies.get("_xsrf", "")})
    return r.status_code


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def drill_env(tmp_path_factory):
    port = int(os.environ.get("ASTROHUB_E2E_PORT", "18000")) + 3
    name = os.environ.get("ASTROHUB_E2E_STACK", "astrohub-e2e") + "-drill"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTROHUB_E2E")}
    env.update({"ASTROHUB_STACK_NAME": name, "ASTROHUB_HTTP_PORT": str(port),
                "ASTROHUB_PUBLIC_URL": f"https://127.0.0.1:{port}", "ASTROHUB_MEM_LIMIT": "1G",
                "ASTROHUB_COURSES": f"{COURSE}:teachers-{COURSE}:students-{COURSE}",
                "ASTROHUB_IMAGE_TAG": os.environ.get("ASTROHUB_IMAGE_TAG", settings.VERSION),
                # from the first start: the OpenID Connect part logs in with it later
                "ASTROHUB_KCDC_CLIENT_SECRET": secrets.token_urlsafe(24),
                "ASTROHUB_STATE_DIR": str(tmp_path_factory.mktemp("drill-state"))})
    stack = Stack(ROOT, settings.load({k: v for k, v in env.items() if k != "ASTROHUB_STATE_DIR"},
                                      secrets_dir="/nonexistent"))
    os.environ["ASTROHUB_STATE_DIR"], saved = env["ASTROHUB_STATE_DIR"], os.environ.get("ASTROHUB_STATE_DIR")
    wipe(stack)
    # The course's formgrader image (built once; the session's e2e stack may not have run).
    images.build(ROOT, stack.settings.image_tag, courses=courses.course_ids(stack.settings))
    yield env, stack
    wipe(stack)
    if saved is None:
        os.environ.pop("ASTROHUB_STATE_DIR", None)
    else:
        os.environ["ASTROHUB_STATE_DIR"] = saved


def test_a_backup_brings_everything_back_on_an_empty_machine(drill_env, tmp_path, monkeypatch):
    env, stack = drill_env
    astrohub(env, "up", "--no-build")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
    root_before = stack.root_certificate()
    hub = stack.hub_client(timeout=60)
    created = roster.submit(stack.local_url, stack.secret_value("ops_token"),
                            roster.parse(f"username,groups\n{STUDENT},students\n"))
    password = created["created"][0]["password"]
    assert login(stack, STUDENT, password) == 302
    hub.create_user(TEACHER)
    join_groups(hub, {f"formgrade-{COURSE}": [TEACHER], f"nbgrader-{COURSE}": [TEACHER, STUDENT]})
    hub.start(STUDENT)
    graded = teach_and_grade(hub)
    published = publish_masterclasses(hub)
    r = hub.server("PUT", STUDENT, "/api/contents/term-notes.txt",
                   json={"type": "file", "format": "text", "content": FILE_TEXT})
    assert r.status_code in (200, 201), r.text[:300]
    text, _, _ = hub.execute(STUDENT, REQUEST, timeout=240)
    request = last_json(text)
    assert request["rows"] > 0
    hub.stop(STUDENT)

    took_backup, took_restore = back_up_wipe_restore(env, stack, tmp_path / "backups")
    print(f"\nrestore drill: backup {took_backup:.1f} s, restore + up {took_restore:.1f} s, "
          f"repository {sum(p.stat().st_size for p in (tmp_path / 'backups').rglob('*') if p.is_file()) / 1e6:.1f} MB")

    assert stack.root_certificate() == root_before
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
    assert login(stack, STUDENT, password) == 302
    assert login(stack, STUDENT, password + "x") != 302
    hub = stack.hub_client(timeout=60)
    hub.start(STUDENT)
    r = hub.server("GET", STUDENT, "/api/contents/term-notes.txt")
    assert r.status_code == 200
    assert hashlib.sha256(r.json()["content"].encode()).hexdigest() == hashlib.sha256(FILE_TEXT.encode()).hexdigest()
    again = last_json(hub.execute(STUDENT, (
        "import kcdc, json\n"
        f"r = kcdc.Client(progress=False).get({request['id']!r})\n"
        "print(json.dumps({'state': r.state, 'rows': len(r.to_pandas())}))"), timeout=240)[0])
    assert again == {"state": "Finished", "rows": request["rows"]}
    teacher = hub.user_token(TEACHER, note="teacher after the restore")
    wait_for_formgrader(hub, FORMGRADER, teacher)
    assert gradebook_scores(hub, FORMGRADER, teacher, [STUDENT]) == graded["scores"]
    assert feedback_html(hub, STUDENT) == graded["feedback"]
    assert f"{COURSE} {ASSIGNMENT}" in ok(nbgrader(hub, STUDENT, f"list --course {COURSE}"))
    # the same version (its time), and in the student's server from the course's library volume
    assert published_line(hub, teacher) == published
    listed, _, _ = hub.execute(STUDENT, f"import os; print(sorted(os.listdir('{PUBLISHED}/{COURSE}/current')))")
    assert "01-anatomy-of-a-shower" in listed, listed
    hub.stop(STUDENT)


def test_an_oidc_users_auth_state_comes_back_and_still_decrypts(drill_env, tmp_path, monkeypatch):
    """The same stack logging in through OpenID Connect (a real provider on this machine's
    gateway address, which the hub reaches): the KCDC user's auth state (the provider's
    tokens, encrypted with the crypt key) comes back, and their server gets the same
    access token as before, which the provider still accepts; the user logs in again."""
    env, stack = drill_env
    provider = DjangoProvider(tmp_path / "provider", [OIDC_USER], host=swarm_gateway(),
                              redirect_uris=[f"{stack.settings.public_url}/hub/kcdc/oauth_callback"])
    # the client secret the stack has held since its first start (docker secrets cannot change)
    provider.client_secret = env["ASTROHUB_KCDC_CLIENT_SECRET"]
    with provider:
        oidc_env = {**env, **provider.settings_env("kcdc"), "ASTROHUB_AUTHENTICATOR": "oidc"}
        astrohub(oidc_env, "up", "--no-build")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
        hub_url = f"{stack.local_url}/"
        assert oidc_login(hub_url) == 302, provider.log()[-2000:]
        before = server_token(stack)
        assert provider_accepts(provider, before)

        back_up_wipe_restore(oidc_env, stack, tmp_path / "backups")

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
        assert "students" in stack.hub_client().user(OIDC_HUB_USER)["groups"]  # from the provider's claim
        # decrypted with the restored crypt key (a new key would leave no auth state, so no token)
        assert server_token(stack) == before
        assert oidc_login(hub_url) == 302


def oidc_login(hub_url: str) -> int:
    """The KCDC button's whole way (provider form, callback); the hub's answer to the callback."""
    result = oidc_flow.login(hub_url, "kcdc", OIDC_USER["username"], OIDC_USER["password"])
    assert result.response is not None, f"the provider gave no code: {result.form_page.text[:300]}"
    return result.response.status_code


def server_token(stack: Stack) -> str:
    """The KCDC access token the user's server is handed from the auth state (astrohub.oidc)."""
    hub = stack.hub_client(timeout=60)
    hub.start(OIDC_HUB_USER)
    try:
        out, _, _ = hub.execute(OIDC_HUB_USER, "import os; print(open(os.environ['KCDC_ACCESS_TOKEN_FILE']).read().strip())")
    finally:
        hub.stop(OIDC_HUB_USER)
    token = out.strip().splitlines()[-1]
    assert len(token) > 10, out
    return token


def provider_accepts(provider: DjangoProvider, token: str) -> bool:
    r = requests.get(provider.userinfo_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return r.status_code == 200 and r.json().get("preferred_username") == OIDC_USER["username"]


def back_up_wipe_restore(env: dict, stack: Stack, repo) -> tuple[float, float]:
    """Back up, take everything off the machine, restore and bring the stack up; (backup s, restore + up s)."""
    t0 = time.monotonic()
    astrohub(env, "backup", str(repo))
    took_backup = time.monotonic() - t0
    out = astrohub(env, "backup", "--verify", str(repo)).stdout
    assert "is intact" in out
    backup_password = (stack.state_dir / "backup_password").read_text().strip()

    # Nothing left on the machine: stack, volumes, secrets, the state folder.
    astrohub(env, "down")
    stack.forget()
    shutil.rmtree(stack.state_dir)
    assert not stack.secret_value("ops_token")

    t0 = time.monotonic()
    astrohub({**env, "ASTROHUB_BACKUP_PASSWORD": backup_password}, "restore", str(repo))
    astrohub(env, "up", "--no-build")
    return took_backup, time.monotonic() - t0


def published_line(hub, teacher: str) -> str:
    page = hub.server("GET", FORMGRADER, "/masterclasses", token=teacher)
    assert page.status_code == 200, page.text[:300]
    return re.search(r'<p id="published">(.*?)</p>', page.text, re.S).group(1)


def publish_masterclasses(hub) -> str:
    """The teacher publishes the course's masterclasses; the page's line of what students have."""
    teacher = hub.user_token(TEACHER, note="teacher publishes")
    r = hub.server("POST", FORMGRADER, "/masterclasses", token=teacher)
    assert r.status_code == 200 and 'id="notice"' in r.text, r.text[:500]
    line = published_line(hub, teacher)
    assert "published" in line and "Nothing" not in line, line
    return line


def teach_and_grade(hub) -> dict:
    """Release, fetch, answer, submit, autograde, return and fetch feedback; what came of it."""
    teacher = hub.user_token(TEACHER, note="teacher in the formgrader")
    wait_for_formgrader(hub, FORMGRADER, teacher)
    for step in (f"generate_assignment {ASSIGNMENT} --force", f"release_assignment {ASSIGNMENT} --force"):
        ok(nbgrader(hub, FORMGRADER, step, token=teacher))
    ok(nbgrader(hub, STUDENT, f"fetch_assignment {ASSIGNMENT} --course {COURSE}"))
    answer(hub, STUDENT, RIGHT_ANSWERS)
    ok(nbgrader(hub, STUDENT, f"submit {ASSIGNMENT} --course {COURSE}"))
    for step in ("collect", "autograde", "generate_feedback", "release_feedback"):
        ok(nbgrader(hub, FORMGRADER, f"{step} {ASSIGNMENT}", token=teacher))
    ok(nbgrader(hub, STUDENT, f"fetch_feedback {ASSIGNMENT} --course {COURSE}"))
    graded = {"scores": gradebook_scores(hub, FORMGRADER, teacher, [STUDENT]), "feedback": feedback_html(hub, STUDENT)}
    assert graded["scores"] == {STUDENT: 3.0} and "Score: 3.0 / 5.0" in graded["feedback"]
    return graded
