"""Operating the hub: limits, restarts of every part, culling, metrics, health.

These tests restart services of the shared e2e stack; each waits until the
stack is whole again before it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from astrohub import settings
from astrohub.deploy import Stack, docker
from astrohub.hubapi import KernelDied

from .conftest import ROOT, wipe


def wait_for(condition, timeout=120, interval=1.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


def restart(stack, service):
    """Replace the service's task and wait until the new one runs (the old one is gone)."""
    old = docker("service", "ps", "-q", "--filter", "desired-state=running", f"{stack.name}_{service}").stdout.split()
    docker("service", "update", "--force", "--detach", f"{stack.name}_{service}")

    def replaced():
        tasks = docker("service", "ps", "--filter", "desired-state=running", "--format", "{{.ID}} {{.CurrentState}}",
                       f"{stack.name}_{service}").stdout.splitlines()
        return tasks and all(t.split()[0] not in old and " Running" in f" {t.split(None, 1)[1]}" for t in tasks)

    wait_for(replaced, timeout=120, what=f"{service} replaced by a new task")


def test_metrics_are_for_admins_only(hub, stack):
    r = hub.session.get(f"{stack.local_url}/hub/metrics", timeout=30)
    assert r.status_code == 200 and "jupyterhub_" in r.text
    hub.create_user("metrics-student")
    student = hub.user_token("metrics-student")
    assert requests.get(f"{stack.local_url}/hub/metrics", headers={"Authorization": f"token {student}"}, timeout=30).status_code == 403
    assert requests.get(f"{stack.local_url}/hub/metrics", timeout=30).status_code == 403


def test_a_teacher_gets_the_teacher_limits(hub, stack):
    hub.create_user("tess")
    hub.api("POST", "/groups/formgrade-astro101")
    hub.api("POST", "/groups/formgrade-astro101/users", json={"users": ["tess"]}).raise_for_status()
    hub.start("tess")
    limits = docker("service", "inspect", f"{stack.name}-user-tess", "--format",
                    "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}} {{.Spec.TaskTemplate.Resources.Limits.NanoCPUs}}").stdout.split()
    assert limits == [str(4 * 1024**3), str(2 * 10**9)]
    hub.stop("tess")


def test_a_kernel_past_its_memory_limit_dies_alone(hub, stack):
    for user in ("hungry", "calm"):
        hub.create_user(user)
        hub.start(user)
    calm_answers = []

    def calm_user():
        # Another student's kernel keeps answering while the first one is killed.
        for _ in range(3):
            calm_answers.append(hub.execute("calm", "sum(range(10))")[0])

    other = threading.Thread(target=calm_user)
    other.start()
    with pytest.raises(KernelDied):
        hub.execute("hungry", "x = bytearray(2 * 1024**3)")  # the server's limit is 1G
    other.join()
    assert calm_answers == ["45"] * 3
    # The server that hosted the kernel is alive and runs a new kernel.
    assert hub.server("GET", "hungry", "/api/status").status_code == 200
    assert hub.execute("hungry", "6 * 7")[0] == "42"
    for user in ("hungry", "calm"):
        hub.stop(user)


def admin_session(stack) -> requests.Session:
    session = requests.Session()
    login = session.get(f"{stack.local_url}/hub/login", timeout=30)
    xsrf = session.cookies.get("_xsrf")
    r = session.post(f"{stack.local_url}/hub/login", timeout=30, allow_redirects=False,
                     data={"username": "admin", "password": stack.secret_value("admin_password"), "_xsrf": xsrf})
    assert r.status_code == 302, (login.status_code, r.status_code, r.text[:300])
    return session


def logged_in(session, stack) -> bool:
    r = session.get(f"{stack.local_url}/hub/home", timeout=30, allow_redirects=False)
    return r.status_code == 200


