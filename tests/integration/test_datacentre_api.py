"""The datacentre's REST API over real HTTP, through a real hub's proxy, with real hub tokens."""
from __future__ import annotations

import concurrent.futures as cf
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from tests.support.hub import wait_until

CUTS = [{"column": "E", "op": ">", "value": 16.0}, {"column": "Ze", "op": "between", "value": [0, 20]}]
COLUMNS = ["E", "Ze", "Mt", "Ev"]


def expected_frame(stack, shop="kascade-test") -> pd.DataFrame:
    df = pd.concat([pd.read_parquet(p) for p in sorted((Path(stack.shops_root) / shop).glob("part-*.parquet"))])
    return df.reset_index(drop=True)


def selected(stack) -> pd.DataFrame:
    df = expected_frame(stack)
    return df[(df.E > 16.0) & (df.Ze >= 0) & (df.Ze <= 20)]


def submit(stack, user, body, url=None):
    return requests.post((url or stack.dc.url) + "api/requests", json=body, headers=stack.headers(user), timeout=30)


def wait_done(stack, user, rid, url=None, timeout=60):
    def poll():
        r = requests.get((url or stack.dc.url) + f"api/requests/{rid}", headers=stack.headers(user), timeout=30)
        assert r.status_code == 200, r.text
        m = r.json()
        return m if m["state"] in ("Finished", "Failed", "Expired") else None
    return wait_until(poll, timeout=timeout, what=f"request {rid} done")


def download(stack, user, rid, tmp_path, url=None) -> Path:
    r = requests.get((url or stack.dc.url) + f"api/requests/{rid}/file", headers=stack.headers(user), timeout=60)
    assert r.status_code == 200, r.text
    name = r.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
    path = tmp_path / name
    path.write_bytes(r.content)
    return path


# ---------------------------------------------------------------------------- lifecycle
@pytest.mark.parametrize("fmt", ["hdf5", "ascii", "root", "parquet", "csv"])
def test_lifecycle_every_format(stack, fmt, tmp_path):
    body = {"datashop": "kascade-test", "columns": COLUMNS, "cuts": CUTS, "format": fmt}
    r = submit(stack, "alice", body)
    assert r.status_code in (200, 201), r.text
    model = r.json()
    assert model["state"] in ("Scheduled", "Running", "Finished")
    assert r.headers.get("Location", "").endswith(model["id"]) or r.status_code == 200
    done = wait_done(stack, "alice", model["id"])
    want = selected(stack)
    assert done["state"] == "Finished", done
    assert done["rows"] == len(want) and done["progress"] == 1.0
    assert done["size"] > 0 and done["expires_at"]
    # listed among alice's requests
    mine = requests.get(stack.dc.url + "api/requests", headers=stack.headers("alice")).json()["requests"]
    assert model["id"] in [m["id"] for m in mine]
    path = download(stack, "alice", model["id"], tmp_path)
    assert path.stat().st_size == done["size"]
    if fmt == "hdf5":
        import h5py

        with h5py.File(path) as f:
            assert set(COLUMNS) <= set(f.keys())
            assert f["E"].shape == (len(want),)
            np.testing.assert_array_equal(np.sort(f["Ev"][()]), np.sort(want.Ev.to_numpy()))
    elif fmt == "root":
        import uproot

        with uproot.open(path) as f:
            t = f["events"]
            assert set(COLUMNS) <= set(t.keys())
            assert t.num_entries == len(want)
            np.testing.assert_allclose(np.sort(t["E"].array(library="np")), np.sort(want.E.to_numpy()))
    elif fmt == "parquet":
        df = pd.read_parquet(path)
        assert list(df.columns) == ["E", "Ze", "Mt", "Ev"] and len(df) == len(want)
    elif fmt == "csv":
        df = pd.read_csv(path, comment="#")
        assert set(df.columns) == set(COLUMNS) and len(df) == len(want)
        np.testing.assert_allclose(np.sort(df.E.to_numpy()), np.sort(want.E.to_numpy()))
    elif fmt == "ascii":
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            # KCDC's request.zip: the tables, row_mapping.txt and Info.txt at the top level
            assert {"row_mapping.txt", "Info.txt", "general.txt", "array.txt"} <= set(names)
            z.extractall(tmp_path / "x")
        folder = tmp_path / "x"
        assert path.name == "request.zip"
        assert (folder / "row_mapping.txt").read_text().splitlines()[0] == "general\tarray"
        table = pd.read_csv(folder / "array.txt", sep="\t")
        assert len(table) == len(want) and {"E", "Ze"} <= set(table.columns)
        general = pd.read_csv(folder / "general.txt", sep="\t")
        assert {"Mt", "Ev"} <= set(general.columns) and len(general) == len(want)


