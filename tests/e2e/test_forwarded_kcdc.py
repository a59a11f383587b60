"""Real KCDC data through the stack (issue 20): the data service forwards a data shop to the
KCDC portal, here its double (tests/support/kcdc_portal.py) running as a service on the
stack's backend network, logged in with the operator's account from a docker secret; a
student without a KCDC account gets that data through the hub, under the hub's limits."""

from __future__ import annotations

import pytest

import kcdc
from astrohub.deploy import docker
from tests.support.hub import wait_until
from tests.support.kcdc_portal import Events

from .conftest import E2E_ENV, ROOT

STUDENT = "marie"
# The portal's KASCADE shop as the stack names it: the bundled simulated `kascade` stays local.
FORWARDED = "kcdc-kascade"


@pytest.fixture(scope="module")
def portal(stack):
    """The portal double, with the account the stack's settings name and its password secret."""
    name = E2E_ENV["ASTROHUB_KCDC_UPSTREAM_URL"].split("//")[1].split(":")[0]
    docker("service", "rm", name, check=False)
    docker("service", "create", "--detach", "--name", name, "--network", f"{stack.name}_backend",
           "--endpoint-mode", "dnsrr", "--restart-condition", "none", "--no-healthcheck",
           "--constraint", "node.role == manager",
           "--mount", f"type=bind,source={ROOT},target=/opt/checkout,readonly",
           "--secret", f"source={stack.name}_kcdc_upstream_password,target=portal_password",
           "--workdir", "/opt/checkout", "--env", "PYTHONPATH=/opt/checkout:/opt/astrohub/src",
           f"astrohub/datacentre:{stack.settings.image_tag}",
           "python", "-m", "tests.support.kcdc_portal", "--port", "8080",
           "--user", E2E_ENV["ASTROHUB_KCDC_UPSTREAM_USERNAME"], "--password-file", "/run/secrets/portal_password")
    yield name
    docker("service", "rm", name, check=False)


def test_a_student_gets_kcdc_data_forwarded_by_the_stack(stack, hub, portal, tmp_path):
    hub.create_user(STUDENT)
    token = hub.user_token(STUDENT, scopes=["access:services!service=datacentre"])
    client = kcdc.Client(url=f"{stack.local_url}/services/datacentre/", token=token, cache_dir=tmp_path,
                         poll_interval=0.5, progress=False, portal=False)

    def listed():
        return {s["id"]: s for s in client.datashops()}.get(FORWARDED)

    shop = wait_until(listed, timeout=180, interval=2, what=f"the portal's {FORWARDED} listed by the stack's data service")
    assert shop["upstream"] is True
    assert next(s for s in client.datashops() if s["id"] == "kascade")["upstream"] is False

    req = client.request(FORWARDED, ["E", "Ne", "Ev"], cuts=[("E", ">", 15.5)], format="csv")
    req.wait(timeout=180)
    frame = req.to_pandas()
    # The double's events are made from a fixed seed: the same selection, made here.
    events = Events.synthetic()
    wanted = events.components["array"]["E"] > 15.5
    assert sorted(frame["Ev"]) == sorted(events.general["Ev"][wanted])
    assert frame["Ne"].isna().any()  # KCDC's -1: not measured

    logs = docker("service", "logs", "--raw", f"{stack.name}_datacentre", check=False)
    assert E2E_ENV["ASTROHUB_KCDC_UPSTREAM_PASSWORD"] not in logs.stdout + logs.stderr
