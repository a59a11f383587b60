"""Upgrade from the previous release to this checkout, then roll back.

The previous release is commit OLD_RELEASE of main (release 0.1.0, the last one that
landed before backups existed): it is checked out beside this tree, its own `astrohub up`
builds and deploys it, a student logs in, puts a file in the home and keeps a server
running. This checkout's `astrohub upgrade` then backs up, builds, migrates and
deploys: the student's password and file are still there; the running server was
stopped (this release makes the user network anew) and the upgrade said so. Then the
rollback as the README gives it: the old checkout's `astrohub down`, this checkout's
`astrohub restore --skip-homes --snapshot <id>`, the old checkout's `astrohub up`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from astrohub import roster, settings, upgrade
from astrohub.deploy import Stack

from .conftest import ROOT, wipe

OLD_RELEASE = "78d063a"
OLD_TAG = "0.1.0"
STUDENT = "upgrade-emmy"
NOTE = "kept across the upgrade\n"


def run(tree: Path, env: dict, *args: str) -> str:
    """`astrohub ...` of the checkout ``tree``, as its operator types it."""
    r = subprocess.run([sys.executable, "-m", "astrohub.cli", *args], cwd=tree, capture_output=True, text=True,
                       env={**env, "PYTHONPATH": str(tree / "src")}, timeout=1500)
    assert r.returncode == 0, f"astrohub {' '.join(args)} in {tree} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def login(stack: Stack, password: str) -> int:
    s = requests.Session()
    s.verify = stack.ca_bundle()
    s.get(f"{stack.local_url}/hub/login", timeout=30)
    return s.post(f"{stack.local_url}/hub/login", allow_redirects=False, timeout=30,
                  data={"username": STUDENT, "password": password, "_xsrf": s.cookies.get("_xsrf", "")}).status_code


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("old-release") / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), OLD_RELEASE],
                   check=True, capture_output=True)
    yield tree
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


@pytest.fixture(scope="module")
def upgrade_env(tmp_path_factory):
    port = int(os.environ.get("ASTROHUB_E2E_PORT", "18000")) + 4
    name = os.environ.get("ASTROHUB_E2E_STACK", "astrohub-e2e") + "-upgrade"
    state = str(tmp_path_factory.mktemp("upgrade-state"))
    # Only what both releases know: the old one refuses unknown ASTROHUB_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTROHUB_")}
    env.update({"ASTROHUB_STACK_NAME": name, "ASTROHUB_HTTP_PORT": str(port), "ASTROHUB_MEM_LIMIT": "1G",
                "ASTROHUB_PUBLIC_URL": f"https://127.0.0.1:{port}", "ASTROHUB_STATE_DIR": state})
    new_tag = os.environ.get("ASTROHUB_IMAGE_TAG", settings.VERSION)
    stack = Stack(ROOT, settings.load({k: v for k, v in env.items() if k != "ASTROHUB_STATE_DIR"},
                                      image_tag=new_tag, secrets_dir="/nonexistent"))
    saved = os.environ.get("ASTROHUB_STATE_DIR")
    os.environ["ASTROHUB_STATE_DIR"] = state
    wipe(stack)
    yield env, new_tag, stack
    wipe(stack)
    if saved is None:
        os.environ.pop("ASTROHUB_STATE_DIR", None)
    else:
        os.environ["ASTROHUB_STATE_DIR"] = saved


def test_upgrade_from_the_previous_release_and_roll_back(old_tree, upgrade_env, tmp_path, monkeypatch):
    env, new_tag, stack = upgrade_env
    old_env = {**env, "ASTROHUB_IMAGE_TAG": OLD_TAG}
    run(old_tree, old_env, "up")  # the old release builds its own images
    assert upgrade.running_release(stack) == OLD_TAG
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
    password = roster.submit(stack.local_url, stack.secret_value("ops_token"),
                             roster.parse(f"username,groups\n{STUDENT},students\n"))["created"][0]["password"]
    hub = stack.hub_client(timeout=60)
    hub.start(STUDENT)
    r = hub.server("PUT", STUDENT, "/api/contents/before-upgrade.txt",
                   json={"type": "file", "format": "text", "content": NOTE})
    assert r.status_code in (200, 201), r.text[:300]

    repo = tmp_path / "backups"
    out = run(ROOT, {**env, "ASTROHUB_IMAGE_TAG": new_tag}, "upgrade", "--backup", str(repo))
    print(out)
    snapshot = re.search(r"snapshot (\w+) in", out).group(1)
    assert upgrade.running_release(stack) == new_tag
    assert login(stack, password) == 302
    # 0.1.0 -> 0.2.0 makes the user network anew (internal): the running server was
    # stopped, and said so; its home is as it was.
    assert "Servers stopped (the user network was made anew)" in out
    hub = stack.hub_client(timeout=60)
    assert not hub.user(STUDENT)["servers"]
    hub.start(STUDENT)
    assert hub.server("GET", STUDENT, "/api/contents/before-upgrade.txt").json()["content"] == NOTE

    # Rollback, as the README and the upgrade's own output say.
    run(old_tree, old_env, "down")
    run(ROOT, {**env, "ASTROHUB_IMAGE_TAG": new_tag}, "restore", "--skip-homes", "--snapshot", snapshot, str(repo))
    run(old_tree, old_env, "up", "--no-build")
    assert upgrade.running_release(stack) == OLD_TAG
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
    assert login(stack, password) == 302
    hub = stack.hub_client(timeout=60)
    hub.start(STUDENT)
    assert hub.server("GET", STUDENT, "/api/contents/before-upgrade.txt").json()["content"] == NOTE
    hub.stop(STUDENT)
