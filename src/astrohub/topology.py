"""The stack's topology: every running service of a deployment, declared once.

``services(settings)`` builds the list from the validated settings: for each Swarm
service its image, port, networks, environment, secrets, volumes, configs, placement
and limits, and, where the hub knows it as a JupyterHub service, that entry with its
roles and scopes. Two things are made from the one list:

- the compose file that ``docker stack deploy`` reads (``render``, written by
  astrohub.deploy; no hand-written stack file: ``astrohub stack-file`` prints it);
- the hub's services, roles and the scopes and environment of users' servers
  (astrohub.config takes them from ``hub_services``).

Everything here is pure: settings in, data out. What only the deploy has (paths of
generated files, their digests) comes to ``render`` as :class:`StackFiles`.

The services and the networks they join (no IPVS on the build machines, none needed:
every service uses DNS round robin, published ports use mode host)::

    edge         backend          the one public port: TLS, passes everything to the proxy
    proxy        users, backend   public routes on both; its API only on backend
    hub          users, backend, docker
    dockerfilter docker           the hub's only way to the Docker socket
    datacentre   backend          KCDC data-request API       /services/datacentre/
    dashboards   backend          public Voila, no login      /services/dashboards/
    egress       users, egress    user servers' only way out (replicas 0 without user_internet)
    prepull      (none)           keeps the user image on every node
    ngshare      backend          the nbgrader exchange       /services/ngshare/    (with courses)
    formgrader-<course> backend   one per course              /services/<course>/

User servers (one Swarm service each, made by the spawner, not by the stack) join
only ``users``: an internal network where they find the hub's API, the proxy's public
port and the egress proxy, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from servicekit.publish import LIBRARY, PUBLISHED

from . import courses, edge, portal
from .settings import Settings, dashboards_max_kernels

# -- names and ports the hub, the spawner and the services share ----------------
USERS, BACKEND, EGRESS, DOCKER = "users", "backend", "egress", "docker"
NETWORKS = {
    # User servers are created outside the stack and join it; no gateway: nothing on
    # it reaches this machine's addresses or the internet.
    USERS: {"driver": "overlay", "attachable": True, "internal": True},
    BACKEND: {"driver": "overlay"},
    # The egress proxy's way out (Docker's gateway bridge), shared with nobody.
    EGRESS: {"driver": "overlay"},
    # Hub and Docker filter only: not attachable, so no user server can join it.
    DOCKER: {"driver": "overlay"},
}
HUB_PORT = 8081
HUB_API_URL = f"http://hub:{HUB_PORT}/hub/api"
PROXY_PUBLIC_PORT = 8000
PROXY_API_PORT = 8001
# The proxy's alias on the backend network, where its API listens.
PROXY_API_HOST = "proxy-api"
DOCKERFILTER_PORT = 2375
DATACENTRE_PORT = 10101
DASHBOARDS_PORT = 8866
EXCHANGE_PORT = 10101
FORMGRADER_PORT = 8888
EGRESS_PORT = 3128
SINGLEUSER_PORT = 8888
MANAGER = "node.role == manager"
# The user id of services that read their token as jovyan (ngshare's gate, formgraders).
JOVYAN_UID = "1000"

# Docker secrets of the hub: generated at first start, or given by the operator
# (empty means "not configured"); each is mounted as /run/secrets/astrohub_<name>.
GENERATED_SECRETS = ("cookie_secret", "proxy_token", "crypt_key", "admin_password", "admin_key",
                     "ops_token", "datacentre_token", "dashboards_token")
HUB_PROVIDED_SECRETS = ("kcdc_client_secret", "gradlci_client_secret")
# The upstream KCDC's password (or token) is the data service's alone.
PROVIDED_SECRETS = (*HUB_PROVIDED_SECRETS, "kcdc_upstream_password")


def digest(text: str | bytes) -> str:
    """The short content hash that names immutable Swarm objects (configs, secrets)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:12]


def user_network(settings: Settings) -> str:
    return f"{settings.stack_name}_{USERS}"


