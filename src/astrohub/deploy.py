"""Deploy the stack on a Docker Swarm: secrets, settings file, stack, readiness.

The state folder (default ``.astrohub/<stack>/`` in the checkout, mode 0700)
keeps what the operator needs later and Docker cannot give back: the admin
password and the ops token. Everything else lives in Docker (secrets, volumes).
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from . import courses, edge, topology
from .nodes import advertise_address
from .admins import admin_accounts
from . import settings as settings_mod
from .settings import Settings
from .swarm import DeployError, docker, state_dir  # noqa: F401  (DeployError, docker: re-exported)

# Generated secrets (astrohub.topology.GENERATED_SECRETS) are 32 random bytes in hex,
# but for this one, which a person types.
READABLE_SECRETS = {"admin_password": lambda: pysecrets.token_urlsafe(12)}

# The checkout's folder of site-specific hub config files (write_site_config).
SITE_CONFIG_DIR = "jupyterhub_config.d"


def _secret_names() -> set[str]:
    return set(docker("secret", "ls", "--format", "{{.Name}}").stdout.split())


def _create_secrets(wanted: dict[str, str], existing: set[str]) -> None:
    """Docker secrets of these names and values, where none of the name is yet."""
    for name, value in wanted.items():
        if name not in existing:
            docker("secret", "create", name, "-", input=value)


@dataclass
class Stack:
    root: Path
    settings: Settings

    @property
    def name(self) -> str:
        return self.settings.stack_name

    @property
    def state_dir(self) -> Path:
        return state_dir(self.root, self.name)

    # -- the Swarm ------------------------------------------------------------
    def ensure_swarm(self) -> None:
        info = docker("info", "--format", "{{json .Swarm}}", check=False)
        if info.returncode != 0:
            raise DeployError(
                "Docker is not running or not reachable: start dockerd "
                "(e.g. `make setup`, or `nohup dockerd >/var/log/dockerd.log 2>&1 &`)"
            )
        state = json.loads(info.stdout).get("LocalNodeState")
        if state != "active":
            addr = advertise_address()
            docker("swarm", "init", "--advertise-addr", addr)
            print(f"initialised a single-node Swarm (advertise address {addr})")

    # -- secrets --------------------------------------------------------------
    def secret_value(self, name: str) -> str | None:
        path = self.state_dir / name
        return path.read_text().strip() if path.exists() else None

    def ensure_secrets(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        existing = _secret_names()
        for name in topology.GENERATED_SECRETS:
            docker_name = f"{self.name}_{name}"
            if docker_name in existing:
                continue
            # A value from the environment (ASTROHUB_<NAME>) wins over a generated one;
            # a kept one comes back after the Swarm was made anew (its secrets went with it).
            make = READABLE_SECRETS.get(name, lambda: pysecrets.token_hex(32))
            value = self.settings[name] or self.secret_value(name) or make()
            docker("secret", "create", docker_name, "-", input=value)
            path = self.state_dir / name
            path.write_text(value + "\n")
            os.chmod(path, 0o600)
        # Secrets the operator provides (ASTROHUB_<NAME> or ASTROHUB_<NAME>_FILE when running
        # `astrohub up`); an empty one means "not configured". Docker secrets cannot change:
        # to replace one, `make down`, `docker secret rm <stack>_<name>`, `make up`.
        # Docker refuses empty secrets: a lone newline reads as empty.
        _create_secrets({f"{self.name}_{name}": (self.settings[name] or "") + "\n"
                         for name in topology.PROVIDED_SECRETS}, existing)

    def write_admin_passwords(self) -> Path:
        """The admins' initial passwords, one `name password` a line, mode 0600.

        The hub creates the same accounts at start (astrohub.auth.admin_accounts);
        an admin who changed their password makes that line stale."""
        accounts = admin_accounts(self.settings.admin_users, self.secret_value("admin_password") or "",
                                  self.secret_value("admin_key") or "")
        path = self.state_dir / "admin_passwords"
        path.touch(mode=0o600)
        os.chmod(path, 0o600)
        path.write_text("".join(f"{name} {password}\n" for name, password in accounts.items()))
        return path

    # -- settings passed to the hub -------------------------------------------
    def write_env_file(self) -> Path:
        """The non-secret settings, as the hub's env_file (secrets go as docker secrets)."""
        lines = []
        for s in settings_mod.SCHEMA:
            if s.secret:
                continue
            value = self.settings[s.name]
            if isinstance(value, tuple):
                value = ",".join(value)
            lines.append(f"{s.env}={value}")
        path = self.state_dir / "hub.env"
        path.write_text("\n".join(lines) + "\n")
        return path

    def deploy_fresh(self) -> None:
        """A benchmark's stack from nothing: this tag's images built, an old stack of the
        name removed, secrets made, deployed and answering."""
        from . import images

        self.ensure_swarm()
        self.remove()
        images.build(self.root, self.settings.image_tag, courses=courses.course_ids(self.settings))
        self.ensure_secrets()
        self.deploy()
        self.wait_until_ready()

    def check_user_network(self) -> None:
        """Docker keeps an existing network as it is: an older, non-internal `users`
        network would leave user servers a way to this machine and out."""
        name = f"{self.name}_users"
        found = docker("network", "inspect", name, "--format", "{{.Internal}}", check=False)
        if found.returncode == 0 and found.stdout.strip() != "true":
            raise DeployError(
                f"the network {name} comes from a release where user servers could reach this machine "
                "and the internet directly; run `make down` (stops the servers, keeps homes and data) "
                "and `make up` again to make it anew as an internal network")

    def write_stack_file(self) -> Path:
        """The compose file of this stack, rendered from the topology, in the state folder."""
        files = {"hub_config": self.root / "jupyterhub_config.py",
                 "hub_site_config": write_site_config(self.root, self.state_dir),
                 **edge.write_files(self.settings, self.state_dir)}
        stack_files = topology.StackFiles.of(self.write_env_file(), files)
        path = self.state_dir / "stack.json"  # JSON is YAML: docker stack deploy reads it
        path.write_text(json.dumps(topology.render(self.service_settings(), stack_files), indent=1) + "\n")
        return path

    def service_settings(self) -> Settings:
        """The settings with the crypt key kept in the state folder: the course services'
        tokens are derived from it (astrohub.courses.service_token)."""
        return settings_mod.Settings({**self.settings, "crypt_key": self.settings.crypt_key or self.secret_value("crypt_key")})

    def ensure_service_secrets(self) -> None:
        """The secrets of the course services and the registry's pull password, which the
        topology names after what they hold."""
        settings = self.service_settings()
        ids = courses.course_ids(settings)
        wanted = {courses.secret_name(settings, name): courses.service_token(settings, name)
                  for name in ([courses.EXCHANGE, *ids] if ids else [])}
        if None in wanted.values():
            raise DeployError("the crypt key is needed to make the course services' tokens")
        # Docker refuses empty secrets: a lone newline reads as empty.
        wanted[topology.registry_password_secret(settings)] = (settings.registry_password or "") + "\n"
        _create_secrets(wanted, _secret_names())

    def deploy(self) -> None:
        self.check_user_network()
        self.ensure_service_secrets()
        stack_file = self.write_stack_file()
        env = dict(os.environ)
        registry_auth = []
        if self.settings.registry:
            # Nodes pull the stack's images with the login given here (the pull login).
            registry_auth = ["--with-registry-auth"]
            if self.settings.registry_user:
                from .images import docker_config
                from .registry import Login

                login = Login(self.settings.registry, self.settings.registry_user, self.settings.registry_password or "")
                env["DOCKER_CONFIG"] = str(docker_config(self.state_dir / "docker", [login]))
        before = self._updates()
        result = subprocess.run(
            ["docker", "stack", "deploy", "--prune", *registry_auth, "-c", str(stack_file), self.name],
            env=env, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise DeployError(f"docker stack deploy failed: {result.stderr.strip()}")
        self.wait_for_updates(before)

    def _updates(self) -> dict[str, tuple[str, str, str]]:
        """{service: (its spec, update state, update start)} of this stack's services."""
        ids = docker("service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={self.name}").stdout.split()
        if not ids:
            return {}
        out = {}
        for svc in json.loads(docker("service", "inspect", *ids).stdout):
            status = svc.get("UpdateStatus") or {}
            spec = json.dumps(svc["Spec"], sort_keys=True)
            out[svc["Spec"]["Name"]] = (spec, status.get("State", ""), status.get("StartedAt", ""))
        return out

    def wait_for_updates(self, before: dict, timeout: float = 300, begin: float = 15) -> None:
        """Until every service whose spec the deploy changed has rolled its tasks over:
        `docker stack deploy` returns at once, and a changed setting would otherwise be
        reported ready while the old hub still answers. A failed update names the service."""
        start = time.monotonic()
        while True:
            now = self._updates()
            waiting = []
            for name, (spec, state, started) in now.items():
                if name not in before or spec == before[name][0]:
                    continue  # new (readiness covers it) or unchanged
                if started == before[name][2]:
                    # No rolling update began: a change that needs none (replicas), once Swarm had time.
                    if time.monotonic() - start < begin:
                        waiting.append(name)
                elif state in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
                    r = docker("service", "logs", "--no-task-ids", "--tail", "40", name, check=False)
                    raise DeployError(f"the update of {name} failed ({state}); its log:\n{r.stdout}{r.stderr}")
                elif state != "completed":
                    waiting.append(name)
            if not waiting:
                return
            if time.monotonic() - start > timeout:
                raise DeployError(f"{', '.join(waiting)} still updating after {timeout:.0f} s: `docker service ps` them")
            time.sleep(1)

    # -- readiness ------------------------------------------------------------
    @property
    def local_url(self) -> str:
        return edge.local_url(self.settings)

    def root_certificate(self, timeout: float = 120) -> str:
        """The root certificate (PEM) of the edge's local CA, read from the running edge."""
        deadline = time.monotonic() + timeout
        last = "no running edge container"
        while True:
            ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={self.name}_edge",
                         "--filter", "status=running", check=False).stdout.split()
            for cid in ids:
                r = docker("exec", cid, "cat", edge.ROOT_CERT_PATH, check=False)
                if r.returncode == 0 and "BEGIN CERTIFICATE" in r.stdout:
                    return r.stdout
                last = (r.stderr or r.stdout).strip()
            if time.monotonic() > deadline:
                raise DeployError(f"no local CA root from {self.name}_edge within {timeout:.0f} s ({last})")
            time.sleep(1)

    def ca_bundle(self, timeout: float = 120) -> str | None:
        """A CA file that trusts this stack: the system's CAs plus the local CA's root.

        None when the edge has a publicly trusted or an institution's certificate
        (the system's CAs are what to use). Written to the state folder."""
        if edge.tls_mode(self.settings) != "internal":
            return None
        system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
        path = self.state_dir / "ca-bundle.pem"
        path.write_text((system.read_text() if system.exists() else "") + "\n" + self.root_certificate(timeout))
        return str(path)

    def hub_client(self, timeout: float = 30):
        """A HubClient acting as the ops service, trusting this stack's certificate."""
        from .hubapi import HubClient

        return HubClient(self.local_url, self.secret_value("ops_token"), timeout=timeout,
                         verify=self.ca_bundle() or True,
                         subdomain_host=self.settings.public_url if self.settings.user_subdomains else "")

    # Ready means the hub's API and the services' routes: the hub answers before it has
    # put the routes of its services into the proxy (it first waits for each service to
    # answer), and until then /services/... reach the hub (403/404 pages, not data).
    READY_PATHS = ("/hub/api/", "/services/datacentre/api/health")

    def get_local(self, path: str, ca_bundle: str, timeout: float = 5):
        """GET ``path`` from the edge as the public host names it (urllib3 response).

        Sent to ``local_url``; with user subdomains the proxy routes by host name, so the
        request carries the public host (Host header and TLS server name) whatever
        address it goes to."""
        import urllib3

        url = urlparse(self.local_url)
        public = urlparse(self.settings.public_url)
        name = public.hostname if self.settings.user_subdomains else None
        pool = urllib3.HTTPSConnectionPool(url.hostname, url.port or 443, ca_certs=ca_bundle, cert_reqs="CERT_REQUIRED",
                                           server_hostname=name, assert_hostname=name, timeout=timeout, retries=False)
        headers = {"Host": public.netloc} if name else {}
        return pool.request("GET", path, headers=headers, redirect=False)

    def wait_until_ready(self, timeout: float = 240) -> float:
        """Wait until the hub and the data service answer through the edge and the proxy;
        return seconds taken."""
        import urllib3

        start = time.monotonic()
        last = ""
        bundle = None
        pending = list(self.READY_PATHS)
        while pending and time.monotonic() - start < timeout:
            try:
                if bundle is None:
                    # The local CA's root exists once the edge has started.
                    bundle = self.ca_bundle(timeout=max(1, timeout - (time.monotonic() - start)))
                r = self.get_local(pending[0], bundle)
                if r.status == 200 and "version" in json.loads(r.data):
                    pending.pop(0)
                    continue
                last = f"HTTP {r.status}"
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as e:
                last = str(e)
            time.sleep(1)
        if not pending:
            return time.monotonic() - start
        why = self.certificate_problem()
        raise DeployError(
            (f"{why}\n" if why else "")
            + f"no answer at {self.local_url}{pending[0]} within {timeout:.0f} s ({last}).\n"
            + self.logs()
        )

    def certificate_problem(self) -> str | None:
        """Why the edge has no certificate (from its log), or None."""
        r = docker("service", "logs", "--no-task-ids", "--raw", f"{self.name}_edge", check=False)
        return edge.certificate_problem(r.stdout + r.stderr)

    def logs(self, tail: int = 60) -> str:
        out = []
        for service in ("edge", "hub", "proxy"):
            r = docker("service", "logs", "--no-task-ids", "--tail", str(tail), f"{self.name}_{service}", check=False)
            out.append(f"--- logs of {self.name}_{service} ---\n{r.stdout}{r.stderr}")
        r = docker("stack", "ps", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", self.name, check=False)
        out.append(f"--- tasks ---\n{r.stdout}{r.stderr}")
        return "\n".join(out)

    # -- removal --------------------------------------------------------------
    def user_services(self) -> list[str]:
        prefix = f"{self.name}-user-"
        names = docker("service", "ls", "--format", "{{.Name}}", "--filter", f"name={prefix}").stdout.split()
        return [n for n in names if n.startswith(prefix)]

    def remove(self, timeout: float = 90) -> None:
        """Remove the stack and user servers; keep volumes (homes, hub DB) and secrets."""
        for service in self.user_services():
            docker("service", "rm", service, check=False)
        docker("stack", "rm", self.name, check=False)
        deadline = time.monotonic() + timeout
        # The network and containers go asynchronously; a redeploy must wait.
        while time.monotonic() < deadline:
            left = docker("ps", "-q", "--filter", f"label=com.docker.stack.namespace={self.name}", check=False).stdout.split()
            nets = docker("network", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={self.name}", check=False).stdout.split()
            if not left and not nets:
                return
            time.sleep(1)
        raise DeployError(f"stack {self.name} still has containers or networks after {timeout:.0f} s")

    def forget(self, timeout: float = 60) -> None:
        """After remove(): delete the stack's volumes (homes, databases) and secrets too.

        For test and benchmark stacks only: this is everything users made.
        """
        # Swarm removes a service's stopped containers a little after the service:
        # a volume can be "in use" for some seconds after the stack is gone.
        deadline = time.monotonic() + timeout
        while True:
            names = [v for v in docker("volume", "ls", "-q", "--filter", f"name={self.name}").stdout.split()
                     if v.startswith(self.name)]
            left = [v for v in names if docker("volume", "rm", "-f", v, check=False).returncode != 0]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(1)
        for secret in _secret_names():
            if secret.startswith(f"{self.name}_"):
                docker("secret", "rm", secret, check=False)


def write_site_config(root: Path, state_dir: Path) -> Path:
    """The operator's own hub traitlets, for what the settings do not say: the files
    ``jupyterhub_config.d/*.py`` of the checkout in name order, joined into one file that
    the hub reads after ``apply`` (the escape hatch TLJH and z2jh offer)."""
    sources = sorted((root / SITE_CONFIG_DIR).glob("*.py"))
    text = "".join(f"# --- {path.relative_to(root)}\n{path.read_text()}\n" for path in sources)
    path = state_dir / "site_config.py"
    path.write_text(text or f"# no {SITE_CONFIG_DIR}/*.py in the checkout\n")
    return path


def checkout_root() -> Path:
    """The checkout the operator's commands run in (they find jupyterhub_config.py and the images there)."""
    root = Path.cwd()
    if not (root / "jupyterhub_config.py").exists() or not (root / "images").is_dir():
        raise DeployError("run astrohub from the repository's top folder (where jupyterhub_config.py is)")
    return root


def operator_stack() -> Stack:
    """The stack that the settings in this shell's environment describe."""
    # Secrets are not read from /run/secrets on the operator's machine.
    return Stack(checkout_root(), settings_mod.load(secrets_dir="/nonexistent"))
