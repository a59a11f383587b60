"""The machine's own image registry: logins, TLS, a read-only side for pulls.

Debian's docker-registry (Docker distribution 2.8) knows one kind of login,
htpasswd with bcrypt, and any account it accepts may push and pull: it has no
per-account rights. So the registry runs as two services on one storage volume
(the stack ``astrohub-registry``, swarm/registry.yml):

- ``registry`` on ``127.0.0.1:<port>`` (the name every node pulls by): storage
  read-only (``maintenance.readonly``), logins ``pull`` and ``push``;
- ``push`` on ``<port + 1>``: read-write, login ``push`` only.

Both speak TLS only, with a certificate from a CA made at first start. Passwords,
the CA and the keys are kept, mode 0600, in the state folder
``.astrohub/astrohub-registry/``; the htpasswd files and the TLS key reach the
services as docker secrets named after their content. The pull login goes to the
hub (its spawner sends it with each user service) and to ``docker stack deploy
--with-registry-auth``; the push login only to ``astrohub up``'s own pushes.
Nodes trust the CA through ``/etc/docker/certs.d/<host:port>/ca.crt``.

    astrohub registry up | down
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import secrets as pysecrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from . import images
from .swarm import DeployError, docker, state_dir

REGISTRY_STACK = "astrohub-registry"
PULL_USER = "pull"
PUSH_USER = "push"
CERTS_D = Path("/etc/docker/certs.d")


def registry_port(registry: str) -> int | None:
    """The port of the machine's own registry (``127.0.0.1:<port>``), None for another registry."""
    host, _, port = registry.partition(":")
    if host in ("127.0.0.1", "localhost"):
        return int(port or 80)
    return None


@dataclass(frozen=True)
class Login:
    server: str
    user: str
    password: str


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o600)