def test_per_station_arrays_in_hdf5_and_root(stack, tmp_path):
    for fmt in ("hdf5", "root"):
        r = submit(stack, "bob", {"datashop": "kascade-arrays", "columns": ["E", "EDeposit"], "format": fmt,
                                  "cuts": [{"column": "E", "op": "<", "value": 17}]})
        assert r.status_code == 201, r.text
        done = wait_done(stack, "bob", r.json()["id"])
        assert done["state"] == "Finished", done
        path = download(stack, "bob", done["id"], tmp_path)
        if fmt == "hdf5":
            import h5py

            with h5py.File(path) as f:
                assert f["EDeposit"].shape == (done["rows"], 252)
        else:
            import uproot

            with uproot.open(path) as f:
                assert f["events"]["EDeposit"].array(library="np").shape == (done["rows"], 252)


def test_range_download_resumes(stack):
    r = submit(stack, "alice", {"datashop": "kascade-test", "columns": ["E", "Ev"], "format": "parquet",
                                "cuts": [{"column": "E", "op": ">=", "value": 15}]})
    done = wait_done(stack, "alice", r.json()["id"])
    url = stack.dc.url + f"api/requests/{done['id']}/file"
    full = requests.get(url, headers=stack.headers("alice")).content
    part = requests.get(url, headers={**stack.headers("alice"), "Range": "bytes=100-"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-{len(full) - 1}/{len(full)}"
    assert full[:100] + part.content == full
    mid = requests.get(url, headers={**stack.headers("alice"), "Range": "bytes=10-19"})
    assert mid.status_code == 206 and mid.content == full[10:20]
    bad = requests.get(url, headers={**stack.headers("alice"), "Range": f"bytes={len(full) + 5}-"})
    assert bad.status_code == 416
    head = requests.head(url, headers=stack.headers("alice"))
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(full)


def test_delete_removes_request_and_file(stack):
    r = submit(stack, "bob", {"datashop": "kascade-test", "columns": ["Ne", "Nmu"], "format": "hdf5",
                              "cuts": [{"column": "Ne", "op": ">", "value": 6.5}]})
    done = wait_done(stack, "bob", r.json()["id"])
    job_dir = stack.dc.results_dir / next(j["id"] for j in stack.dc.db_rows("jobs") if j["key"] == done["key"])
    assert job_dir.exists()
    d = requests.delete(stack.dc.url + f"api/requests/{done['id']}", headers=stack.headers("bob"))
    assert d.status_code == 202 and d.json()["state"] == "Deleting"
    wait_until(lambda: requests.get(stack.dc.url + f"api/requests/{done['id']}",
                                    headers=stack.headers("bob")).status_code == 404, what="request gone")
    wait_until(lambda: not job_dir.exists(), what="result file removed")


# ---------------------------------------------------------------------------- bad input
BAD = [
    ({"datashop": "no-such-shop", "columns": ["E"]}, 404, "no-such-shop"),
    ({"datashop": "kascade-test", "columns": ["E", "Energy"]}, 400, "Energy"),
    ({"datashop": "kascade-test", "columns": []}, 400, "columns"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E", "op": "LIKE", "value": 1}]}, 400, "operator"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E", "value": 1}]}, 400, "malformed"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": "E > 15; DROP TABLE jobs"}, 400, "cuts must be a list"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E", "op": ">", "value": "15 OR 1=1"}]}, 400, "not a number"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E\"; --", "op": ">", "value": 1}]}, 400, "unknown column"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E", "op": "between", "value": [18, 15]}]}, 400, "low <= high"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E", "op": "in", "value": []}]}, 400, "non-empty"),
    ({"datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "E", "op": ">", "value": True}]}, 400, "not a number"),
    ({"datashop": "kascade-test", "columns": ["E"], "format": "xlsx"}, 400, "hdf5"),
    ({"datashop": "kascade-arrays", "columns": ["EDeposit"], "format": "ascii"}, 400, "per-station"),
    ({"datashop": "kascade-test", "columns": ["E"], "sql": "select 1"}, 400, "unknown field"),
    ({"datashop": "kascade-test", "columns": ["E"]}, 413, "max_rows"),  # 3000 rows > limit 2500
    ({"datashop": "kascade-arrays", "columns": ["EDeposit", "MDeposit", "Arrival"]}, 413, "max_bytes"),
]


@pytest.mark.parametrize("body,status,needle", BAD, ids=[f"{i}-{b[2][:12]}" for i, b in enumerate(BAD)])
def test_bad_input_is_refused_and_creates_nothing(stack, body, status, needle):
    before = (stack.dc.db_count("requests"), stack.dc.db_count("jobs"))
    r = submit(stack, "alice", body)
    assert r.status_code == status, r.text
    err = r.json()
    assert needle.lower() in err["message"].lower(), err
    assert err["error"] and len(err["message"]) > 20
    assert (stack.dc.db_count("requests"), stack.dc.db_count("jobs")) == before


def test_limit_names_the_limit(stack):
    r = submit(stack, "alice", {"datashop": "kascade-test", "columns": ["E"]})
    assert r.status_code == 413
    e = r.json()
    assert e["error"] == "limit_exceeded" and e["limit"] == "max_rows" and e["limit_value"] == 2500
    assert "2500" in e["message"] and "add cuts" in e["message"]


def test_not_json_is_refused(stack):
    before = stack.dc.db_count("requests")
    r = requests.post(stack.dc.url + "api/requests", data="datashop=kascade-test",
                      headers={**stack.headers("alice"), "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "JSON" in r.json()["message"]
    r = requests.post(stack.dc.url + "api/requests", data="{not json",
                      headers={**stack.headers("alice"), "Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    assert stack.dc.db_count("requests") == before


def test_user_bytes_limit(stack):
    """Results a user holds count against max_user_bytes (2 MB here); removing them frees it."""
    h = {"Authorization": f"token {stack.user_token('erin')}"}
    ids, refused = [], None
    for i in range(30):
        r = requests.post(stack.dc.url + "api/requests", headers=h, json={
            "datashop": "kascade-arrays", "columns": ["E", "EDeposit"], "format": "hdf5",
            "cuts": [{"column": "E", "op": "<", "value": 18.0 - i * 0.001}]})
        if r.status_code != 201:
            refused = r
            break
        ids.append(r.json()["id"])
        wait_until(lambda: requests.get(stack.dc.url + f"api/requests/{ids[-1]}", headers=h).json()["state"]
                   == "Finished", what="finished")
    assert refused is not None and refused.status_code == 429, refused and refused.text
    e = refused.json()
    assert e["limit"] == "max_user_bytes" and e["limit_value"] == 2_000_000 and "remove requests" in e["message"]
    for rid in ids:
        requests.delete(stack.dc.url + f"api/requests/{rid}", headers=h)
    wait_until(lambda: requests.post(stack.dc.url + "api/requests", headers=h, json={
        "datashop": "kascade-arrays", "columns": ["E"], "cuts": [{"column": "E", "op": "<", "value": 15}]}
    ).status_code == 201, what="quota freed")


def test_running_limit(stack):
    """On the slow instance (1 s per part) four different requests: the fourth is refused."""
    url = stack.slow.url
    token = stack.user_token("dave")
    h = {"Authorization": f"token {token}"}
    ids = []
    try:
        for i in range(3):
            r = requests.post(url + "api/requests", headers=h, json={
                "datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "Ev", "op": "<", "value": 10 + i}]})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        before = stack.slow.db_count("requests")
        r = requests.post(url + "api/requests", headers=h, json={
            "datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "Ev", "op": "<", "value": 99}]})
        assert r.status_code == 429, r.text
        e = r.json()
        assert e["limit"] == "max_running" and e["limit_value"] == 3 and "max_running" in e["message"]
        assert stack.slow.db_count("requests") == before
        # refused before DuckDB scans the shop: a user at the limit cannot keep it counting
        counted = stack.slow.log().count("counting rows of kascade-test")
        assert counted >= 3
        for value in range(200, 205):
            r = requests.post(url + "api/requests", headers=h, json={
                "datashop": "kascade-test", "columns": ["E"], "cuts": [{"column": "Ev", "op": "<", "value": value}]})
            assert r.status_code == 429
        assert stack.slow.log().count("counting rows of kascade-test") == counted, "refused requests were counted"
    finally:
        for rid in ids:
            requests.delete(url + f"api/requests/{rid}", headers=h)


# ---------------------------------------------------------------------------- identity
def test_no_token_or_garbage_token_is_refused(stack):
    for headers in ({}, {"Authorization": "token garbage-garbage"}, {"Authorization": "Bearer 0123456789abcdef"}):
        for method, path in (("GET", "api/datashops"), ("GET", "api/requests"), ("POST", "api/requests")):
            r = requests.request(method, stack.dc.url + path, headers=headers, allow_redirects=False,
                                 json={"datashop": "kascade-test", "columns": ["E"]} if method == "POST" else None)
            assert r.status_code == 401, (headers, path, r.status_code, r.text)
            assert "token" in r.json()["message"]
    # a browser without a login is sent to the hub's OAuth login
    r = requests.get(stack.dc.url, allow_redirects=False)
    assert r.status_code == 302 and "/hub/api/oauth2/authorize" in r.headers["Location"]


def test_token_without_the_access_scope_is_refused(stack):
    limited = stack.hub.create_token("alice", scopes=["read:users:name!user=alice"])
    r = requests.get(stack.dc.url + "api/requests", headers={"Authorization": f"token {limited}"})
    assert r.status_code == 403, r.text
    assert "access:services!service=datacentre" in r.json()["message"]


@pytest.fixture(scope="module")
def alices_request(stack):
    r = submit(stack, "alice", {"datashop": "kascade-test", "columns": ["Az"], "format": "csv",
                                "cuts": [{"column": "Az", "op": "<", "value": 90}]})
    return wait_done(stack, "alice", r.json()["id"])


def test_other_user_cannot_see(stack, alices_request):
    r = requests.get(stack.dc.url + f"api/requests/{alices_request['id']}", headers=stack.headers("bob"))
    assert r.status_code == 403 and r.json()["error"] == "not_yours"
    assert "Az" not in r.text  # nothing of the request leaks


def test_other_user_cannot_list(stack, alices_request):
    r = requests.get(stack.dc.url + "api/requests", headers=stack.headers("bob"))
    assert alices_request["id"] not in [m["id"] for m in r.json()["requests"]]
    r = requests.get(stack.dc.url + "api/requests?all=1", headers=stack.headers("bob"))
    assert r.status_code == 403


def test_other_user_cannot_download(stack, alices_request):
    for rng in (None, "bytes=0-10"):
        h = stack.headers("bob") | ({"Range": rng} if rng else {})
        r = requests.get(stack.dc.url + f"api/requests/{alices_request['id']}/file", headers=h)
        assert r.status_code == 403 and r.json()["error"] == "not_yours"
    r = requests.head(stack.dc.url + f"api/requests/{alices_request['id']}/file", headers=stack.headers("bob"))
    assert r.status_code == 403


def test_other_user_cannot_delete(stack, alices_request):
    r = requests.delete(stack.dc.url + f"api/requests/{alices_request['id']}", headers=stack.headers("bob"))
    assert r.status_code == 403
    r = requests.get(stack.dc.url + f"api/requests/{alices_request['id']}", headers=stack.headers("alice"))
    assert r.status_code == 200 and r.json()["state"] == "Finished"


def test_admins_see_everything(stack, alices_request):
    for admin in ("carol", "root"):  # carol: custom:datacentre:admin scope; root: hub admin
        r = requests.get(stack.dc.url + "api/requests?all=1", headers=stack.headers(admin))
        assert r.status_code == 200
        assert alices_request["id"] in [m["id"] for m in r.json()["requests"]]
        r = requests.get(stack.dc.url + f"api/requests/{alices_request['id']}", headers=stack.headers(admin))
        assert r.status_code == 200 and r.json()["owner"] == "alice"


def test_dashboards_service_identity(stack):
    h = {"Authorization": f"token {stack.dashboards_token}"}
    info = requests.get(stack.dc.url + "api/", headers=h).json()
    assert info["you"] == {"name": "dashboards", "kind": "service", "owner": "service/dashboards", "admin": False}
    r = requests.post(stack.dc.url + "api/requests", headers=h, json={
        "datashop": "kascade-test", "columns": ["E", "Ze"], "format": "parquet",
        "cuts": [{"column": "E", "op": ">", "value": 17}]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    wait_until(lambda: requests.get(stack.dc.url + f"api/requests/{rid}", headers=h).json()["state"] == "Finished")
    assert requests.get(stack.dc.url + f"api/requests/{rid}/file", headers=h).status_code == 200
    # a user cannot read the dashboards' request
    assert requests.get(stack.dc.url + f"api/requests/{rid}", headers=stack.headers("alice")).status_code == 403


# ---------------------------------------------------------------------------- sharing
def test_thirty_identical_concurrent_requests_run_one_job(stack):
    users = [f"student{i:02d}" for i in range(30)]
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(stack.user_token, users))
    body = {"datashop": "kascade-test", "columns": ["E", "Ne", "Nmu"], "format": "hdf5",
            "cuts": [{"column": "Nmu", "op": ">", "value": 4.0}, {"column": "E", "op": ">=", "value": 15.25}]}
    # the same selection written differently (cut order, int vs float, alias): normalised to one key
    variants = [body, {**body, "cuts": list(reversed(body["cuts"])), "columns": ["Nmu", "E", "Ne", "E"]},
                {**body, "cuts": [{"column": "Nmu", "op": "gt", "value": 4}, body["cuts"][1]], "format": "h5"}]
    jobs_before = stack.dc.db_count("jobs")
    barrier_time = time.time() + 0.5

    def go(i):
        time.sleep(max(0, barrier_time - time.time()))
        return requests.post(stack.dc.url + "api/requests", json=variants[i % 3],
                             headers={"Authorization": f"token {stack.tokens[users[i]]}"}, timeout=60)

    with cf.ThreadPoolExecutor(30) as ex:
        answers = list(ex.map(go, range(30)))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    keys = {a.json()["key"] for a in answers}
    assert len(keys) == 1
    key = keys.pop()
    jobs = [j for j in stack.dc.db_rows("jobs") if j["key"] == key]
    assert len(jobs) == 1, jobs
    assert stack.dc.db_count("jobs") == jobs_before + 1
    reqs = [r for r in stack.dc.db_rows("requests") if r["job_id"] == jobs[0]["id"]]
    assert len(reqs) == 30 and {r["owner"] for r in reqs} == set(users)
    ids = [a.json()["id"] for a in answers]
    wait_until(lambda: all(requests.get(stack.dc.url + f"api/requests/{rid}",
                                        headers={"Authorization": f"token {stack.tokens[u]}"}).json()["state"]
                           == "Finished" for rid, u in zip(ids[:3], users[:3])), what="shared job finished")
    # the worker ran the selection once
    assert stack.dc.log().count(f"job {jobs[0]['id']} finished") == 1
    # the same user submitting again gets the request they have (200), no new row
    again = requests.post(stack.dc.url + "api/requests", json=body,
                          headers={"Authorization": f"token {stack.tokens[users[0]]}"})
    assert again.status_code == 200 and again.json()["id"] == ids[0]


# ---------------------------------------------------------------------------- OpenAPI
def test_openapi_matches_the_routes(stack):
    from datacentre.app import routes

    doc = requests.get(stack.dc.url + "api/openapi.json").json()
    assert doc["openapi"].startswith("3.") and doc["info"]["title"]
    assert doc["servers"][0]["url"] == "/services/datacentre/"
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    implemented = set()
    for _rx, cls, path in routes("/services/datacentre/"):
        for m in ("get", "post", "delete", "head", "put", "patch"):
            if any(m in vars(k) for k in cls.__mro__ if k.__module__.startswith("datacentre")):
                implemented.add((path, m))
    assert documented == implemented
    # every documented operation answers over HTTP (not 404 for a missing route, not 405)
    r = submit(stack, "alice", {"datashop": "kascade-test", "columns": ["P"], "format": "parquet",
                                "cuts": [{"column": "P", "op": "<", "value": 1000}]})
    rid = wait_done(stack, "alice", r.json()["id"])["id"]
    for path, method in sorted(documented):
        url = stack.dc.url + path.lstrip("/").format(request_id=rid, datashop_id="kascade-test", entry_id="kascade-test")
        body = {"datashop": "kascade-test", "columns": ["P"], "format": "parquet",
                "cuts": [{"column": "P", "op": "<", "value": 1000}]} if method == "post" else None
        if method == "delete":
            continue  # checked last, it removes the request
        resp = requests.request(method.upper(), url, headers=stack.headers("alice"), json=body)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        for code in doc["paths"][path][method]["responses"]:
            assert code.isdigit()
        assert str(resp.status_code) in doc["paths"][path][method]["responses"], (method, path, resp.status_code)
    resp = requests.delete(stack.dc.url + f"api/requests/{rid}", headers=stack.headers("alice"))
    assert resp.status_code == 202


def test_browser_login_through_hub_oauth(stack):
    """A browser session: hub login form, then the service's OAuth dance, then the cookie works."""
    s = stack.hub.login_session("bob")
    page = s.get(stack.dc.url, timeout=30)  # redirects: hub authorize -> oauth_callback -> page
    assert page.status_code == 200, (page.status_code, page.url, page.text[:300])
    assert "Signed in as bob" in page.text
    mine = s.get(stack.dc.url + "api/requests", timeout=30)
    assert mine.status_code == 200 and all(m["owner"] == "bob" for m in mine.json()["requests"])
    # the cookie is the service's own (path-scoped): it does not open other services
    other = s.get(stack.slow.url + "api/requests", timeout=30, allow_redirects=False)
    assert other.status_code in (302, 401)


def test_cookie_alone_cannot_change_anything(stack):
    """Cross-site request forgery: a browser's cookie without the hub's XSRF token is not
    accepted for POST or DELETE (the hub's HubOAuth check); tokens in headers are."""
    s = stack.hub.login_session("carol")
    assert s.get(stack.dc.url, timeout=30).status_code == 200  # OAuth cookie set
    before = stack.dc.db_count("requests")
    r = s.post(stack.dc.url + "api/requests", json={"datashop": "kascade-test", "columns": ["E"],
                                                    "cuts": [{"column": "E", "op": ">", "value": 17.9}]})
    assert r.status_code in (401, 403), r.text
    assert stack.dc.db_count("requests") == before


def test_admin_can_remove_anothers_request(stack):
    r = submit(stack, "bob", {"datashop": "kascade-test", "columns": ["Yc"], "format": "csv",
                              "cuts": [{"column": "Yc", "op": ">", "value": 85}]})
    rid = wait_done(stack, "bob", r.json()["id"])["id"]
    assert requests.delete(stack.dc.url + f"api/requests/{rid}", headers=stack.headers("carol")).status_code == 202
    wait_until(lambda: requests.get(stack.dc.url + f"api/requests/{rid}",
                                    headers=stack.headers("bob")).status_code == 404, what="removed by admin")
