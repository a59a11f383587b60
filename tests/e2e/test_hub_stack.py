"""The hub on a real Swarm: API, spawning, the library, homes that persist."""

import json

import pytest

from astrohub.deploy import docker

USER = "ada"


def test_the_hub_api_answers_through_the_proxy(hub):
    r = hub.api("GET", "/")
    assert r.status_code == 200
    assert r.json()["version"] == "6.1.1"


def test_a_user_gets_a_server_as_a_swarm_service(hub, stack):
    hub.create_user(USER)
    hub.start(USER)
    service = f"{stack.name}-user-{USER}"
    spec = docker("service", "inspect", service, "--format",
                  "{{json .Spec.TaskTemplate.RestartPolicy.Condition}} {{json .Spec.EndpointSpec.Mode}} "
                  "{{(index .Spec.TaskTemplate.ContainerSpec.Mounts 0).Type}} {{(index .Spec.TaskTemplate.ContainerSpec.Mounts 0).Source}} "
                  "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}").stdout.split()
    assert spec == ['"none"', '"dnsrr"', "volume", f"{stack.name}-home-{USER}", str(1024**3)]


def test_the_masterclass_library_is_in_the_home(hub):
    r = hub.server("GET", USER, "/api/contents/masterclasses")
    assert r.status_code == 200, r.text
    names = {item["name"] for item in r.json()["content"]}
    assert "00-welcome" in names


def test_code_runs_in_a_kernel(hub):
    result, _, _ = hub.execute(USER, "5 * 4")
    assert result == "20"


def put_file(hub, path, text):
    r = hub.server("PUT", USER, f"/api/contents/{path}", json={"type": "file", "format": "text", "content": text})
    assert r.status_code in (200, 201), r.text


def get_file(hub, path):
    r = hub.server("GET", USER, f"/api/contents/{path}", params={"content": 1})
    assert r.status_code == 200, r.text
    return r.json()["content"]


def edit_notebook(hub, path, marker):
    r = hub.server("GET", USER, f"/api/contents/{path}")
    model = r.json()
    model["content"]["cells"][0]["source"] = marker
    r = hub.server("PUT", USER, f"/api/contents/{path}", json={"type": "notebook", "content": model["content"]})
    assert r.status_code == 200, r.text


WELCOME = "masterclasses/00-welcome/welcome.ipynb"


def test_files_and_edits_survive_stop_and_start(hub):
    put_file(hub, "results.txt", "knee at 10^15.6 eV")
    edit_notebook(hub, WELCOME, "my own notes")
    hub.stop(USER)
    hub.start(USER)
    assert get_file(hub, "results.txt") == "knee at 10^15.6 eV"
    r = hub.server("GET", USER, f"/api/contents/{WELCOME}")
    assert r.json()["content"]["cells"][0]["source"] == "my own notes", "the library start overwrote a student's edit"


def test_a_stopped_server_is_not_restarted_by_swarm(hub, stack):
    hub.stop(USER)
    names = docker("service", "ls", "--format", "{{.Name}}").stdout.split()
    assert f"{stack.name}-user-{USER}" not in names


@pytest.mark.slow
def test_removing_and_redeploying_the_stack_keeps_the_home(hub, stack):
    stack.remove()
    assert docker("volume", "inspect", f"{stack.name}-home-{USER}", check=False).returncode == 0
    stack.deploy()
    stack.wait_until_ready()
    hub.start(USER)
    assert get_file(hub, "results.txt") == "knee at 10^15.6 eV"
    hub.stop(USER)


def test_the_user_image_is_kept_on_every_node(stack):
    nodes = docker("node", "ls", "-q").stdout.split()
    tasks = docker("service", "ps", "-q", "--filter", "desired-state=running", f"{stack.name}_prepull").stdout.split()
    assert len(tasks) == len(nodes)
    image = docker("service", "inspect", f"{stack.name}_prepull", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").stdout
    assert image.startswith(stack.settings.image)


def hub_container(stack) -> str:
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_hub",
                 "--filter", "status=running").stdout.split()
    assert ids, "no running hub container"
    return ids[0]


# The uid of every process of the container whose program is jupyterhub.
_HUB_UIDS = """
import pathlib
for p in pathlib.Path("/proc").glob("[0-9]*"):
    args = (p / "cmdline").read_bytes().split(b"\\0")
    if any(a.endswith(b"bin/jupyterhub") for a in args[:2]):
        print(next(l.split()[1] for l in (p / "status").read_text().splitlines() if l.startswith("Uid:")))
"""


def test_the_hub_process_is_not_root(stack):
    r = docker("exec", hub_container(stack), "python", "-c", _HUB_UIDS)
    uids = r.stdout.split()
    assert uids and "0" not in uids, r.stdout + r.stderr
    # And it still owns its volume (a database of a hub that ran as root included).
    owner = docker("exec", hub_container(stack), "stat", "-c", "%U", "/srv/jupyterhub/jupyterhub.sqlite", check=False)
    assert owner.stdout.strip() == "jupyterhub", owner.stderr


# As the hub's own user, with the hub's DOCKER_HOST: what a taken-over hub could try.
_PROBE = """
import json, docker
c = docker.from_env(version="auto").api
out = {"nodes": len(c.nodes())}
# Listing secrets passes (no values; the spawner lists its own): making one outside
# the user servers' prefix must not.
for name, call in [("secrets", lambda: c.create_secret("not-a-user-server-secret", b"x")),
                   ("bind_root", lambda: c.create_container("debian:bookworm-slim", "true",
                       host_config=c.create_host_config(binds=["/:/host"]))),
                   ("swarm_leave", lambda: c.leave_swarm(force=False))]:
    try:
        call(); out[name] = "passed"
    except docker.errors.APIError as e:
        out[name] = e.response.status_code
print(json.dumps(out))
"""


def test_the_hub_reaches_docker_only_through_the_filter(stack):
    cid = hub_container(stack)
    assert docker("exec", cid, "test", "-e", "/var/run/docker.sock", check=False).returncode != 0
    r = docker("exec", "--user", "jupyterhub", cid, "python", "-c", _PROBE, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["nodes"] >= 1  # an allowed call passes
    assert {k: v for k, v in out.items() if k != "nodes"} == {"secrets": 403, "bind_root": 403, "swarm_leave": 403}


def test_a_hub_volume_from_when_the_hub_ran_as_root_is_handed_over(stack):
    image = f"astrohub/hub:{stack.settings.image_tag}"
    volume = f"{stack.name}-hub-data-as-root"
    try:
        docker("run", "--rm", "-v", f"{volume}:/srv/jupyterhub", "--entrypoint", "sh", image, "-c",
               "touch /srv/jupyterhub/jupyterhub.sqlite && mkdir -p /srv/jupyterhub/old && touch /srv/jupyterhub/old/cookie")
        r = docker("run", "--rm", "-v", f"{volume}:/srv/jupyterhub", image, "start-hub", "--version")
        assert r.stdout.strip() == "6.1.1", r.stderr
        owners = docker("run", "--rm", "-v", f"{volume}:/srv/jupyterhub", "--entrypoint", "stat", image, "-c", "%U %n",
                        "/srv/jupyterhub/jupyterhub.sqlite", "/srv/jupyterhub/old", "/srv/jupyterhub/old/cookie").stdout
        assert [line.split()[0] for line in owners.splitlines()] == ["jupyterhub"] * 3, owners
    finally:
        docker("volume", "rm", "-f", volume, check=False)
