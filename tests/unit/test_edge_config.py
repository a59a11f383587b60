"""The edge's settings, Caddyfile and Swarm service (pure functions of the settings)."""

from __future__ import annotations

import json

import pytest
from traitlets.config import Config

from astrohub import config, edge, portal, topology
from astrohub.settings import SettingsError, load

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"


def settings(**env):
    return load({f"ASTROHUB_{k.upper()}": v for k, v in env.items()}, secrets_dir="/nonexistent")


def test_the_public_url_defaults_to_https_on_the_published_port():
    assert settings().public_url == "https://127.0.0.1:8000"
    assert settings(http_port="18300").public_url == "https://127.0.0.1:18300"
    assert settings(public_url="https://hub.example.org/").public_url == "https://hub.example.org"


@pytest.mark.parametrize("env, mode", [
    ({}, "internal"),
    ({"public_url": "https://hub.school.example"}, "internal"),
    ({"public_url": "https://hub.example.org", "acme_email": "ops@example.org"}, "acme"),
    ({"public_url": "https://hub.example.org", "tls_certificate": PEM, "tls_key": KEY}, "certificate"),
])
def test_the_tls_mode_follows_from_what_is_given(env, mode):
    assert edge.tls_mode(settings(**env)) == mode


def test_the_local_ca_certifies_localhost_loopback_and_the_public_host():
    s = settings(public_url="https://hub.school.example:8443", http_port="8443")
    text = edge.caddyfile(s)
    assert "https://localhost, https://127.0.0.1, https://hub.school.example {" in text
    assert "\ttls internal\n" in text
    assert f'name "{edge.CA_NAME}"' in text
    assert "skip_install_trust" in text
    assert "acme" not in text and "email" not in text
    assert edge.local_url(s) == "https://127.0.0.1:8443"


def test_acme_asks_the_given_ca_for_the_public_host_only():
    s = settings(public_url="https://hub.example.org", acme_email="ops@example.org",
                 acme_ca="https://acme-staging-v02.api.letsencrypt.org/directory")
    text = edge.caddyfile(s)
    assert "\temail ops@example.org\n" in text
    assert "\tacme_ca https://acme-staging-v02.api.letsencrypt.org/directory\n" in text
    assert "https://hub.example.org {" in text
    assert "tls internal" not in text and "127.0.0.1" not in text.split("}\n\n", 1)[1].split("http://")[0]
    assert "\tdefault_sni hub.example.org\n" in text
    # the operator's commands go where the certificate is valid
    assert edge.local_url(s) == "https://hub.example.org"


def test_an_institutions_certificate_comes_from_secrets_named_after_their_content(tmp_path):
    s = settings(public_url="https://hub.example.org", tls_certificate=PEM, tls_key=KEY)
    assert "\ttls /run/secrets/tls_certificate /run/secrets/tls_key\n" in edge.caddyfile(s)
    written = edge.write_files(s, tmp_path)
    assert set(written) == {"edge_caddyfile", *edge.SECRETS, *map(portal.config_key, portal.PAGES)}
    compose = topology.render(s, topology.StackFiles.of(tmp_path / "hub.env", {
        **written, "hub_config": written["edge_caddyfile"], "hub_site_config": written["edge_caddyfile"]}))
    secrets = {name: compose["secrets"][name] for name in edge.SECRETS}
    assert secrets["tls_key"]["file"] == str(tmp_path / "tls_key.pem")
    assert secrets["tls_certificate"]["name"].startswith("astrohub_tls_certificate_")
    assert (tmp_path / "tls_key.pem").read_text() == KEY + "\n"
    assert oct((tmp_path / "tls_key.pem").stat().st_mode & 0o777) == "0o600"

    def secret_name(settings):
        return {x.key: x.docker_name for x in topology.service(settings, "edge").secrets}["tls_certificate"]

    renewed = settings(public_url="https://hub.example.org", tls_certificate=PEM + "\n", tls_key=KEY)
    assert secret_name(renewed) == secrets["tls_certificate"]["name"]  # same content after strip: same secret
    changed = settings(public_url="https://hub.example.org", tls_certificate=PEM.replace("MIIB", "MIIC"), tls_key=KEY)
    assert secret_name(changed) != secrets["tls_certificate"]["name"]


