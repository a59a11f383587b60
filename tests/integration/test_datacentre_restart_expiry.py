"""A restart of the datacentre mid-request, and the expiry and purge of results.

Both on the ``datacentre-slow`` instance: one worker thread, 1 s per Parquet part
(3 parts per request), results expire after 5 s, expired requests are forgotten 3 s later.
"""
from __future__ import annotations

import pytest
import requests

from tests.support.hub import wait_until

pytestmark = pytest.mark.slow


def _get(stack, user, rid):
    return requests.get(stack.slow.url + f"api/requests/{rid}", headers=stack.headers(user), timeout=30)


def _state(stack, user, rid):
    return _get(stack, user, rid).json()


def test_restart_mid_request_finishes_or_fails_with_reason(stack):
    slow = stack.slow
    url = slow.url
    r1 = requests.post(url + "api/requests", headers=stack.headers("alice"), json={
        "datashop": "kascade-test", "columns": ["E", "Ev"], "format": "hdf5",
        "cuts": [{"column": "E", "op": ">", "value": 15.0}, {"column": "Ev", "op": "<", "value": 2400}]})
    r2 = requests.post(url + "api/requests", headers=stack.headers("bob"), json={
        "datashop": "kascade-test", "columns": ["Ze"], "format": "csv",
        "cuts": [{"column": "Ze", "op": "<", "value": 30}]})
    assert r1.status_code == 201 and r2.status_code == 201, (r1.text, r2.text)
    id1, id2 = r1.json()["id"], r2.json()["id"]
    # wait until the first is Running and part-way through (one worker: the second waits)
    wait_until(lambda: (lambda m: m["state"] == "Running" and m["progress"] > 0)(_state(stack, "alice", id1)),
               timeout=20, what="request 1 running")
    assert _state(stack, "bob", id2)["state"] == "Scheduled"

    slow.kill()  # no clean shutdown: as in a crash or an OOM kill
    down = requests.get(url + f"api/requests/{id1}", headers=stack.headers("alice"), timeout=30)
    assert down.status_code >= 500  # the proxy cannot reach the service
    slow.start()

    for user, rid in (("alice", id1), ("bob", id2)):
        m = wait_until(lambda: (lambda m: m if m["state"] in ("Finished", "Failed") else None)(
            _state(stack, user, rid)), timeout=30, what=f"{rid} done after restart")
        assert m["state"] in ("Finished", "Failed")
        if m["state"] == "Failed":
            assert m["reason"], m
        else:
            assert m["rows"] > 0 and m["progress"] == 1.0
            assert requests.get(url + f"api/requests/{rid}/file", headers=stack.headers(user)).status_code == 200
    # 1 of 3 attempts used: re-queued and finished, not failed (it may have expired since: 5 s)
    final = _state(stack, "alice", id1)
    assert final["state"] in ("Finished", "Expired"), final
    assert "re-queued" in slow.log()
    # nothing is left Scheduled or Running in the database
    assert not [j for j in slow.db_rows("jobs") if j["state"] in ("Scheduled", "Running")]


def test_expiry_and_purge(stack):
    slow = stack.slow
    url = slow.url
    body = {"datashop": "kascade-test", "columns": ["Age"], "format": "parquet",
            "cuts": [{"column": "Age", "op": ">", "value": 1.0}]}
    r = requests.post(url + "api/requests", headers=stack.headers("alice"), json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    done = wait_until(lambda: (lambda m: m if m["state"] == "Finished" else None)(_state(stack, "alice", rid)),
                      timeout=30, what="finished")
    assert done["expires_at"]
    assert requests.get(url + f"api/requests/{rid}/file", headers=stack.headers("alice")).status_code == 200
    job = next(j for j in slow.db_rows("jobs") if j["key"] == done["key"] and j["state"] == "Finished")
    assert (slow.results_dir / job["id"]).exists()

    wait_until(lambda: _state(stack, "alice", rid)["state"] == "Expired", timeout=15, what="expired")
    gone = requests.get(url + f"api/requests/{rid}/file", headers=stack.headers("alice"))
    assert gone.status_code == 410 and "submit the request again" in gone.json()["message"]
    assert not (slow.results_dir / job["id"]).exists()  # purged from the volume

    # the same selection again makes a fresh job (the expired one is not reused)
    again = requests.post(url + "api/requests", headers=stack.headers("alice"), json=body)
    assert again.status_code == 201 and again.json()["id"] != rid and again.json()["state"] != "Expired"

    # later the expired request is forgotten altogether
    wait_until(lambda: _get(stack, "alice", rid).status_code == 404, timeout=15, what="forgotten")
    assert job["id"] not in [j["id"] for j in slow.db_rows("jobs")]
    requests.delete(url + f"api/requests/{again.json()['id']}", headers=stack.headers("alice"))


def test_removing_a_running_request_cancels_its_job(stack):
    slow = stack.slow
    h = stack.headers("bob")
    r = requests.post(slow.url + "api/requests", headers=h, json={
        "datashop": "kascade-test", "columns": ["Gt"], "format": "root",
        "cuts": [{"column": "Gt", "op": ">", "value": 900_000_000}]})
    rid, key = r.json()["id"], r.json()["key"]
    wait_until(lambda: _state(stack, "bob", rid)["state"] == "Running", timeout=20, what="running")
    d = requests.delete(slow.url + f"api/requests/{rid}", headers=h)
    assert d.status_code == 202 and d.json()["state"] == "Deleting"
    wait_until(lambda: _get(stack, "bob", rid).status_code == 404, timeout=10, what="request gone")
    job = wait_until(lambda: next((j for j in slow.db_rows("jobs") if j["key"] == key
                                   and j["state"] == "Failed"), None), timeout=10, what="job cancelled")
    assert job["cancel"] and job["active_key"] is None
    wait_until(lambda: not (slow.results_dir / ".tmp" / job["id"]).exists(), timeout=10, what="partial removed")
    assert not (slow.results_dir / job["id"]).exists()
