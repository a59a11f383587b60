"""A second Swarm node: a worker in a container, images from the registry, a user placed there.

The module deploys its own small stack (`<e2e stack>-nodes`, port + 2) that names
every image after the machine's registry (`127.0.0.1:5000`, stack
`astrohub-registry`: TLS, logins, pushes only on port 5001 with the operator's
login), pushes the images there, and joins a Docker-in-Docker worker labelled
`astrohub.node=<name>`. The worker gets the user image the way a production node
does: its pre-pull task pulls it from the registry with the stack's pull login.
Anonymous catalog, pull and push are tried and must be refused; at the end the
registry is removed and nothing may listen on its ports.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
import requests

from astrohub import images, nodes, registry, settings
from astrohub.deploy import Stack, docker

from .conftest import ROOT, wipe

REGISTRY = "127.0.0.1:5000"
GROUP = "classroom-b"


def wait_for(condition, timeout, what, interval=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


def tasks_on(node_id: str, service: str) -> list[str]:
    r = docker("service", "ps", "--filter", f"node={node_id}", "--filter", "desired-state=running",
               "--format", "{{.CurrentState}}", service, check=False)
    return r.stdout.splitlines()


@pytest.fixture(scope="module")
def two_nodes(stack):
    """The module's stack and a worker node; figures printed (pytest -s shows them)."""
    worker = f"{stack.name}-worker"
    env = {
        "ASTROHUB_STACK_NAME": f"{stack.name}-nodes",
        "ASTROHUB_HTTP_PORT": str(stack.settings.http_port + 2),
        "ASTROHUB_MEM_LIMIT": "1G",
        "ASTROHUB_IMAGE_TAG": stack.settings.image_tag,
        "ASTROHUB_REGISTRY": REGISTRY,
        "ASTROHUB_GROUP_NODES": f"{GROUP}:{worker}",
    }
    s = Stack(ROOT, settings.load(env, secrets_dir="/nonexistent"))
    machine = registry.MachineRegistry(ROOT, registry.registry_port(REGISTRY))
    # Left over from an interrupted run.
    nodes.remove(worker)
    machine.down()
    wipe(s)
    t0 = time.monotonic()
    s.settings = registry.publish(ROOT, s.settings)
    push_s = time.monotonic() - t0
    s.ensure_secrets()
    s.deploy()
    s.wait_until_ready()
    # Stack first, then the node: the stack's own services stay on the manager.
    t0 = time.monotonic()
    node_id = nodes.add(ROOT, worker, s.settings.image_tag)
    join_s = time.monotonic() - t0
    try:
        # The pre-pull task brings the user image from the registry to the worker.
        wait_for(lambda: any(t.startswith("Running") for t in tasks_on(node_id, f"{s.name}_prepull")),
                 timeout=900, interval=2, what="the user image pulled onto the worker")
    except AssertionError:
        print(nodes.logs(worker))
        raise
    pull_s = time.monotonic() - t0 - join_s
    print(f"\nfigures: push of the images to {REGISTRY} {push_s:.1f} s; "
          f"worker started and joined {join_s:.1f} s; user image pulled onto it {pull_s:.1f} s")
    # Through the stack's edge (https, trusting its own local CA) where there is one.
    hub = s.hub_client(timeout=60)
    yield s, hub, worker, node_id, machine
    wipe(s)
    nodes.remove(worker)
    machine.down()
    # The check: whatever the tests did, no registry is left serving the images.
    assert not listening(machine.port) and not listening(machine.push_port), "a registry is still listening"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(autouse=True)
def logs_on_failure(request, two_nodes):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        s, _, worker, _, _ = two_nodes
        print(s.logs(tail=100))
        print(nodes.logs(worker))
        for service in s.user_services():
            r = docker("service", "ps", "--no-trunc", "--format", "{{.Node}} {{.CurrentState}} {{.Error}}", service, check=False)
            print(f"--- tasks of {service} ---\n{r.stdout}{r.stderr}")
            r = docker("service", "logs", "--tail", "60", service, check=False)
            print(f"--- logs of {service} ---\n{r.stdout}{r.stderr}")


