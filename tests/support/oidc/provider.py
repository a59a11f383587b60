"""Real OpenID Connect providers on loopback for the login tests.

* :class:`DjangoProvider`: django-oauth-toolkit in OIDC mode (project in
  ``django_site/``): users with PBKDF2-hashed passwords, groups released with the
  ``groups`` scope, PKCE (S256) required, an RS256 key generated at start.
* :class:`NodeProvider`: the npm ``oidc-provider`` (``node/server.js``), the
  stricter second provider; ``npm ci`` runs once if ``node_modules`` is missing.

Both take the same ``users`` ([{username, password, groups}]) and one confidential
client (the hub) and expose the endpoints the hub's settings need. ``log()``
returns what the provider printed.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..net import free_port, wait_for_http

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
NODE_DIR = HERE / "node"


class _Provider:
    name = "provider"

    def __init__(self, workdir: Path, users: list[dict], redirect_uris: list[str],
                 token_seconds: int = 3600, host: str = "127.0.0.1"):
        self.workdir = Path(workdir)
        self.host = host  # where it listens: loopback, or the Swarm's gateway for a stack's hub
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.redirect_uris = redirect_uris
        self.token_seconds = token_seconds
        self.port = free_port()
        self.client_id = f"hub-{secrets.token_hex(4)}"
        self.client_secret = secrets.token_urlsafe(24)
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / f"{self.name}.log"

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _spawn(self, cmd: list[str], env: dict, cwd: Path) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_http(self.authorize_url, timeout=60, proc=self.proc, ok=(200, 302, 303, 400))
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.log()}")

    def settings_env(self, key: str) -> dict[str, str]:
        """The hub's ASTROHUB_* settings for this provider under ``key`` (kcdc/gradlci)."""
        up = key.upper()
        return {
            f"ASTROHUB_{up}_AUTHORIZE_URL": self.authorize_url,
            f"ASTROHUB_{up}_TOKEN_URL": self.token_url,
            f"ASTROHUB_{up}_USERINFO_URL": self.userinfo_url,
            f"ASTROHUB_{up}_CLIENT_ID": self.client_id,
            f"ASTROHUB_{up}_CLIENT_SECRET": self.client_secret,
        }

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class DjangoProvider(_Provider):
    name = "django-oidc"

    authorize_url = property(lambda self: f"{self.issuer}/o/authorize/")
    token_url = property(lambda self: f"{self.issuer}/o/token/")
    userinfo_url = property(lambda self: f"{self.issuer}/o/userinfo/")

    def start(self) -> "DjangoProvider":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        env = {
            "DJANGO_SETTINGS_MODULE": "tests.support.oidc.django_site.settings",
            "PYTHONPATH": str(ROOT),
            "OIDC_TEST_SECRET_KEY": secrets.token_hex(32),
            "OIDC_TEST_DB": str(self.workdir / "provider.sqlite3"),
            "OIDC_TEST_RSA_KEY": pem,
            "OIDC_TEST_TOKEN_SECONDS": str(self.token_seconds),
            "OIDC_TEST_COOKIE": f"p{self.port}",
            "OIDC_TEST_HOST": self.host,
        }
        full_env = {**os.environ, **env}
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=full_env,
                       cwd=ROOT, check=True, capture_output=True)
        spec = {"users": self.users, "client": {"client_id": self.client_id, "client_secret": self.client_secret,
                                                "redirect_uris": self.redirect_uris}}
        subprocess.run([sys.executable, str(HERE / "django_site" / "seed.py")], env=full_env, cwd=ROOT,
                       input=json.dumps(spec), text=True, check=True, capture_output=True)
        self._spawn([sys.executable, "-m", "django", "runserver", f"{self.host}:{self.port}", "--noreload"],
                    env, ROOT)
        return self


def ensure_node_modules() -> None:
    """Install the pinned node provider (package-lock.json) once: `npm ci`."""
    if (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"npm ci in {NODE_DIR} failed:\n{r.stdout}{r.stderr}")


class NodeProvider(_Provider):
    name = "node-oidc"

    authorize_url = property(lambda self: f"{self.issuer}/auth")
    token_url = property(lambda self: f"{self.issuer}/token")
    userinfo_url = property(lambda self: f"{self.issuer}/me")

    def start(self) -> "NodeProvider":
        ensure_node_modules()
        spec_path = self.workdir / "spec.json"
        spec_path.write_text(json.dumps({
            "port": self.port, "host": self.host, "users": self.users, "token_seconds": self.token_seconds,
            "client": {"client_id": self.client_id, "client_secret": self.client_secret,
                       "redirect_uris": self.redirect_uris},
        }))
        os.chmod(spec_path, 0o600)
        self._spawn(["node", "server.js"], {"OIDC_TEST_SPEC": str(spec_path)}, NODE_DIR)
        return self
