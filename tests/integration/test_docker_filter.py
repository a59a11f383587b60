"""The hub's Docker filter in front of the real Docker socket, on loopback.

Each forbidden call is an attack a hub taken over could try; each must come back 403
from the filter (never reach dockerd: a 404 or 409 would mean it did). The allowed
calls are the spawner's, made with docker-py as the spawner makes them.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import requests
from docker.errors import APIError
from docker.types import ContainerSpec, DriverConfig, EndpointSpec, Mount, SecretReference, TaskTemplate

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "dockerfilter-test-"
IMAGE = "debian:bookworm-slim"


@pytest.fixture(scope="module")
def filter_url():
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("Docker is not running: run `make setup` (it installs and starts dockerd)")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "astrohub.dockerfilter", "--listen", f"127.0.0.1:{port}",
                             "--service-prefix", PREFIX], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/_ping", timeout=2)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the docker filter did not start")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def client(filter_url):
    return docker.APIClient(base_url=filter_url.replace("http://", "tcp://"), version="auto", timeout=60)


def refused(call) -> str:
    with pytest.raises(APIError) as e:
        call()
    assert e.value.response.status_code == 403, e.value
    assert "astrohub docker filter" in str(e.value)
    return str(e.value)


@pytest.mark.parametrize("method,path", [
    ("POST", "/v1.41/containers/create"),
    ("GET", "/configs"),
    ("POST", "/swarm/leave"),
    ("GET", "/swarm"),
    ("POST", "/containers/nonexistent/exec"),
    ("POST", "/exec/nonexistent/start"),
    ("POST", "/images/create?fromImage=debian"),
    ("POST", "/plugins/pull?remote=x"),
    ("GET", "/events"),
    ("POST", "/services/nonexistent/update?version=1"),
    ("GET", "/services/nonexistent/logs"),
    ("POST", "/volumes/create"),
    ("POST", "/nodes/nonexistent/update?version=1"),
    ("GET", "/info"),
])
def test_a_call_the_spawner_does_not_make_is_refused(filter_url, method, path):
    r = requests.request(method, f"{filter_url}{path}", json={}, timeout=10)
    assert r.status_code == 403, r.text
    assert "not a call the hub's spawner makes" in r.json()["message"]


def test_a_container_with_the_hosts_root_bound_is_refused(client):
    host_config = client.create_host_config(binds={"/": {"bind": "/host", "mode": "rw"}}, privileged=True)
    refused(lambda: client.create_container(IMAGE, "true", host_config=host_config))


def test_exec_in_a_running_container_is_refused(client):
    cid = subprocess.run(["docker", "run", "-d", "--rm", IMAGE, "sleep", "60"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        refused(lambda: client.exec_create(cid, ["cat", "/etc/shadow"]))
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def test_other_secrets_and_swarm_leave_are_refused(client):
    # A secret of the stack's own: neither removed nor mounted into a new server.
    stack_secret = f"dockerfilter-other-{secrets.token_hex(4)}"
    sid = subprocess.run(["docker", "secret", "create", stack_secret, "-"], input="tls key", text=True,
                         capture_output=True, check=True).stdout.strip()
    try:
        refused(lambda: client.remove_secret(sid))
        refused(lambda: client.create_secret(stack_secret + "-copy", b"x"))
        ref = SecretReference(sid, stack_secret)
        assert "not one of the user servers' own" in refused(
            lambda: _service(client, f"{PREFIX}{secrets.token_hex(4)}", secrets=[ref]))
    finally:
        subprocess.run(["docker", "secret", "rm", stack_secret], capture_output=True)
    refused(lambda: client.leave_swarm(force=False))
    refused(lambda: client.inspect_swarm())


def _service(client, name, mounts=(), **container):
    spec = ContainerSpec(IMAGE, ["sleep", "infinity"], mounts=list(mounts), **container)
    return client.create_service(TaskTemplate(spec, restart_policy={"Condition": "none"}), name=name,
                                 endpoint_spec=EndpointSpec(mode="dnsrr"))


@pytest.mark.parametrize("why,mounts,container", [
    ("bind of /", [Mount("/host", "/", type="bind")], {}),
    ("volume that binds /", [Mount("/host", "x-root", type="volume",
                                   driver_config=DriverConfig("local", {"type": "none", "o": "bind", "device": "/"}))], {}),
    ("added capabilities", [], {"cap_add": ["SYS_ADMIN"]}),
    ("sysctls", [], {"sysctls": {"net.ipv4.ip_forward": "1"}}),
])
def test_a_service_that_reaches_the_host_is_refused(client, why, mounts, container):
    name = f"{PREFIX}{secrets.token_hex(4)}"
    refused(lambda: _service(client, name, mounts, **container))
    assert subprocess.run(["docker", "service", "inspect", name], capture_output=True).returncode != 0


def test_a_service_outside_the_prefix_is_refused(client):
    assert "does not start with" in refused(lambda: _service(client, f"other-{secrets.token_hex(4)}"))


def test_the_spawners_calls_pass(client):
    assert client.version()["ApiVersion"]
    name = f"{PREFIX}{secrets.token_hex(4)}"
    home = f"{name}-home"
    service = _service(client, name, [Mount("/home/jovyan", home, type="volume")])
    try:
        assert client.inspect_service(name)["ID"] == service["ID"]
        deadline = time.monotonic() + 60
        # Until the task is placed on a node.
        while not (tasks := [t for t in client.tasks(filters={"service": name}) if t.get("NodeID")]):
            assert time.monotonic() < deadline, "the service got no task on a node"
            time.sleep(0.5)
        assert tasks and client.inspect_task(tasks[0]["ID"])["ServiceID"] == service["ID"]
        node = client.inspect_node(tasks[0]["NodeID"])
        assert node["ID"] in {n["ID"] for n in client.nodes()}
        assert any(n["Name"] == "bridge" for n in client.networks())
        # The per-start secrets of a user's server: made, listed, removed.
        made = client.create_secret(f"{name}-token", b"provider token", labels={"astrohub.user-service": name})
        assert any(s["ID"] == made["ID"] for s in client.secrets(filters={"label": f"astrohub.user-service={name}"}))
        client.remove_secret(made["ID"])
    finally:
        client.remove_service(service["ID"])
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "volume", "rm", home], capture_output=True).returncode != 0 and time.monotonic() < deadline:
            time.sleep(1)
    assert subprocess.run(["docker", "service", "inspect", name], capture_output=True).returncode != 0


def test_removing_a_service_outside_the_prefix_is_refused(client):
    victim = f"dockerfilter-victim-{secrets.token_hex(4)}"
    subprocess.run(["docker", "service", "create", "--detach", "--name", victim, "--restart-condition", "none",
                    "--endpoint-mode", "dnsrr", IMAGE, "sleep", "60"], capture_output=True, check=True)
    try:
        refused(lambda: client.remove_service(victim))
        assert subprocess.run(["docker", "service", "inspect", victim], capture_output=True).returncode == 0
    finally:
        subprocess.run(["docker", "service", "rm", victim], capture_output=True)
