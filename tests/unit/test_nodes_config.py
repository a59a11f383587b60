"""More than one node: registry names, placement of servers, homes pinned to their node."""

from types import SimpleNamespace

import pytest
from traitlets.config import Config

from astrohub import nodes, registry, topology
from astrohub.config import apply
from astrohub.settings import VERSION, SettingsError, load
from astrohub.spawner import AstroSwarmSpawner, placement_constraints


def loaded(**env):
    return load({f"ASTROHUB_{k.upper()}": v for k, v in env.items()}, secrets_dir="/nonexistent")


def test_without_a_registry_the_images_keep_their_local_names():
    s = loaded()
    assert s.registry == "" and s.image_prefix == ""
    assert s.image == f"astrohub/singleuser:{VERSION}"
    assert apply(s, Config()).AstroSwarmSpawner.image == f"astrohub/singleuser:{VERSION}"


def test_with_a_registry_every_image_is_named_after_it():
    s = loaded(registry="127.0.0.1:5000", courses="astro101:teachers")
    assert s.image == f"127.0.0.1:5000/astrohub/singleuser:{VERSION}"
    assert apply(s, Config()).AstroSwarmSpawner.image == s.image
    stack = {svc.name: svc for svc in topology.services(s)}
    assert all(svc.image.startswith("127.0.0.1:5000/astrohub/") for svc in stack.values())
    assert stack["ngshare"].image == f"127.0.0.1:5000/astrohub/ngshare:{VERSION}"
    assert stack["formgrader-astro101"].image == f"127.0.0.1:5000/astrohub/formgrader-astro101:{VERSION}"
    # Course volumes are local to a node: the services stay on the manager.
    assert stack["ngshare"].manager_only and stack["formgrader-astro101"].manager_only


@pytest.mark.parametrize("value", ["http://127.0.0.1:5000", "127.0.0.1:5000/astrohub", "reg istry:5000"])
def test_a_registry_with_a_scheme_or_path_is_refused_with_the_form_to_use(value):
    with pytest.raises(SettingsError, match="ASTROHUB_REGISTRY.*host:port without a scheme"):
        loaded(registry=value)


def test_only_a_loopback_registry_is_the_machines_own():
    assert nodes.registry_port("127.0.0.1:5000") == 5000
    assert nodes.registry_port("localhost:5123") == 5123
    assert nodes.registry_port("registry.example.org:5000") is None


def test_group_nodes_become_the_spawners_placement():
    c = apply(loaded(group_nodes="classroom-b:worker-1, teachers:worker-2", pin_homes="false"), Config())
    assert c.AstroSwarmSpawner.group_nodes == {"classroom-b": "worker-1", "teachers": "worker-2"}
    assert c.AstroSwarmSpawner.pin_homes is False
    assert apply(loaded(), Config()).AstroSwarmSpawner.pin_homes is True


@pytest.mark.parametrize("value, expected", [
    ("classroom-b", "is not group:node"),
    ("classroom-b:Worker 1", "is not group:node"),
    ("a:worker-1,a:worker-2", "each group may appear once"),
])
def test_bad_group_nodes_are_refused(value, expected):
    with pytest.raises(SettingsError, match=f"ASTROHUB_GROUP_NODES.*{expected}"):
        loaded(group_nodes=value)


def test_a_server_goes_to_its_groups_node_and_its_home_wins():
    group_nodes = {"classroom-b": "worker-1", "teachers": "worker-2"}
    assert placement_constraints(["students"], group_nodes) == []
    assert placement_constraints(["teachers", "classroom-b"], group_nodes) == ["node.labels.astrohub.node == worker-1"]
    # The home volume is on that node: the group's node moved, the home did not.
    assert placement_constraints(["classroom-b"], group_nodes, home_node="vm") == ["node.hostname == vm"]


def test_the_home_node_is_kept_in_the_spawners_state_across_stop_and_hub_restart():
    spawner = AstroSwarmSpawner(user=SimpleNamespace(name="ann", id=1))
    spawner.load_state({"home_node": "worker-1"})
    spawner.clear_state()  # what the hub does after a stop
    assert spawner.get_state()["home_node"] == "worker-1"
    assert "home_node" not in AstroSwarmSpawner(user=SimpleNamespace(name="bob", id=2)).get_state()


def test_the_spawner_sends_the_registry_login_with_each_service():
    s = loaded(registry="127.0.0.1:5000", registry_user="pull", registry_password="secret")
    c = apply(s, Config())
    assert c.AstroSwarmSpawner.registry_auth == {"username": "pull", "password": "secret", "serveraddress": "127.0.0.1:5000"}
    assert "registry_auth" not in apply(loaded(registry="127.0.0.1:5000"), Config()).AstroSwarmSpawner


def test_the_machines_registry_keeps_bcrypt_logins_and_a_ca_mode_0600(tmp_path, monkeypatch):
    import bcrypt
    import ssl

    monkeypatch.setenv("ASTROHUB_STATE_DIR", str(tmp_path))
    machine = registry.MachineRegistry(tmp_path, 5000)
    assert machine.pull_login.server == "127.0.0.1:5000" and machine.push_login.server == "127.0.0.1:5001"
    pull = machine.htpasswd("pull", ("pull", "push"))
    push = machine.htpasswd("push", ("push",))
    users = dict(line.split(":", 1) for line in pull.splitlines())
    assert bcrypt.checkpw(machine.password("pull").encode(), users["pull"].encode())
    assert [line.split(":")[0] for line in push.splitlines()] == ["push"]
    # Kept: the same file again, not new salts (which would restart the registry at each `up`).
    assert machine.htpasswd("pull", ("pull", "push")) == pull
    ssl.create_default_context(cadata=machine.ca_certificate())  # a CA that loads
    for path in machine.state.iterdir():
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, path
