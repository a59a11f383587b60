"""The edge's caddy (its image, in a container on loopback) with astrohub's Caddyfile.

Issue 19, item 10: the plain-http redirect was built from the request's Host header
(a client's choice), and the TLS key secret was readable by every user in the
container (0444). Each test tries it against the real caddy.
"""
from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import requests

from astrohub import edge, topology
from astrohub.settings import VERSION, load
from tests.support import needs
from tests.support.net import free_port, wait_for_http

IMAGE = f"astrohub/edge:{os.environ.get('ASTROHUB_IMAGE_TAG', VERSION)}"
HOST = "hub.example.org"


def self_signed(tmp: Path) -> tuple[str, str]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
                    "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    return (tmp / "cert.pem").read_text(), (tmp / "key.pem").read_text()


@pytest.fixture(scope="module")
def caddy(tmp_path_factory):
    needs.docker_image(IMAGE)
    tmp = tmp_path_factory.mktemp("edge")
    cert, key = self_signed(tmp)
    settings = load({"ASTROHUB_PUBLIC_URL": f"https://{HOST}:18300"}, secrets_dir="/nonexistent",
                    tls_certificate=cert, tls_key=key)
    (tmp / "Caddyfile").write_text(edge.caddyfile(settings))
    # The secrets as Swarm mounts them: owner and mode from the topology's edge service.
    spec = {s.key: {"uid": s.uid, "gid": s.uid, "mode": s.mode} for s in topology.service(settings, "edge").secrets}
    mounts = []
    for name in edge.SECRETS:
        path = tmp / name
        path.write_text(settings[name])
        os.chown(path, int(spec[name]["uid"]), int(spec[name]["gid"]))
        path.chmod(spec[name]["mode"])
        mounts += ["-v", f"{path}:/run/secrets/{name}:ro"]
    http_port, https_port = free_port(), free_port()
    name = f"it-edge-{secrets.token_hex(4)}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name,
                    "-p", f"127.0.0.1:{http_port}:{edge.HTTP_PORT}", "-p", f"127.0.0.1:{https_port}:{edge.HTTPS_PORT}",
                    "-v", f"{tmp / 'Caddyfile'}:/etc/caddy/Caddyfile:ro", *mounts, IMAGE],
                   check=True, capture_output=True)
    try:
        wait_for_http(f"http://127.0.0.1:{http_port}/", timeout=60, ok=(308,))
        yield {"http": http_port, "https": https_port, "mounts": mounts}
    finally:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        print(logs.stdout[-3000:], logs.stderr[-3000:])
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_the_http_redirect_names_the_public_host_whatever_the_host_header(caddy):
    for forged in ("evil.example", "evil.example:18300", f"{HOST}.evil.example"):
        r = requests.get(f"http://127.0.0.1:{caddy['http']}/hub/login?next=%2Fhub%2Fhome",
                         headers={"Host": forged}, allow_redirects=False, timeout=30)
        assert r.status_code == 308
        assert r.headers["Location"] == f"https://{HOST}:18300/hub/login?next=%2Fhub%2Fhome", r.headers["Location"]


def test_caddy_reads_its_key_and_no_other_user_in_the_container_does(caddy):
    context = ssl.create_default_context(cafile=None)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", caddy["https"]), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname=HOST) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der, "caddy served no certificate: it could not read the key"
    other = subprocess.run(["docker", "run", "--rm", "--user", "1000:1000", "--entrypoint", "cat", *caddy["mounts"],
                            IMAGE, "/run/secrets/tls_key"], capture_output=True, text=True)
    assert other.returncode != 0 and "Permission denied" in other.stderr, "another user read the TLS key"
    assert "PRIVATE KEY" not in other.stdout