def user_service_prefix(settings: Settings) -> str:
    """Users' servers are Swarm services ``<prefix>-<user>`` (the Docker filter allows only these)."""
    return f"{settings.stack_name}-user"


def home_volume(settings: Settings) -> str:
    return settings.home_volume.replace("{stack}", settings.stack_name)


def course_library(course: str) -> str:
    """The volume of a course's published masterclasses (servicekit.publish), as the
    stack file names it: the formgrader writes it, its students' servers read it."""
    return f"library-{course}"


def course_folder(course: str) -> str:
    """The volume of a course's shared folder: its teachers write it, its students read it."""
    return f"folder-{course}"


#: Where the course folder is in the formgrader (whose home is the course volume) ...
FORMGRADER_FOLDER = "/home/jovyan/course-folder"
#: ... and in the servers of the course's teachers and students.
USER_FOLDER = "/home/jovyan/courses/{course}"


def course_mounts(settings: Settings) -> list[dict]:
    """The course volumes in users' servers, for the spawner: each with the hub groups
    that mount it (``readers``) and those of them that may write it (``writers``).

    A course's members (nbgrader-<course>) and teachers (formgrade-<course>) get its
    published masterclasses read-only (servicekit.publish) and its folder, which only
    the teachers write. Named volumes are local to a node: a server on another node
    than the formgrader sees that node's copy (shared storage would lift this)."""
    mounts = []
    for course in courses.course_ids(settings):
        members = [f"nbgrader-{course}", f"formgrade-{course}"]
        mounts.append({"volume": f"{settings.stack_name}_{course_library(course)}",
                       "target": f"{PUBLISHED}/{course}", "readers": members, "writers": []})
        mounts.append({"volume": f"{settings.stack_name}_{course_folder(course)}",
                       "target": USER_FOLDER.format(course=course), "readers": members,
                       "writers": [f"formgrade-{course}"]})
    return mounts


def proxy_public_url(settings: Settings) -> str:
    """Where user servers reach the proxy's public routes (the services).

    With user subdomains the proxy routes by host name: servers then call it by the
    public host's name, which it carries as an alias on their network, so that the
    Host header matches the routes."""
    host = edge.public_host(settings) if settings.user_subdomains else "proxy"
    return f"http://{host}:{PROXY_PUBLIC_PORT}"


def egress_proxy_url() -> str:
    return f"http://egress:{EGRESS_PORT}"


# -- the declaration -------------------------------------------------------------
@dataclass(frozen=True)
class Secret:
    """A docker secret mounted into a service at /run/secrets/<target>.

    ``docker_name`` names an existing (external) secret; a secret that the deploy
    writes from a file has ``file_key`` (the file in :class:`StackFiles`) instead."""

    key: str
    target: str
    docker_name: str
    file_key: str | None = None
    uid: str | None = None
    mode: int | None = None


@dataclass(frozen=True)
class HubService:
    """How the hub knows a Swarm service: its JupyterHub service entry and what it grants."""

    name: str
    entry: Mapping = field(default_factory=dict)  # the rest of c.JupyterHub.services' entry
    token: str | None = None
    #: gets the variables the hub gives a service it starts itself (HubOAuth reads them)
    oauth: bool = False
    roles: tuple[dict, ...] = ()
    custom_scopes: Mapping[str, dict] = field(default_factory=dict)
    #: scopes users' server tokens ask for (the hub grants each only where the user holds it)
    server_scopes: tuple[str, ...] = ()
    server_environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """Its route on the proxy."""
        return f"{route(self.name)}/"


def route(name: str) -> str:
    """The proxy's route to the hub service of that name (JupyterHub's fixed scheme)."""
    return f"/services/{name}"