def test_the_edge_proxies_everything_with_hsts_and_no_limits():
    text = edge.caddyfile(settings(hsts_max_age="600"))
    assert '\t\tStrict-Transport-Security "max-age=600"\n' in text
    assert '\t\tX-Content-Type-Options "nosniff"\n' in text
    assert "\treverse_proxy proxy:8000 {\n" in text
    # no body size limit, no timeouts that cut a large transfer, no framing rules of its own
    # for what it passes to the proxy (the portal's static pages have a policy of their own)
    proxied = text.split("\thandle {\n", 1)[1]
    for absent in ("max_size", "request_body", "timeout", "X-Frame-Options", "Content-Security-Policy"):
        assert absent not in proxied and absent not in text.split("\t@portal", 1)[0]
    # plain http on the https port is redirected by caddy's listener wrapper
    assert f"servers :{edge.HTTPS_PORT} {{\n\t\tlistener_wrappers {{\n\t\t\thttp_redirect\n\t\t\ttls\n" in text


@pytest.mark.parametrize("public_url, location", [
    ("https://127.0.0.1:18300", "https://127.0.0.1:18300{uri}"),
    ("https://hub.example.org", "https://hub.example.org{uri}"),
])
def test_plain_http_redirects_to_the_public_https_port(public_url, location):
    text = edge.caddyfile(settings(public_url=public_url))
    assert f"http://:{edge.HTTP_PORT} {{\n\tredir {location} 308\n}}\n" in text


def test_the_redirect_port_is_published_only_when_set():
    assert topology.service(settings(http_port="8443"), "edge").published == ((edge.HTTPS_PORT, 8443),)
    assert (edge.HTTP_PORT, 80) in topology.service(settings(redirect_port="80"), "edge").published


@pytest.mark.parametrize("env, says", [
    ({"public_url": "http://127.0.0.1:8000"}, "must start with https://"),
    ({"acme_email": "ops@example.org"}, "ACME certifies public host names only"),
    ({"public_url": "https://localhost", "acme_email": "ops@example.org"}, "ACME certifies public host names only"),
    ({"public_url": "https://hub.example.org", "acme_email": "ops"}, "is not an e-mail address"),
    ({"public_url": "https://hub.example.org", "acme_email": "ops@example.org", "tls_certificate": PEM, "tls_key": KEY},
     "not both"),
    ({"public_url": "https://hub.example.org", "tls_certificate": PEM}, "set ASTROHUB_TLS_KEY_FILE too"),
    ({"tls_key": KEY}, "set ASTROHUB_TLS_CERTIFICATE_FILE too"),
    ({"acme_ca": "https://acme.example.org/dir"}, "without ASTROHUB_ACME_EMAIL"),
    ({"redirect_port": "8000"}, "need a port each"),
    ({"user_subdomains": "true"}, "needs a host name in ASTROHUB_PUBLIC_URL"),
    ({"user_subdomains": "true", "public_url": "https://hub.example.org", "acme_email": "ops@example.org"},
     "own wildcard certificate"),
])
def test_settings_the_edge_cannot_serve_are_refused_with_the_fix(env, says):
    with pytest.raises(SettingsError) as e:
        edge.caddyfile(settings(**env))
    assert says in str(e.value)


def test_the_hub_knows_its_public_https_address_and_marks_cookies_secure():
    c = config.apply(settings(public_url="https://hub.example.org"), Config())
    assert c.JupyterHub.public_url == "https://hub.example.org/"
    assert c.JupyterHub.cookie_options == {"secure": True}
    assert c.JupyterHub.tornado_settings["xsrf_cookie_kwargs"] == {"secure": True}


def test_a_hub_without_the_edge_keeps_its_cookies_as_they_were():
    c = config.apply(settings(public_url="http://127.0.0.1:8000"), Config())
    assert "public_url" not in c.JupyterHub and "cookie_options" not in c.JupyterHub


ACME_LOG = "\n".join(json.dumps(e) for e in [
    {"level": "info", "logger": "tls.obtain", "msg": "acquiring lock", "identifier": "hub.example.org"},
    {"level": "error", "logger": "tls.obtain", "msg": "could not get certificate from issuer",
     "identifier": "hub.example.org", "issuer": "127.0.0.1:9-directory",
     "error": "registering account [mailto:ops@example.org] with server: provisioning client: performing request: "
              "Get \"https://127.0.0.1:9/directory\": dial tcp 127.0.0.1:9: connect: connection refused"},
    {"level": "error", "logger": "tls.obtain", "msg": "will retry", "attempt": 1, "retrying_in": 60},
])


