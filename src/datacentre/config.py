"""Settings of the datacentre service, read from environment variables.

Every setting has an environment variable ``DATACENTRE_<NAME>`` (upper case), read by
:func:`servicekit.settings.from_environment` (a wrong value or an unknown
``DATACENTRE_*`` variable stops the service, naming it); the reference is in
docs/configuration.md. The JupyterHub variables (``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_SERVICE_URL``,
``JUPYTERHUB_CLIENT_ID``, ``JUPYTERHUB_OAUTH_CALLBACK_URL``,
``JUPYTERHUB_OAUTH_ACCESS_SCOPES``) are what the hub passes to a service and are read
by :class:`jupyterhub.services.auth.HubOAuth`; the datacentre reads them through
:class:`servicekit.settings.HubService`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from servicekit.settings import HubService, SettingsError, check_choices, choice, from_environment, setting
from servicekit.tokens import secret

#: where the stack puts the datacentre's hub token (a docker secret)
HUB_TOKEN_FILE = "/run/secrets/astrohub_datacentre_token"
PREFIX = "DATACENTRE_"
FORMATS = ("hdf5", "ascii", "root", "parquet", "csv")


@dataclass
class Settings:
    data_root: Path = setting(Path("/data/datashops"), "Folder holding one folder per data shop (datashop.json and part-*.parquet).")
    results_dir: Path = setting(Path("/data/results"), "Where result files are written (a volume); also the default SQLite location.")
    db_url: str = setting("", "SQLAlchemy URL of the request database; empty: sqlite:///<results_dir>/datacentre.sqlite.")
    prefix: str = setting("/services/datacentre/", "URL prefix the hub's proxy routes to the service; default from JUPYTERHUB_SERVICE_PREFIX.")
    ip: str = setting("0.0.0.0", "Address to listen on; default from JUPYTERHUB_SERVICE_URL.")
    port: int = setting(10101, "Port to listen on; default from JUPYTERHUB_SERVICE_URL.")
    expiry_seconds: int = setting(7 * 24 * 3600, "Seconds a finished result stays downloadable; then it is Expired and its file removed.")
    purge_interval: float = setting(60.0, "Seconds between purge passes (expired results, old Expired requests).")
    forget_seconds: int = setting(30 * 24 * 3600, "Seconds after expiry before an Expired request leaves the lists.")
    workers: int = setting(2, "Worker threads running selections in parallel.")
    max_running: int = setting(3, "Per user: requests Scheduled or Running at the same time.")
    max_rows: int = setting(5_000_000, "Per request: rows in the selection.")
    max_bytes: int = setting(2_000_000_000, "Per request: estimated size of the output file in bytes.")
    max_user_bytes: int = setting(20_000_000_000, "Per user: bytes of all results held (finished, plus estimates of those under way); 0: no limit.")
    service_max_running: int = setting(20, "The per-user limit of requests under way for service identities (the public dashboards).")
    max_attempts: int = setting(3, "A job interrupted by this many restarts is Failed instead of re-queued.")
    admin_scope: str = setting("custom:datacentre:admin", "Hub scope whose holders see and remove every request (hub admins always do).")
    upstream_url: str = setting("", "An upstream KCDC-API server or the KCDC portal (base URL) that answers for the forwarded shops; empty: none.")
    upstream_token: str = setting("", "Token at the upstream API (upstream_kind api).", secret=True)
    upstream_shops: str = setting("*", "Shop ids forwarded to the upstream, comma-separated; * for all it has.")
    upstream_poll: float = setting(1.0, "Seconds between polls of the upstream while a forwarded request runs.")
    upstream_kind: str = setting("api", "What the upstream is: api (another data service, upstream_token) or portal (the KCDC web portal, the operator's account upstream_username with its password in upstream_password_file).",
                                 parse=choice("api", "portal"), kind="api or portal")
    upstream_username: str = setting("", "The operator's KCDC account at the portal (upstream_kind portal).")
    upstream_password_file: str = setting("/run/secrets/kcdc_upstream_password", "File holding that account's password (a docker secret).")
    spectra_file: str = setting("", "CSV of published spectrum series (published_spectra.csv's columns) the catalogue describes beside the data shops; empty: the series the dashboards show; none: no spectra.")
    # the bundled shops are simulated by this project, which carries no LICENSE file: the
    # licence its data are offered under is this choice (CC BY 4.0: reuse with attribution)
    licence_name: str = setting("CC-BY-4.0", "Licence the catalogue states for the data sets (SPDX name).")
    licence_url: str = setting("https://creativecommons.org/licenses/by/4.0/", "URL of that licence's text.")
    part_delay: float = setting(0.0, "Test hook: seconds the worker sleeps after each Parquet part (0 in production).")
    hub_api_url: str | None = setting(None, "The hub's API URL; empty: JUPYTERHUB_API_URL, as HubOAuth reads it.")
    hub_api_token: str | None = None  # JUPYTERHUB_API_TOKEN(_FILE) or the service's docker secret (from_env)
    auth_cache_seconds: int = setting(60, "Seconds HubOAuth caches a token's user.")
    cookie_secret: str = setting("", "Hex secret signing the browser's OAuth cookie; set it when several replicas serve the same users or cookies should outlive a restart (default: random per process).")
    auth: str = setting("hub", "hub, or none: every caller is the user 'anonymous' (local trials only, never in production).",
                        parse=choice("hub", "none"), kind="hub or none")
    log_level: str = setting("INFO", "Log level (DEBUG, INFO, WARNING).")
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
        # Settings(**values) made in code (make_app(dict)) pass the checks of the variables
        check_choices(self, PREFIX, "datacentre")
        if self.spectra_file not in ("", "none") and not Path(self.spectra_file).is_file():
            raise SettingsError("datacentre", [f"{PREFIX}SPECTRA_FILE={self.spectra_file!r}: no such file; give a CSV "
                                               "with published_spectra.csv's columns, empty for the series the "
                                               "dashboards show, or none for no spectra"])

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """From DATACENTRE_* and, where those are not set, what the hub tells a service."""
        hub = HubService.from_environment()
        defaults: dict = {}
        if hub.service_prefix:
            defaults["prefix"] = hub.service_prefix
        u = urlparse(hub.service_url)
        if u.port:
            defaults["port"] = u.port
        if u.hostname and u.hostname != "localhost":
            # a service URL names the host others use; listen on all interfaces
            # unless it is loopback (then stay on loopback)
            defaults["ip"] = "127.0.0.1" if u.hostname.startswith("127.") else "0.0.0.0"
        # the service's docker secret in the stack; the hub's environment when it starts us
        overrides = {"hub_api_token": secret("JUPYTERHUB_API_TOKEN", HUB_TOKEN_FILE), **overrides}
        return from_environment(cls, PREFIX, "datacentre", overrides=overrides, defaults=defaults)