class MachineRegistry:
    def __init__(self, root: Path, port: int = 5000) -> None:
        self.root = root
        self.port = port
        self.push_port = port + 1
        self.address = f"127.0.0.1:{port}"
        self.push_address = f"127.0.0.1:{self.push_port}"
        self.state = state_dir(root, REGISTRY_STACK)

    # -- what is kept in the state folder ---------------------------------------
    def _kept(self, name: str, make) -> str:
        path = self.state / name
        if not path.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            os.chmod(self.state, 0o700)
            _write_private(path, make())
        return path.read_text()

    def password(self, user: str) -> str:
        return self._kept(f"{user}_password", lambda: pysecrets.token_urlsafe(24)).strip()

    @property
    def pull_login(self) -> Login:
        return Login(self.address, PULL_USER, self.password(PULL_USER))

    @property
    def push_login(self) -> Login:
        return Login(self.push_address, PUSH_USER, self.password(PUSH_USER))

    def htpasswd(self, side: str, users: tuple[str, ...]) -> str:
        """The htpasswd file of one side; made anew only when a password changed (bcrypt salts differ)."""
        path = self.state / f"htpasswd-{side}"
        lines = path.read_text().splitlines() if path.exists() else []
        hashes = dict(line.split(":", 1) for line in lines if ":" in line)
        if set(hashes) != set(users) or not all(
                bcrypt.checkpw(self.password(u).encode(), hashes[u].encode()) for u in users):
            self.state.mkdir(parents=True, exist_ok=True)
            _write_private(path, "".join(
                f"{u}:{bcrypt.hashpw(self.password(u).encode(), bcrypt.gensalt(10)).decode()}\n" for u in users))
        return path.read_text()

    def ca_certificate(self) -> str:
        self._tls()
        return (self.state / "ca.crt").read_text()

    def _tls(self) -> None:
        """The registry's CA and its server certificate (127.0.0.1, localhost, the Swarm's address)."""
        if (self.state / "tls.key").exists():
            return
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "astrohub registry CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        swarm_addr = _swarm_address()
        if swarm_addr:
            names.append(x509.IPAddress(ipaddress.ip_address(swarm_addr)))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "astrohub registry")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=825))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        private = dict(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                       encryption_algorithm=serialization.NoEncryption())
        self.state.mkdir(parents=True, exist_ok=True)
        _write_private(self.state / "ca.key", ca_key.private_bytes(**private).decode())
        _write_private(self.state / "ca.crt", ca.public_bytes(pem).decode())
        _write_private(self.state / "tls.crt", cert.public_bytes(pem).decode() + ca.public_bytes(pem).decode())
        _write_private(self.state / "tls.key", key.private_bytes(**private).decode())

    def docker_config(self) -> Path:
        """A DOCKER_CONFIG folder with the push and pull logins (for `astrohub up` only)."""
        return images.docker_config(self.state / "docker", [self.push_login, self.pull_login])

    def trust_on_this_host(self) -> None:
        """Docker on the manager verifies the registry against its CA."""
        for address in (self.address, self.push_address):
            folder = CERTS_D / address
            try:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "ca.crt").write_text(self.ca_certificate())
            except OSError as e:
                print(f"note: could not write {folder}/ca.crt ({e}): Docker verifies the registry only if it trusts its CA")

    # -- the stack ----------------------------------------------------------------
    def _secret(self, kind: str, value: str) -> str:
        """A docker secret named after its content: a new value is a new secret, the service follows."""
        name = f"{REGISTRY_STACK}_{kind}_{hashlib.sha256(value.encode()).hexdigest()[:12]}"
        if docker("secret", "inspect", name, check=False).returncode != 0:
            docker("secret", "create", name, "-", input=value)
        return name

    def up(self, tag: str, timeout: float = 120) -> None:
        """Deploy (or update) the stack and wait until both sides answer."""
        self._tls()
        images.build(self.root, tag, names=("registry",))
        secret_names = {
            "ASTROHUB_REGISTRY_HTPASSWD_PULL": self._secret("htpasswd_pull", self.htpasswd("pull", (PULL_USER, PUSH_USER))),
            "ASTROHUB_REGISTRY_HTPASSWD_PUSH": self._secret("htpasswd_push", self.htpasswd("push", (PUSH_USER,))),
            "ASTROHUB_REGISTRY_TLS_CERT": self._secret("tls_cert", (self.state / "tls.crt").read_text()),
            "ASTROHUB_REGISTRY_TLS_KEY": self._secret("tls_key", (self.state / "tls.key").read_text()),
        }
        env = dict(os.environ, ASTROHUB_IMAGE_TAG=tag, ASTROHUB_REGISTRY_PORT=str(self.port),
                   ASTROHUB_REGISTRY_PUSH_PORT=str(self.push_port), **secret_names)
        r = subprocess.run(["docker", "stack", "deploy", "-c", str(self.root / "swarm/registry.yml"), REGISTRY_STACK],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise DeployError(f"deploying the registry failed: {r.stderr.strip()}")
        self.trust_on_this_host()
        deadline = time.monotonic() + timeout
        while not (self.answers(self.port) and self.answers(self.push_port)):
            if time.monotonic() > deadline:
                tasks = docker("stack", "ps", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}",
                               REGISTRY_STACK, check=False)
                raise DeployError(f"the registry did not answer at {self.address} and {self.push_address} "
                                  f"within {timeout:.0f} s:\n{tasks.stdout}")
            time.sleep(1)
        # Secrets of earlier values: those still in use by a stopping task stay until next time.
        for name in docker("secret", "ls", "--format", "{{.Name}}").stdout.split():
            if name.startswith(f"{REGISTRY_STACK}_") and name not in secret_names.values():
                docker("secret", "rm", name, check=False)
        print(f"registry {REGISTRY_STACK}: pulls at {self.address}, pushes at {self.push_address} (TLS, logins)", flush=True)

    def answers(self, port: int) -> bool:
        """The registry's API answers over TLS with its own CA (401: it wants a login)."""
        context = ssl.create_default_context(cadata=self.ca_certificate())
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/v2/", timeout=5, context=context) as r:
                return r.status == 200
        except urllib.error.HTTPError as e:
            return e.code == 401
        except (urllib.error.URLError, OSError):
            return False

    def down(self, timeout: float = 90) -> None:
        """Remove the stack, its volume (every pushed image), its secrets and this host's trust in
        its CA; the state folder (logins, CA) stays."""
        docker("stack", "rm", REGISTRY_STACK, check=False)
        label = f"label=com.docker.stack.namespace={REGISTRY_STACK}"
        deadline = time.monotonic() + timeout
        while docker("ps", "-aq", "--filter", label, check=False).stdout.split() or \
                docker("network", "ls", "-q", "--filter", label, check=False).stdout.split():
            if time.monotonic() > deadline:
                raise DeployError(f"the registry's containers are still there after {timeout:.0f} s")
            time.sleep(1)
        # Swarm removes a stopped task's container a little after the stack.
        while docker("volume", "rm", "-f", f"{REGISTRY_STACK}_registry-data", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise DeployError(f"the registry's volume {REGISTRY_STACK}_registry-data is still in use")
            time.sleep(1)
        for name in docker("secret", "ls", "--format", "{{.Name}}").stdout.split():
            if name.startswith(f"{REGISTRY_STACK}_"):
                docker("secret", "rm", name, check=False)
        for address in (self.address, self.push_address):
            (CERTS_D / address / "ca.crt").unlink(missing_ok=True)


def _swarm_address() -> str | None:
    r = docker("info", "--format", "{{json .Swarm}}", check=False)
    try:
        addr = json.loads(r.stdout).get("NodeAddr") or None
    except ValueError:
        return None
    return addr if addr and not ipaddress.ip_address(addr).is_loopback else None


def publish(root: Path, settings, names: tuple[str, ...] | None = None):
    """Make the images available to every node; the settings with the nodes' pull login.

    The machine's own registry: deploy it, push with the push login to its push
    side, and give back the settings with ``registry_user``/``registry_password``
    of the pull login. Another registry: push with the operator's own ``docker login``.
    """
    from .settings import Settings

    port = registry_port(settings.registry)
    if port is None:
        images.push(settings.image_tag, settings.registry, names)
        return settings
    machine = MachineRegistry(root, port)
    machine.up(settings.image_tag)
    images.push(settings.image_tag, settings.registry, names, push_to=machine.push_address,
                docker_config=machine.docker_config())
    login = machine.pull_login
    return Settings({**settings, "registry_user": login.user, "registry_password": login.password})


def add_parser(sub) -> None:
    reg = sub.add_parser("registry", help="the machine's own registry (TLS, logins)")
    actions = reg.add_subparsers(dest="action", required=True)
    actions.add_parser("up", help="deploy it").set_defaults(func=_cmd_up)
    actions.add_parser("down", help="remove it with every pushed image").set_defaults(func=_cmd_down)


def _machine() -> tuple[MachineRegistry, object]:
    from . import settings

    s = settings.load(secrets_dir="/nonexistent")
    port = registry_port(s.registry or "127.0.0.1:5000")
    if port is None:
        raise DeployError(f"ASTROHUB_REGISTRY={s.registry} is not this machine's registry (127.0.0.1:<port>)")
    return MachineRegistry(Path.cwd(), port), s


def _cmd_up(args) -> int:
    machine, s = _machine()
    machine.up(s.image_tag)
    print(f"logins kept in {machine.state}/ (pull_password, push_password); its CA: {machine.state}/ca.crt")
    return 0


def _cmd_down(args) -> int:
    machine, _ = _machine()
    machine.down()
    print(f"registry {REGISTRY_STACK} removed with its images; logins and CA stay in {machine.state}/")
    return 0
