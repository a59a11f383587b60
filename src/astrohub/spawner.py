"""The Swarm spawner: one Swarm service per user server.

A subclass of dockerspawner's SwarmSpawner that fixes what a classroom needs:
- named home volumes (stock SwarmSpawner mounts every volume as a bind,
  dockerspawner#536), so a home survives restarts and image upgrades;
- many users starting at once: Docker calls go through a shared pool of threads
  instead of the stock single thread, and task state is polled at a short fixed
  interval instead of a back-off that grows to 11 s;
- more than one node: servers of a hub group run on a chosen node, and a server
  starts again on the node that holds its home volume (named volumes are local
  to a node);
- a class at once: at most K servers start at once, the others wait in line in
  arrival order and see their place on the spawn-pending page (astrohub.admission).
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from pprint import pformat

from docker.errors import APIError, NotFound
from docker.types import Mount, SecretReference
from dockerspawner import SwarmSpawner
from traitlets import Bool, Dict, Float, Integer, List, Unicode

from servicekit.publish import PUBLISHED
from servicekit.server_roles import ROLE_VARIABLE

from .admission import StartLine, describe, your_turn
from .hublanguage import handler_language
from .swarm import NODE_LABEL

# Task states after which a task's container is gone.
_ENDED = {"complete", "shutdown", "failed", "rejected", "orphaned", "remove"}
# Task states that mean "not yet running, keep waiting" (Docker's task lifecycle).
_PENDING = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}


def placement_constraints(groups: list[str], group_nodes: dict[str, str], home_node: str = "") -> list[str]:
    """Swarm constraints of one server: its home's node, else its group's node, else none."""
    if home_node:
        return [f"node.hostname == {home_node}"]
    for group, node in group_nodes.items():
        if group in groups:
            return [f"node.labels.{NODE_LABEL} == {node}"]
    return []


class AstroSwarmSpawner(SwarmSpawner):
    docker_threads = Integer(
        16, config=True, help="Docker API calls in flight at once, shared by all users."
    )
    task_poll_interval = Float(
        0.25, config=True, help="Seconds between checks of a starting task's state."
    )

    teacher_mem_limit = Unicode("", config=True, help="Memory limit of teachers' and admins' servers.")
    teacher_cpu_limit = Float(0.0, config=True, help="CPU limit of teachers' and admins' servers.")

    group_nodes = Dict(config=True, help=f"Hub group -> node: the group's servers run on the node labelled {NODE_LABEL}=<node>.")
    pin_homes = Bool(True, config=True, help="Start a server again on the node that holds its home volume.")
    registry_auth = Dict(config=True, help="Registry login (username, password, serveraddress) that the node pulls a user's image with: sent with each service the spawner creates (X-Registry-Auth).")
    course_mounts = List(Dict(), config=True, help="Course volumes in users' servers: each {volume, target, readers, writers}, mounted for members of a hub group in readers, read-only unless one of their groups is in writers (astrohub.topology.course_mounts).")
    pids_limit = Integer(0, config=True, help="Processes and threads a server may have at once (0: no limit).")
    # Hostname of the node where the home volume was made; kept in the spawner's state.
    home_node = Unicode("")
    # {file name: content} given to this start only as docker secrets (/run/secrets/<name>,
    # readable by the server's user alone); set by the authenticator (astrohub.oidc).
    secret_files = Dict()
    secret_uid = Unicode("1000", config=True, help="uid that owns the secret files in the server (jovyan).")

    concurrent_starts = Integer(
        0, config=True,
        help="Servers that start at once across all users; the others wait in line. 0: the Swarm nodes' cores.",
    )
    admitted_start_timeout = Integer(
        300, config=True,
        help="Seconds a server may take to start once its turn came; the wait in line does not count.",
    )

    _shared_executor: ThreadPoolExecutor | None = None
    # One line for the whole hub; its size follows the nodes (checked at most once a minute).
    _start_line: StartLine | None = None
    _start_line_checked = float("-inf")

    def is_teacher(self) -> bool:
        """Admins and members of a course's formgrade-<course> group."""
        return bool(self.user.admin) or any(g.name.startswith("formgrade-") for g in self.user.groups)

    def get_env(self):
        # The server loads only the extensions of its role (servicekit.server_roles).
        env = super().get_env()
        env[ROLE_VARIABLE] = "teacher" if self.is_teacher() else "student"
        if self.course_mounts:
            env["ASTROHUB_PUBLISHED"] = PUBLISHED
        return env

    @property
    def turn_came(self) -> asyncio.Event:
        """Set while this server starts or runs, clear while it waits in line (or is stopped)."""
        if not hasattr(self, "_turn_came"):
            self._turn_came = asyncio.Event()
        return self._turn_came

    async def start_line(self) -> StartLine:
        cls = AstroSwarmSpawner
        loop = asyncio.get_running_loop()
        if cls._start_line is None or loop.time() - cls._start_line_checked > 60:
            cls._start_line_checked = loop.time()  # one look at the nodes a minute, not one per start
            slots = self.concurrent_starts or await self._node_cores()
            if cls._start_line is None:
                cls._start_line = StartLine(slots)
            elif slots != cls._start_line.slots:
                cls._start_line.resize(slots)
        return cls._start_line

    async def _node_cores(self) -> int:
        """Cores of the Swarm nodes that take servers (ready, active); at least 1."""
        nodes = await self.docker("nodes")
        nano = sum(n["Description"]["Resources"].get("NanoCPUs", 0) for n in nodes
                   if n["Status"]["State"] == "ready" and n["Spec"].get("Availability") == "active")
        return max(1, round(nano / 1e9))

    async def start(self):
        """Wait in line for a turn, then start; the time limit counts from the turn.

        The slot is held until the server answers HTTP: the CPU of a start is
        spent there, in the server's imports.
        """
        self.turn_came.clear()
        line = await self.start_line()
        async with line.turn(self):
            self.turn_came.set()
            try:
                return await asyncio.wait_for(self._start_in_turn(), self.admitted_start_timeout)
            except asyncio.TimeoutError:
                raise RuntimeError(
                    f"Server of {self.user.name} did not start within {self.admitted_start_timeout} s of its turn"
                ) from None

    async def progress(self):
        """The spawn-pending page: the place in line and an estimate, then the start itself."""
        line = await self.start_line()
        # in the language of the request that asked for the start (JupyterHub keeps its handler)
        lang = handler_language(getattr(self, "handler", None))
        first, shown = None, ""
        while not self.turn_came.is_set():
            place = line.place(self)
            # Only news: the page keeps every message in its event log.
            if place is not None and (message := describe(place, line.estimate(self), lang)) != shown:
                first, shown = first or place, message
                yield {"progress": round(20 * (first - place + 1) / (first + 1)), "message": message}
            # The estimate also changes with time: refreshed at least every few seconds.
            try:
                await asyncio.wait_for(line.moved(), 5)
            except asyncio.TimeoutError:
                pass
        yield {"progress": 25, "message": your_turn(lang)}
        async for event in super().progress():
            yield event

    async def stop(self, now=False):
        # A stop while waiting ends the wait (the hub also cancels the pending start).
        if AstroSwarmSpawner._start_line is not None:
            AstroSwarmSpawner._start_line.withdraw(self)
        self.turn_came.clear()
        await super().stop(now=now)

    async def _start_in_turn(self):
        # Limits per role, decided at each start: group membership can change
        # while this spawner object lives on in the hub.
        if not hasattr(self, "_student_limits"):
            self._student_limits = (self.mem_limit, self.cpu_limit)
        self.mem_limit, self.cpu_limit = self._student_limits
        if self.is_teacher():
            self.mem_limit = self.teacher_mem_limit or self.mem_limit
            self.cpu_limit = self.teacher_cpu_limit or self.cpu_limit
        await self._place()
        ip, port = await super().start()
        await self.wait_for_server(ip, port)
        return ip, port

    async def _place(self) -> None:
        home = self.home_node if self.pin_homes else ""
        if home and not any(n["Description"]["Hostname"] == home for n in await self.docker("nodes")):
            # Removed from the Swarm, and the home with it: a wait for the node would never end.
            self.log.warning("Home of %s was on node %s, which left the Swarm: placing anew", self.user.name, home)
            home = self.home_node = ""
        constraints = placement_constraints([g.name for g in self.user.groups], self.group_nodes, home)
        self.extra_placement_spec = {**self.extra_placement_spec, "constraints": constraints or None}

    def get_state(self):
        state = super().get_state()
        if self.home_node:
            state["home_node"] = self.home_node
        return state

    def load_state(self, state):
        super().load_state(state)
        self.home_node = state.get("home_node", self.home_node)

    async def wait_for_server(self, ip: str, port: int) -> None:
        """Return as soon as the server answers HTTP, checking every poll interval.

        The hub checks too, but with a back-off (0.2, 0.4, ... 5 s): a server ready
        just after one check waits for the next. Any answer (even 403) means up; at
        the time limit the hub's own check takes over and reports.
        """
        from tornado.httpclient import AsyncHTTPClient

        url = f"http://{ip}:{port}{self.server.base_url if self.server else '/'}api"
        client = AsyncHTTPClient()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.http_timeout
        while loop.time() < deadline:
            try:
                await client.fetch(url, raise_error=False, request_timeout=2, connect_timeout=1)
                return
            except Exception:  # refused or timed out: not listening yet
                await asyncio.sleep(self.task_poll_interval)

    def docker(self, method, *args, **kwargs):
        if method == "create_service" and self.pids_limit:
            # docker-py's Resources has no pids field; the Engine has (API 1.41, Docker 20.10).
            task = kwargs["task_template"]
            task.setdefault("Resources", {}).setdefault("Limits", {})["Pids"] = self.pids_limit
        return super().docker(method, *args, **kwargs)

    @property
    def executor(self):
        cls = AstroSwarmSpawner
        if cls._shared_executor is None:
            cls._shared_executor = ThreadPoolExecutor(self.docker_threads, thread_name_prefix="docker")
        return cls._shared_executor

    @property
    def client(self):
        """docker-py's client, with the registry login: create_service sends it along."""
        client = super().client
        if self.registry_auth:
            client._auth_configs.add_auth(self.registry_auth["serveraddress"], dict(self.registry_auth))
        return client

    @property
    def mounts(self):
        """Named volumes as type=volume, host paths as type=bind."""
        mounts = []
        for source, vol in self.volume_binds.items():
            is_path = source.startswith("/")
            mounts.append(
                Mount(
                    target=vol["bind"],
                    source=source,
                    type="bind" if is_path else "volume",
                    read_only=vol["mode"] == "ro",
                    driver_config=None if is_path else self.mount_driver_config,
                )
            )
        groups = {g.name for g in self.user.groups}
        for m in self.course_mounts:
            if groups & set(m["readers"]):
                mounts.append(Mount(target=m["target"], source=m["volume"], type="volume",
                                    read_only=not groups & set(m["writers"])))
        return mounts

    @property
    def _secret_label(self) -> dict:
        return {"astrohub.user-service": self.service_name}

    async def create_object(self):
        await self._remove_secrets()  # a crashed hub may have left some
        refs = []
        for name, content in self.secret_files.items():
            secret_name = f"{self.service_name}-{name.replace('_', '-')}-{secrets.token_hex(4)}"
            made = await self.docker("create_secret", name=secret_name, data=content.encode(), labels=self._secret_label)
            refs.append(SecretReference(made["ID"], secret_name, filename=name, uid=self.secret_uid,
                                        gid=self.secret_uid, mode=0o400))
        self.extra_container_spec = {**self.extra_container_spec, "secrets": refs or None}
        return await super().create_object()

    async def _remove_secrets(self) -> None:
        labels = [f"{k}={v}" for k, v in self._secret_label.items()]
        for found in await self.docker("secrets", filters={"label": labels}):
            try:
                await self.docker("remove_secret", found["ID"])
            except APIError as e:  # still in use by a stopping task: removed at the next start
                self.log.warning("secret %s of %s not removed yet: %s", found["Spec"]["Name"], self.user.name, e)

    async def start_object(self):
        """Wait until the user's task runs; fail fast with the task's own error."""
        while True:
            task = await self.get_task()
            if not task:
                raise RuntimeError(f"Service {self.service_name} has no task")
            status = task["Status"]
            state = status["State"].lower()
            if state not in _PENDING:
                break
            await asyncio.sleep(self.task_poll_interval)
        if state != "running":
            # 'rejected' (e.g. image missing on the node) or 'failed': no point
            # waiting for a restart that the restart policy 'none' will not make.
            raise RuntimeError(f"Server of {self.user.name} did not start: {status.get('Err') or pformat(status)}")
        self._task = task
        if self.pin_homes and not self.home_node:
            # The first start made the home volume on this node: later starts come back here.
            node = await self.docker("inspect_node", task["NodeID"])
            self.home_node = node["Description"]["Hostname"]

    async def get_ip_and_port(self):
        """The task's own address on the user network, not the service's name.

        A restarted server keeps its service name but gets a new address, and
        the hub's resolver (c-ares under aiohttp) caches names for the TTL that
        Docker's DNS gives (600 s): by name, the hub and proxy would keep
        knocking on the old container.
        """
        task = getattr(self, "_task", None) or await self.get_task()
        for attachment in (task or {}).get("NetworksAttachments", []):
            if attachment["Network"]["Spec"]["Name"] == self.network_name and attachment.get("Addresses"):
                return attachment["Addresses"][0].split("/")[0], self.port
        raise RuntimeError(f"Server of {self.user.name} has no address on network {self.network_name}")

    async def remove_object(self):
        """Remove the service and wait until its containers have stopped.

        Swarm removes a service at once but stops its container afterwards; a
        start in that window would find the old server still answering under
        the same name, and the proxy would route to an address about to vanish.
        """
        try:
            tasks = await self.docker("tasks", filters={"service": self.service_name})
        except NotFound:
            tasks = []
        await super().remove_object()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        for task in tasks:
            while loop.time() < deadline:
                try:
                    state = (await self.docker("inspect_task", task["ID"]))["Status"]["State"]
                except NotFound:
                    break
                if state in _ENDED:
                    break
                await asyncio.sleep(self.task_poll_interval)
        await self._remove_secrets()