@dataclass(frozen=True)
class Service:
    """One Swarm service of the stack."""

    name: str
    image: str
    port: int | None = None
    #: network -> aliases on it
    networks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[Secret, ...] = ()
    #: named volume (or a host path, bound) -> where it is mounted
    volumes: Mapping[str, str] = field(default_factory=dict)
    #: key in StackFiles -> where the config file is mounted
    configs: Mapping[str, str] = field(default_factory=dict)
    #: (port in the container, port on the host), published in mode host
    published: tuple[tuple[int, int], ...] = ()
    #: on the manager: its volumes are local to one node (or it needs the Docker socket)
    manager_only: bool = True
    limits: Mapping[str, str] = field(default_factory=dict)
    replicas: int | None = None
    #: one task on every node
    everywhere: bool = False
    command: tuple[str, ...] | None = None
    user: str | None = None
    cap_add: tuple[str, ...] = ()
    #: the hub's settings file (StackFiles.env_file) as its environment
    env_file: bool = False
    hub: HubService | None = None

    @property
    def url(self) -> str:
        """Where services on its networks reach it."""
        return f"http://{self.name}:{self.port}"


def services(settings: Settings) -> list[Service]:
    """Every Swarm service of the stack that these settings describe, in a fixed order."""
    found = [_edge(settings), _proxy(settings), _hub(settings), _dockerfilter(settings),
             _datacentre(settings), _dashboards(settings), _egress(settings), _prepull(settings)]
    if courses.course_ids(settings):
        found.append(_exchange(settings))
        found += [_formgrader(settings, course) for course in courses.course_ids(settings)]
    return found


def service(settings: Settings, name: str) -> Service:
    """The service of that name (KeyError naming the ones there are)."""
    by_name = {s.name: s for s in services(settings)}
    if name not in by_name:
        raise KeyError(f"no service {name!r} in the stack; there are {', '.join(by_name)}")
    return by_name[name]


def hub_services(settings: Settings) -> list[Service]:
    """The services the hub knows as JupyterHub services."""
    return [s for s in services(settings) if s.hub]


def hub_entry(svc: Service) -> dict:
    """The ``c.JupyterHub.services`` entry of a hub service: its URL, token and options."""
    entry = {"name": svc.hub.name, "url": svc.url, **svc.hub.entry}
    if svc.hub.token:
        entry["api_token"] = svc.hub.token
    return entry


def _image(settings: Settings, name: str) -> str:
    return f"{settings.image_prefix}astrohub/{name}:{settings.image_tag}"


def _hub_secret(settings: Settings, name: str) -> Secret:
    return Secret(name, f"astrohub_{name}", f"{settings.stack_name}_{name}")


def _service_token_secret(settings: Settings, hub_name: str) -> Secret:
    """A course service's token (derived from the crypt key: astrohub.courses.service_token),
    readable by the service's own user alone."""
    return Secret(f"{hub_name}_token", "service_token", courses.secret_name(settings, hub_name),
                  uid=JOVYAN_UID, mode=0o400)


def _hub_environment(settings: Settings, hub: HubService, port: int, token_file: str) -> dict[str, str]:
    """What the hub gives a service it starts itself, for a service that Swarm starts."""
    scopes = json.dumps([f"access:services!service={hub.name}"])
    return {
        "JUPYTERHUB_SERVICE_NAME": hub.name,
        "JUPYTERHUB_SERVICE_PREFIX": hub.prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{port}",
        "JUPYTERHUB_API_URL": HUB_API_URL,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_CLIENT_ID": f"service-{hub.name}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{hub.prefix}oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_SCOPES": scopes,
        "JUPYTERHUB_PUBLIC_URL": settings.public_url,
        "JUPYTERHUB_API_TOKEN_FILE": f"/run/secrets/{token_file}",
    }


def _with_hub(svc: Service, settings: Settings, token: Secret) -> Service:
    """``svc`` with the hub's service variables added (``oauth`` services)."""
    env = {**_hub_environment(settings, svc.hub, svc.port, token.target), **svc.environment}
    return replace(svc, environment=env)


