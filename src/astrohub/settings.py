"""The settings of a deployment: one typed, documented schema.

Every setting is read from an environment variable ``ASTROHUB_<NAME>``; a secret
may instead come from a docker secret file (``/run/secrets/astrohub_<name>``) or a
file named by ``ASTROHUB_<NAME>_FILE``.  The schema below is the single source of
truth: it validates input (``load``), and it generates the configuration
reference (``reference_markdown``, written to docs/configuration.md).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from servicekit.settings import flag

from .i18n import mark

PREFIX = "ASTROHUB_"
SECRETS_DIR = "/run/secrets"


class SettingsError(ValueError):
    """One or more settings are invalid; the message lists each with its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "invalid astrohub settings:\n" + "\n".join(f"  - {p}" for p in problems)
        )


# --- value parsers: each takes the raw string and returns the value or raises
# ValueError with a message that says what a valid value looks like.

def _str(raw: str) -> str:
    return raw


_bool = flag  # the services' yes/no, so that every true/false setting reads alike


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("use a whole number") from None
        if value < minimum:
            raise ValueError(f"use a whole number of at least {minimum}")
        return value

    parse.kind = f"integer >= {minimum}"
    return parse


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("use a number such as 1 or 0.5") from None
    if value <= 0:
        raise ValueError("use a number greater than 0")
    return value


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*$", re.IGNORECASE)


def _memory(raw: str) -> str:
    """Memory size as Docker understands it (2G, 512M); returned normalised."""
    m = _MEMORY.match(raw)
    if not m:
        raise ValueError("use a size such as 512M or 2G")
    return f"{m.group(1)}{m.group(2).upper()}"


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _docker_name(raw: str) -> str:
    if not _NAME.match(raw):
        raise ValueError("use lower-case letters, digits, '-', '_' or '.'")
    return raw


def _url(raw: str) -> str:
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", raw):
        raise ValueError("use an http:// or https:// URL, e.g. http://127.0.0.1:8000")
    return raw.rstrip("/")