def test_the_worker_joined_and_pulled_the_user_image_from_the_registry(two_nodes):
    s, _, worker, node_id, _ = two_nodes
    node = docker("node", "inspect", node_id, "--format",
                  "{{.Spec.Role}} {{.Status.State}} {{.Description.Hostname}} {{index .Spec.Labels \"astrohub.node\"}}").stdout.split()
    assert node == ["worker", "ready", worker, worker]
    # Pulled from the registry, by the digest the stack recorded (so no tag); the
    # worker's own daemon never saw a build or a load.
    pulled = nodes.inner(worker, "image", "ls", "--format", "{{.Repository}}").stdout.split()
    assert f"{REGISTRY}/astrohub/singleuser" in pulled
    assert "astrohub/singleuser" not in pulled


def test_a_server_placed_on_the_worker_runs_there_and_answers_through_the_proxy(two_nodes):
    s, hub, worker, node_id, _ = two_nodes
    hub.create_user("ada")
    hub.api("POST", f"/groups/{GROUP}")
    hub.api("POST", f"/groups/{GROUP}/users", json={"users": ["ada"]}).raise_for_status()
    took = hub.start("ada", timeout=300)
    print(f"\nfigures: server of ada started on the worker in {took:.1f} s")
    service = f"{s.name}-user-ada"
    assert tasks_on(node_id, service) and tasks_on(node_id, service)[0].startswith("Running")
    # The home volume was made on the worker, not on the manager.
    home = s.settings.home_volume.replace("{stack}", s.name).replace("{username}", "ada")
    assert nodes.inner(worker, "volume", "inspect", home, check=False).returncode == 0
    assert docker("volume", "inspect", home, check=False).returncode != 0
    r = hub.server("PUT", "ada", "/api/contents/on-the-worker.txt",
                   json={"type": "file", "format": "text", "content": "written on the second node"})
    assert r.status_code in (200, 201), r.text
    assert hub.execute("ada", "open('/home/jovyan/on-the-worker.txt').read().upper()")[0] == "'WRITTEN ON THE SECOND NODE'"


def test_the_server_comes_back_to_its_home_on_the_worker(two_nodes):
    s, hub, worker, node_id, _ = two_nodes
    hub.stop("ada")
    # Out of the group: only the home's node keeps her on the worker now.
    hub.api("DELETE", f"/groups/{GROUP}/users", json={"users": ["ada"]}).raise_for_status()
    hub.start("ada", timeout=300)
    service = f"{s.name}-user-ada"
    constraints = docker("service", "inspect", service, "--format", "{{json .Spec.TaskTemplate.Placement.Constraints}}").stdout.strip()
    assert constraints == f'["node.hostname == {worker}"]'
    assert tasks_on(node_id, service)
    r = hub.server("GET", "ada", "/api/contents/on-the-worker.txt", params={"content": 1})
    assert r.status_code == 200 and r.json()["content"] == "written on the second node"
    hub.stop("ada")


def test_the_worker_leaves_the_swarm_cleanly(two_nodes):
    s, _, worker, node_id, _ = two_nodes
    nodes.remove(worker)
    assert docker("node", "inspect", node_id, check=False).returncode != 0
    assert docker("container", "inspect", nodes.container_name(worker), check=False).returncode != 0
    assert docker("volume", "inspect", nodes.container_name(worker), check=False).returncode != 0


# -- the registry refuses strangers ------------------------------------------------

def _ca(tmp_path, machine) -> str:
    path = tmp_path / "registry-ca.crt"
    path.write_text(machine.ca_certificate())
    return str(path)


