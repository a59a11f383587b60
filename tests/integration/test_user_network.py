"""An older stack's `users` network is not internal: a deploy over it must stop and
say what to do, because Docker keeps an existing network as it is (real Docker)."""

from pathlib import Path

import pytest

from astrohub import settings
from astrohub.deploy import DeployError, Stack, docker

ROOT = Path(__file__).resolve().parents[2]
STACK = "netcheck-users"


@pytest.fixture
def target():
    target = Stack(ROOT, settings.load({"ASTROHUB_STACK_NAME": STACK}, secrets_dir="/nonexistent"))
    yield target
    docker("network", "rm", f"{STACK}_users", check=False)


def test_a_deploy_over_a_users_network_with_a_gateway_is_refused(target):
    docker("network", "create", "--driver", "overlay", "--attachable", f"{STACK}_users")
    with pytest.raises(DeployError, match="make down.*make up"):
        target.check_user_network()


def test_an_internal_users_network_passes(target):
    docker("network", "create", "--driver", "overlay", "--attachable", "--internal", f"{STACK}_users")
    target.check_user_network()