def _edge(settings: Settings) -> Service:
    published = [(edge.HTTPS_PORT, settings.http_port)]
    if settings.redirect_port:
        # Plain http, answered with a redirect (none by default: two stacks on one
        # machine would collide on a fixed port).
        published.append((edge.HTTP_PORT, settings.redirect_port))
    secrets = ()
    if edge.tls_mode(settings) == "certificate":
        # An institution's certificate: secrets named after their content (docker
        # secrets cannot change; a new file is a new secret), readable by caddy alone.
        secrets = tuple(Secret(name, name, f"{settings.stack_name}_{name}_{digest(settings[name].strip())}",
                               file_key=name, uid=edge.CADDY_UID, mode=0o400) for name in edge.SECRETS)
    return Service(
        "edge", _image(settings, "edge"), port=edge.HTTPS_PORT, networks={BACKEND: ()},
        configs={"edge_caddyfile": "/etc/caddy/Caddyfile",
                 **{portal.config_key(name): portal.mount_path(name) for name in portal.PAGES}},
        # Certificates, the ACME account and the local CA's root outlive the service.
        volumes={"edge-data": "/data"}, published=tuple(published), secrets=secrets,
        limits={"memory": "256M"})


def _proxy(settings: Settings) -> Service:
    return Service(
        "proxy", _image(settings, "proxy"), port=PROXY_PUBLIC_PORT,
        environment={
            # The API listens only on the proxy's address under this name: on `backend`,
            # where the hub calls it; user servers (on `users`) find the port closed.
            "PROXY_API_HOST": PROXY_API_HOST,
            # Routes by host name when users' servers have subdomains.
            "PROXY_HOST_ROUTING": "1" if settings.user_subdomains else "",
            "HUB_URL": f"http://hub:{HUB_PORT}",
        },
        # Public routes on both networks: user servers reach the services through them,
        # as the browser does (with subdomains by the public host's name).
        networks={USERS: (edge.public_host(settings),) if settings.user_subdomains else (),
                  BACKEND: (PROXY_API_HOST,)},
        secrets=(_hub_secret(settings, "proxy_token"),), limits={"memory": "512M"})


def registry_password_secret(settings: Settings) -> str:
    """The docker secret with the registry's pull password, named after it (a registry made
    anew has a new one); empty (a lone newline: Docker refuses empty secrets) without one."""
    return f"{settings.stack_name}_registry_password_{digest((settings.registry_password or '') + chr(10))}"


def _hub(settings: Settings) -> Service:
    secrets = [_hub_secret(settings, name) for name in (*GENERATED_SECRETS, *HUB_PROVIDED_SECRETS)]
    secrets.append(Secret("registry_password", "astrohub_registry_password", registry_password_secret(settings)))
    return Service(
        "hub", _image(settings, "hub"), port=HUB_PORT, env_file=True,
        # The hub's database (users, servers, tokens) outlives the stack.
        volumes={"hub-data": "/srv/jupyterhub"},
        # No Docker socket: the spawner's calls go through the filter.
        environment={"DOCKER_HOST": f"tcp://dockerfilter:{DOCKERFILTER_PORT}"},
        configs={"hub_config": "/etc/astrohub/jupyterhub_config.py",
                 "hub_site_config": "/etc/astrohub/site_config.py"},
        secrets=tuple(secrets),
        # users: the servers call its API; backend: proxy API, services, outside (OIDC);
        # docker: the Docker filter.
        networks={USERS: (), BACKEND: (), DOCKER: ()})


def _dockerfilter(settings: Settings) -> Service:
    # The spawner's calls pass, everything else (containers, exec, secrets, swarm, ...)
    # gets 403 (astrohub.dockerfilter). The socket of a manager can create services.
    return Service(
        "dockerfilter", _image(settings, "hub"), port=DOCKERFILTER_PORT, networks={DOCKER: ()},
        command=("python", "-m", "astrohub.dockerfilter", "--listen", f"0.0.0.0:{DOCKERFILTER_PORT}",
                 "--service-prefix", f"{user_service_prefix(settings)}-"),
        user="root", volumes={"/var/run/docker.sock": "/var/run/docker.sock"}, limits={"memory": "128M"})


