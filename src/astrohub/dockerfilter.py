"""The hub's only way to Docker: an HTTP proxy in front of the Docker socket that passes
the calls the spawner makes and refuses every other with 403.

Whoever holds the Docker socket is root on the host (a container with ``/`` bound,
``exec`` into any container, ``swarm leave``, every secret). The hub runs code that
faces the internet, so it gets this filter instead of the socket:

    python -m astrohub.dockerfilter --listen 0.0.0.0:2375 --socket /var/run/docker.sock

It runs as its own Swarm service on the manager, on an overlay network that only
the hub joins, and the hub has ``DOCKER_HOST=tcp://dockerfilter:2375``.

What passes (the calls of ``astrohub.spawner.AstroSwarmSpawner`` and of
dockerspawner's ``SwarmSpawner`` with ``cmd`` set; docker-py asks ``/version`` first):

- ``GET /_ping``, ``GET /version``;
- services: list, inspect, create (checked, below), remove;
- tasks and nodes: list, inspect;
- networks and volumes: list, inspect (read only);
- secrets: list (Docker never returns a secret's value), create and remove only
  under ``--service-prefix`` (the per-start secrets of a user's server, e.g. the
  provider token: astrohub.spawner ``secret_files``).

A service is created only if its spec gives no way to the host: no bind mounts,
no volume whose driver options make it a bind of a host path, no added
capabilities, sysctls, unconfined seccomp or AppArmor, no plugin runtime, no
host network, and its name and the names of the secrets it mounts start with
``--service-prefix`` (the stack's user servers) when one is given: the stack's own
secrets (the edge's TLS key, the registry's push login) stay out of user servers.
Only services with that prefix may be removed.
Everything else (containers, exec, images, configs, swarm, plugins, system, events,
logs, service updates) is refused.
"""

from __future__ import annotations

import argparse
import json
import logging
import re

from aiohttp import ClientSession, UnixConnector, web

log = logging.getLogger("astrohub.dockerfilter")

# Paths without the API version (docker-py sends /v1.45/...).
_VERSION = re.compile(r"^/v\d+\.\d+(?=/)")
_ID = r"[A-Za-z0-9_.-]+"
ALLOWED = [
    (method, re.compile(f"^{path}$"))
    for method, path in [
        ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
        ("GET", "/services"), ("GET", f"/services/{_ID}"), ("POST", "/services/create"), ("DELETE", f"/services/{_ID}"),
        ("GET", "/tasks"), ("GET", f"/tasks/{_ID}"),
        ("GET", "/nodes"), ("GET", f"/nodes/{_ID}"),
        ("GET", "/networks"), ("GET", f"/networks/{_ID}"),
        ("GET", "/volumes"), ("GET", f"/volumes/{_ID}"),
        ("GET", "/secrets"), ("POST", "/secrets/create"), ("DELETE", f"/secrets/{_ID}"),
    ]
]
# Local-driver volume types that mount no host path (a `none` type with `o=bind`
# and `device=/` is a bind mount of the host's root under another name).
SAFE_VOLUME_TYPES = {"nfs", "nfs4", "cifs", "tmpfs"}
MAX_BODY = 4 * 1024 * 1024
# Hop-by-hop headers are the proxy's own business, not the client's or the daemon's.
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "host", "content-length"}


class Refused(Exception):
    pass


def check_call(method: str, path: str) -> str:
    """The path without its API version if the call may pass; raises Refused."""
    bare = _VERSION.sub("", path)
    if any(method == m and p.match(bare) for m, p in ALLOWED):
        return bare
    raise Refused(f"{method} {bare} is not a call the hub's spawner makes")


def check_volume_options(options: dict | None, where: str) -> None:
    options = options or {}
    kind = str(options.get("type", "")).lower()
    mount_opts = str(options.get("o", "")).lower().replace(" ", "").split(",")
    if options and (kind not in SAFE_VOLUME_TYPES or "bind" in mount_opts or "rbind" in mount_opts):
        raise Refused(f"{where}: volume driver options {options} could mount a host path "
                      f"(allowed types: {', '.join(sorted(SAFE_VOLUME_TYPES))}, no bind)")


