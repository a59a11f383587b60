"""A real hub on loopback configured for OpenID Connect login, with both test providers.

The hub is configured by astrohub's own login step (``astrohub.config._login``) from ASTROHUB_* settings
(as in production); the providers are django-oauth-toolkit ("kcdc") and the npm
oidc-provider ("gradlci"). Used by the integration tests and the browser test.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ..hub import ASTROHUB_PARTS_CONFIG, HubProcess
from .flow import login
from .provider import DjangoProvider, NodeProvider

TOKEN_SECONDS = 20
PASSWORDS = {name: secrets.token_urlsafe(12) for name in ("ada", "emmy", "mallory")}
USERS = [
    {"username": "ada", "password": PASSWORDS["ada"], "groups": ["students"], "email": "ada@example.org"},
    {"username": "emmy", "password": PASSWORDS["emmy"], "groups": ["teachers", "teachers-astro101"]},
    # in no group the hub allows (and claiming a course group must not help)
    {"username": "mallory", "password": PASSWORDS["mallory"], "groups": ["visitors", "formgrade-astro101"]},
]
KEYS = ("kcdc", "gradlci")


class Env:
    def __init__(self, hub, providers, ops_token):
        self.hub = hub
        self.ops_token = ops_token  # the ops service's, with astrohub's ops role
        self.providers = providers  # key -> provider
        self.secrets_seen: set[str] = set()  # everything that must never be logged

    def login(self, key, username, password=None, **kw):
        result = login(self.hub.url, key, username, password or PASSWORDS[username], **kw)
        if result.callback_url:
            q = parse_qs(urlparse(result.callback_url).query)
            self.secrets_seen.update(v[0] for k, v in q.items() if k in ("code", "state"))
        return result

    def auth_state(self, user):
        state = self.hub.api("GET", f"users/{user}").json()["auth_state"]
        for k in ("access_token", "refresh_token", "id_token"):
            if state and state.get(k):
                self.secrets_seen.add(state[k])
        return state

    def user(self, user):
        return self.hub.api("GET", f"users/{user}").json()


def astrohub_login_config(crypt_key: str) -> list[str]:
    """Hub config lines: astrohub's own login step from the ASTROHUB_* settings in the hub's
    environment (as in production), auth state encrypted with ``crypt_key``."""
    return [
        "from astrohub import config as astro_config, settings as astro_settings",
        # only the hub's settings: a test run may have other ASTROHUB_* variables (e2e)
        "import os",
        "_known = {s.env for s in astro_settings.SCHEMA}",
        "_env = {k: v for k, v in os.environ.items() if k in _known}",
        "_s = astro_settings.load(_env, secrets_dir='/nonexistent')",
        # the login's and the ops service's roles and scopes, as deployed
        "_parts = [astro_config._login(_s, c), astro_config._ops(_s)]",
        *ASTROHUB_PARTS_CONFIG,
        f"c.CryptKeeper.keys = [bytes.fromhex({crypt_key!r})]",
        # the tests run as root; the real servers are containers (jovyan)
        "c.Spawner.args = ['--allow-root']",
    ]


@contextmanager
def login_hub(base: Path, token_seconds: int = TOKEN_SECONDS, extra_config=()):
    """Start both providers and the hub (``extra_config``: more config lines); yield an Env."""
    ops_token = secrets.token_hex(32)
    hub = HubProcess(base / "hub", services=[{"name": "ops", "api_token": ops_token}])
    providers = {}
    started = []
    try:
        for key, cls in (("kcdc", DjangoProvider), ("gradlci", NodeProvider)):
            p = cls(base / key, USERS, [f"{hub.url}hub/{key}/oauth_callback"], token_seconds=token_seconds)
            p.start()
            started.append(p)
            providers[key] = p
        crypt_key = secrets.token_hex(32)
        hub.env.update({
            "ASTROHUB_AUTHENTICATOR": "oidc",
            "ASTROHUB_PUBLIC_URL": hub.url.rstrip("/"),
            "ASTROHUB_COURSES": "astro101:teachers-astro101",
            "ASTROHUB_CRYPT_KEY": crypt_key,
            "ASTROHUB_TOKEN_REFRESH_AGE": "2",
            "ASTROHUB_TOKEN_REFRESH_MARGIN": "8",
            **providers["kcdc"].settings_env("kcdc"),
            **providers["gradlci"].settings_env("gradlci"),
        })
        hub.extra_config += [*astrohub_login_config(crypt_key), *extra_config]
        hub.start()
        e = Env(hub, providers, ops_token)
        e.secrets_seen.update(PASSWORDS.values())
        e.secrets_seen.update(p.client_secret for p in providers.values())
        yield e
    finally:
        hub.stop()
        for p in started:
            p.stop()
