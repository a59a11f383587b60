"""A small client of a running hub's REST API and of its users' servers.

Used by the end-to-end tests, the benchmarks and operator commands: it acts as
the `ops` service (its token), creates users, starts and stops their servers,
talks to a server's Jupyter API and runs code in a kernel over the websocket.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import urlparse

import requests


class HubError(RuntimeError):
    pass


class KernelDied(HubError):
    """The kernel died while running code (e.g. killed for using too much memory)."""


@dataclass
class HubClient:
    url: str  # e.g. https://127.0.0.1:8000 (the edge)
    token: str
    timeout: float = 30
    # A CA file that trusts the edge (Stack.ca_bundle()), or True: the default CAs.
    verify: str | bool = True
    # With user subdomains (setting user_subdomains): the hub's public URL, under whose
    # host each user's server answers on a host of its own.
    subdomain_host: str = ""

    def __post_init__(self):
        self.session = requests.Session()
        self.session.verify = self.verify
        self.session.headers["Authorization"] = f"token {self.token}"

    # -- hub API ---------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        kwargs.setdefault("verify", self.verify)
        return self.session.request(method, f"{self.url}/hub/api{path}", **kwargs)

    def _ok(self, r: requests.Response, *codes: int) -> requests.Response:
        if r.status_code not in (codes or (200, 201, 202, 204)):
            raise HubError(f"{r.request.method} {r.url}: {r.status_code} {r.text[:300]}")
        return r

    def create_user(self, name: str) -> dict:
        # The ops service has no admin:users (it would read auth state): astrohub.opsapi.
        r = self.api("POST", f"/astrohub/users/{name}")
        if r.status_code == 409:  # exists
            return self.user(name)
        return self._ok(r).json()

    def user(self, name: str) -> dict:
        return self._ok(self.api("GET", f"/users/{name}")).json()

    def delete_user(self, name: str) -> None:
        self._ok(self.api("DELETE", f"/users/{name}"), 204, 404)

    def user_token(self, name: str, scopes: list[str] | None = None, note: str = "test") -> str:
        body = {"note": note, "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        return self._ok(self.api("POST", f"/users/{name}/tokens", json=body)).json()["token"]

    def start(self, name: str, timeout: float = 180, options: dict | None = None) -> float:
        """Start the user's server and wait until the hub calls it ready; seconds taken."""
        t0 = time.monotonic()
        r = self.api("POST", f"/users/{name}/server", json=options or {})
        if not (r.status_code == 400 and "already running" in r.text):
            self._ok(r, 201, 202)
        while time.monotonic() - t0 < timeout:
            server = self.user(name).get("servers", {}).get("")
            if server and server.get("ready"):
                return time.monotonic() - t0
            if not server and time.monotonic() - t0 > 5:
                raise HubError(f"server of {name} failed to start (see the hub log)")
            time.sleep(0.2)
        raise HubError(f"server of {name} not ready after {timeout:.0f} s")

    def stop(self, name: str, timeout: float = 90) -> None:
        r = self.api("DELETE", f"/users/{name}/server")
        if r.status_code == 500:
            # Stopping a pending start, the hub cancels it and gives that one second;
            # if it is still pending then, the hub answers 500. Asked again, it stops.
            time.sleep(2)
            r = self.api("DELETE", f"/users/{name}/server")
        self._ok(r, 202, 204, 400)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if not self.user(name).get("servers"):
                return
            time.sleep(0.3)
        raise HubError(f"server of {name} did not stop within {timeout:.0f} s")

    def progress(self, name: str, timeout: float = 300) -> list[dict]:
        """The events of the spawn-pending page (its event stream) until ready or failed.

        Waits for the start to be pending first (the hub answers 400 until then)."""
        deadline = time.monotonic() + timeout
        events: list[dict] = []
        while time.monotonic() < deadline:
            with self.api("GET", f"/users/{name}/server/progress", stream=True) as r:
                # 404 before the first start of the user, 400 before this one is pending.
                if r.status_code in (400, 404) and not events:
                    time.sleep(0.2)
                    continue
                self._ok(r, 200)
                for line in r.iter_lines(decode_unicode=True):
                    if line and line.startswith("data:"):
                        events.append(json.loads(line[5:]))
                        if events[-1].get("ready") or events[-1].get("failed"):
                            return events
            return events
        raise HubError(f"the start of {name} was not pending within {timeout:.0f} s")

    # -- a user's server ---------------------------------------------------------
    def server(self, method: str, name: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"token {token}"
        return self.session.request(method, self.server_url(name) + path, headers=headers, **kwargs)

    def server_url(self, name: str) -> str:
        """URL of a user's server, or of a hub service given as ``services/<name>``
        (a course formgrader is a Jupyter server too)."""
        if name.startswith("services/"):
            return f"{self.url}/{name}"
        if self.subdomain_host:
            from .config import subdomain_hook

            public = urlparse(self.subdomain_host)
            host = subdomain_hook(name, public.hostname, "user")
            return f"{public.scheme}://{host}{':%d' % public.port if public.port else ''}/user/{name}"
        return f"{self.url}/user/{name}"

    def execute(self, name: str, code: str, token: str | None = None, timeout: float = 120) -> tuple[str, float, float]:
        """Start a kernel, run ``code``; return (text result, kernel start s, execution s)."""
        t0 = time.monotonic()
        r = self.server("POST", name, "/api/kernels", token=token, json={"name": "python3"})
        self._ok(r, 201)
        kernel = r.json()["id"]
        try:
            return asyncio.run(self._run_in_kernel(name, kernel, code, token or self.token, t0, timeout))
        finally:
            self.server("DELETE", name, f"/api/kernels/{kernel}", token=token)

    async def _run_in_kernel(self, name, kernel, code, token, t0, timeout):
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = self.server_url(name).replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels"
        ca_certs = self.verify if isinstance(self.verify, str) else None
        conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}, ca_certs=ca_certs))
        try:
            # kernel_info answers once the kernel is up: that is "kernel started".
            await self._request(conn, "kernel_info_request", {}, timeout)
            started = time.monotonic()
            reply = await self._request(conn, "execute_request", {"code": code, "silent": False, "store_history": False}, timeout)
            return reply, started - t0, time.monotonic() - started
        finally:
            conn.close()

    @staticmethod
    async def _request(conn, msg_type, content, timeout):
        msg_id = uuid.uuid4().hex
        msg = {
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "", "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
        }
        await conn.write_message(json.dumps(msg))
        result, errors = "", []
        # Outputs come on iopub, the reply on shell: in no fixed order between
        # the two channels. Done when the reply is in and the kernel is idle.
        replied = idle = False
        deadline = time.monotonic() + timeout
        while not (replied and idle):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HubError(f"no reply to {msg_type} within {timeout:.0f} s")
            raw = await asyncio.wait_for(conn.read_message(), remaining)
            if raw is None:
                raise HubError("kernel websocket closed")
            reply = json.loads(raw)
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] in ("restarting", "dead"):
                raise KernelDied(f"the kernel died while running {msg_type} ({reply['content']['execution_state']})")
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply["msg_type"]
            if kind in ("execute_result", "display_data"):
                result += reply["content"]["data"].get("text/plain", "")
            elif kind == "stream":
                result += reply["content"]["text"]
            elif kind == "error":
                errors.append(f"{reply['content']['ename']}: {reply['content']['evalue']}")
            elif kind == "status" and reply["content"]["execution_state"] == "idle":
                idle = True
            elif kind.endswith("_reply") and reply.get("channel") == "shell":
                replied = True
        if errors:
            raise HubError("; ".join(errors))
        return result


