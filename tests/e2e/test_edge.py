"""HTTPS at the edge: the stack's one public entry point (src/astrohub/edge.py).

The stack answers https, verified against its local CA, which the tests trust
explicitly (conftest); plain http is redirected; login and kernels work through
the edge with Secure cookies; a 200 MB download arrives whole. A stack with ACME
settings and no reachable ACME server says why it has no certificate.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import time
from urllib.parse import urlparse

import certifi
import pytest
import requests

from astrohub import edge, settings, topology
from astrohub.deploy import DeployError, Stack, docker

from .conftest import ROOT, wipe

USER = "edgar"


def redirect_port(stack) -> int:
    return stack.settings.redirect_port


def test_the_stack_answers_https_verified_with_its_local_ca(stack):
    assert stack.local_url.startswith("https://")
    r = requests.get(f"{stack.local_url}/hub/api/", timeout=30)  # REQUESTS_CA_BUNDLE: system CAs + the root
    assert r.status_code == 200 and "version" in r.json()
    # localhost is certified too (a teacher's laptop)
    port = stack.settings.http_port
    assert requests.get(f"https://localhost:{port}/hub/api/", timeout=30).status_code == 200
    # The root is what makes it trusted: the public CAs alone refuse the certificate.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{stack.local_url}/hub/api/", timeout=30, verify=certifi.where())


def test_the_certificate_comes_from_the_local_ca(stack):
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    import socket

    with socket.create_connection(("127.0.0.1", stack.settings.http_port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            cert = tls.getpeercert()
    issuer = dict(item[0] for item in cert["issuer"])
    assert edge.CA_NAME in issuer["commonName"]
    assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]


def test_plain_http_is_redirected_to_https(stack):
    port = stack.settings.http_port
    r = requests.get(f"http://127.0.0.1:{redirect_port(stack)}/hub/login?next=%2Fhub%2Fhome",
                     timeout=30, allow_redirects=False)
    assert r.status_code == 308
    assert r.headers["Location"] == f"https://127.0.0.1:{port}/hub/login?next=%2Fhub%2Fhome"
    # plain http typed at the https port is redirected too, not answered with a TLS error
    r = requests.get(f"http://127.0.0.1:{port}/hub/api/", timeout=30, allow_redirects=False)
    assert r.status_code in (301, 302, 307, 308)
    assert r.headers["Location"].startswith(f"https://127.0.0.1:{port}/hub/api/")
    # and followed, the redirect ends on the verified https hub
    assert requests.get(f"http://127.0.0.1:{redirect_port(stack)}/hub/api/", timeout=30).json()["version"]


def test_hsts_and_security_headers_leave_the_hubs_own_framing_policy(stack):
    r = requests.get(f"{stack.local_url}/hub/login", timeout=30)
    assert r.status_code == 200
    assert r.headers["Strict-Transport-Security"] == f"max-age={stack.settings.hsts_max_age}"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    # JupyterHub's own CSP stays, and the edge adds no framing rules of its own.
    assert "frame-ancestors" in r.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in r.headers


def test_only_the_edge_publishes_ports(stack):
    def published(service):
        r = docker("service", "inspect", f"{stack.name}_{service}", "--format", "{{json .Spec.EndpointSpec.Ports}}")
        return {p["PublishedPort"] for p in json.loads(r.stdout) or []}

    assert published("edge") == {stack.settings.http_port, redirect_port(stack)}
    assert published("proxy") == set()


def test_a_login_through_the_edge_sets_only_secure_cookies(stack):
    session = requests.Session()
    login = session.get(f"{stack.local_url}/hub/login", timeout=30)
    cookies = login.raw.headers.getlist("Set-Cookie")
    r = session.post(f"{stack.local_url}/hub/login", timeout=30, allow_redirects=False,
                     data={"username": "admin", "password": stack.secret_value("admin_password"),
                           "_xsrf": session.cookies.get("_xsrf")})
    assert r.status_code == 302, r.text[:300]
    cookies += r.raw.headers.getlist("Set-Cookie")
    names = {c.split("=", 1)[0] for c in cookies}
    assert {"_xsrf", "jupyterhub-hub-login", "jupyterhub-session-id"} <= names
    for cookie in cookies:
        assert "; Secure" in cookie, cookie
    # the redirect after login names the public https address
    assert r.headers["Location"].startswith(f"{stack.settings.public_url}/") or r.headers["Location"].startswith("/")
    home = session.get(f"{stack.local_url}/hub/home", timeout=30, allow_redirects=False)
    assert home.status_code == 200
    # A service's OAuth login through the edge (the data service's page): its cookies too.
    deadline = time.monotonic() + 240
    while True:  # the data service may still be starting (its route answers 404/503 meanwhile)
        page = session.get(f"{stack.local_url}/services/datacentre/", timeout=60)
        if page.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert page.status_code == 200 and page.url == f"{stack.local_url}/services/datacentre/"
    service_cookies = [c for hop in (*page.history, page) for c in hop.raw.headers.getlist("Set-Cookie")]
    assert {"service-datacentre-oauth-state", "service-datacentre"} <= {c.split("=", 1)[0] for c in service_cookies}
    for cookie in service_cookies:
        # a cleared cookie (empty, expired) carries nothing worth protecting
        assert "; Secure" in cookie or cookie.split(";")[0].endswith('=""'), cookie


def test_a_kernel_websocket_works_through_the_edge(hub, stack):
    assert hub.url.startswith("https://")  # so the kernel channel is wss:// to the edge
    hub.create_user(USER)
    hub.start(USER)
    assert hub.execute(USER, "6 * 7")[0] == "42"


SIZE = 200 * 1024 * 1024


def test_a_200_mb_download_through_the_edge_arrives_whole(hub, stack):
    hub.start(USER)
    # Written in the user's server in 8 MB pieces (its memory limit is 1G).
    expected = hub.execute(USER, (
        "import hashlib, os\n"
        "h = hashlib.sha256()\n"
        "with open('big.bin', 'wb') as f:\n"
        f"    for _ in range({SIZE} // (8 << 20)):\n"
        "        b = os.urandom(8 << 20); h.update(b); f.write(b)\n"
        "print(h.hexdigest())"), timeout=300)[0].strip()
    digest, size = hashlib.sha256(), 0
    t0 = time.monotonic()
    with hub.server("GET", USER, "/files/big.bin", stream=True, timeout=300) as r:
        assert r.status_code == 200
        for chunk in r.iter_content(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    took = time.monotonic() - t0
    print(f"\nfigure: {size / 2**20:.0f} MiB through the edge in {took:.1f} s = {size / 2**20 / took:.0f} MiB/s")
    assert size == SIZE
    assert digest.hexdigest() == expected
    hub.execute(USER, "import os; os.remove('big.bin')")
    hub.stop(USER)


# -- ACME without a reachable ACME server ------------------------------------------

ACME_ENV = {
    "ASTROHUB_PUBLIC_URL": "https://hub.astroparticle.invalid",
    "ASTROHUB_ACME_EMAIL": "ops@astroparticle.invalid",
    # Nothing listens there: the ACME server is unreachable.
    "ASTROHUB_ACME_CA": "https://127.0.0.1:9/directory",
}


@pytest.fixture
def acme_stack(stack, tmp_path):
    """A second, small stack: only the edge, with ACME settings (no ports published)."""
    s = Stack(ROOT, settings.load({**ACME_ENV, "ASTROHUB_STACK_NAME": f"{stack.name}-acme",
                                   "ASTROHUB_IMAGE_TAG": stack.settings.image_tag},
                                  secrets_dir="/nonexistent"))
    wipe(s)
    s.state_dir.mkdir(parents=True, exist_ok=True)
    caddyfile = edge.write_files(s.settings, s.state_dir)["edge_caddyfile"]
    compose = {
        "version": "3.8",
        "services": {"edge": {"image": f"astrohub/edge:{s.settings.image_tag}",
                              "configs": [{"source": "caddyfile", "target": "/etc/caddy/Caddyfile"}]}},
        "configs": {"caddyfile": {"name": f"{s.name}_caddyfile_{topology.digest(caddyfile.read_bytes())}",
                                  "file": str(caddyfile)}},
    }
    path = tmp_path / "edge-only.yml"
    path.write_text(json.dumps(compose))
    docker("stack", "deploy", "-c", str(path), s.name)
    yield s
    wipe(s)


def test_without_a_reachable_acme_server_the_stack_says_why_it_has_no_certificate(acme_stack):
    deadline = time.monotonic() + 120
    why = None
    while why is None and time.monotonic() < deadline:
        why = acme_stack.certificate_problem()
        time.sleep(2)
    assert why, acme_stack.logs()
    assert "no certificate for hub.astroparticle.invalid" in why
    assert "ACME server" in why and "127.0.0.1:9" in why and "connection refused" in why
    # Waiting for the hub ends with that reason first, not a bare timeout.
    with pytest.raises(DeployError) as failed:
        acme_stack.wait_until_ready(timeout=5)
    assert str(failed.value).startswith(why.split(":")[0])
    assert urlparse(acme_stack.local_url).hostname == "hub.astroparticle.invalid"