def _datacentre(settings: Settings) -> Service:
    access = "access:services!service=datacentre"
    hub = HubService(
        "datacentre", {"oauth_no_confirm": True, "display": True, "info": {"description": "KCDC data requests"}},
        token=settings.datacentre_token, oauth=True,
        # Every user may use the data service as themselves, in the browser and from
        # notebooks: a server's token gets the scope because its user holds it.
        roles=({"name": "user", "scopes": ["self", access]},),
        # Hub admins see every request; this scope lets an operator grant that to others.
        custom_scopes={"custom:datacentre:admin": {"description": "See and remove everybody's data requests."}},
        server_scopes=(access,),
        # Notebooks reach it through the proxy's public route: its own port is on the
        # backend network, out of user servers' reach.
        server_environment={"KCDC_URL": f"{proxy_public_url(settings)}{route('datacentre')}/"})
    token = _hub_secret(settings, "datacentre_token")
    environment, secrets = _upstream(settings)
    svc = Service(
        "datacentre", _image(settings, "datacentre"), port=DATACENTRE_PORT, networks={BACKEND: ()},
        # Requests (SQLite) and their result files outlive the service.
        volumes={"datacentre-results": "/data/results"}, secrets=(token, *secrets), environment=environment,
        limits={"memory": "4G"}, hub=hub)
    return _with_hub(svc, settings, token)


# The portal's KASCADE data shop (its request form has no prefix, kcdc.portal.SHOPS) under an
# id of its own: a local shop of the same id wins over a forwarded one (datacentre.shops),
# and the bundled simulated `kascade` would hide the real data.
FORWARDED_PORTAL_SHOPS = "kcdc-kascade="


def _upstream(settings: Settings) -> tuple[dict[str, str], tuple[Secret, ...]]:
    """The data service's forwarding to a real KCDC (datacentre.config's upstream_* settings):
    its variables and the secret with the operator's password or token."""
    if not settings.kcdc_upstream_url:
        return {}, ()
    secret = _hub_secret(settings, "kcdc_upstream_password")
    portal = settings.kcdc_upstream_kind == "portal"
    env = {"DATACENTRE_UPSTREAM_URL": settings.kcdc_upstream_url,
           "DATACENTRE_UPSTREAM_KIND": settings.kcdc_upstream_kind,
           "DATACENTRE_UPSTREAM_USERNAME": settings.kcdc_upstream_username,
           "DATACENTRE_UPSTREAM_SHOPS": settings.kcdc_upstream_shops,
           f"DATACENTRE_UPSTREAM_{'PASSWORD' if portal else 'TOKEN'}_FILE": f"/run/secrets/{secret.target}"}
    if portal:
        env["KCDC_PORTAL_SHOPS"] = FORWARDED_PORTAL_SHOPS
    return env, (secret,)


# The data-request API as services on the backend network call it.
DATA_SERVICE_URL = f"http://datacentre:{DATACENTRE_PORT}{route('datacentre')}/"


def _dashboards(settings: Settings) -> Service:
    # No OAuth: Voila answers on its route without the hub's login. Its token only reads
    # the datacentre, where its requests are owned as service/dashboards.
    hub = HubService(
        "dashboards", {"display": True, "info": {"description": "public cosmic-ray dashboards, no login"}},
        token=settings.dashboards_token,
        roles=({"name": "dashboards-reader", "description": "the dashboards read open data",
                "scopes": ["access:services!service=datacentre"], "services": ["dashboards"]},))
    return Service(
        "dashboards", _image(settings, "dashboards"), port=DASHBOARDS_PORT, networks={BACKEND: ()},
        environment={
            "DASHBOARDS_BASE_URL": hub.prefix,
            # Preheated kernels ask Voila for the visitor's URL here (the proxy keeps the prefix).
            "VOILA_WS_BASE_URL": hub.prefix,
            "DASHBOARDS_POOL_SIZE": str(settings.dashboards_pool_size),
            "DASHBOARDS_MAX_KERNELS": str(dashboards_max_kernels(settings)),
            "DASHBOARDS_KERNELS_PER_CLIENT": str(settings.dashboards_kernels_per_client),
            "DASHBOARDS_KERNELS_PER_ADDRESS": str(settings.dashboards_kernels_per_address),
            "DASHBOARDS_QUEUE_LENGTH": str(settings.dashboards_queue_length),
            "DASHBOARDS_CULL_IDLE_SECONDS": "900",
            "KCDC_URL": DATA_SERVICE_URL,
        },
        # The kernels read the token from this file; it is never in the environment.
        secrets=(_hub_secret(settings, "dashboards_token"),),
        # Public visitors' kernels stay off the nodes that carry students' servers.
        limits={"memory": settings.dashboards_mem_limit, "cpus": "1.0"}, hub=hub)


