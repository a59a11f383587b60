"""A real JupyterHub process on loopback, for integration tests.

Usage::

    with HubProcess(tmp_dir, services=[{"name": "datacentre", "url": "http://127.0.0.1:9999",
                                        "api_token": tok}],
                    extra_config=["c.Authenticator.allow_all = True"]) as hub:
        hub.create_user("alice")
        token = hub.create_token("alice")
        requests.get(hub.url + "services/datacentre/api/datashops",
                     headers={"Authorization": f"token {token}"})

What it sets up: a temporary directory holding the config, an SQLite database and
the cookie secret; free ports for the public proxy, the hub and the proxy API;
Debian's ``configurable-http-proxy`` (node) started by the hub; the
``DummyAuthenticator`` (password :attr:`HubProcess.password`) so that login tests
can log in through the real login form; an admin service (``test-admin``) whose
token :attr:`HubProcess.admin_token` drives the hub's REST API (users, tokens,
groups). Extra services, roles, custom scopes and arbitrary config lines are
passed in. The hub's combined output is kept in :attr:`HubProcess.log_path`;
:meth:`HubProcess.log` returns it (print it when a test fails).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable

import requests

from .net import free_port, wait_for_http

ADMIN_SERVICE = "test-admin"


def _find_chp() -> str:
    chp = shutil.which("configurable-http-proxy")
    if not chp:
        raise RuntimeError(
            "configurable-http-proxy not found: apt-get install node-configurable-http-proxy"
        )
    return chp


class HubProcess:
    """Start/stop a real JupyterHub; talk to its REST API as an admin service."""

    password = "test-password"

    def __init__(
        self,
        workdir: str | os.PathLike,
        *,
        services: Iterable[dict] = (),
        roles: Iterable[dict] = (),
        custom_scopes: dict | None = None,
        extra_config: str | Iterable[str] = (),
        base_url: str = "/",
        env: dict | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.admin_token = secrets.token_hex(32)
        self.services = [dict(s) for s in services]
        self.roles = [dict(r) for r in roles]
        self.custom_scopes = dict(custom_scopes or {})
        self.extra_config = [extra_config] if isinstance(extra_config, str) else list(extra_config)
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "jupyterhub.log"
        self._log_file = None

    # -- addresses -------------------------------------------------------
    @property
    def url(self) -> str:
        """Public URL (through the proxy), ending in the base URL, e.g. http://127.0.0.1:P/"""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def api_url(self) -> str:
        """The hub's own REST API URL (what services get as JUPYTERHUB_API_URL)."""
        return f"http://127.0.0.1:{self.hub_port}{self.base_url}hub/api"

    # -- lifecycle -------------------------------------------------------
    def config_text(self) -> str:
        services = [{"name": ADMIN_SERVICE, "api_token": self.admin_token}] + self.services
        roles = [{"name": "admin", "services": [ADMIN_SERVICE]}] + self.roles
        lines = [
            "c = get_config()  # noqa",
            "c.JupyterHub.ip = '127.0.0.1'",
            f"c.JupyterHub.port = {self.port}",
            "c.JupyterHub.hub_ip = '127.0.0.1'",
            f"c.JupyterHub.hub_port = {self.hub_port}",
            f"c.JupyterHub.base_url = {self.base_url!r}",
            f"c.JupyterHub.db_url = {'sqlite:///' + str(self.workdir / 'jupyterhub.sqlite')!r}",
            f"c.JupyterHub.cookie_secret_file = {str(self.workdir / 'cookie_secret')!r}",
            f"c.JupyterHub.pid_file = {str(self.workdir / 'jupyterhub.pid')!r}",
            "c.JupyterHub.cleanup_servers = True",
            "c.JupyterHub.cleanup_proxy = True",
            f"c.ConfigurableHTTPProxy.command = [{_find_chp()!r}]",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.proxy_api_port}'",
            f"c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(16)!r}",
            "c.JupyterHub.authenticator_class = 'dummy'",
            f"c.DummyAuthenticator.password = {self.password!r}",
            "c.Authenticator.allow_all = True",
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.JupyterHub.services = {services!r}",
            f"c.JupyterHub.load_roles = {roles!r}",
        ]
        if self.custom_scopes:
            lines.append(f"c.JupyterHub.custom_scopes = {self.custom_scopes!r}")
        lines += self.extra_config
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 60.0) -> "HubProcess":
        cfg = self.workdir / "jupyterhub_config.py"
        cfg.write_text(self.config_text())
        self._log_file = open(self.log_path, "ab")
        env = dict(os.environ)
        env.update(self.env)
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        # Debian's configurable-http-proxy needs Debian's node modules; a node binary that
        # is not Debian's (e.g. NodeSource) does not search /usr/share/nodejs by itself
        node_dirs = [d for d in ("/usr/share/nodejs", "/usr/lib/nodejs") if os.path.isdir(d)]
        if node_dirs:
            env["NODE_PATH"] = os.pathsep.join(filter(None, [env.get("NODE_PATH")] + node_dirs))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(cfg), "--debug"],
            cwd=self.workdir,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            wait_for_http(self.url + "hub/api/", timeout=timeout, proc=self.proc, ok=(200,))
        except Exception:
            self.stop()
            raise RuntimeError("JupyterHub did not start:\n" + self.log())
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # the proxy is a child of the hub in its own session: make sure it is gone
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> "HubProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- REST API as the admin service ----------------------------------
    def api(self, method: str, path: str, *, token: str | None = None, **kw) -> requests.Response:
        """Call the hub REST API (path relative to .../hub/api/), raise on HTTP errors."""
        headers = kw.pop("headers", {})
        headers.setdefault("Authorization", f"token {token or self.admin_token}")
        r = requests.request(method, self.api_url + "/" + path.lstrip("/"),
                             headers=headers, timeout=30, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"hub API {method} {path}: {r.status_code} {r.text}")
        return r

    def create_user(self, name: str, *, admin: bool = False, groups: Iterable[str] = ()) -> dict:
        r = requests.post(self.api_url + f"/users/{name}", json={"admin": admin},
                          headers={"Authorization": f"token {self.admin_token}"}, timeout=30)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"create user {name}: {r.status_code} {r.text}")
        for g in groups:
            self.add_to_group(g, name)
        return self.api("GET", f"users/{name}").json()

    def add_to_group(self, group: str, *users: str) -> None:
        r = requests.post(self.api_url + f"/groups/{group}",
                          headers={"Authorization": f"token {self.admin_token}"}, timeout=30)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"create group {group}: {r.status_code} {r.text}")
        self.api("POST", f"groups/{group}/users", json={"users": list(users)})

    def create_token(self, user: str, *, scopes: Iterable[str] | None = None,
                     note: str = "test", expires_in: int | None = None) -> str:
        body: dict = {"note": note}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if expires_in is not None:
            body["expires_in"] = expires_in
        return self.api("POST", f"users/{user}/tokens", json=body).json()["token"]

    def login_session(self, user: str) -> requests.Session:
        """A requests.Session logged in through the hub's real login form."""
        s = requests.Session()
        s.get(self.url + "hub/login", timeout=30)
        xsrf = s.cookies.get("_xsrf", "")
        r = s.post(self.url + "hub/login", data={"username": user, "password": self.password,
                                                 "_xsrf": xsrf}, timeout=30,
                   allow_redirects=False)
        if r.status_code not in (302, 303):
            raise RuntimeError(f"login of {user} failed: {r.status_code} {r.text[:500]}")
        return s


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate()`` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


# Hub config lines that add the roles and custom scopes of astrohub's steps (astrohub.config.Part),
# listed in ``_parts`` by the lines before, to the test hub's own.
ASTROHUB_PARTS_CONFIG = [
    "c.JupyterHub.load_roles = [*c.JupyterHub.load_roles, *(r for _p in _parts for r in _p.roles)]",
    "c.JupyterHub.custom_scopes = {**c.JupyterHub.get('custom_scopes', {}),"
    " **{k: v for _p in _parts for k, v in _p.custom_scopes.items()}}",
]

# Hub config lines that apply astrohub's own login (authenticator, login page, roles)
# from the ASTROHUB_* settings in the hub's environment, as the deployed hub does.
ASTROHUB_NATIVE_LOGIN_CONFIG = [
    "from astrohub import config as astro_config, settings as astro_settings",
    "_s = astro_settings.load(secrets_dir='/nonexistent')",
    "astro_config._apply_authenticator(_s, c)",
    "_parts = [astro_config._login(_s, c)]",
    *ASTROHUB_PARTS_CONFIG,
]
