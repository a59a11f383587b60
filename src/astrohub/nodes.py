"""More Swarm nodes on one machine, and the registry they pull the images from.

A node here is a Docker-in-Docker container (images/node/): its own dockerd joins
the machine's Swarm as a worker, labelled ``astrohub.node=<name>`` (the label that
the ``group_nodes`` setting places servers by). It gets the images the way a
production node does: from a registry, here the machine's own (src/astrohub/registry.py),
whose CA it trusts.

    astrohub node add NAME      start the node, join it, label it
    astrohub node remove NAME   leave, remove the node, its container and volume
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from pathlib import Path

from . import images
from .swarm import NODE_LABEL, DeployError, docker
from .registry import MachineRegistry, registry_port
from .settings import operator_variable

# What Docker-in-Docker needs of the host: `--privileged` fails here (the host
# lacks CAP_SYS_RESOURCE); cgroups come from the host for the inner containers.
NODE_RUN_FLAGS = (
    "--cap-add=ALL", "--cap-drop=SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup",
)


def container_name(node: str) -> str:
    return f"astrohub-node-{node}"


def advertise_address() -> str:
    """The address a new Swarm advertises: ASTROHUB_ADVERTISE_ADDR, else docker0's.

    Nodes in containers reach the host at the bridge's gateway (docker0); a
    Swarm that advertises 127.0.0.1 cannot be joined from anywhere else.
    """
    override = operator_variable("ASTROHUB_ADVERTISE_ADDR")
    if override:
        return override
    r = docker("network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}", check=False)
    for candidate in r.stdout.split():
        if isinstance(ipaddress.ip_address(candidate), ipaddress.IPv4Address):
            return candidate
    raise DeployError("Docker's bridge network has no IPv4 gateway: set ASTROHUB_ADVERTISE_ADDR to this machine's address")


def manager_address() -> str:
    """The address workers join at; refuses a Swarm that only loopback can reach."""
    info = json.loads(docker("info", "--format", "{{json .Swarm}}").stdout)
    if info.get("LocalNodeState") != "active" or not info.get("ControlAvailable"):
        raise DeployError("this machine is not a Swarm manager: run `make setup` first")
    addr = info["NodeAddr"]
    if ipaddress.ip_address(addr).is_loopback:
        raise DeployError(
            f"the Swarm advertises {addr}, which a node in a container cannot reach: with no stack "
            "deployed, `make setup` makes it anew on the docker0 address (see swarm/setup-host.sh)"
        )
    return addr


# -- nodes ----------------------------------------------------------------------

def inner(node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """A docker command run by the node's own daemon."""
    return docker("exec", container_name(node), "docker", *args, check=check)


def node_id(node: str) -> str | None:
    """By its label, or by its hostname (a node that joined but was not labelled yet)."""
    r = docker("node", "ls", "--format", "{{.ID}} {{.Hostname}}", "--filter", "role=worker", check=False)
    ids = [line.split()[0] for line in r.stdout.splitlines() if line.split()[1:] == [node]]
    labelled = docker("node", "ls", "-q", "--filter", f"node.label={NODE_LABEL}={node}", check=False).stdout.split()
    return (labelled + ids or [None])[0]


def add(root: Path, node: str, tag: str, registry_port: int | None = 5000, timeout: float = 120) -> str:
    """Start the node's container, join it to the Swarm as a labelled worker; its node id.

    ``registry_port``: the machine's own registry, which the node reaches at its
    own 127.0.0.1:<port>; None when the nodes use another registry.
    """
    manager = manager_address()
    images.build(root, tag, names=("node",))
    name = container_name(node)
    if docker("container", "inspect", name, check=False).returncode == 0:
        raise DeployError(f"node {node} exists already (container {name}): `astrohub node remove {node}` first")
    docker("volume", "create", "--label", f"{NODE_LABEL}={node}", name)
    forward = []
    if registry_port:
        forward = ["-e", f"ASTROHUB_REGISTRY_UPSTREAM={manager}:{registry_port}",
                   "-e", f"ASTROHUB_REGISTRY_CA={MachineRegistry(root, registry_port).ca_certificate()}"]
    docker("run", "-d", "--name", name, "--hostname", node, "--label", f"{NODE_LABEL}={node}",
           *NODE_RUN_FLAGS, "-v", f"{name}:/var/lib/docker", *forward, f"astrohub/node:{tag}")
    try:
        return _join(node, manager, timeout)
    except (DeployError, OSError, ValueError) as e:
        # Half a node is worse than none: take it away, keep what its daemon said.
        said = logs(node)
        remove(node)
        raise DeployError(f"node {node} could not join: {e}\n{said}") from e