_KINDS = {
    _str: "text",
    _bool: "true/false",
    _positive_float: "number > 0",
    _memory: "memory size (512M, 2G)",
    _list: "comma-separated list",
    _docker_name: "docker name",
    _url: "URL",
}


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    section: str = "general"

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()

    @property
    def kind(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return getattr(self.parse, "kind", None) or _KINDS.get(self.parse, "text")


def _optional_url(raw: str) -> str:
    """An endpoint, kept exactly as given (some providers need the trailing slash)."""
    if raw.strip():
        _url(raw)
    return raw.strip()


_optional_url.kind = "URL or empty"


def _optional_base_url(raw: str) -> str:
    """A site's address or empty (a trailing slash dropped, as `_url` does)."""
    return _optional_url(raw).rstrip("/")


_optional_base_url.kind = "URL or empty"

_COURSE = re.compile(r"^([a-z0-9][a-z0-9_-]*):([^\s:,]+)(?::([^\s:,]+))?$")


def _courses(raw: str) -> tuple[str, ...]:
    """``course:teacher_group[:student_group]`` entries; checked here, read by astrohub.courses.course_list."""
    entries = _list(raw)
    for entry in entries:
        if not _COURSE.match(entry):
            raise ValueError(
                f"{entry!r} is not course:teacher_group[:student_group], "
                "e.g. astro101:teachers-astro101 or astro101:teachers-astro101:students-astro101 "
                "(course names: lower-case letters, digits, '-', '_')"
            )
    if len({e.split(":")[0] for e in entries}) != len(entries):
        raise ValueError("each course may appear once")
    return entries


_courses.kind = "comma-separated course:teacher_group[:student_group]"


_REGISTRY = re.compile(r"^[a-z0-9.-]+(:\d{1,5})?$", re.IGNORECASE)


def _registry(raw: str) -> str:
    """``host[:port]`` of a registry, or empty for none."""
    raw = raw.strip().rstrip("/")
    if raw and not _REGISTRY.match(raw):
        raise ValueError("use host:port without a scheme, e.g. 127.0.0.1:5000 or registry.example.org")
    return raw


_registry.kind = "host:port or empty"


def _group_nodes(raw: str) -> tuple[str, ...]:
    """``group:node`` entries: the hub group's servers run on that Swarm node."""
    entries = _list(raw)
    for entry in entries:
        group, sep, node = entry.partition(":")
        if not sep or not group or not _NAME.match(node) or ":" in node:
            raise ValueError(f"{entry!r} is not group:node, e.g. classroom-b:worker-1 "
                             "(node: the value of its astrohub.node label, lower-case letters, digits, '-', '_', '.')")
    if len({e.partition(":")[0] for e in entries}) != len(entries):
        raise ValueError("each group may appear once")
    return entries


_group_nodes.kind = "comma-separated group:node"


def _provider_settings(key: str, display: str) -> tuple[Setting, ...]:
    """The settings of one OpenID Connect provider (oauthenticator 17 has no discovery)."""
    sec = "login providers"
    up = key.upper()
    return (
        Setting(f"{key}_display_name", _str, display, f"Text of the {up} login button.", section=sec),
        Setting(f"{key}_authorize_url", _optional_url, "", f"{up} authorization endpoint; the provider is offered when this and the client id are set.", section=sec),
        Setting(f"{key}_token_url", _optional_url, "", f"{up} token endpoint.", section=sec),
        Setting(f"{key}_userinfo_url", _optional_url, "", f"{up} userinfo endpoint.", section=sec),
        Setting(f"{key}_client_id", _str, "", f"Client id of the hub registered at {up}; the redirect URI to register is `<public_url>/hub/{key}/oauth_callback`.", section=sec),
        Setting(f"{key}_client_secret", _str, None, f"Client secret of the hub at {up} (docker secret `astrohub_{key}_client_secret`).", secret=True, section=sec),
        Setting(f"{key}_scopes", _list, ("openid", "profile", "email", "groups"), f"Scopes the hub asks {up} for; the groups claim must be released by one of them.", section=sec),
        Setting(f"{key}_username_claim", _str, "preferred_username", f"Userinfo claim that names the user (prefixed `{key}-` in the hub, so providers cannot collide).", section=sec),
        Setting(f"{key}_groups_claim", _str, "groups", f"Userinfo claim that lists the user's {up} groups; they become hub groups at every login.", section=sec),
        Setting(f"{key}_allowed_groups", _list, ("students", "teachers"), f"{up} groups whose members may log in (the courses' groups and the admin groups may, too).", section=sec),
        Setting(f"{key}_admin_groups", _list, ("hub-admins",), f"{up} groups whose members are hub admins.", section=sec),
    )


# The release: the images' default tag and `astrohub --version` (CHANGELOG.md).
VERSION = "0.2.0"

SCHEMA: tuple[Setting, ...] = (
    # -- the deployment as a whole
    Setting("stack_name", _docker_name, "astrohub", "Name of the Swarm stack; prefixes services, volumes and networks.", section="deployment"),
    Setting("public_url", _url, "", "Address users type in the browser, https (the edge terminates TLS); printed after `make up`. Empty: `https://127.0.0.1:<http_port>`.", section="deployment"),
    Setting("http_port", _int_at_least(1), 8000, "Port the edge publishes on the host for https (mode: host, no routing mesh); plain http sent there is redirected to https.", section="deployment"),
    Setting("image_tag", _docker_name, VERSION, "Tag of the astrohub/* images to run; one tag per release so an upgrade is a redeploy.", section="deployment"),
    Setting("log_level", _str, "INFO", "Log level of the hub.", choices=("DEBUG", "INFO", "WARNING", "ERROR"), section="deployment"),
    Setting("db_url", _str, "sqlite:////srv/jupyterhub/jupyterhub.sqlite", "The hub's database (SQLAlchemy URL); the default lives on the hub's named volume.", section="deployment"),
    # -- who may log in
    Setting("authenticator", _str, "native", "How users log in: `native` (accounts kept by the hub, the embedded default), `oidc` (KCDC / GRADLCI OpenID Connect) or `kcdc-password` (the KCDC username and password, checked by the KCDC portal's own login; its session, never the password, is kept encrypted and handed to the user's server).", choices=("native", "oidc", "kcdc-password"), section="login"),
    Setting("kcdc_portal_url", _optional_base_url, "", "The KCDC web portal (e.g. `https://kcdc.iap.kit.edu/`) that checks passwords with `authenticator = kcdc-password`.", section="login"),
    Setting("admin_users", _list, ("admin",), "Users who are hub admins. With `native`, each gets an account at start with a generated password (the first: `admin_password`; the others: derived from `admin_key`); these names cannot be signed up.", section="login"),
    Setting("admin_password", _str, None, "Password of the first admin (native login). Generated at first `make up` and kept as a docker secret.", secret=True, section="login"),
    Setting("admin_key", _str, None, "Secret the initial passwords of the admins after the first are derived from (native login): each admin in `admin_users` gets an account at start; `astrohub up` keeps the passwords in `.astrohub/<stack>/admin_passwords`. Generated at first `make up` as a docker secret.", secret=True, section="login"),
    Setting("login_failures_allowed", _int_at_least(1), 5, "Native login: failed logins of one name before its logins are refused for `login_block_seconds` (every further failure blocks it again).", section="login"),
    Setting("login_block_seconds", _int_at_least(1), 300, "Native login: seconds a name's logins are refused after `login_failures_allowed` failures.", section="login"),
    Setting("allow_signup", _bool, True, "Native login: let people sign up; an admin must still authorise each new account.", section="login"),
    Setting("courses", _courses, (), "Courses and who teaches them: `course:teacher_group[:student_group]`, comma-separated (e.g. `astro101:teachers-astro101:students-astro101`). Teachers get the hub groups `formgrade-<course>` and `nbgrader-<course>`, students `nbgrader-<course>`; read it with `astrohub.courses.course_list(settings)`.", section="login"),
    Setting("token_refresh_age", _int_at_least(0), 300, "OpenID Connect: seconds between checks of a user's provider tokens; an access token that expires within `token_refresh_margin` is renewed with the refresh token (0: check only before a server starts).", section="login"),
    Setting("token_refresh_margin", _int_at_least(0), 120, "OpenID Connect: renew an access token this many seconds before it expires.", section="login"),
    # The default button texts are in the catalogues too (the login page translates them).
    *_provider_settings("kcdc", mark("KCDC account")),
    *_provider_settings("gradlci", mark("GRADLCI account")),
    # -- the open data (src/datacentre): real KCDC data forwarded through the hub
    Setting("kcdc_upstream_url", _optional_base_url, "", "A KCDC to forward data shops to: the KCDC web portal (e.g. `https://kcdc.iap.kit.edu/`, `kcdc_upstream_kind = portal`) or another data service (`api`). Students then get that KCDC's data through the hub's data service under their own per-user limits, without a KCDC account of their own. Empty: only the bundled (simulated) data shops.", section="open data"),
    Setting("kcdc_upstream_kind", _str, "portal", "What `kcdc_upstream_url` is: `portal` (the KCDC web portal, logged in as `kcdc_upstream_username`) or `api` (another data service of this kind, with a token).", choices=("portal", "api"), section="open data"),
    Setting("kcdc_upstream_username", _str, "", "The operator's KCDC account that forwarded requests are made with (`portal`).", section="open data"),
    Setting("kcdc_upstream_password", _str, None, "That account's password (`portal`), or the API token at the upstream data service (`api`): a docker secret that only the data service holds (`ASTROHUB_KCDC_UPSTREAM_PASSWORD_FILE`). Never shown in a log or to students.", secret=True, section="open data"),
    Setting("kcdc_upstream_shops", _str, "*", "Data shops of the upstream that are forwarded, comma-separated ids; `*`: all it offers.", section="open data"),
    # -- user servers
    Setting("singleuser_image", _str, "", "Image of the user servers; empty means astrohub/singleuser:<image_tag>.", section="servers"),
    Setting("mem_limit", _memory, "2G", "Memory limit of one user server.", section="servers"),
    Setting("cpu_limit", _positive_float, 1.0, "CPU limit of one user server (cores).", section="servers"),
    Setting("home_volume", _str, "{stack}-home-{username}", "Name of each user's home volume; `{stack}` and `{username}` are filled in. Survives server restarts and image upgrades.", section="servers"),
    Setting("start_timeout", _int_at_least(10), 300, "Seconds a server may take to start once its turn came before the hub gives up; the wait in line (`concurrent_starts`) does not count.", section="servers"),
    Setting("concurrent_starts", _int_at_least(0), 0, "Servers that start at once across all users; later requests wait in arrival order and the spawn-pending page shows each student their place and an estimate. 0: the cores of the Swarm nodes (a start is mostly CPU: more at once only share the cores, and nobody is ready until everybody is).", section="servers"),
    Setting("teacher_mem_limit", _memory, "4G", "Memory limit of the server of a teacher (a member of a course's `formgrade-<course>` group) or an admin.", section="servers"),
    Setting("dashboards_mem_limit", _memory, "4G", "Memory limit of the public dashboards service. Every dashboard page a visitor has open holds a kernel of about 170 MB (five more are preheated; a closed page's kernel goes after 30 s): the kernels the service runs at once follow from it (`dashboards_max_kernels`): 4G runs 22, five preheated and 17 visitors' pages, and further visitors wait in line; a masterclass of thirty all on the dashboards at once is served without waiting at about 7G.", section="servers"),
    Setting("dashboards_pool_size", _int_at_least(0), 1, "Preheated kernels per public dashboard (five dashboards): the first visitors of each get a page at once, the pool refills behind them. Each holds about 170 MB of the dashboards' memory.", section="servers"),
    Setting("dashboards_max_kernels", _int_at_least(0), 0, "Kernels the dashboards service runs at once, preheated ones included; visitors beyond wait in line. 0: derived from `dashboards_mem_limit`, (limit - 300 MB for the server) / 170 MB per kernel (4G: 22).", section="servers"),
    Setting("dashboards_kernels_per_client", _int_at_least(1), 3, "Dashboard pages (kernels) one browser (its visitor cookie) may hold at once; more wait in line until it closes one. A cookie-less client counts by its address.", section="servers"),
    Setting("dashboards_kernels_per_address", _int_at_least(1), 30, "Dashboard pages all browsers behind one address may hold at once: a class behind one school router shares an address, so this is a class's size, not one person's.", section="servers"),
    Setting("dashboards_queue_length", _int_at_least(0), 200, "Visitors who may wait in line for a dashboard kernel; past it a visitor gets 'too busy, try again in a minute' (503 with Retry-After).", section="servers"),
    Setting("teacher_cpu_limit", _positive_float, 2.0, "CPU limit of a teacher's or an admin's server (cores).", section="servers"),
    Setting("cull_idle_timeout", _int_at_least(0), 3600, "Seconds without activity after which a server is stopped (its home stays); 0 never stops idle servers.", section="operations"),
    Setting("cull_every", _int_at_least(5), 300, "Seconds between two passes of the idle culler.", section="operations"),
    Setting("route_check_interval", _int_at_least(5), 30, "Seconds between the hub's checks of the proxy's routes: after a proxy restart, routes are back within this time.", section="operations"),
    Setting("spawner", _str, "astrohub", "Spawner of user servers: `astrohub` (this project's) or `stock` (dockerspawner's SwarmSpawner, no home volume; for benchmarks only).", choices=("astrohub", "stock"), section="servers"),
    Setting("docker_threads", _int_at_least(1), 16, "Docker API calls the hub makes at once (stock dockerspawner: 1, which serialises every user's start).", section="servers"),
    # -- isolation of user servers (astrohub.config._isolation, issue 19 items 4, 5, 8)
    Setting("pids_limit", _int_at_least(0), 512, "Processes and threads one user server may have at once (Swarm's pids limit: a fork bomb stops there). A kernel with numerical libraries holds 20-60 threads. 0: no limit.", section="servers"),
    Setting("home_limit", _memory, "5G", "Size limit of a user's home. Docker's local volume driver cannot enforce one on this file system, so the server does: a single file larger than this fails with 'File too large', and saves and uploads in JupyterLab are refused with a message while the home is over it (writes from a kernel or terminal that grow many files are not stopped). 0: no limit.", section="servers"),
    Setting("user_internet", _bool, True, "User servers reach web sites (http and https: PyPI, the real KCDC) through the stack's egress proxy, never this machine's or private addresses. False: no way out of their internal network at all.", section="servers"),
    Setting("user_subdomains", _bool, False, "Each user's server on its own host name, `<user>.<host of public_url>` (JupyterHub's `subdomain_host`): a server's pages then run in an origin of their own and cannot act in the hub's or another user's. Needs a host name in `public_url` whose subdomains all resolve to this machine (DNS `*.<host>`; `*.localhost` does so in browsers) and a certificate for them: the local CA makes one; your own certificate must name `*.<host>` too; ACME cannot (a wildcard needs a DNS challenge). The hub, its services and the dashboards stay on the host itself.", section="servers"),
    Setting("admin_server_access", _bool, False, "Hub admins may open users' servers. A server runs code its user controls (their files, extensions, a process they restarted) in the hub's origin, so an admin who opens a student's server hands it the admin's session: off unless the admins need it and trust every user.", section="servers"),
    # -- secrets the stack generates at first start
    Setting("cookie_secret", _str, None, "Hub cookie secret (hex). Generated at first start as a docker secret.", secret=True, section="secrets"),
    Setting("proxy_token", _str, None, "Token between hub and proxy. Generated at first start as a docker secret.", secret=True, section="secrets"),
    Setting("crypt_key", _str, None, "Key that encrypts auth state (hex, 32 bytes). Generated at first start as a docker secret.", secret=True, section="secrets"),
    Setting("datacentre_token", _str, None, "API token of the `datacentre` service (the KCDC data-request API). Generated at first start.", secret=True, section="secrets"),
    Setting("dashboards_token", _str, None, "API token of the `dashboards` service (public Voila dashboards; it may only read the datacentre). Generated at first start.", secret=True, section="secrets"),
    Setting("ops_token", _str, None, "API token of the `ops` service used by `astrohub` commands and the tests. Generated at first start.", secret=True, section="secrets"),
    # -- courses (nbgrader): the courses themselves are the `courses` setting above
    Setting("exchange_course_quota_mb", _positive_float, 2048.0, "Most the course exchange keeps for one course (releases, submissions and feedback together), in MB; an upload past it is refused with 413 and a message naming the course and its use.", section="courses"),
    Setting("exchange_max_upload_mb", _positive_float, 20.0, "Largest upload (a release, a submission, a feedback) the course exchange accepts, in MB; larger ones are refused with 413 (ngshare itself has no limit).", section="courses"),
    # -- more than one Swarm node (src/astrohub/nodes.py)
    Setting("registry", _registry, "", "Registry every node pulls the astrohub images from (`host:port`); `astrohub up` tags and pushes them there, the stack and the user servers name them `<registry>/astrohub/<name>:<tag>`. `127.0.0.1:<port>` is the machine's own registry (stack `astrohub-registry`, deployed by `astrohub up`). Empty: no registry, the images exist only where they were built (one node).", section="nodes"),
    Setting("registry_user", _str, "", "Login that nodes pull the images with: the hub's spawner sends it with every user service it creates and `astrohub up` deploys the stack `--with-registry-auth`, so no node needs its own `docker login`. For the machine's own registry `astrohub up` sets it (the account `pull`, which cannot push). Empty: no login (a registry that needs none, or nodes logged in themselves).", section="nodes"),
    Setting("registry_password", _str, None, "Password of `registry_user` (docker secret `astrohub_registry_password`; `ASTROHUB_REGISTRY_PASSWORD_FILE`). For the machine's own registry generated at its first start and kept in `.astrohub/astrohub-registry/pull_password`.", secret=True, section="nodes"),
    Setting("group_nodes", _group_nodes, (), "Where servers run: `group:node`, comma-separated (e.g. `classroom-b:worker-1`): servers of the hub group's members run on the Swarm node labelled `astrohub.node=<node>` (`astrohub node add` sets it). A user in several listed groups gets the first.", section="nodes"),
    Setting("pin_homes", _bool, True, "Start every server again on the node that holds its home volume (named volumes are local to a node). Set false only when homes are on storage all nodes share (e.g. an NFS volume driver).", section="nodes"),
    # -- HTTPS at the edge (src/astrohub/edge.py): the TLS mode follows from what is given
    Setting("redirect_port", _int_at_least(0), 0, "Port the edge publishes on the host for plain http, answered only with a redirect to https (80 in production; ACME's http challenge needs it reachable as port 80). 0: none.", section="edge (TLS)"),
    Setting("acme_email", _str, "", "Contact e-mail for ACME (Let's Encrypt). Set with a host name in `public_url`: the edge gets and renews that name's certificate itself (the public ports must be 443 and 80). Empty, and no certificate given: a local certificate authority (`astrohub ca-cert` prints its root).", section="edge (TLS)"),
    Setting("acme_ca", _optional_url, "", "ACME directory of the certificate authority; empty: Let's Encrypt. E.g. https://acme-staging-v02.api.letsencrypt.org/directory to try a deployment.", section="edge (TLS)"),
    Setting("tls_certificate", _str, None, "PEM certificate chain for the host name of `public_url`, from an institution's CA (docker secret; give the file with `ASTROHUB_TLS_CERTIFICATE_FILE`). A new file is a new secret at the next `make up`.", secret=True, section="edge (TLS)"),
    Setting("tls_key", _str, None, "PEM private key of `tls_certificate` (docker secret; `ASTROHUB_TLS_KEY_FILE`).", secret=True, section="edge (TLS)"),
    Setting("hsts_max_age", _int_at_least(0), 31536000, "Seconds browsers keep to https only for the host (Strict-Transport-Security); 0 tells them to forget it.", section="edge (TLS)"),
)

_BY_NAME = {s.name: s for s in SCHEMA}

# Variables with the same prefix that are not settings of the hub: read by the
# `astrohub` command, the containers or the tests. Listed so that
# a typo in a real setting is still caught.
OTHER_VARIABLES = {
    "ASTROHUB_BACKUP_PASSWORD": "`astrohub backup`/`restore`: the backup repository's password (default: generated into the state folder at the first backup)",
    "ASTROHUB_BACKUP_PASSWORD_FILE": "`astrohub backup`/`restore`: a file holding that password",
    "ASTROHUB_STATE_DIR": "`astrohub`: where the admin password and ops token are kept (default `.astrohub/` in the checkout)",
    "ASTROHUB_ADVERTISE_ADDR": "`make setup`, `astrohub up`: the address a new Swarm advertises (default: the `docker0` address, which worker nodes in containers reach)",
    "ASTROHUB_DOCKER_BUILD_CLIENT": "`astrohub up`: the docker client for BuildKit builds (default: one with buildx, else Debian's /usr/bin/docker)",
    "ASTROHUB_EXCHANGE_URL": "user servers: the nbgrader exchange, set by the spawner",
    "ASTROHUB_COURSE": "formgrader containers: their course",
    "ASTROHUB_HOME_LIMIT_BYTES": "user servers: the home's size limit in bytes (`home_limit`), set by the spawner",
    "ASTROHUB_E2E_STACK": "tests: stack name of the end-to-end tests (default astrohub-e2e)",
    "ASTROHUB_E2E_PORT": "tests: port of the end-to-end stack (default 18000)",
    "ASTROHUB_E2E_KEEP": "tests: keep the end-to-end stack afterwards, to look at it",
    "ASTROHUB_BUNDLE_CACHE": "tests: folder that keeps the generated data bundle between runs",
}


def operator_variable(name: str, environ: Mapping[str, str] | None = None) -> str:
    """One of the OTHER_VARIABLES as the operator's commands read it ('' when unset): the
    one place they read the environment, so that each variable they know is listed."""
    if name not in OTHER_VARIABLES:
        raise KeyError(f"{name} is not in astrohub.settings.OTHER_VARIABLES: list it there with what reads it")
    return (os.environ if environ is None else environ).get(name, "")


class Settings(Mapping[str, Any]):
    """Validated settings, read-only, with attribute access (settings.mem_limit)."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = MappingProxyType(dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shown = {k: ("***" if _BY_NAME[k].secret and v else v) for k, v in self._values.items()}
        return f"Settings({shown})"

    @property
    def image(self) -> str:
        return self.singleuser_image or f"{self.image_prefix}astrohub/singleuser:{self.image_tag}"

    @property
    def image_prefix(self) -> str:
        """What goes before ``astrohub/<name>:<tag>``: the registry, if any."""
        return f"{self.registry}/" if self.registry else ""


def _read_secret(setting: Setting, environ: Mapping[str, str], secrets_dir: Path) -> str | None:
    file_var = setting.env + "_FILE"
    candidates = []
    if environ.get(file_var):
        candidates.append(Path(environ[file_var]))
    candidates.append(secrets_dir / f"astrohub_{setting.name}")
    for path in candidates:
        if path.is_file():
            return path.read_text().strip()
    return None


def load(environ: Mapping[str, str] | None = None, secrets_dir: str | Path = SECRETS_DIR, **overrides: Any) -> Settings:
    """Read and validate all settings; raise SettingsError naming every bad one."""
    environ = os.environ if environ is None else environ
    secrets_dir = Path(secrets_dir)
    unknown = [k for k in environ if k.startswith(PREFIX) and k not in OTHER_VARIABLES
               and k.removesuffix("_FILE")[len(PREFIX):].lower() not in _BY_NAME]
    problems = [f"{k} is not a setting; see docs/configuration.md for the list" for k in sorted(unknown)]
    values: dict[str, Any] = {}
    for s in SCHEMA:
        if s.name in overrides:
            values[s.name] = overrides[s.name]
            continue
        raw = environ.get(s.env)
        if raw is None and s.secret:
            raw = _read_secret(s, environ, secrets_dir)
        if raw is None:
            values[s.name] = s.default
            continue
        if s.choices and raw not in s.choices:
            problems.append(f"{s.env}={raw!r} is not allowed; use one of: {', '.join(s.choices)}")
            continue
        try:
            values[s.name] = s.parse(raw)
        except ValueError as e:
            shown = "(secret)" if s.secret else repr(raw)
            problems.append(f"{s.env}={shown} is invalid: {e}")
    if not problems and values["dashboards_max_kernels"] and \
            values["dashboards_max_kernels"] <= DASHBOARD_COUNT * values["dashboards_pool_size"]:
        problems.append(f"ASTROHUB_DASHBOARDS_MAX_KERNELS={values['dashboards_max_kernels']} leaves no kernel for visitors: "
                        f"make it larger than {DASHBOARD_COUNT} x ASTROHUB_DASHBOARDS_POOL_SIZE "
                        f"= {DASHBOARD_COUNT * values['dashboards_pool_size']} (or 0 to derive it from the memory limit)")
    if problems:
        raise SettingsError(problems)
    if not values["public_url"]:
        # The edge answers https on http_port (src/astrohub/edge.py).
        values["public_url"] = f"https://127.0.0.1:{values['http_port']}"
    return Settings(values)


#: dashboards in src/dashboards/notebooks, each with its own preheated pool
DASHBOARD_COUNT = 5
#: what one dashboard kernel holds (measured 150-250 MB) and the Voila server itself
DASHBOARD_KERNEL_MB, DASHBOARD_SERVER_MB = 170, 300


def memory_mb(size: str) -> float:
    """A Docker memory size (512M, 4G) in MB."""
    m = _MEMORY.match(size)
    return float(m.group(1)) * {"": 1 / 2**20, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[m.group(2).upper()]


def dashboards_max_kernels(settings: Settings) -> int:
    """Kernels the dashboards may run at once: the setting, or what the memory limit holds."""
    if settings.dashboards_max_kernels:
        return settings.dashboards_max_kernels
    fits = int((memory_mb(settings.dashboards_mem_limit) - DASHBOARD_SERVER_MB) // DASHBOARD_KERNEL_MB)
    # At least one visitor kernel beside the pools, even where the limit is too small for it.
    return max(fits, DASHBOARD_COUNT * settings.dashboards_pool_size + 1)


def _service_reference() -> list[str]:
    """The settings of the services beside the hub, each declared once in its own package
    (servicekit.settings); the stack sets them from the hub's settings where it must."""
    from dashboards.settings import PREFIX as DASHBOARDS, DashboardsSettings
    from datacentre.config import PREFIX as DATACENTRE, Settings as DatacentreSettings
    from servicekit.exchange_gate import GateSettings
    from servicekit.settings import reference_rows

    lines = []
    for title, source, cls, prefix in (
            ("datacentre", "src/datacentre/config.py", DatacentreSettings, DATACENTRE),
            ("dashboards", "src/dashboards/settings.py", DashboardsSettings, DASHBOARDS),
            ("exchange gate", "src/servicekit/exchange_gate.py", GateSettings, "EXCHANGE_")):
        lines += [f"## service: {title}", "", f"Read by the service itself (`{source}`); a wrong value or an unknown "
                  f"`{prefix}*` variable stops it with the variable's name.", "",
                  "| variable | kind | default | meaning |", "|---|---|---|---|"]
        lines += [f"| `{name}` | {kind} | `{default}` | {meaning} |" for name, kind, default, meaning in reference_rows(cls, prefix)]
        lines.append("")
    return lines


def reference_markdown() -> str:
    """The configuration reference, generated from SCHEMA (docs/configuration.md)."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `src/astrohub/settings.py` by `astrohub settings-doc`; do not edit by hand.",
        "Every setting is an environment variable; secrets may also come from the docker secret `astrohub_<name>` or a file named by `<VARIABLE>_FILE`.",
        "",
    ]
    for section in dict.fromkeys(s.section for s in SCHEMA):
        lines += [f"## {section}", "", "| variable | kind | default | meaning |", "|---|---|---|---|"]
        for s in SCHEMA:
            if s.section != section:
                continue
            default = "(generated)" if s.secret else ", ".join(s.default) if isinstance(s.default, tuple) else s.default
            lines.append(f"| `{s.env}` | {s.kind} | `{default}` | {s.doc} |")
        lines.append("")
    lines += _service_reference()
    lines += ["## not settings of the hub", "", "Variables with the same prefix used elsewhere:", "",
              "| variable | used by |", "|---|---|"]
    lines += [f"| `{name}` | {use} |" for name, use in OTHER_VARIABLES.items()]
    lines.append("")
    return "\n".join(lines)
