"""The data service forwards a data shop to the KCDC portal (its double, tests/support/kcdc_portal.py)
with the operator's KCDC account: students without a KCDC account get KCDC data through the hub,
the hub's per-user limits still apply, and the operator's password never shows."""
from __future__ import annotations

import io
import time

import pandas as pd
import pytest
import requests

import kcdc
from tests.support.datacentre import DatacentreProcess
from tests.support.hub import HubProcess, wait_until
from tests.support.kcdc_portal import KCDCPortal

OPERATOR_PASSWORD = "operator-secret-7f3a"


def _local_copy(portal, folder):
    """The portal's events with an array row as a local data shop of the hub (Parquet)."""
    import json

    ev = portal.portal.events
    arr = ev.components["array"]
    has = arr.notna().all(axis=1)
    frame = pd.concat([ev.general[has].drop(columns=["Datetime"]), arr[has]], axis=1).reset_index(drop=True)
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-00000.parquet", index=False)
    (folder / "datashop.json").write_text(json.dumps({"id": "kascade-local", "title": "copy of the portal's events",
                                                      "experiment": "KASCADE", "simulated": False}))


@pytest.fixture(scope="module")
def fwd(tmp_path_factory):
    base = tmp_path_factory.mktemp("kcdc-forward")
    portal = KCDCPortal(users={"operator": OPERATOR_PASSWORD}, steps=(1.0, 1.0)).start()
    secret = base / "kcdc_upstream_password"
    secret.write_text(OPERATOR_PASSWORD + "\n")
    _local_copy(portal, base / "shops" / "kascade-local")
    dc = DatacentreProcess(base / "dc", name="datacentre-kcdc", data_root=base / "shops", env={
        "DATACENTRE_UPSTREAM_URL": portal.url, "DATACENTRE_UPSTREAM_KIND": "portal",
        "DATACENTRE_UPSTREAM_USERNAME": "operator", "DATACENTRE_UPSTREAM_PASSWORD_FILE": str(secret),
        "DATACENTRE_UPSTREAM_POLL": "0.2", "DATACENTRE_MAX_RUNNING": "1"})
    hub = HubProcess(base / "hub", services=[dc.service_entry()],
                     roles=[{"name": "user", "scopes": ["self", "access:services!service=datacentre-kcdc"]}])
    try:
        dc.start(hub)
        hub.start()
        tokens = {}
        for name in ("student", "other"):
            hub.create_user(name)
            tokens[name] = hub.create_token(name)
        yield portal, dc, tokens
    finally:
        dc.stop()
        hub.stop()
        portal.stop()


def test_a_student_gets_kcdc_data_through_the_hub(fwd, tmp_path):
    portal, dc, tokens = fwd
    c = kcdc.Client(url=dc.url, token=tokens["student"], cache_dir=tmp_path, poll_interval=0.2, portal=False)
    shop = wait_until(lambda: next((s for s in c.datashops() if s["id"] == "kascade"), None), timeout=30,
                      what="the portal's data shop listed")
    assert shop["upstream"] is True
    cols = c.datashop("kascade")["columns"]
    assert {"E", "array_Xc", "grande_Xc", "DateTime"} <= set(cols)

    req = c.request("kascade", ["E", "Ne", "array_Xc", "Ev"], cuts=[("E", ">", 15.5)], format="csv")
    states = {req.state}
    while req.state not in ("Finished", "Failed"):
        time.sleep(0.2)
        states.add(req.refresh().state)
    assert req.state == "Finished", req.reason
    assert "Running" in states
    df = req.to_pandas()
    arr, gen = portal.portal.events.components["array"], portal.portal.events.general
    want = arr["E"] > 15.5  # strictly: KCDC's inclusive range was cut exactly by the data service
    assert sorted(df.columns) == sorted(["E", "Ne", "array_Xc", "Ev"])  # in the shop's order
    assert sorted(df["Ev"]) == sorted(gen["Ev"][want]) and req.rows == int(want.sum())
    assert df["Ne"].isna().any()  # -1 from KCDC is missing
    # the data service logged in as the operator, once; the password is in no log
    assert [u for u, ok in portal.portal.logins if ok] == ["operator"]
    assert OPERATOR_PASSWORD not in dc.log()


def test_per_user_limits_apply_to_forwarded_shops(fwd):
    portal, dc, tokens = fwd
    h = {"Authorization": f"token {tokens['other']}"}
    wait_until(lambda: any(s["id"] == "kascade" for s in requests.get(
        dc.url + "api/datashops", headers=h).json()["datashops"]), timeout=30)
    first = requests.post(dc.url + "api/requests", headers=h, json={
        "datashop": "kascade", "columns": ["E"], "cuts": [{"column": "E", "op": ">", "value": 16.9}],
        "format": "parquet"})
    assert first.status_code == 201, first.text
    second = requests.post(dc.url + "api/requests", headers=h, json={
        "datashop": "kascade", "columns": ["Ne"], "format": "parquet"})
    assert second.status_code == 429 and second.json()["limit"] == "max_running"
    rid = first.json()["id"]
    done = wait_until(lambda: (lambda m: m if m["state"] in ("Finished", "Failed") else None)(
        requests.get(dc.url + f"api/requests/{rid}", headers=h).json()), timeout=30)
    assert done["state"] == "Finished", done
    data = requests.get(dc.url + f"api/requests/{rid}/file", headers=h).content
    got = pd.read_parquet(io.BytesIO(data))
    assert (got["E"] > 16.9).all() and len(got) == int((portal.portal.events.components["array"]["E"] > 16.9).sum())


def test_the_hubs_delivery_reads_as_the_portals(fwd, tmp_path):
    """A notebook cell: kcdc.read on the hub's request.zip gives the frame kcdc.read gives on
    KCDC's request.zip for the same selection."""
    portal, dc, tokens = fwd
    cols = ["DateTime", "Gt", "Mt", "Ev", "E", "Ne", "Age"]
    hub = kcdc.Client(url=dc.url, token=tokens["student"], cache_dir=tmp_path / "a", progress=False,
                      poll_interval=0.2, portal=False)
    mine = hub.request("kascade-local", cols, cuts=[("E", ">=", 16.0)], format="ascii").wait()
    theirs = kcdc.Client(portal=True, url=portal.url, username="operator", password=OPERATOR_PASSWORD,
                         cache_dir=tmp_path / "b", progress=False, poll_interval=0.2)
    kreq = theirs.request("kascade", ["E", "Ne", "array_Age"], cuts=[("E", ">=", 16.0)], format="ascii").wait()
    a = kcdc.read(mine.download()).sort_values("Ev").reset_index(drop=True)
    b = kcdc.read(kreq.download())[cols].sort_values("Ev").reset_index(drop=True)
    pd.testing.assert_frame_equal(a[cols], b, check_dtype=False)
    assert a["Ne"].isna().any()  # -1 became missing on both sides
