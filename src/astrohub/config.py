"""apply(settings, c): the whole hub configuration as one pure function.

Tests call it on a bare ``traitlets.config.Config()``; jupyterhub_config.py calls
it on the hub's ``c``. It reads nothing but ``settings`` and writes nothing but ``c``.

Each step sets traits and never reads or extends what another step wrote (TLJH's
rule): the lists several parts of the hub add to (services, roles, custom scopes, the
scopes and environment of server tokens) are returned by the steps as a :class:`Part`,
and :func:`apply` sets each of them once, from all the parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from . import topology
from .portal import SITE_NAME, TEMPLATES
from .edge import public_host
from .settings import Settings, SettingsError

HOME = "/home/jovyan"
# Where the stack mounts the operator's own traitlets (astrohub.deploy.write_site_config).
SITE_CONFIG = Path("/etc/astrohub/site_config.py")
# The scope of the roster import's hub endpoint (astrohub.auth.RosterHandler).
ACCOUNT_SCOPES = {"custom:astrohub:accounts": {"description": "create native accounts with one-time passwords, their hub users and groups"}}
# The hub's limit on a start including its wait in line (seconds): a day.
LINE_BACKSTOP = 24 * 3600
# Names a server calls without the egress proxy (they are on its own network,
# astrohub.topology: the hub's API, the proxy's public port).
NO_PROXY = "hub,proxy,localhost,127.0.0.1,::1"

# The ops service: what the `astrohub` command and the tests act as. It manages
# users and servers but holds no admin role. Not `admin:users`: that includes
# `admin:auth_state` (every user's provider tokens); it creates plain users through
# astrohub.opsapi instead.
OPS_SCOPES = [
    "users",
    "delete:users",
    "read:roles:users",
    "custom:astrohub:create-users",
    "admin:servers",
    "admin:groups",
    "tokens",
    "access:servers",
    "read:metrics",
    "read:hub",
    "list:services",
]
OPS_ROLE = {"name": "ops", "description": "astrohub commands and health checks", "scopes": OPS_SCOPES, "services": ["ops"]}


def subdomain_hook(name: str, domain: str, kind: str) -> str:
    """Users on ``<name>.<domain>`` (JupyterHub's IDNA-safe naming); services stay on the
    hub's own host, so the dashboards' and the data service's addresses do not change."""
    if kind != "user":
        return domain
    from jupyterhub.utils import subdomain_hook_idna

    return subdomain_hook_idna(name, domain, kind)


@dataclass
class Part:
    """What one step adds to the hub's shared lists."""

    services: list[dict] = field(default_factory=list)
    roles: list[dict] = field(default_factory=list)
    custom_scopes: dict[str, dict] = field(default_factory=dict)
    #: scopes a server's token asks for (the hub grants each only where the user holds it)
    server_scopes: list[str] = field(default_factory=list)
    server_environment: dict[str, str] = field(default_factory=dict)


def apply(settings: Settings, c: Config) -> Config:
    _apply_hub(settings, c)
    _apply_authenticator(settings, c)
    _apply_spawner(settings, c)
    _apply_nodes(settings, c)
    _apply_edge(settings, c)
    _apply_activity(settings, c)
    parts = [_ops(settings), _login(settings, c), *_stack_services(settings),
             _idle_culler(settings), _isolation(settings, c)]
    _apply_parts(settings, c, parts)
    return c


def _apply_parts(settings: Settings, c: Config, parts: list[Part]) -> None:
    services = [entry for part in parts for entry in part.services]
    roles = [role for part in parts for role in part.roles]
    for what, entries in (("hub service", services), ("role", roles)):
        seen = [entry["name"] for entry in entries]
        twice = sorted({name for name in seen if seen.count(name) > 1})
        if twice:  # a programming error: two steps made the same entry
            raise ValueError(f"{what} {', '.join(twice)} made twice")
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    c.JupyterHub.custom_scopes = {k: v for part in parts for k, v in part.custom_scopes.items()}
    spawner = c.SwarmSpawner if settings.spawner == "stock" else c.AstroSwarmSpawner
    spawner.server_token_scopes = list(dict.fromkeys(
        [*_SERVER_TOKEN_SCOPES, *(scope for part in parts for scope in part.server_scopes)]))
    spawner.environment = {k: v for part in parts for k, v in part.server_environment.items()}


def _apply_hub(settings: Settings, c: Config) -> None:
    c.JupyterHub.log_level = settings.log_level
    c.JupyterHub.db_url = settings.db_url
    c.JupyterHub.bind_url = "http://:8000"
    c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{topology.HUB_PORT}"
    c.JupyterHub.hub_connect_url = f"http://hub:{topology.HUB_PORT}"
    # A restart of the hub (an upgrade, a crash) must leave students' servers running.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.cleanup_proxy = False
    if settings.cookie_secret:
        c.JupyterHub.cookie_secret = bytes.fromhex(settings.cookie_secret)
    if settings.crypt_key:
        c.CryptKeeper.keys = [bytes.fromhex(settings.crypt_key)]
    # The proxy is its own Swarm service (Debian's node configurable-http-proxy).
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://{topology.PROXY_API_HOST}:{topology.PROXY_API_PORT}"
    if settings.proxy_token:
        c.ConfigurableHTTPProxy.auth_token = settings.proxy_token


def _apply_authenticator(settings: Settings, c: Config) -> None:
    c.Authenticator.admin_users = set(settings.admin_users)
    if settings.authenticator == "native":
        c.JupyterHub.authenticator_class = "astrohub.auth.AstroNativeAuthenticator"
        # NativeAuthenticator gates every account itself (an admin authorises it).
        c.Authenticator.allow_all = True
        c.NativeAuthenticator.enable_signup = settings.allow_signup
        c.NativeAuthenticator.open_signup = False
        c.NativeAuthenticator.check_common_password = True
        c.NativeAuthenticator.minimum_password_length = 8
        c.AstroNativeAuthenticator.first_admin = settings.admin_users[0] if settings.admin_users else ""
        c.AstroNativeAuthenticator.first_admin_password = settings.admin_password or ""
        c.AstroNativeAuthenticator.admin_key = settings.admin_key or ""
        # Guessing passwords: after a few failures a name's logins are refused a while.
        c.NativeAuthenticator.allowed_failed_logins = settings.login_failures_allowed
        c.NativeAuthenticator.seconds_before_next_try = settings.login_block_seconds


def _apply_spawner(settings: Settings, c: Config) -> None:
    # `stock` is dockerspawner's SwarmSpawner, made only to run here: the
    # baseline that benchmarks/spawn.py compares against.
    stock = settings.spawner == "stock"
    c.JupyterHub.spawner_class = "dockerspawner.SwarmSpawner" if stock else "astrohub.spawner.AstroSwarmSpawner"
    s = c.SwarmSpawner if stock else c.AstroSwarmSpawner
    s.image = settings.image
    # The image's start script copies the masterclass library, then starts
    # jupyterhub-singleuser; naming it saves one Docker call per start.
    s.cmd = ["start-singleuser"]
    s.prefix = topology.user_service_prefix(settings)
    s.network_name = topology.user_network(settings)
    # Hub and proxy reach each server on the overlay network, not a published port.
    s.use_internal_ip = True
    s.port = topology.SINGLEUSER_PORT
    # No IPVS here (and none needed): DNS round robin instead of a virtual IP.
    s.extra_endpoint_spec = {"mode": "dnsrr"}
    s.notebook_dir = HOME
    s.default_url = "/lab"
    s.mem_limit = settings.mem_limit
    s.cpu_limit = settings.cpu_limit
    s.start_timeout = settings.start_timeout
    s.http_timeout = settings.start_timeout
    if stock:
        return  # stock mounts named volumes as binds (dockerspawner#536): no home
    s.volumes = {topology.home_volume(settings): HOME}
    # Each course's published masterclasses and its folder, for its members.
    s.course_mounts = topology.course_mounts(settings)
    # A server that stops (culled, shut down, crashed) stays stopped: Swarm's
    # default would restart it behind the hub's back.
    s.extra_task_spec = {"restart_policy": {"Condition": "none"}}
    s.docker_threads = settings.docker_threads
    # Starts served in order (astrohub.admission): the spawner limits the start
    # itself, from its turn. The hub's limit wraps the wait in line too, which is
    # bounded by the starts ahead (each within start_timeout): here only a backstop.
    s.concurrent_starts = settings.concurrent_starts
    s.admitted_start_timeout = settings.start_timeout
    s.start_timeout = LINE_BACKSTOP
    # The hub's own throttle answers 429 "try again later" past its limit; the
    # line replaces it: everybody who asks waits their turn (one start per user).
    c.JupyterHub.concurrent_spawn_limit = 0
    s.teacher_mem_limit = settings.teacher_mem_limit
    s.teacher_cpu_limit = settings.teacher_cpu_limit


def _ops(settings: Settings) -> Part:
    from .opsapi import SCOPES as OPS_API_SCOPES

    service = {"name": "ops", "display": False}
    if settings.ops_token:
        service["api_token"] = settings.ops_token
    return Part(services=[service], roles=[OPS_ROLE], custom_scopes=dict(OPS_API_SCOPES))


def _login(settings: Settings, c: Config) -> Part:
    """Login page, OpenID Connect providers, course groups and roles, log redaction."""
    from . import courses, hublanguage, i18n, oidc  # oauthenticator and jinja2 only where the hub runs

    c.JupyterHub.template_paths = [str(TEMPLATES)]
    # The pages in their visitor's language (?lang=, cookie astrohub_lang, Accept-Language).
    c.JupyterHub.jinja_environment_options = dict(hublanguage.JINJA_OPTIONS)
    # Every log line of the hub passes a filter that masks codes, states and tokens.
    c.JupyterHub.logging_config = {
        "filters": {"redact": {"()": "astrohub.redact.RedactSecrets"}},
        "handlers": {"console": {"filters": ["redact"]}},
    }
    course_list = courses.course_list(settings)
    # The roster import (`astrohub users import`) creates native accounts through
    # the hub's API as the ops service, with a scope of its own.
    part = Part(roles=[*courses.course_roles(course_list),
                       {"name": "ops-accounts", "description": "roster import",
                        "scopes": list(ACCOUNT_SCOPES), "services": ["ops"]}],
                custom_scopes=dict(ACCOUNT_SCOPES))
    login_providers = []
    if settings.authenticator == "native":
        c.AstroNativeAuthenticator.courses = {co.name: [co.teacher_group, co.student_group or ""] for co in course_list}
    elif settings.authenticator == "kcdc-password":
        _apply_kcdc_password(settings, c)
    else:
        _apply_oidc(settings, c, course_list)
        login_providers = [{"key": p.key, "name": p.display_name} for p in oidc.providers(settings)]
    c.JupyterHub.template_vars = {"site_name": SITE_NAME, "login_providers": login_providers,
                                  "languages": dict(i18n.LANGUAGES)}
    return part


def _apply_oidc(settings: Settings, c: Config, course_list) -> None:
    from . import oidc

    problems = oidc.missing_provider_settings(settings)
    if not settings.crypt_key:
        problems.append("the crypt key (docker secret astrohub_crypt_key) is missing: auth state keeps provider tokens encrypted with it")
    if problems:
        raise SettingsError(problems)
    c.JupyterHub.authenticator_class = "astrohub.oidc.AstroMultiAuthenticator"
    c.AstroMultiAuthenticator.authenticators = oidc.authenticator_entries(settings, course_list)
    c.Authenticator.enable_auth_state = True
    c.Authenticator.manage_groups = True
    c.Authenticator.refresh_pre_spawn = True
    c.Authenticator.auth_refresh_age = settings.token_refresh_age
    c.ProviderAuthenticator.refresh_margin = settings.token_refresh_margin


def _apply_kcdc_password(settings: Settings, c: Config) -> None:
    """KCDC password login (astrohub.kcdclogin): the portal checks the password, auth state
    keeps its session encrypted, the hub re-checks the session every token_refresh_age s."""
    problems = []
    if not settings.kcdc_portal_url:
        problems.append("authenticator = kcdc-password needs kcdc_portal_url (the KCDC portal that checks passwords)")
    if not settings.crypt_key:
        problems.append("the crypt key (docker secret astrohub_crypt_key) is missing: auth state keeps the KCDC "
                        "session encrypted with it")
    if problems:
        raise SettingsError(problems)
    c.JupyterHub.authenticator_class = "astrohub.kcdclogin.KCDCPasswordAuthenticator"
    c.KCDCPasswordAuthenticator.portal_url = settings.kcdc_portal_url
    c.Authenticator.allow_all = True  # whoever KCDC accepts (admins still from admin_users)
    c.Authenticator.enable_auth_state = True
    c.Authenticator.refresh_pre_spawn = True
    c.Authenticator.auth_refresh_age = settings.token_refresh_age


# The `server` role's scopes (JupyterHub 6): what a server token holds by default.
_SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server"]


def _stack_services(settings: Settings) -> list[Part]:
    """The hub services that run in the stack (astrohub.topology): the data service, the
    public dashboards and, with courses, the exchange and one formgrader per course.

    Hub groups per course (filled by the login, see astrohub.courses.course_groups):
    ``formgrade-<course>`` (its teachers) and ``nbgrader-<course>`` (teachers and
    students). The exchange enrols them from these groups; the role
    ``nbgrader-<course>`` lets their servers' tokens reach the exchange; the role
    ``formgrade-<course>`` (made by the login step: astrohub.courses.course_roles) lets
    the teachers open the course's formgrader.
    """
    return [Part(services=[topology.hub_entry(svc)], roles=list(svc.hub.roles),
                 custom_scopes=dict(svc.hub.custom_scopes), server_scopes=list(svc.hub.server_scopes),
                 server_environment=dict(svc.hub.server_environment))
            for svc in topology.hub_services(settings)]


def _apply_activity(settings: Settings, c: Config) -> None:
    """The proxy's routes checked often, metrics for admins."""
    # Reading the proxy's routes also restores lost ones (a restarted proxy).
    c.JupyterHub.last_activity_interval = settings.route_check_interval
    # /hub/metrics needs read:metrics (admins and the ops service have it).
    c.JupyterHub.authenticate_prometheus = True


def _idle_culler(settings: Settings) -> Part:
    if not settings.cull_idle_timeout:
        return Part()
    return Part(
        services=[{"name": "idle-culler",
                   "command": ["python", "-m", "jupyterhub_idle_culler",
                               f"--timeout={settings.cull_idle_timeout}", f"--cull-every={settings.cull_every}",
                               # Users stay: only their servers stop, homes are volumes.
                               "--remove-named-servers=False", "--cull-users=False"]}],
        # Least privilege: see users and activity, stop servers; nothing else.
        roles=[{"name": "idle-culler", "description": "stops idle servers",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["idle-culler"]}])


def _apply_nodes(settings: Settings, c: Config) -> None:
    """More than one node: which group's servers run where, homes pinned to their node."""
    if settings.spawner == "stock":
        return
    c.AstroSwarmSpawner.group_nodes = dict(entry.split(":", 1) for entry in settings.group_nodes)
    c.AstroSwarmSpawner.pin_homes = settings.pin_homes
    if settings.registry and settings.registry_user:
        c.AstroSwarmSpawner.registry_auth = {"username": settings.registry_user, "password": settings.registry_password or "",
                                             "serveraddress": settings.registry}


def _apply_edge(settings: Settings, c: Config) -> None:
    """Behind the edge (TLS): the hub knows its public https address; cookies are Secure.

    With ``public_url`` the hub's redirects and the OAuth redirect URIs name the
    public address, and JupyterHub marks its login and session cookies Secure; the
    ``_xsrf`` cookie takes its options from tornado's ``xsrf_cookie_kwargs``."""
    if not settings.public_url.startswith("https://"):
        return  # a hub without the edge (the loopback test hubs)
    c.JupyterHub.public_url = settings.public_url + "/"
    if settings.user_subdomains:
        c.JupyterHub.subdomain_host = settings.public_url
        c.JupyterHub.subdomain_hook = subdomain_hook
    c.JupyterHub.cookie_options = {"secure": True}
    c.JupyterHub.tornado_settings = {"xsrf_cookie_kwargs": {"secure": True}}


def _isolation(settings: Settings, c: Config) -> Part:
    """What keeps one user's server from the hub, the machine and the others.

    A user server leaves its internal network only through the egress proxy
    (``user_internet``); it has a pids limit and a home limit (the image checks the
    home: servicekit.homequota). Admins not opening it: astrohub.adminrole."""
    if settings.spawner == "stock":
        return Part()
    env = {}
    if settings.user_internet:
        for var in ("http_proxy", "https_proxy"):
            env[var] = env[var.upper()] = topology.egress_proxy_url()
        no_proxy = NO_PROXY + (f",{public_host(settings)}" if settings.user_subdomains else "")
        env["no_proxy"] = env["NO_PROXY"] = no_proxy
    from servicekit.homequota import ENV, size_bytes

    if size_bytes(settings.home_limit):
        env[ENV] = str(size_bytes(settings.home_limit))
    c.AstroSwarmSpawner.pids_limit = settings.pids_limit
    return Part(server_environment=env)