def check_service_spec(spec: dict, service_prefix: str = "") -> None:
    """Refuse a service spec that reaches the host; raises Refused."""
    name = spec.get("Name") or ""
    if service_prefix and not name.startswith(service_prefix):
        raise Refused(f"service name {name!r} does not start with {service_prefix!r}")
    task = spec.get("TaskTemplate") or {}
    if task.get("Runtime") not in (None, "", "container") or task.get("PluginSpec"):
        raise Refused("plugin runtimes install code on the host")
    container = task.get("ContainerSpec") or {}
    for mount in container.get("Mounts") or []:
        kind = mount.get("Type", "volume")
        if kind not in ("volume", "tmpfs"):
            raise Refused(f"mount of type {kind!r} at {mount.get('Target')} (only named volumes and tmpfs)")
        driver = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
        check_volume_options(driver.get("Options"), f"mount at {mount.get('Target')}")
    if container.get("CapabilityAdd"):
        raise Refused(f"added capabilities {container['CapabilityAdd']}")
    if container.get("Sysctls"):
        raise Refused("sysctls")
    privileges = container.get("Privileges") or {}
    for key in ("Seccomp", "AppArmor"):
        if str((privileges.get(key) or {}).get("Mode", "")).lower() == "unconfined":
            raise Refused(f"{key} unconfined")
    for ref in container.get("Secrets") or []:
        if service_prefix and not str(ref.get("SecretName", "")).startswith(service_prefix):
            raise Refused(f"secret {ref.get('SecretName')!r} is not one of the user servers' own")
    for network in [*(task.get("Networks") or []), *(spec.get("Networks") or [])]:
        if network.get("Target") in ("host", "ingress"):
            raise Refused(f"network {network['Target']!r}")


class Filter:
    def __init__(self, socket_path: str, service_prefix: str = "") -> None:
        self.socket_path = socket_path
        self.service_prefix = service_prefix
        self.session: ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            bare = check_call(request.method, request.path)
            body = await request.read() if request.can_read_body else b""
            if len(body) > MAX_BODY:
                raise Refused("request body too large")
            if bare == "/services/create":
                check_service_spec(json.loads(body or b"{}"), self.service_prefix)
            elif bare == "/secrets/create":
                self.check_secret_name(json.loads(body or b"{}").get("Name", ""))
            elif request.method == "DELETE" and bare.startswith("/secrets/"):
                self.check_secret_name(await self.secret_name(bare.rsplit("/", 1)[1]))
            elif body:
                raise Refused(f"{request.method} {bare} with a body")
            if request.method == "DELETE" and bare.startswith("/services/") and self.service_prefix:
                await self.check_removal(bare.rsplit("/", 1)[1])
        except Refused as e:
            log.warning("refused %s %s: %s", request.method, request.path, e)
            return web.json_response({"message": f"refused by the astrohub docker filter: {e}"}, status=403)
        except ValueError:
            return web.json_response({"message": "refused by the astrohub docker filter: body is not JSON"}, status=400)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session().request(request.method, f"http://docker{request.path_qs}", headers=headers,
                                        data=body or None, allow_redirects=False) as upstream:
            response = web.StreamResponse(status=upstream.status, headers={
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP})
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def check_secret_name(self, name: str) -> None:
        if self.service_prefix and not str(name).startswith(self.service_prefix):
            raise Refused(f"secret {name!r} is not one of the user servers' own")

    async def secret_name(self, secret_id: str) -> str:
        """The name of a secret, asked of the daemon (a removal names only the id)."""
        async with self._session().get(f"http://docker/secrets/{secret_id}") as r:
            if r.status != 200:
                raise Refused(f"secret {secret_id} not found")
            return (await r.json())["Spec"]["Name"]

    async def check_removal(self, service: str) -> None:
        """Only the user servers' services may go (not the stack's edge, hub, ...)."""
        async with self._session().get(f"http://docker/services/{service}") as r:
            name = ((await r.json()).get("Spec") or {}).get("Name", "") if r.status == 200 else ""
        if r.status == 200 and not name.startswith(self.service_prefix):
            raise Refused(f"service {name!r} does not start with {self.service_prefix!r}")

    def _session(self) -> ClientSession:
        if self.session is None:
            self.session = ClientSession(connector=UnixConnector(path=self.socket_path))
        return self.session

    async def close(self, _app=None) -> None:
        if self.session is not None:
            await self.session.close()


def make_app(socket_path: str, service_prefix: str = "") -> web.Application:
    f = Filter(socket_path, service_prefix)
    app = web.Application(client_max_size=MAX_BODY + 1)
    app.router.add_route("*", "/{tail:.*}", f.handle)
    app.on_cleanup.append(f.close)
    return app


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="0.0.0.0:2375", help="host:port to serve on")
    p.add_argument("--socket", default="/var/run/docker.sock", help="the Docker daemon's socket")
    p.add_argument("--service-prefix", default="", help="names of services the hub may create start with this")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host, _, port = args.listen.rpartition(":")
    web.run_app(make_app(args.socket, args.service_prefix), host=host or "0.0.0.0", port=int(port),
                access_log=None, print=None)


if __name__ == "__main__":
    main()
