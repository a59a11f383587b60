"""The datacentre on PostgreSQL (as in the stack): lifecycle, sharing under concurrency, restart.

Authentication is switched off here (DATACENTRE_AUTH=none): this file tests the database
backend; the hub-authenticated behaviour is tested against SQLite in the other files.
"""
from __future__ import annotations

import concurrent.futures as cf

import pytest
import requests
import sqlalchemy as sa

from tests.support import postgres
from tests.support.datacentre import DatacentreProcess, make_datashop
from tests.support.hub import wait_until


@pytest.fixture(scope="module", autouse=True)
def _postgresql_installed():
    if not postgres.available():
        pytest.fail("PostgreSQL is not installed: run `make setup` (it installs Debian's postgresql)")


@pytest.fixture(scope="module")
def pg_dc(tmp_path_factory):
    base = tmp_path_factory.mktemp("pg")
    with postgres.PostgresProcess(base / "pg") as pg:
        url = pg.create_database("datacentre")
        make_datashop(base / "shops", "kascade-test", n=3000, parts=3)
        dc = DatacentreProcess(base / "dc", data_root=base / "shops", env={
            "DATACENTRE_DB_URL": url, "DATACENTRE_AUTH": "none", "DATACENTRE_PART_DELAY": "0.3",
            "DATACENTRE_MAX_RUNNING": "100", "DATACENTRE_MAX_ATTEMPTS": "1"})
        dc.start()
        dc.pg_url = url
        try:
            yield dc
        finally:
            dc.stop()


def _count(url, table):
    eng = sa.create_engine(url)
    with eng.connect() as c:
        n = c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    eng.dispose()
    return n


def test_lifecycle_and_sharing_on_postgres(pg_dc):
    u = pg_dc.direct_url
    body = {"datashop": "kascade-test", "columns": ["E", "Ze"], "format": "hdf5",
            "cuts": [{"column": "E", "op": ">", "value": 16.0}]}
    # the same owner ('anonymous') 20 times at once: one request, one job
    with cf.ThreadPoolExecutor(20) as ex:
        answers = list(ex.map(lambda _: requests.post(u + "api/requests", json=body, timeout=60), range(20)))
    assert {a.status_code for a in answers} <= {200, 201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(pg_dc.pg_url, "jobs") == 1 and _count(pg_dc.pg_url, "requests") == 1
    rid = answers[0].json()["id"]
    done = wait_until(lambda: (lambda m: m if m["state"] == "Finished" else None)(
        requests.get(u + f"api/requests/{rid}").json()), timeout=30)
    assert done["rows"] > 0
    assert requests.get(u + f"api/requests/{rid}/file").status_code == 200
    bad = requests.post(u + "api/requests", json={**body, "columns": ["Nope"]})
    assert bad.status_code == 400 and _count(pg_dc.pg_url, "requests") == 1


def test_restart_on_postgres_fails_with_reason_when_attempts_are_used_up(pg_dc):
    """DATACENTRE_MAX_ATTEMPTS=1 here: a job interrupted once is Failed with a reason, not re-run
    (the SQLite restart test covers the re-queue path)."""
    u = pg_dc.direct_url
    r = requests.post(u + "api/requests", json={"datashop": "kascade-test", "columns": ["Ne"], "format": "root",
                                                "cuts": [{"column": "Ne", "op": "<", "value": 5}]})
    rid = r.json()["id"]
    wait_until(lambda: requests.get(u + f"api/requests/{rid}").json()["progress"] > 0, timeout=20)
    pg_dc.kill()
    pg_dc.start()
    done = wait_until(lambda: (lambda m: m if m["state"] in ("Finished", "Failed") else None)(
        requests.get(u + f"api/requests/{rid}").json()), timeout=30)
    assert done["state"] == "Failed" and "restart" in done["reason"], done
    assert "submit the request again" in done["reason"]
    # nothing is left Scheduled or Running
    eng = sa.create_engine(pg_dc.pg_url)
    with eng.connect() as c:
        assert not c.execute(sa.text("SELECT id FROM jobs WHERE state IN ('Scheduled', 'Running')")).all()
    eng.dispose()