def test_the_registry_catalog_is_refused_without_a_login(two_nodes, tmp_path):
    s, _, _, _, machine = two_nodes
    ca = _ca(tmp_path, machine)
    for port in (machine.port, machine.push_port):
        r = requests.get(f"https://127.0.0.1:{port}/v2/_catalog", verify=ca, timeout=10)
        assert r.status_code == 401, r.text
        # No plain http either.
        r = requests.get(f"http://127.0.0.1:{port}/v2/_catalog", timeout=10)
        assert r.status_code == 400 and "repositories" not in r.text
    # The same request with the pull login sees the images: the refusal above is the login's doing.
    login = machine.pull_login
    r = requests.get(f"https://{REGISTRY}/v2/_catalog", auth=(login.user, login.password), verify=ca, timeout=10)
    assert r.status_code == 200 and "astrohub/formgrader" in r.json()["repositories"]


def _docker_as(tmp_path, name: str, logins) -> dict:
    return dict(os.environ, DOCKER_CONFIG=str(images.docker_config(tmp_path / name, logins)))


def test_an_anonymous_pull_of_the_formgrader_image_is_refused(two_nodes, tmp_path):
    s, _, _, _, machine = two_nodes
    ref = f"{REGISTRY}/astrohub/formgrader:{s.settings.image_tag}"
    r = subprocess.run(["docker", "pull", ref], env=_docker_as(tmp_path, "anonymous", []), capture_output=True, text=True)
    # Docker tries https, gets 401, then (a loopback registry counts as insecure) plain
    # http, which the registry answers with 400: it reports the last of these.
    assert r.returncode != 0 and any(w in r.stderr for w in (
        "no basic auth credentials", "unauthorized", "HTTP request to an HTTPS server")), r.stderr
    # The pull login gets it: the refusal above is the missing login's doing.
    r = subprocess.run(["docker", "pull", ref], env=_docker_as(tmp_path, "pull", [machine.pull_login]),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = requests.get(f"https://{REGISTRY}/v2/astrohub/formgrader/manifests/{s.settings.image_tag}",
                     verify=_ca(tmp_path, machine), timeout=10)
    assert r.status_code == 401


def _user_image_digest(machine, tag, ca) -> str:
    login = machine.pull_login
    r = requests.head(f"https://{REGISTRY}/v2/astrohub/singleuser/manifests/{tag}", auth=(login.user, login.password),
                      headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}, verify=ca, timeout=10)
    assert r.status_code == 200
    return r.headers["Docker-Content-Digest"]


def test_pushing_over_the_user_image_is_refused_without_the_push_login(two_nodes, tmp_path):
    s, _, _, _, machine = two_nodes
    ca = _ca(tmp_path, machine)
    before = _user_image_digest(machine, s.settings.image_tag, ca)
    pull = machine.pull_login
    attempts = {
        "anonymous, pull side": (REGISTRY, []),
        "anonymous, push side": (machine.push_address, []),
        "pull login, pull side (read-only)": (REGISTRY, [pull]),
        "pull login, push side": (machine.push_address, [registry.Login(machine.push_address, pull.user, pull.password)]),
    }
    for what, (address, logins) in attempts.items():
        # The attack: any image under the name every student's server starts from.
        ref = f"{address}/astrohub/singleuser:{s.settings.image_tag}"
        docker("tag", "debian:bookworm-slim", ref)
        r = subprocess.run(["docker", "push", ref], env=_docker_as(tmp_path, what.replace(" ", "_"), logins),
                           capture_output=True, text=True)
        assert r.returncode != 0, f"{what}: the push went through"
        assert any(w in r.stderr.lower() for w in ("unauthorized", "no basic auth", "method not allowed")), f"{what}: {r.stderr}"
    # Put the real tags back on this host (the stack's images), and the registry's copy never changed.
    images.push(s.settings.image_tag, REGISTRY, ("singleuser",), push_to=machine.push_address,
                docker_config=machine.docker_config())
    assert _user_image_digest(machine, s.settings.image_tag, ca) == before


def test_removing_the_registry_leaves_nothing_listening(two_nodes):
    _, _, _, _, machine = two_nodes
    machine.down()
    assert docker("stack", "ps", registry.REGISTRY_STACK, check=False).returncode != 0
    assert not listening(machine.port) and not listening(machine.push_port)
    assert not [n for n in docker("secret", "ls", "--format", "{{.Name}}").stdout.split()
                if n.startswith(f"{registry.REGISTRY_STACK}_")]
