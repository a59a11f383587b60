"""Fixtures of the integration tests: a real JupyterHub with real datacentre services.

The ``stack`` fixture (one per test session) starts, on loopback:

* ``datacentre``: the service under test (limits: max_running 3, max_rows 2500,
  max_bytes 500000, max_user_bytes 2000000; forwards the data shop ``tunka-remote`` to the upstream);
* ``datacentre-upstream``: a second instance acting as the upstream KCDC-API server;
* ``datacentre-slow``: an instance whose worker sleeps 1 s per Parquet part and whose
  results expire after 5 s (restart, expiry and running-limit tests);
* a real JupyterHub (Debian's configurable-http-proxy) with these three services, a
  ``dashboards`` service identity, users alice, bob, carol (scope
  ``custom:datacentre:admin``), root (hub admin) and one token each.

When a test fails, the tails of the hub's and the services' logs are printed.
"""
from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# tests/support is imported as the package ``tests.support`` (repository root on sys.path)
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.datacentre import DatacentreProcess, make_datashop
from tests.support.hub import HubProcess
from tests.support.pytest_logs import print_logs_if_failed
from tests.support.pytest_logs import pytest_runtest_makereport  # noqa: F401  (hook: reports on items)

ADMIN_SCOPE = "custom:datacentre:admin"


@dataclass
class Stack:
    hub: HubProcess
    dc: DatacentreProcess
    upstream: DatacentreProcess
    slow: DatacentreProcess
    tokens: dict
    dashboards_token: str
    shops_root: object
    extra_users: list = field(default_factory=list)

    def headers(self, user: str) -> dict:
        return {"Authorization": f"token {self.tokens[user]}"}

    def user_token(self, name: str) -> str:
        """Create (once) a user with the default role and return a token."""
        if name not in self.tokens:
            self.hub.create_user(name)
            self.tokens[name] = self.hub.create_token(name)
        return self.tokens[name]

    def processes(self):
        return [self.dc, self.upstream, self.slow]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("stack")
    shops = base / "datashops"
    make_datashop(shops, "kascade-test", n=3000, parts=3)
    make_datashop(shops, "kascade-arrays", n=300, parts=2, arrays=True, kind="simulation")
    up_shops = base / "upstream-datashops"
    make_datashop(up_shops, "tunka-remote", n=2000, parts=2, seed=7)
    # more rows than this datacentre's max_rows (the upstream's own limit allows them)
    make_datashop(up_shops, "tunka-big", n=3000, parts=2, seed=8)

    upstream = DatacentreProcess(base / "upstream", name="datacentre-upstream", data_root=up_shops)
    dc = DatacentreProcess(base / "main", name="datacentre", data_root=shops, env={
        "DATACENTRE_MAX_RUNNING": "3", "DATACENTRE_MAX_ROWS": "2500", "DATACENTRE_MAX_BYTES": "500000",
        "DATACENTRE_MAX_USER_BYTES": "2000000",
        "DATACENTRE_PURGE_INTERVAL": "1", "DATACENTRE_UPSTREAM_URL": upstream.direct_url,
        "DATACENTRE_UPSTREAM_SHOPS": "tunka-remote,tunka-big", "DATACENTRE_UPSTREAM_POLL": "0.2"})
    dc.env["DATACENTRE_UPSTREAM_TOKEN"] = dc.api_token  # the datacentre's own hub identity
    slow = DatacentreProcess(base / "slow", name="datacentre-slow", data_root=shops, env={
        "DATACENTRE_PART_DELAY": "1.0", "DATACENTRE_WORKERS": "1", "DATACENTRE_EXPIRY_SECONDS": "5",
        "DATACENTRE_PURGE_INTERVAL": "0.5", "DATACENTRE_FORGET_SECONDS": "3"})
    dashboards_token = secrets.token_hex(32)
    hub = HubProcess(
        base / "hub",
        services=[dc.service_entry(), upstream.service_entry(), slow.service_entry(),
                  {"name": "dashboards", "api_token": dashboards_token}],
        roles=[
            {"name": "user", "scopes": ["self", "access:services!service=datacentre",
                                        "access:services!service=datacentre-slow"]},
            {"name": "datacentre-admins", "scopes": [ADMIN_SCOPE, "access:services!service=datacentre",
                                                     "access:services!service=datacentre-slow"],
             "users": ["carol"]},
            {"name": "dashboards-reader", "scopes": ["access:services!service=datacentre"],
             "services": ["dashboards"]},
            {"name": "datacentre-forwarder", "scopes": ["access:services!service=datacentre-upstream"],
             "services": ["datacentre"]},
        ],
        custom_scopes={ADMIN_SCOPE: {"description": "see and remove every data request of the datacentre"}},
    )
    # services first: the hub waits for external services it knows before it routes anything
    started = []
    try:
        for p in (upstream, dc, slow):
            p.start(hub)
            started.append(p)
        hub.start()
        tokens = {}
        for name, admin in (("alice", False), ("bob", False), ("carol", False), ("root", True)):
            hub.create_user(name, admin=admin)
            tokens[name] = hub.create_token(name)
        st = Stack(hub, dc, upstream, slow, tokens, dashboards_token, shops)
        yield st
    finally:
        for p in started:
            p.stop()
        hub.stop()


@pytest.fixture(autouse=True)
def _logs_on_failure(request):
    yield
    if "stack" not in request.fixturenames:
        return
    st = request.getfixturevalue("stack")
    print_logs_if_failed(request, lambda: [("JupyterHub", st.hub.log())] + [(p.name, p.log()) for p in st.processes()])
