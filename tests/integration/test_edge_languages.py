"""The edge's caddy (its image, on loopback) serves the portal in the visitor's language
(issue 15): / and /portal/<page> from ?lang=, the cookie astrohub_lang, Accept-Language,
else English; an explicit choice sets the cookie the hub reads too."""
from __future__ import annotations

import os
import re
import secrets
import subprocess

import pytest
import requests

from astrohub import edge, portal
from astrohub.settings import VERSION, load
from tests.support import needs
from tests.support.net import free_port, wait_for_http

# the edge's local CA, which this test does not trust
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
IMAGE = f"astrohub/edge:{os.environ.get('ASTROHUB_IMAGE_TAG', VERSION)}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    needs.docker_image(IMAGE)
    tmp = tmp_path_factory.mktemp("edge-languages")
    port, http_port = free_port(), free_port()
    settings = load({"ASTROHUB_PUBLIC_URL": f"https://127.0.0.1:{port}"}, secrets_dir="/nonexistent")
    files = edge.write_files(settings, tmp)
    # each page where the edge service mounts it (astrohub.topology)
    mounts = []
    for name in portal.PAGES:
        files[portal.config_key(name)].chmod(0o644)
        mounts += ["-v", f"{files[portal.config_key(name)]}:{portal.mount_path(name)}:ro"]
    name = f"it-edge-lang-{secrets.token_hex(4)}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "-p", f"127.0.0.1:{port}:{edge.HTTPS_PORT}",
                    "-p", f"127.0.0.1:{http_port}:{edge.HTTP_PORT}",
                    "-v", f"{files['edge_caddyfile']}:/etc/caddy/Caddyfile:ro", *mounts, IMAGE],
                   check=True, capture_output=True)
    try:
        # plain http answers (a redirect) once caddy has loaded its Caddyfile and certificates
        wait_for_http(f"http://127.0.0.1:{http_port}/", timeout=60, ok=(308,))
        yield f"https://127.0.0.1:{port}"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def get(site, path, **kw):
    r = requests.get(site + path, verify=False, timeout=30, **kw)
    assert r.status_code == 200, (path, r.status_code)
    return r


def lang_of(r) -> str:
    return re.search(r'<html lang="(\w+)">', r.content.decode("utf-8")).group(1)


@pytest.mark.parametrize("path", ["/", "/portal/index.html", "/portal/dashboards.html"])
@pytest.mark.parametrize("kw, lang", [
    ({}, "en"),
    ({"headers": {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}}, "de"),
    ({"headers": {"Accept-Language": "fr-FR,fr;q=0.9,ru;q=0.8"}}, "ru"),
    ({"headers": {"Accept-Language": "de"}, "cookies": {"astrohub_lang": "ru"}}, "ru"),
    ({"headers": {"Accept-Language": "ru"}, "cookies": {"astrohub_lang": "xx"}}, "ru"),
    ({"params": {"lang": "de"}, "cookies": {"astrohub_lang": "ru"}}, "de"),
])
def test_the_page_comes_in_the_visitors_language(site, path, kw, lang):
    r = get(site, path, **kw)
    assert lang_of(r) == lang and "Accept-Language" in r.headers["Vary"]


def test_an_explicit_choice_is_remembered_in_the_cookie_the_hub_reads(site):
    r = get(site, "/portal/ru/dashboards.html", headers={"Accept-Language": "de"})
    assert lang_of(r) == "ru" and "Общедоступные интерактивные панели" in r.content.decode("utf-8")
    assert r.cookies.get("astrohub_lang") == "ru"
    assert "Secure" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    assert get(site, "/", params={"lang": "de"}).cookies.get("astrohub_lang") == "de"
    # a page without a choice sets nothing
    assert "Set-Cookie" not in get(site, "/", headers={"Accept-Language": "de"}).headers
