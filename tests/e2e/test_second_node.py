"""A second Swarm node: a worker in a container, images from the registry, a user placed there.

The module deploys its own small stack (`<e2e stack>-nodes`, port + 2) that names
every image after the machine's registry (`127.0.0.1:5000`, stack
`astrohub-registry`), pushes the images there, and joins a Docker-in-Docker worker
labelled `astrohub.node=<name>`. The worker gets the user image the way a
production node does: its pre-pull task pulls it from the registry.
"""

from __future__ import annotations

import time

import pytest

from astrohub import nodes, settings
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
    nodes.remove(worker)  # left over from an interrupted run
    wipe(s)
    t0 = time.monotonic()
    nodes.publish(ROOT, s.settings.image_tag, REGISTRY)
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
    yield s, hub, worker, node_id
    wipe(s)
    nodes.remove(worker)


@pytest.fixture(autouse=True)
def logs_on_failure(request, two_nodes):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        s, _, worker, _ = two_nodes
        print(s.logs(tail=100))
        print(nodes.logs(worker))
        for service in s.user_services():
            r = docker("service", "ps", "--no-trunc", "--format", "{{.Node}} {{.CurrentState}} {{.Error}}", service, check=False)
            print(f"--- tasks of {service} ---\n{r.stdout}{r.stderr}")
            r = docker("service", "logs", "--tail", "60", service, check=False)
            print(f"--- logs of {service} ---\n{r.stdout}{r.stderr}")


def test_the_worker_joined_and_pulled_the_user_image_from_the_registry(two_nodes):
    s, _, worker, node_id = two_nodes
    node = docker("node", "inspect", node_id, "--format",
                  "{{.Spec.Role}} {{.Status.State}} {{.Description.Hostname}} {{index .Spec.Labels \"astrohub.node\"}}").stdout.split()
    assert node == ["worker", "ready", worker, worker]
    # Pulled from the registry, by the digest the stack recorded (so no tag); the
    # worker's own daemon never saw a build or a load.
    pulled = nodes.inner(worker, "image", "ls", "--format", "{{.Repository}}").stdout.split()
    assert f"{REGISTRY}/astrohub/singleuser" in pulled
    assert "astrohub/singleuser" not in pulled


def test_a_server_placed_on_the_worker_runs_there_and_answers_through_the_proxy(two_nodes):
    s, hub, worker, node_id = two_nodes
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
    s, hub, worker, node_id = two_nodes
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
    s, _, worker, node_id = two_nodes
    nodes.remove(worker)
    assert docker("node", "inspect", node_id, check=False).returncode != 0
    assert docker("container", "inspect", nodes.container_name(worker), check=False).returncode != 0
    assert docker("volume", "inspect", nodes.container_name(worker), check=False).returncode != 0
