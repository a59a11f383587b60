"""The provider's access token reaches the user's Swarm service as a docker secret.

Issue 19, item 10: it was in the service's environment, which `docker service
inspect` shows to whoever reads service specs. A real hub with OpenID Connect login
(both test providers) spawns with astrohub's Swarm spawner into this machine's real
Swarm (the server cannot reach a hub on the host's loopback, which does not matter
here: the service, its spec and its container are what is looked at).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest
import requests

from astrohub.settings import VERSION

from tests.support import needs
from tests.support.hub import wait_until
from tests.support.oidc.loginhub import login_hub

IMAGE = f"astrohub/singleuser:{os.environ.get('ASTROHUB_IMAGE_TAG', VERSION)}"
PREFIX = f"it-{secrets.token_hex(3)}-user"
SERVICE = f"{PREFIX}-kcdc-2dada"  # dockerspawner escapes '-' in user names


def docker(*args, check=True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    needs.docker_image(IMAGE, swarm=True)
    network = f"{PREFIX}-net"
    docker("network", "create", "--driver", "overlay", "--attachable", network)
    config = [
        "c.JupyterHub.spawner_class = 'astrohub.spawner.AstroSwarmSpawner'",
        f"c.AstroSwarmSpawner.image = {IMAGE!r}",
        f"c.AstroSwarmSpawner.prefix = {PREFIX!r}",
        f"c.AstroSwarmSpawner.network_name = {network!r}",
        "c.AstroSwarmSpawner.use_internal_ip = True",
        "c.AstroSwarmSpawner.extra_endpoint_spec = {'mode': 'dnsrr'}",
        "c.AstroSwarmSpawner.extra_task_spec = {'restart_policy': {'Condition': 'none'}}",
        "c.AstroSwarmSpawner.pin_homes = False",
        "c.AstroSwarmSpawner.start_timeout = 90",
        "c.AstroSwarmSpawner.http_timeout = 90",
    ]
    try:
        with login_hub(tmp_path_factory.mktemp("secret-login"), token_seconds=600, extra_config=config) as e:
            yield e
    finally:
        for name in docker("service", "ls", "-q", "--filter", f"name={PREFIX}", check=False).split():
            docker("service", "rm", name, check=False)
        wait_until(lambda: not docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={SERVICE}",
                                      check=False).strip(), timeout=60, what="containers gone")
        for name in docker("secret", "ls", "-q", "--filter", f"label=astrohub.user-service={SERVICE}", check=False).split():
            docker("secret", "rm", name, check=False)
        docker("network", "rm", network, check=False)


def running_container() -> str:
    return docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={SERVICE}").strip()


def test_the_token_is_a_secret_of_the_users_service_not_in_its_spec(env):
    env.login("kcdc", "ada")
    token = env.auth_state("kcdc-ada")["access_token"]
    env.hub.api("POST", "users/kcdc-ada/server")
    container = wait_until(running_container, timeout=90, interval=0.5, what="the user's container")
    spec = docker("service", "inspect", SERVICE)
    assert token not in spec, "the provider token is in the service's spec"
    container_spec = json.loads(spec)[0]["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert "KCDC_ACCESS_TOKEN_FILE=/run/secrets/kcdc_access_token" in container_spec["Env"]
    [ref] = container_spec["Secrets"]
    assert ref["File"] == {"Name": "kcdc_access_token", "UID": "1000", "GID": "1000", "Mode": 0o400}
    # the server's user reads it; nobody else in the container does
    assert docker("exec", container, "cat", "/run/secrets/kcdc_access_token") == token
    other = subprocess.run(["docker", "exec", "--user", "1001", container, "cat", "/run/secrets/kcdc_access_token"],
                           capture_output=True, text=True)
    assert other.returncode != 0 and token not in other.stdout


def test_the_secret_goes_with_the_server(env):
    requests.delete(env.hub.api_url + "/users/kcdc-ada/server", timeout=120,
                    headers={"Authorization": f"token {env.hub.admin_token}"})
    wait_until(lambda: not docker("service", "ls", "-q", "--filter", f"name={SERVICE}").strip(),
               timeout=240, interval=1, what="the service removed")
    wait_until(lambda: not docker("secret", "ls", "-q", "--filter", f"label=astrohub.user-service={SERVICE}").strip(),
               timeout=60, interval=1, what="the secret removed")
