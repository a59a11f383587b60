"""Settings of the datacentre service, read from environment variables.

Every setting has an environment variable ``DATACENTRE_<NAME>`` (upper case);
the JupyterHub variables (``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``,
``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_CLIENT_ID``,
``JUPYTERHUB_OAUTH_CALLBACK_URL``, ``JUPYTERHUB_OAUTH_ACCESS_SCOPES``) are what the
hub passes to a service and are read by :class:`jupyterhub.services.auth.HubOAuth`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

from servicekit.tokens import secret

#: where the stack puts the datacentre's hub token (a docker secret)
HUB_TOKEN_FILE = "/run/secrets/astrohub_datacentre_token"
FORMATS = ("hdf5", "ascii", "root", "parquet", "csv")


def _env(name: str, default=None):
    return os.environ.get(name, default)


@dataclass
class Settings:
    #: directory holding one folder per data shop (datashop.json + part-*.parquet)
    data_root: Path = Path("/data/datashops")
    #: where result files are written (a volume); also the default SQLite location
    results_dir: Path = Path("/data/results")
    #: SQLAlchemy URL; default sqlite:///<results_dir>/datacentre.sqlite
    db_url: str = ""
    #: URL prefix under which the service is routed by the hub's proxy
    prefix: str = "/services/datacentre/"
    #: address to listen on (default from JUPYTERHUB_SERVICE_URL, else 0.0.0.0:10101)
    ip: str = "0.0.0.0"
    port: int = 10101
    #: seconds a finished result stays downloadable; then it is Expired and purged
    expiry_seconds: int = 7 * 24 * 3600
    #: seconds between purge passes (expiry of results, removal of old Expired requests)
    purge_interval: float = 60.0
    #: seconds after expiry before an Expired request disappears from the lists
    forget_seconds: int = 30 * 24 * 3600
    #: worker threads running selections in parallel
    workers: int = 2
    #: per user: requests Scheduled or Running at the same time
    max_running: int = 3
    #: per request: rows in the selection
    max_rows: int = 5_000_000
    #: per request: estimated size of the output file in bytes
    max_bytes: int = 2_000_000_000
    #: per user: bytes of all results held (finished, plus estimates of those under way); 0 = no limit
    max_user_bytes: int = 20_000_000_000
    #: the same limit for service identities (e.g. the public dashboards)
    service_max_running: int = 20
    #: a job interrupted by this many restarts is Failed instead of re-queued
    max_attempts: int = 3
    #: hub scope whose holders see and remove every request (hub admins always do)
    admin_scope: str = "custom:datacentre:admin"
    #: optional upstream KCDC-API server: base URL (ending in /), token, shop ids ("*" = all)
    upstream_url: str = ""
    upstream_token: str = ""
    upstream_shops: str = "*"
    #: seconds between polls of the upstream while a forwarded request runs
    upstream_poll: float = 1.0
    #: what the upstream is: "api" (another data service: upstream_token) or "portal" (the KCDC
    #: web portal itself: the operator's KCDC account upstream_username, its password in the
    #: secret file upstream_password_file; kcdc.portal)
    upstream_kind: str = "api"
    upstream_username: str = ""
    upstream_password_file: str = "/run/secrets/kcdc_upstream_password"
    #: test hook: seconds the worker sleeps after each Parquet part (0 in production)
    part_delay: float = 0.0
    #: hub connection (URL None: taken from the environment by HubOAuth; token: JUPYTERHUB_API_TOKEN(_FILE))
    hub_api_url: str | None = None
    hub_api_token: str | None = None
    #: seconds HubOAuth caches a token -> user answer
    auth_cache_seconds: int = 60
    #: hex secret signing the browser's OAuth cookie; set it when several replicas serve
    #: the same users or cookies should survive a restart (default: random per process)
    cookie_secret: str = ""
    #: "hub" (default) or "none" (every caller is the user 'anonymous'; never in production)
    auth: str = "hub"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_root = Path(self.data_root)
        self.results_dir = Path(self.results_dir)
        if not self.prefix.startswith("/"):
            self.prefix = "/" + self.prefix
        if not self.prefix.endswith("/"):
            self.prefix += "/"
        if not self.db_url:
            self.db_url = f"sqlite:///{self.results_dir / 'datacentre.sqlite'}"
        if self.upstream_url and not self.upstream_url.endswith("/"):
            self.upstream_url += "/"
        if self.upstream_kind not in ("api", "portal"):
            raise ValueError(f"DATACENTRE_UPSTREAM_KIND={self.upstream_kind!r}: use api (another data service) or "
                             "portal (the KCDC web portal)")

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        kw: dict = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = _env("DATACENTRE_" + f.name.upper())
            if raw is None:
                continue
            typ = f.type if isinstance(f.type, str) else f.type.__name__
            if "int" in typ and "|" not in typ:
                kw[f.name] = int(raw)
            elif "float" in typ:
                kw[f.name] = float(raw)
            else:
                kw[f.name] = raw
        if "prefix" not in kw and _env("JUPYTERHUB_SERVICE_PREFIX"):
            kw["prefix"] = _env("JUPYTERHUB_SERVICE_PREFIX")
        svc = _env("JUPYTERHUB_SERVICE_URL")
        if svc and "port" not in kw:
            u = urlparse(svc)
            if u.port:
                kw["port"] = u.port
            if u.hostname and "ip" not in kw and u.hostname not in ("localhost",):
                # a service URL names the host others use; listen on all interfaces
                # unless it is loopback (then stay on loopback)
                kw["ip"] = "127.0.0.1" if u.hostname.startswith("127.") else "0.0.0.0"
        if "hub_api_token" not in kw:
            # the service's docker secret in the stack; the hub's environment when it starts us
            kw["hub_api_token"] = secret("JUPYTERHUB_API_TOKEN", HUB_TOKEN_FILE)
        kw.update(overrides)
        return cls(**kw)