def test_an_acme_failure_in_the_edges_log_becomes_one_clear_sentence():
    why = edge.certificate_problem("edge.1.x@node | " + ACME_LOG.replace("\n", "\nedge.1.x@node | "))
    assert why.startswith("the edge has no certificate for hub.example.org: the ACME server (127.0.0.1:9-directory)")
    assert "connection refused" in why and "tries again in 60 s (attempt 1)" in why


def test_a_certificate_obtained_later_clears_the_problem():
    ok = json.dumps({"level": "info", "logger": "tls.obtain", "msg": "certificate obtained successfully",
                     "identifier": "hub.example.org"})
    assert edge.certificate_problem(ACME_LOG + "\n" + ok) is None
    assert edge.certificate_problem("not json\n{broken") is None


def test_user_subdomains_put_each_server_on_its_own_host_and_the_services_on_the_hubs():
    s = settings(public_url="https://hub.localhost:8443", user_subdomains="true")
    c = config.apply(s, Config())
    assert c.JupyterHub.subdomain_host == "https://hub.localhost:8443"
    hook = c.JupyterHub.subdomain_hook
    assert hook("ada", "hub.localhost", "user") == "ada.hub.localhost"
    assert hook("datacentre", "hub.localhost", "service") == "hub.localhost"
    # Servers call the proxy by the public name (its alias on their network): the host routes match.
    env = c.AstroSwarmSpawner.environment
    assert env["KCDC_URL"] == "http://hub.localhost:8000/services/datacentre/"
    assert "hub.localhost" in env["NO_PROXY"].split(",")
    # The local CA certifies the subdomains with one wildcard name.
    assert "https://*.hub.localhost" in edge.caddyfile(s)
    assert "subdomain_host" not in config.apply(settings(public_url="https://hub.localhost:8443"), Config()).JupyterHub


def test_the_portal_pages_are_files_at_the_edge_but_not_on_users_subdomains():
    text = edge.caddyfile(settings(public_url="https://hub.localhost:8443", user_subdomains="true"))
    assert "\t@portal {\n\t\thost localhost 127.0.0.1 hub.localhost\n\t\tpath / /portal/*\n\t}\n" in text
    assert f"\t\troot * {portal.ROOT}\n\t\tfile_server\n" in text
    stack = topology.service(settings(), "edge")
    assert {stack.configs[portal.config_key(name)] for name in portal.PAGES} == {
        f"{portal.ROOT}/portal/{name}" for name in portal.PAGES}


def test_the_portal_is_served_in_the_visitors_language_and_an_explicit_choice_is_remembered():
    text = edge.caddyfile(settings())
    portal_block = text.split("\thandle @portal {\n", 1)[1].split("\n\t}\n", 1)[0]
    # ?lang=, the cookie, the first of ours the browser lists, English (as astrohub.i18n.negotiate)
    assert ('\t\tmap "{query.lang}|{cookie.astrohub_lang}|{header.Accept-Language}" {portal_lang} {\n'
            "\t\t\t~^(en|de|ru)\\| ${1}\n\t\t\t~^[^|]*\\|(en|de|ru)\\| ${1}\n"
            "\t\t\t~^[^|]*\\|[^|]*\\|[^|]*?\\b(en|de|ru)\\b ${1}\n\t\t\tdefault en\n\t\t}\n") in portal_block
    assert "\t\trewrite @page /portal/{portal_lang}/{re.page.1}\n\t\trewrite / /portal/{portal_lang}/index.html\n" in portal_block
    assert '\t\theader Vary "Accept-Language, Cookie"\n' in portal_block
    # the choice is remembered on every path of the site (the hub reads the same cookie), https only
    site = text.split("\thandle @portal {\n", 1)[0]
    for lang in ("en", "de", "ru"):
        cookie = f'+Set-Cookie "astrohub_lang={lang}; Path=/; Max-Age={edge.COOKIE_AGE}; SameSite=Lax; Secure"'
        assert f"\t@astrohub_lang_{lang} {{\n\t\tquery lang={lang}\n\t}}\n\theader @astrohub_lang_{lang} {cookie}\n" in site
        assert f"\t@astrohub_lang_{lang}_page path /portal/{lang}/*\n\theader @astrohub_lang_{lang}_page {cookie}\n" in site
    # browsers keep a cookie at most 400 days
    assert edge.COOKIE_AGE <= 400 * 24 * 3600