@dataclass
class Burst:
    """Many users' servers requested at once, watched by one poller of the hub's user list.

    One poller, not one per user: sixty users each polling their own server would
    load the very hub being measured. The requests leave ``stagger`` seconds apart,
    each on a connection of its own opened beforehand (a TLS handshake under load
    takes seconds, more than the stagger), so the order they are sent in is the
    order the hub gets them. Each poll also
    times the hub's API and its login page: how the hub answers during the burst.
    """

    hub: HubClient
    names: list[str]
    stagger: float = 0.1
    interval: float = 0.25
    requested: dict[str, float] = field(default_factory=dict)  # monotonic time each request left
    ready: dict[str, float] = field(default_factory=dict)  # seconds from request to ready
    failed: dict[str, str] = field(default_factory=dict)
    api_times: list[float] = field(default_factory=list)  # seconds per answer of GET /hub/api/users
    login_times: list[float] = field(default_factory=list)  # seconds per answer of GET /hub/login

    def run(self, timeout: float = 600, on_ready: Callable[[str], None] | None = None) -> "Burst":
        """Request every server, return when all are ready or failed (or at ``timeout``)."""
        answered: dict[str, float] = {}
        clients = [replace(self.hub) for _ in self.names]
        ready_to_send = threading.Barrier(len(self.names))

        def request(i: int, name: str) -> None:
            try:
                clients[i].api("GET", "/")  # the connection, opened before the burst
            finally:
                ready_to_send.wait()
            time.sleep(i * self.stagger)
            self.requested[name] = time.monotonic()
            try:
                clients[i]._ok(clients[i].api("POST", f"/users/{name}/server", json={}), 201, 202)
            except Exception as e:  # a refusal (429, 5xx) is a failure of the burst
                self.failed[name] = f"request: {type(e).__name__}: {e}"[:300]
            answered[name] = time.monotonic()

        login = requests.Session()
        prefix = os.path.commonprefix(self.names)
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(len(self.names)) as pool:
            for i, name in enumerate(self.names):
                pool.submit(request, i, name)
            while len(self.ready) + len(self.failed) < len(self.names) and time.monotonic() < deadline:
                sent = time.monotonic()
                r = self.hub.api("GET", "/users", params={"state": "active", "name_filter": prefix, "limit": 200})
                now = time.monotonic()
                self.api_times.append(now - sent)
                servers = {u["name"]: u["servers"].get("") for u in self.hub._ok(r).json()}
                for name in self.names:
                    if name in self.ready or name in self.failed or name not in answered:
                        continue
                    server = servers.get(name)
                    if server and server.get("ready"):
                        self.ready[name] = now - self.requested[name]
                        if on_ready:
                            on_ready(name)
                    elif not server and answered[name] < sent:
                        self.failed[name] = "the server stopped while starting (see the hub log)"
                t = time.monotonic()
                # verify per request: REQUESTS_CA_BUNDLE would override a session's.
                login.get(f"{self.hub.url}/hub/login", timeout=self.hub.timeout, verify=self.hub.verify).raise_for_status()
                self.login_times.append(time.monotonic() - t)
                time.sleep(max(0.0, self.interval - (time.monotonic() - sent)))
        for name in self.names:
            if name not in self.ready and name not in self.failed:
                self.failed[name] = f"not ready after {timeout:.0f} s"
        return self

    def ready_order(self) -> list[str]:
        """The names in the order their servers became ready."""
        return sorted(self.ready, key=lambda name: self.requested[name] + self.ready[name])