def _join(node: str, manager: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while inner(node, "info", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise DeployError(f"the Docker daemon of node {node} did not start:\n{logs(node)}")
        time.sleep(0.5)
    token = docker("swarm", "join-token", "-q", "worker").stdout.strip()
    inner(node, "swarm", "join", "--token", token, f"{manager}:2377")
    own_id = json.loads(inner(node, "info", "--format", "{{json .Swarm}}").stdout)["NodeID"]
    docker("node", "update", "--label-add", f"{NODE_LABEL}={node}", own_id)
    while docker("node", "inspect", own_id, "--format", "{{.Status.State}}").stdout.strip() != "ready":
        if time.monotonic() > deadline:
            raise DeployError(f"node {node} joined but is not ready:\n{logs(node)}")
        time.sleep(0.5)
    return own_id


def remove(node: str, timeout: float = 60) -> None:
    """Leave the Swarm, remove the node from it, then its container and volume."""
    name = container_name(node)
    own_id = node_id(node)
    if docker("container", "inspect", name, check=False).returncode == 0:
        inner(node, "swarm", "leave", "--force", check=False)
        docker("rm", "-f", "-v", name, check=False)
    if own_id:
        # A node that left shows as down for a moment; only then may it be removed.
        deadline = time.monotonic() + timeout
        while docker("node", "rm", "--force", own_id, check=False).returncode != 0:
            if docker("node", "inspect", own_id, check=False).returncode != 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
    docker("volume", "rm", "-f", name, check=False)
    if docker("volume", "inspect", name, check=False).returncode == 0:
        raise DeployError(f"the volume {name} of node {node} is still there")


def logs(node: str, tail: int = 80) -> str:
    r = docker("logs", "--tail", str(tail), container_name(node), check=False)
    return f"--- log of node {node} (its dockerd) ---\n{r.stdout}{r.stderr}"


def add_parser(sub) -> None:
    """`astrohub node add|remove NAME`."""
    node = sub.add_parser("node", help="worker nodes in containers on this machine (tests, trials)")
    actions = node.add_subparsers(dest="action", required=True)
    add_cmd = actions.add_parser("add", help="start a node in a container and join it to the Swarm")
    add_cmd.add_argument("name", help=f"the node's hostname and its {NODE_LABEL} label, e.g. worker-1")
    add_cmd.set_defaults(func=_cmd_add)
    rm_cmd = actions.add_parser("remove", help="take the node out of the Swarm and remove it")
    rm_cmd.add_argument("name")
    rm_cmd.set_defaults(func=_cmd_remove)


def _settings():
    from . import settings

    return settings.load(secrets_dir="/nonexistent")


def _cmd_add(args) -> int:
    s = _settings()
    own_id = add(Path.cwd(), args.name, s.image_tag, registry_port=registry_port(s.registry or "127.0.0.1:5000"))
    print(f"node {args.name} ({own_id}) joined the Swarm with label {NODE_LABEL}={args.name}")
    if not s.registry:
        print("note: ASTROHUB_REGISTRY is not set, so this node has no way to get the images")
    return 0


def _cmd_remove(args) -> int:
    remove(args.name)
    print(f"node {args.name} removed (Swarm node, container, volume)")
    return 0
