"""Open data in the stack: a student's notebook asks the datacentre through kcdc."""

import json

import pytest
import requests

from astrohub.hubapi import HubError

USER = "grace"
OTHER = "hopper"

REQUEST_CODE = """
import kcdc, json
client = kcdc.Client(progress=False)
shops = [s["id"] for s in client.datashops()]
r = client.request("kascade", ["E", "Ze", "Ne", "Nmu"], cuts=[("E", ">", 16.0), ("Ze", "<", 30)], format="hdf5")
r.wait(timeout=120)
df = r.to_pandas()
print(json.dumps({"shops": shops, "id": r.id, "rows": len(df), "columns": sorted(df.columns),
                  "emin": float(df["E"].min()), "zemax": float(df["Ze"].max())}))
"""


@pytest.fixture(scope="module", autouse=True)
def _servers_stop_with_the_module(hub):
    yield
    for user in (USER, OTHER):
        try:
            hub.stop(user)
        except HubError:
            pass


def run_json(hub, user, code):
    text, _, _ = hub.execute(user, code, timeout=180)
    return json.loads(text.strip().splitlines()[-1])


def test_a_notebook_gets_data_through_the_kcdc_client(hub):
    hub.create_user(USER)
    hub.start(USER)
    out = run_json(hub, USER, REQUEST_CODE)
    assert "kascade" in out["shops"]
    assert out["rows"] > 100
    assert out["columns"] == ["E", "Ne", "Nmu", "Ze"]
    assert out["emin"] > 16.0 and out["zemax"] < 30


def test_another_student_cannot_read_that_request(hub, stack):
    hub.create_user(OTHER)
    mine = run_json(hub, USER, "import kcdc, json; print(json.dumps({'id': kcdc.Client(progress=False).list()[0].id}))")["id"]
    token = hub.user_token(OTHER, scopes=["access:services!service=datacentre"])
    url = f"{stack.local_url}/services/datacentre/api/requests/{mine}"
    headers = {"Authorization": f"token {token}"}
    assert requests.get(url, headers=headers, timeout=30).status_code == 403
    assert requests.get(url + "/file", headers=headers, timeout=30).status_code == 403
    assert requests.delete(url, headers=headers, timeout=30).status_code == 403
    # ... and the request is still there for its owner.
    again = run_json(hub, USER, f"import kcdc, json; print(json.dumps({{'state': kcdc.Client(progress=False).get({mine!r}).state}}))")
    assert again["state"] == "Finished"


def test_the_data_service_refuses_anonymous_calls(stack):
    r = requests.get(f"{stack.local_url}/services/datacentre/api/requests", timeout=30)
    assert r.status_code in (401, 403)
