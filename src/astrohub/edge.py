"""HTTPS at the edge: the Caddyfile of the `edge` service, generated from the settings.

The edge (Debian's caddy, images/edge) is the stack's one public entry point: it
terminates TLS and passes everything, websockets included, to the proxy on the
overlay network. How it gets its certificate follows from what the settings give:

* ``acme``: a contact e-mail and a host name in ``public_url``: the edge gets and
  renews the certificate itself (Let's Encrypt, or ``acme_ca``);
* ``certificate``: a certificate and key (docker secrets) from an institution;
* ``internal``: neither: a local certificate authority of the edge's own (caddy's
  ``tls internal``) signs certificates for localhost, 127.0.0.1 and the public host;
  ``astrohub ca-cert`` prints its root so a teacher can trust it.

Everything here is pure (settings in, text out) except ``write_files``; the edge's
Swarm service (ports, volume, secrets) is declared in astrohub.topology.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from urllib.parse import urlparse

from . import i18n, portal
from .settings import Settings, SettingsError

# Ports inside the edge container; the host ports are settings (http_port, redirect_port).
HTTPS_PORT = 8443
HTTP_PORT = 8080
PROXY = "proxy:8000"
# Where caddy keeps its local CA (XDG_DATA_HOME=/data on the edge-data volume).
ROOT_CERT_PATH = "/data/caddy/pki/authorities/local/root.crt"
CA_NAME = "astroparticle.online local CA"
SECRETS = ("tls_certificate", "tls_key")
# How long the remembered choice of language lasts (a school year and more).
COOKIE_AGE = 400 * 24 * 3600
# The user caddy runs as in images/edge (its build checks this number).
CADDY_UID = "999"


def public_host(settings: Settings) -> str:
    """The host name (or address) of ``public_url``."""
    return urlparse(settings.public_url).hostname or ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_ip_or_local(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost") or _is_ip(host)


def tls_mode(settings: Settings) -> str:
    """``acme``, ``certificate`` or ``internal`` (see the module's doc)."""
    if settings.acme_email:
        return "acme"
    if settings.tls_certificate or settings.tls_key:
        return "certificate"
    return "internal"


def problems(settings: Settings) -> list[str]:
    """What keeps the edge from serving ``public_url`` over https, each with its fix."""
    out = []
    url = urlparse(settings.public_url)
    host = public_host(settings)
    if url.scheme != "https":
        out.append(f"ASTROHUB_PUBLIC_URL={settings.public_url!r} must start with https:// (the edge serves "
                   f"only https; plain http is redirected); leave it unset for https://127.0.0.1:{settings.http_port}")
    if settings.acme_email:
        if _is_ip_or_local(host):
            out.append(f"ASTROHUB_ACME_EMAIL is set but ASTROHUB_PUBLIC_URL names {host!r}: ACME certifies public "
                       "host names only; set ASTROHUB_PUBLIC_URL to https://<your host name>, or unset "
                       "ASTROHUB_ACME_EMAIL for a local certificate authority")
        if "@" not in settings.acme_email:
            out.append(f"ASTROHUB_ACME_EMAIL={settings.acme_email!r} is not an e-mail address")
        if settings.tls_certificate or settings.tls_key:
            out.append("give either ASTROHUB_ACME_EMAIL (automatic certificates) or ASTROHUB_TLS_CERTIFICATE_FILE "
                       "and ASTROHUB_TLS_KEY_FILE (your own), not both")
    elif bool(settings.tls_certificate) != bool(settings.tls_key):
        missing = "ASTROHUB_TLS_KEY_FILE" if settings.tls_certificate else "ASTROHUB_TLS_CERTIFICATE_FILE"
        out.append(f"a certificate needs its key and the key its certificate: set {missing} too")
    if settings.user_subdomains:
        if not host or _is_ip(host):
            out.append(f"ASTROHUB_USER_SUBDOMAINS needs a host name in ASTROHUB_PUBLIC_URL (servers go on "
                       f"<user>.<host>), not {host!r}: e.g. https://hub.localhost:{settings.http_port} on one "
                       "machine, or your domain with DNS for *.<domain>")
        elif settings.acme_email:
            out.append("ASTROHUB_USER_SUBDOMAINS needs a certificate for *.<host>, which ACME issues only with a "
                       "DNS challenge: give your own wildcard certificate (ASTROHUB_TLS_CERTIFICATE_FILE), or "
                       "unset ASTROHUB_ACME_EMAIL for the local CA")
    if settings.acme_ca and not settings.acme_email:
        out.append("ASTROHUB_ACME_CA is set without ASTROHUB_ACME_EMAIL: set the contact e-mail to use ACME")
    if settings.redirect_port and settings.redirect_port == settings.http_port:
        out.append(f"ASTROHUB_REDIRECT_PORT and ASTROHUB_HTTP_PORT are both {settings.http_port}: "
                   "plain http and https need a port each")
    return out


def site_names(settings: Settings) -> list[str]:
    """Host names the edge has a certificate for."""
    host = public_host(settings)
    # User servers on subdomains (user_subdomains): one wildcard name covers them all.
    users = [f"*.{host}"] if settings.user_subdomains else []
    if tls_mode(settings) == "internal":
        return list(dict.fromkeys(["localhost", "127.0.0.1", host, *users]))
    return [host, *users]


def caddyfile(settings: Settings) -> str:
    """The edge's Caddyfile; raises SettingsError naming what to change."""
    found = problems(settings)
    if found:
        raise SettingsError(found)
    mode = tls_mode(settings)
    host = public_host(settings)
    # Redirects name the configured public address, never the request's Host header
    # (which the client chooses).
    public = urlparse(settings.public_url).netloc
    options = [
        f"http_port {HTTP_PORT}",
        f"https_port {HTTPS_PORT}",
        # caddy's own redirect would name its in-container port; ours names the public one.
        "auto_https disable_redirects",
        # Clients that connect by IP send no server name: answer with the public host's
        # certificate; with the local CA, with 127.0.0.1's (where `astrohub` calls it, local_url).
        f"default_sni {'127.0.0.1' if mode == 'internal' else host}",
    ]
    if mode == "acme":
        options.append(f"email {settings.acme_email}")
        if settings.acme_ca:
            options.append(f"acme_ca {settings.acme_ca}")
    if mode == "internal":
        # The root stays on the edge-data volume; nothing to install in a container.
        options += ["skip_install_trust", "pki {", "\tca local {", f"\t\tname \"{CA_NAME}\"", "\t}", "}"]
    options += [
        # Plain http sent to the https port gets a redirect instead of a TLS error.
        f"servers :{HTTPS_PORT} {{", "\tlistener_wrappers {", "\t\thttp_redirect", "\t\ttls", "\t}", "}",
    ]
    tls = {"acme": "", "certificate": "\ttls /run/secrets/tls_certificate /run/secrets/tls_key\n",
           "internal": "\ttls internal\n"}[mode]
    sites = ", ".join(f"https://{name}" for name in site_names(settings))
    hsts = f"max-age={settings.hsts_max_age}"
    return (
        "# Generated by astrohub (src/astrohub/edge.py) from the settings; do not edit.\n"
        "{\n" + "".join(f"\t{line}\n" for line in "\n".join(options).splitlines()) + "}\n\n"
        f"{sites} {{\n"
        f"{tls}"
        "\theader {\n"
        "\t\tdefer\n"
        f"\t\tStrict-Transport-Security \"{hsts}\"\n"
        "\t\tX-Content-Type-Options \"nosniff\"\n"
        "\t\tReferrer-Policy \"strict-origin-when-cross-origin\"\n"
        # Framing and CSP stay JupyterHub's own (the formgrader opens in its own tab).
        "\t}\n"
        # The portal's public pages (astrohub.portal) are files: no hub, no kernel. Not on
        # users' subdomains, where / is the user's own server.
        "\t@portal {\n"
        f"\t\thost {' '.join(name for name in site_names(settings) if not name.startswith('*'))}\n"
        "\t\tpath / /portal/*\n"
        "\t}\n"
        f"{_language_choice()}"
        "\thandle @portal {\n"
        f"{_portal_language()}"
        f"\t\troot * {portal.ROOT}\n"
        "\t\tfile_server\n"
        # Nothing but the site's own files: no script of anyone else's can run in them.
        "\t\theader Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\"\n"
        "\t}\n"
        "\thandle {\n"
        # No body size limit and no timeouts: large uploads and downloads pass whole;
        # websockets (kernels, Voila) are proxied as they are.
        f"\t\treverse_proxy {PROXY} {{\n"
        "\t\t\tflush_interval -1\n"
        # A restarted proxy comes back under the same name: wait for it instead of a 502.
        "\t\t\tlb_try_duration 30s\n"
        "\t\t}\n"
        "\t}\n"
        "}\n\n"
        f"http://:{HTTP_PORT} {{\n"
        f"\tredir https://{public}{{uri}} 308\n"
        "}\n"
    )


def _language_choice() -> str:
    """An explicit choice of language (``?lang=de`` anywhere, a page under ``/portal/de/``)
    is remembered in the cookie the hub and the portal read (astrohub.i18n)."""
    cookie = f"Path=/; Max-Age={COOKIE_AGE}; SameSite=Lax; Secure"
    out = []
    for lang in i18n.LANGUAGES:
        out += [f"\t@{i18n.COOKIE}_{lang} {{\n", f"\t\tquery {i18n.QUERY}={lang}\n", "\t}\n",
                f"\theader @{i18n.COOKIE}_{lang} +Set-Cookie \"{i18n.COOKIE}={lang}; {cookie}\"\n",
                f"\t@{i18n.COOKIE}_{lang}_page path /portal/{lang}/*\n",
                f"\theader @{i18n.COOKIE}_{lang}_page +Set-Cookie \"{i18n.COOKIE}={lang}; {cookie}\"\n"]
    return "".join(out)


def _portal_language() -> str:
    """``/`` and ``/portal/<page>`` are the page in the visitor's language, as the hub picks
    it (astrohub.i18n.negotiate): ``?lang=``, the cookie, the first of ours that
    ``Accept-Language`` lists (browsers list by preference), English."""
    ours = "|".join(i18n.LANGUAGES)
    source = f"{{query.{i18n.QUERY}}}|{{cookie.{i18n.COOKIE}}}|{{header.Accept-Language}}"
    return (
        f"\t\tmap \"{source}\" {{portal_lang}} {{\n"
        f"\t\t\t~^({ours})\\| ${{1}}\n"
        f"\t\t\t~^[^|]*\\|({ours})\\| ${{1}}\n"
        f"\t\t\t~^[^|]*\\|[^|]*\\|[^|]*?\\b({ours})\\b ${{1}}\n"
        f"\t\t\tdefault {i18n.DEFAULT}\n"
        "\t\t}\n"
        "\t\t@page path_regexp page ^/portal/([a-z]+\\.html)$\n"
        "\t\trewrite @page /portal/{portal_lang}/{re.page.1}\n"
        "\t\trewrite / /portal/{portal_lang}/index.html\n"
        # Caches keep one answer per language.
        "\t\theader Vary \"Accept-Language, Cookie\"\n"
    )


def local_url(settings: Settings) -> str:
    """Where the operator's commands reach the stack on this machine.

    The local CA certifies 127.0.0.1; an ACME or an institution's certificate names
    only the public host, so that is where they go."""
    if tls_mode(settings) == "internal":
        return f"https://127.0.0.1:{settings.http_port}"
    return settings.public_url


def certificate_problem(log_text: str) -> str | None:
    """From the edge's log: why it has no certificate (the latest failure), or None.

    Caddy logs JSON lines; a failed ACME issuance is ``tls.obtain`` "could not get
    certificate from issuer" (host name, issuer, error), then "will retry" (when).
    A certificate obtained after failures clears the problem."""
    problem, retry = None, ""
    for line in log_text.splitlines():
        start = line.find("{")
        try:
            entry = json.loads(line[start:]) if start >= 0 else None
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("logger") != "tls.obtain":
            continue
        msg = entry.get("msg", "")
        if msg == "could not get certificate from issuer":
            problem = (f"the edge has no certificate for {entry.get('identifier', 'the public host')}: "
                       f"the ACME server ({entry.get('issuer', '?')}) did not give one: {entry.get('error', '?')}")
            retry = ""
        elif msg == "will retry" and problem:
            retry = f"; caddy tries again in {entry.get('retrying_in', '?')} s (attempt {entry.get('attempt', '?')})"
        elif msg == "certificate obtained successfully":
            problem = None
    if problem:
        problem += retry + ". Check that the ACME server is reachable from the edge and that the host name's ports 80 and 443 reach it."
    return problem


def write_files(settings: Settings, state_dir: Path) -> dict[str, Path]:
    """Write the Caddyfile, the portal's pages and, in ``certificate`` mode, the certificate
    and key into the stack's state folder; their keys as astrohub.topology's edge service
    names them."""
    caddy_path = state_dir / "Caddyfile"
    caddy_path.write_text(caddyfile(settings))
    files = {"edge_caddyfile": caddy_path, **portal.write(settings, state_dir / "portal")}
    if tls_mode(settings) == "certificate":
        for name in SECRETS:
            path = state_dir / f"{name}.pem"
            path.write_text(settings[name].strip() + "\n")
            path.chmod(0o600)
            files[name] = path
    return files
