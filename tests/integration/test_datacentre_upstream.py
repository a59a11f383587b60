"""Forwarding a data shop to an upstream KCDC-API server (a second datacentre instance).

The datacentre under test forwards ``tunka-remote``, which only the upstream has; it
authenticates upstream with its own hub service token (role ``datacentre-forwarder``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import requests

from tests.support.hub import wait_until


def _upstream_frame(stack) -> pd.DataFrame:
    parts = sorted((Path(stack.upstream.data_root) / "tunka-remote").glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts]).reset_index(drop=True)


def test_forwarded_shop_is_listed_with_its_metadata(stack):
    def listed():
        r = requests.get(stack.dc.url + "api/datashops", headers=stack.headers("alice")).json()
        return next((s for s in r["datashops"] if s["id"] == "tunka-remote"), None)
    shop = wait_until(listed, timeout=20, what="upstream shop listed")
    assert shop["upstream"] is True and shop["simulated"] is True
    detail = requests.get(stack.dc.url + "api/datashops/tunka-remote", headers=stack.headers("alice")).json()
    assert "E" in detail["columns"] and detail["columns"]["E"]["kind"] == "float"
    # validation happens locally: an unknown column never reaches the upstream
    before = stack.upstream.db_count("requests")
    r = requests.post(stack.dc.url + "api/requests", headers=stack.headers("alice"),
                      json={"datashop": "tunka-remote", "columns": ["Nope"]})
    assert r.status_code == 400 and "Nope" in r.json()["message"]
    assert stack.upstream.db_count("requests") == before


def test_forwarded_request_is_fetched_once_and_cached(stack, tmp_path):
    wait_until(lambda: any(s["id"] == "tunka-remote" for s in requests.get(
        stack.dc.url + "api/datashops", headers=stack.headers("alice")).json()["datashops"]), timeout=20)
    body = {"datashop": "tunka-remote", "columns": ["E", "Ze", "Ev"], "format": "root",
            "cuts": [{"column": "E", "op": ">", "value": 16.5}]}
    r = requests.post(stack.dc.url + "api/requests", headers=stack.headers("alice"), json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    done = wait_until(lambda: (lambda m: m if m["state"] in ("Finished", "Failed") else None)(
        requests.get(stack.dc.url + f"api/requests/{rid}", headers=stack.headers("alice")).json()), timeout=30)
    assert done["state"] == "Finished", done
    f = requests.get(stack.dc.url + f"api/requests/{rid}/file", headers=stack.headers("alice"))
    assert f.status_code == 200
    path = tmp_path / "x.root"
    path.write_bytes(f.content)
    import uproot

    want = _upstream_frame(stack)
    want = want[want.E > 16.5]
    with uproot.open(path) as t:
        ev = t["events"]["Ev"].array(library="np")
    np.testing.assert_array_equal(np.sort(ev), np.sort(want.Ev.to_numpy()))
    assert done["rows"] == len(want)

    # upstream saw exactly one request, made by the datacentre's service identity
    up = [q for q in stack.upstream.db_rows("requests") if q["owner"] == "service/datacentre"]
    assert len(up) == 1
    # a second user asking the same is served from the cached result: no new upstream request
    r2 = requests.post(stack.dc.url + "api/requests", headers=stack.headers("bob"), json=body)
    assert r2.status_code == 201 and r2.json()["key"] == done["key"] and r2.json()["state"] == "Finished"
    assert requests.get(stack.dc.url + f"api/requests/{r2.json()['id']}/file",
                        headers=stack.headers("bob")).content == f.content
    assert len([q for q in stack.upstream.db_rows("requests") if q["owner"] == "service/datacentre"]) == 1


def test_a_forwarded_shop_is_held_to_this_services_limits(stack):
    """Issue 19, item 10: forwarded shops skipped max_rows and max_bytes."""
    wait_until(lambda: any(s["id"] == "tunka-big" for s in requests.get(
        stack.dc.url + "api/datashops", headers=stack.headers("alice")).json()["datashops"]), timeout=20)
    r = requests.post(stack.dc.url + "api/requests", headers=stack.headers("alice"),
                      json={"datashop": "tunka-big", "columns": ["E", "Ze"], "format": "csv"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    done = wait_until(lambda: (lambda m: m if m["state"] in ("Finished", "Failed") else None)(
        requests.get(stack.dc.url + f"api/requests/{rid}", headers=stack.headers("alice")).json()), timeout=30)
    assert done["state"] == "Failed", "3000 forwarded rows passed max_rows = 2500"
    assert "3000 rows" in done["reason"] and "max_rows = 2500" in done["reason"], done["reason"]
    assert requests.get(stack.dc.url + f"api/requests/{rid}/file", headers=stack.headers("alice")).status_code != 200
    # and the upstream was told to drop what was refused here
    upstream = [q for q in stack.upstream.db_rows("requests") if q["owner"] == "service/datacentre"]
    jobs = {j["id"]: j for j in stack.upstream.db_rows("jobs")}
    big = [q for q in upstream if jobs.get(q["job_id"], {}).get("datashop") == "tunka-big"]
    assert big == [] or all(q["deleting"] for q in big), big
