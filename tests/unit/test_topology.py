"""The topology: every running service declared once, the stack and the hub's services made from it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from traitlets.config import Config

from astrohub import config, courses, edge, topology
from astrohub.settings import load

ROOT = Path(__file__).resolve().parents[2]
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
# Two courses, OpenID Connect login, a registry with a pull login, the edge with an
# institution's certificate and a redirect port, no internet for user servers.
FULL = {
    "stack_name": "big", "public_url": "https://hub.example.org", "redirect_port": "80",
    "courses": "astro101:teachers-astro101:students-astro101,astro201:teachers-astro201",
    "authenticator": "oidc", "registry": "registry.example.org:5000", "registry_user": "pull",
    "registry_password": "pull-secret", "tls_certificate": PEM, "tls_key": KEY, "user_internet": "false",
    "crypt_key": "ab" * 32, "datacentre_token": "dc" * 16, "dashboards_token": "db" * 16,
    "kcdc_authorize_url": "https://kcdc.example/o/authorize/", "kcdc_token_url": "https://kcdc.example/o/token/",
    "kcdc_userinfo_url": "https://kcdc.example/o/userinfo/", "kcdc_client_id": "hub", "kcdc_client_secret": "s3cret",
}


def settings(**env):
    return load({f"ASTROHUB_{k.upper()}": v for k, v in env.items()}, secrets_dir="/nonexistent")


def rendered(s, tmp_path) -> dict:
    files = {key: tmp_path / key for key in topology.file_keys(s)}
    for path in files.values():
        path.write_text(path.name)
    (tmp_path / "hub.env").write_text("ASTROHUB_LOG_LEVEL=INFO\n")
    return topology.render(s, topology.StackFiles.of(tmp_path / "hub.env", files))


def test_the_full_stack_has_each_service_once_with_its_networks_secrets_and_limits(tmp_path):
    s = settings(**FULL)
    stack = rendered(s, tmp_path)
    svc = stack["services"]
    assert list(svc) == ["edge", "proxy", "hub", "dockerfilter", "datacentre", "dashboards", "egress", "prepull",
                         "ngshare", "formgrader-astro101", "formgrader-astro201"]
    networks = {name: set(entry.get("networks") or {}) for name, entry in svc.items()}
    assert networks == {
        "edge": {"backend"}, "proxy": {"users", "backend"}, "hub": {"users", "backend", "docker"},
        "dockerfilter": {"docker"}, "datacentre": {"backend"}, "dashboards": {"backend"},
        "egress": {"users", "egress"}, "prepull": set(), "ngshare": {"backend"},
        "formgrader-astro101": {"backend"}, "formgrader-astro201": {"backend"}}
    # Only the hub and the Docker filter share `docker`; the user network has no way out.
    assert stack["networks"]["users"] == {"driver": "overlay", "attachable": True, "internal": True}
    assert "attachable" not in stack["networks"]["docker"]
    # Every image comes from the registry with this release's tag.
    assert all(entry["image"].startswith("registry.example.org:5000/astrohub/") and
               entry["image"].endswith(f":{s.image_tag}") for entry in svc.values())

    def secrets(name):
        return {x["source"]: x for x in svc[name].get("secrets", [])}

    assert set(secrets("hub")) == {*topology.GENERATED_SECRETS, *topology.HUB_PROVIDED_SECRETS, "registry_password"}
    assert set(secrets("proxy")) == {"proxy_token"} and set(secrets("datacentre")) == {"datacentre_token"}
    assert set(secrets("edge")) == {"tls_certificate", "tls_key"}
    assert secrets("edge")["tls_key"] == {"source": "tls_key", "target": "tls_key", "uid": edge.CADDY_UID,
                                          "gid": edge.CADDY_UID, "mode": 0o400}
    # Each course service reads its own token, as jovyan alone.
    assert secrets("formgrader-astro201") == {"astro201_token": {
        "source": "astro201_token", "target": "service_token", "uid": "1000", "gid": "1000", "mode": 0o400}}
    assert stack["secrets"]["astro201_token"] == {"external": True, "name": "big_service_astro201_token"}
    assert stack["secrets"]["tls_key"]["file"] == str(tmp_path / "tls_key")
    # No service holds a secret it is not given: none but the hub holds the crypt key.
    holders = [name for name in svc if "crypt_key" in secrets(name)]
    assert holders == ["hub"]
    limits = {name: entry["deploy"].get("resources", {}).get("limits") for name, entry in svc.items()}
    assert limits["dashboards"] == {"memory": s.dashboards_mem_limit, "cpus": "1.0"}
    assert limits["formgrader-astro101"] == {"memory": s.mem_limit}
    assert limits["hub"] is None  # the hub is never killed for memory
    assert all(limits[name] for name in svc if name != "hub")
    assert svc["egress"]["deploy"]["replicas"] == 0  # user_internet off
    assert svc["prepull"]["deploy"] == {"mode": "global", "resources": {"limits": {"memory": "16M", "cpus": "0.01"}}}
    assert svc["edge"]["ports"] == [
        {"target": edge.HTTPS_PORT, "published": 8000, "protocol": "tcp", "mode": "host"},
        {"target": edge.HTTP_PORT, "published": 80, "protocol": "tcp", "mode": "host"}]
    assert [name for name, entry in svc.items() if "ports" in entry] == ["edge"]  # the one public entry
    assert set(stack["volumes"]) == {"edge-data", "hub-data", "datacentre-results", "ngshare-data",
                                     "course-astro101", "course-astro201", "library-astro101", "library-astro201",
                                     "folder-astro101", "folder-astro201"}


def test_without_courses_there_is_no_exchange_and_the_proxy_has_no_alias(tmp_path):
    svc = rendered(settings(), tmp_path)["services"]
    assert "ngshare" not in svc and not any(name.startswith("formgrader-") for name in svc)
    assert svc["proxy"]["networks"] == {"users": None, "backend": {"aliases": ["proxy-api"]}}
    assert svc["egress"]["deploy"]["replicas"] == 1


def test_with_user_subdomains_servers_call_the_proxy_by_the_public_host(tmp_path):
    s = settings(public_url="https://hub.localhost:18443", user_subdomains="true")
    proxy = rendered(s, tmp_path)["services"]["proxy"]
    assert proxy["networks"]["users"] == {"aliases": ["hub.localhost"]}
    assert proxy["environment"]["PROXY_HOST_ROUTING"] == "1"
    c = config.apply(s, Config())
    assert c.AstroSwarmSpawner.environment["KCDC_URL"] == "http://hub.localhost:8000/services/datacentre/"


def test_the_hubs_services_are_the_topologys_with_their_urls_and_tokens():
    s = settings(**FULL)
    c = config.apply(s, Config())
    by_name = {entry["name"]: entry for entry in c.JupyterHub.services}
    for svc in topology.hub_services(s):
        entry = by_name[svc.hub.name]
        assert entry["url"] == f"http://{svc.name}:{svc.port}"
        assert entry["api_token"] == svc.hub.token
        # The service is told its name, route and where the hub is, as the hub tells its own services.
        if svc.hub.oauth:
            assert svc.environment["JUPYTERHUB_SERVICE_PREFIX"] == f"/services/{svc.hub.name}/"
            assert svc.environment["JUPYTERHUB_API_URL"] == topology.HUB_API_URL
            assert svc.environment["JUPYTERHUB_SERVICE_URL"].endswith(f":{svc.port}")
            assert svc.environment["JUPYTERHUB_API_TOKEN_FILE"] == f"/run/secrets/{svc.secrets[0].target}"
    assert by_name["datacentre"]["api_token"] == "dc" * 16
    assert by_name["astro101"]["api_token"] == courses.service_token(s, "astro101")
    # The hub-only services are not Swarm services.
    assert {"ops", "idle-culler"} <= set(by_name) and not {"ops", "idle-culler"} & {x.name for x in topology.services(s)}


def test_services_reach_each_other_by_the_topologys_addresses():
    s = settings(**FULL)
    dashboards = topology.service(s, "dashboards")
    assert dashboards.environment["KCDC_URL"] == "http://datacentre:10101/services/datacentre/"
    formgrader = topology.service(s, "formgrader-astro101")
    assert formgrader.environment["ASTROHUB_EXCHANGE_URL"] == f"{topology.service(s, 'ngshare').url}/services/ngshare"
    hub = topology.service(s, "hub")
    assert hub.environment["DOCKER_HOST"] == f"tcp://dockerfilter:{topology.service(s, 'dockerfilter').port}"
    assert topology.service(s, "dockerfilter").command[-1] == "big-user-"
    assert config.apply(s, Config()).AstroSwarmSpawner.network_name == "big_users"
    with pytest.raises(KeyError, match="no service 'nope'.*there are edge, proxy"):
        topology.service(s, "nope")


def test_the_data_services_address_is_written_in_one_place():
    """``datacentre:10101`` (its name and port on the backend network) only in the topology."""
    found = []
    for folder in ("src", "images", "swarm", "jupyterhub_config.py"):
        for path in ([ROOT / folder] if (ROOT / folder).is_file() else (ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".pyc", ".h5", ".parquet") and path.name != "topology.py":
                text = path.read_text(errors="ignore")
                if re.search(r"datacentre:\d+|DATACENTRE_PORT = ", text):
                    found.append(str(path.relative_to(ROOT)))
    assert found == []


def test_docker_reads_the_rendered_file(tmp_path):
    """`docker stack config` (the client alone, no daemon) parses and merges it as `docker stack deploy` does."""
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(rendered(settings(**FULL), tmp_path)))
    r = subprocess.run(["docker", "stack", "config", "-c", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "formgrader-astro201:" in r.stdout and "big_service_astro201_token" in r.stdout


def test_forwarding_to_kcdc_gives_the_password_to_the_data_service_alone(tmp_path):
    s = settings(kcdc_upstream_url="https://kcdc.iap.kit.edu/", kcdc_upstream_username="astro-op",
                 kcdc_upstream_password="op-secret")
    svc = rendered(s, tmp_path)["services"]
    env = svc["datacentre"]["environment"]
    assert env["DATACENTRE_UPSTREAM_URL"] == "https://kcdc.iap.kit.edu"
    assert (env["DATACENTRE_UPSTREAM_KIND"], env["DATACENTRE_UPSTREAM_USERNAME"]) == ("portal", "astro-op")
    assert env["DATACENTRE_UPSTREAM_PASSWORD_FILE"] == "/run/secrets/astrohub_kcdc_upstream_password"
    # The real KASCADE shop is not hidden behind the bundled simulated one of the same id.
    assert env["KCDC_PORTAL_SHOPS"].split("=")[0] not in {"kascade", "kascade-grande", "tunka133"}
    holders = [name for name, entry in svc.items()
               if any(x["source"] == "kcdc_upstream_password" for x in entry.get("secrets", []))]
    assert holders == ["datacentre"]
    assert "op-secret" not in json.dumps(svc)
    api = rendered(settings(kcdc_upstream_url="https://dc.example/services/datacentre/", kcdc_upstream_kind="api"),
                   tmp_path)["services"]["datacentre"]["environment"]
    assert api["DATACENTRE_UPSTREAM_TOKEN_FILE"] == "/run/secrets/astrohub_kcdc_upstream_password"
    assert "KCDC_PORTAL_SHOPS" not in api
    assert "DATACENTRE_UPSTREAM_URL" not in rendered(settings(), tmp_path)["services"]["datacentre"].get("environment")