def test_a_hub_restart_keeps_servers_running_and_users_logged_in(hub, stack):
    browser = admin_session(stack)
    assert logged_in(browser, stack)
    hub.create_user("steady")
    hub.start("steady")
    hub.server("PUT", "steady", "/api/contents/notes.txt", json={"type": "file", "format": "text", "content": "x"})
    restart(stack, "hub")
    wait_for(lambda: hub.api("GET", "/").status_code == 200 and hub.user("steady")["servers"][""]["ready"],
             what="hub back with the server ready")
    assert logged_in(browser, stack), "the browser session did not survive the hub restart"
    assert hub.server("GET", "steady", "/api/contents/notes.txt").status_code == 200
    assert hub.execute("steady", "1 + 1")[0] == "2"


def test_a_proxy_restart_restores_every_route(hub, stack):
    restart(stack, "proxy")
    # Routes come back from the hub's periodic check (route_check_interval).
    wait_for(lambda: hub.server("GET", "steady", "/api/status").status_code == 200, timeout=150,
             what="the route to a running server")
    assert hub.api("GET", "/").status_code == 200
    hub.stop("steady")


def test_a_datacentre_restart_loses_no_request(hub, stack):
    hub.create_user("patient")
    token = hub.user_token("patient", scopes=["access:services!service=datacentre"])
    api = f"{stack.local_url}/services/datacentre/api"
    headers = {"Authorization": f"token {token}"}
    body = {"datashop": "kascade", "columns": ["E", "Ze", "Az", "Ne", "Nmu", "Age"], "cuts": [], "format": "root"}
    r = requests.post(f"{api}/requests", json=body, headers=headers, timeout=60)
    assert r.status_code in (200, 201), r.text
    request_id = r.json()["id"]
    restart(stack, "datacentre")
    states = []

    def settled():
        r = requests.get(f"{api}/requests/{request_id}", headers=headers, timeout=10)
        if r.status_code != 200:
            return False
        states.append(r.json()["state"])
        return states[-1] in ("Finished", "Failed")

    wait_for(settled, timeout=300, interval=2, what="the request finishing or failing")
    final = requests.get(f"{api}/requests/{request_id}", headers=headers, timeout=10).json()
    assert final["state"] == "Finished" or final.get("reason"), final


def test_the_health_command_reports_a_healthy_hub(stack):
    env = dict(os.environ, **{f"ASTROHUB_{k.upper()}": str(v) for k, v in (
        ("stack_name", stack.name), ("http_port", stack.settings.http_port))})
    r = subprocess.run([sys.executable, "-m", "astrohub.cli", "health"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("healthy")
    assert "ok   run a notebook in the user's kernel" in r.stdout
    assert "ok   get data through the data service" in r.stdout


@pytest.fixture(scope="module")
def culling_stack(stack, tmp_path_factory):
    """A second small stack whose culler stops servers idle for 30 s."""
    env = {"ASTROHUB_STACK_NAME": f"{stack.name}-cull", "ASTROHUB_HTTP_PORT": str(stack.settings.http_port + 1),
           "ASTROHUB_CULL_IDLE_TIMEOUT": "30", "ASTROHUB_CULL_EVERY": "10", "ASTROHUB_MEM_LIMIT": "1G",
           "ASTROHUB_IMAGE_TAG": stack.settings.image_tag}
    cull = Stack(ROOT, settings.load(env, secrets_dir="/nonexistent"))
    wipe(cull)
    cull.ensure_secrets()
    cull.deploy()
    cull.wait_until_ready()
    yield cull, cull.hub_client()
    wipe(cull)


def test_an_idle_server_is_culled_keeps_its_home_and_is_not_restarted(culling_stack):
    cull, hub = culling_stack
    hub.create_user("sleepy")
    hub.start("sleepy")
    hub.server("PUT", "sleepy", "/api/contents/diary.txt", json={"type": "file", "format": "text", "content": "zzz"})
    wait_for(lambda: not hub.user("sleepy")["servers"], timeout=180, interval=3, what="the idle server culled")
    # Swarm does not bring it back (restart policy none): no service, no task.
    time.sleep(10)
    assert f"{cull.name}-user-sleepy" not in docker("service", "ls", "--format", "{{.Name}}").stdout.split()
    assert not hub.user("sleepy")["servers"]
    hub.start("sleepy")
    r = hub.server("GET", "sleepy", "/api/contents/diary.txt", params={"content": 1})
    assert r.json()["content"] == "zzz"
    hub.stop("sleepy")
