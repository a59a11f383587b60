"""apply(settings, c): the whole hub configuration as one pure function.

Tests call it on a bare ``traitlets.config.Config()``; jupyterhub_config.py calls
it on the hub's ``c``. It reads nothing but ``settings`` and writes nothing but ``c``.
"""

from __future__ import annotations

from traitlets.config import Config

from .settings import Settings

HOME = "/home/jovyan"
HUB_PORT = 8081
PROXY_API_PORT = 8001
SINGLEUSER_PORT = 8888

# The ops service: what the `astrohub` command and the tests act as. It manages
# users and servers but holds no admin role, so it cannot, e.g., read auth state.
OPS_SCOPES = [
    "admin:users",
    "admin:servers",
    "admin:groups",
    "tokens",
    "access:servers",
    "read:metrics",
    "read:hub",
    "list:services",
]


def stack_names(settings: Settings) -> dict[str, str]:
    """Names of Swarm objects the hub refers to (kept in step with swarm/stack.yml)."""
    stack = settings.stack_name
    return {
        "user_network": f"{stack}_users",
        "hub_host": "hub",
        "proxy_host": "proxy",
        "user_service_prefix": f"{stack}-user",
        "home_volume": settings.home_volume.replace("{stack}", stack),
    }


def apply(settings: Settings, c: Config) -> Config:
    names = stack_names(settings)
    _apply_hub(settings, c, names)
    _apply_authenticator(settings, c)
    _apply_spawner(settings, c, names)
    _apply_services(settings, c)
    return c


def _apply_hub(settings: Settings, c: Config, names: dict[str, str]) -> None:
    c.JupyterHub.log_level = settings.log_level
    c.JupyterHub.db_url = settings.db_url
    c.JupyterHub.bind_url = "http://:8000"
    c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{HUB_PORT}"
    c.JupyterHub.hub_connect_url = f"http://{names['hub_host']}:{HUB_PORT}"
    # A restart of the hub (an upgrade, a crash) must leave students' servers running.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.cleanup_proxy = False
    c.JupyterHub.template_vars = {"site_name": "astroparticle.online"}
    if settings.cookie_secret:
        c.JupyterHub.cookie_secret = bytes.fromhex(settings.cookie_secret)
    if settings.crypt_key:
        c.CryptKeeper.keys = [bytes.fromhex(settings.crypt_key)]
    # The proxy is its own Swarm service (Debian's node configurable-http-proxy).
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://{names['proxy_host']}:{PROXY_API_PORT}"
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


def _apply_spawner(settings: Settings, c: Config, names: dict[str, str]) -> None:
    # `stock` is dockerspawner's SwarmSpawner, made only to run here: the
    # baseline that benchmarks/spawn.py compares against.
    stock = settings.spawner == "stock"
    c.JupyterHub.spawner_class = "dockerspawner.SwarmSpawner" if stock else "astrohub.spawner.AstroSwarmSpawner"
    s = c.SwarmSpawner if stock else c.AstroSwarmSpawner
    s.image = settings.image
    # The image's start script copies the masterclass library, then starts
    # jupyterhub-singleuser; naming it saves one Docker call per start.
    s.cmd = ["start-singleuser"]
    s.prefix = names["user_service_prefix"]
    s.network_name = names["user_network"]
    # Hub and proxy reach each server on the overlay network, not a published port.
    s.use_internal_ip = True
    s.port = SINGLEUSER_PORT
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
    s.volumes = {names["home_volume"]: HOME}
    # A server that stops (culled, shut down, crashed) stays stopped: Swarm's
    # default would restart it behind the hub's back.
    s.extra_task_spec = {"restart_policy": {"Condition": "none"}}
    s.docker_threads = settings.docker_threads


def _apply_services(settings: Settings, c: Config) -> None:
    services = [{"name": "ops", "display": False}]
    if settings.ops_token:
        services[0]["api_token"] = settings.ops_token
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = [
        {"name": "ops", "description": "astrohub commands and health checks", "scopes": OPS_SCOPES, "services": ["ops"]},
    ]