def _egress(settings: Settings) -> Service:
    # An http(s) forward proxy (squid) for web sites such as PyPI and the real KCDC,
    # refusing this machine's and private addresses (images/egress/squid.conf).
    return Service("egress", _image(settings, "egress"), port=EGRESS_PORT, networks={USERS: (), EGRESS: ()},
                   manager_only=False, replicas=1 if settings.user_internet else 0, limits={"memory": "256M"})


def _prepull(settings: Settings) -> Service:
    # A student's first start on a new node does not wait for the image to arrive.
    return Service("prepull", settings.image, command=("sleep", "infinity"), manager_only=False, everywhere=True,
                   limits={"memory": "16M", "cpus": "0.01"})


# The exchange as services on the backend network (the formgraders) call it.
EXCHANGE_URL = f"http://{courses.EXCHANGE}:{EXCHANGE_PORT}{route(courses.EXCHANGE)}"


def _exchange(settings: Settings) -> Service:
    """ngshare behind servicekit.exchange_gate, one for all courses."""
    ids = courses.course_ids(settings)
    scope = f"access:services!service={courses.EXCHANGE}"
    hub = HubService(
        courses.EXCHANGE, {"display": False}, token=courses.service_token(settings, courses.EXCHANGE), oauth=True,
        # The gate reads the course groups to enrol their members.
        roles=({"name": "exchange", "description": "the exchange reads the course groups",
                "scopes": ["read:groups", "list:groups"], "services": [courses.EXCHANGE]},),
        # A server's token may reach the exchange; the hub grants it only where the
        # user holds the scope (course members), so others' tokens are refused.
        server_scopes=(scope,),
        # Through the proxy's public route: user servers cannot reach the exchange's own port.
        server_environment={"ASTROHUB_EXCHANGE_URL": f"{proxy_public_url(settings)}{route(courses.EXCHANGE)}"})
    token = _service_token_secret(settings, courses.EXCHANGE)
    svc = Service(
        courses.EXCHANGE, _image(settings, "ngshare"), port=EXCHANGE_PORT, networks={BACKEND: ()},
        volumes={"ngshare-data": "/srv/ngshare"},
        environment={"EXCHANGE_COURSES": ",".join(ids),
                     "EXCHANGE_MAX_UPLOAD_MB": str(settings.exchange_max_upload_mb),
                     "EXCHANGE_COURSE_QUOTA_MB": str(settings.exchange_course_quota_mb)},
        secrets=(token,), limits={"memory": "512M"}, hub=hub)
    return _with_hub(svc, settings, token)


def _formgrader(settings: Settings, course: str) -> Service:
    """The course's formgrader: a hub service named after the course; its home, the
    volume course-<course>, holds source, release, submitted, feedback and the gradebook."""
    hub = HubService(
        course,
        # The formgrader opens in its own tab from the hub's services menu (no framing).
        {"display": True, "oauth_no_confirm": True, "oauth_client_allowed_scopes": [f"access:services!service={course}"]},
        token=courses.service_token(settings, course), oauth=True,
        roles=({"name": f"nbgrader-{course}", "description": f"members of {course} use the course exchange",
                "scopes": [f"access:services!service={courses.EXCHANGE}"],
                "groups": [f"nbgrader-{course}", f"formgrade-{course}"], "services": [course]},))
    token = _service_token_secret(settings, course)
    svc = Service(
        f"formgrader-{course}",
        # Its own image: only this course's sources (astrohub.images.course_images).
        _image(settings, f"formgrader-{course}"), port=FORMGRADER_PORT, networks={BACKEND: ()},
        # Root at start sets the autograding sandbox's firewall (images/formgrader/start-formgrader).
        cap_add=("NET_ADMIN",), volumes={f"course-{course}": "/home/jovyan", course_library(course): str(LIBRARY),
                                         course_folder(course): FORMGRADER_FOLDER},
        environment={"ASTROHUB_COURSE": course, "ASTROHUB_EXCHANGE_URL": EXCHANGE_URL},
        secrets=(token,), limits={"memory": settings.mem_limit}, hub=hub)
    return _with_hub(svc, settings, token)


# -- the compose file -------------------------------------------------------------
@dataclass(frozen=True)
class StackFiles:
    """What the deploy wrote for the stack: each file's path and content digest."""

    env_file: Path
    #: key (Service.configs, Secret.file_key) -> (path, digest)
    files: Mapping[str, tuple[Path, str]]

    @classmethod
    def of(cls, env_file: Path, files: Mapping[str, Path]) -> "StackFiles":
        return cls(env_file, {key: (path, digest(path.read_bytes())) for key, path in files.items()})


def file_keys(settings: Settings) -> set[str]:
    """The files the deploy must write for ``render`` (configs, secrets from files)."""
    return {key for svc in services(settings) for key in
            [*svc.configs, *(s.file_key for s in svc.secrets if s.file_key)]}


def render(settings: Settings, files: StackFiles) -> dict:
    """The compose file (as a dict; JSON is YAML) that ``docker stack deploy`` reads."""
    stack = settings.stack_name
    out: dict = {"version": "3.8", "services": {}, "networks": NETWORKS, "volumes": {}, "configs": {}, "secrets": {}}
    for svc in services(settings):
        out["services"][svc.name] = _compose_service(svc, files)
        for source in svc.volumes:
            if not source.startswith("/"):
                out["volumes"][source] = {}
        for key in svc.configs:
            path, text_digest = files.files[key]
            # Configs are immutable: the name carries the content's hash, so a changed
            # file is a new config and the service restarts with it.
            out["configs"][key] = {"name": f"{stack}_{key}_{text_digest}", "file": str(path)}
        for secret in svc.secrets:
            if secret.file_key:
                out["secrets"][secret.key] = {"name": secret.docker_name, "file": str(files.files[secret.file_key][0])}
            else:
                out["secrets"][secret.key] = {"external": True, "name": secret.docker_name}
    return out


def _compose_service(svc: Service, files: StackFiles) -> dict:
    deploy: dict = {"endpoint_mode": "dnsrr"}
    if svc.manager_only:
        deploy["placement"] = {"constraints": [MANAGER]}
    if svc.everywhere:
        deploy = {"mode": "global"}  # no endpoint: nothing calls it
    if svc.replicas is not None:
        deploy["replicas"] = svc.replicas
    if svc.limits:
        deploy["resources"] = {"limits": dict(svc.limits)}
    out: dict = {"image": svc.image, "deploy": deploy}
    if svc.networks:
        out["networks"] = {net: ({"aliases": list(aliases)} if aliases else None) for net, aliases in svc.networks.items()}
    if svc.env_file:
        out["env_file"] = str(files.env_file)
    if svc.environment:
        out["environment"] = dict(svc.environment)
    if svc.command:
        out["command"] = list(svc.command)
    if svc.user:
        out["user"] = svc.user
    if svc.cap_add:
        out["cap_add"] = list(svc.cap_add)
    if svc.published:
        out["ports"] = [{"target": target, "published": host, "protocol": "tcp", "mode": "host"}
                        for target, host in svc.published]
    if svc.volumes:
        out["volumes"] = [f"{source}:{target}" for source, target in svc.volumes.items()]
    if svc.configs:
        out["configs"] = [{"source": key, "target": target} for key, target in svc.configs.items()]
    if svc.secrets:
        out["secrets"] = [_compose_secret(s) for s in svc.secrets]
    return out


def _compose_secret(secret: Secret) -> dict:
    out: dict = {"source": secret.key, "target": secret.target}
    if secret.uid:
        out.update(uid=secret.uid, gid=secret.uid)
    if secret.mode is not None:
        out["mode"] = secret.mode
    return out
