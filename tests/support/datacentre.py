"""The datacentre service as a real process registered with a real hub, and small data shops.

    dc = DatacentreProcess(tmp / "dc", data_root=root, env={"DATACENTRE_MAX_RUNNING": "3"})
    hub = HubProcess(tmp / "hub", services=[dc.service_entry()], roles=[...])
    hub.start(); dc.start(hub)
    requests.get(dc.url + "api/datashops", headers={"Authorization": f"token {tok}"})

It gets the environment the hub gives to a service (JUPYTERHUB_API_TOKEN,
JUPYTERHUB_API_URL, JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_CLIENT_ID,
JUPYTERHUB_OAUTH_CALLBACK_URL, JUPYTERHUB_OAUTH_ACCESS_SCOPES, ...) plus DATACENTRE_*.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from .net import free_port, wait_for_http

KASCADE_SCALARS = {
    # name: (dtype, low, high)
    "E": ("float64", 14.0, 18.0), "Xc": ("float64", -91.0, 91.0), "Yc": ("float64", -91.0, 91.0),
    "Ze": ("float64", 0.0, 40.0), "Az": ("float64", 0.0, 360.0), "Ne": ("float64", 3.0, 7.0),
    "Nmu": ("float64", 2.0, 6.0), "Age": ("float64", 0.2, 1.4), "T": ("float64", -5.0, 25.0),
    "P": ("float64", 990.0, 1020.0), "Gt": ("int64", 8.0e8, 1.2e9), "Mt": ("int32", 0, 999_999_999),
    "R": ("int32", 1, 9000), "Ev": ("int64", 0, 10**6),
}


def make_datashop(root: str | os.PathLike, shop_id: str = "kascade-test", *, n: int = 3000, parts: int = 3,
                  arrays: bool = False, seed: int = 1, kind: str = "measured-like") -> Path:
    """Write a small synthetic data shop (KASCADE columns) the way showersim lays it out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    folder = Path(root) / shop_id
    folder.mkdir(parents=True, exist_ok=True)
    cols = {}
    for name, (dtype, lo, hi) in KASCADE_SCALARS.items():
        if dtype.startswith("int"):
            cols[name] = rng.integers(int(lo), int(hi), size=n).astype(dtype)
        else:
            cols[name] = rng.uniform(lo, hi, size=n).astype(dtype)
    cols["Ev"] = np.arange(n, dtype="int64")  # unique: lets tests check exact selections
    table_cols = {k: pa.array(v) for k, v in cols.items()}
    if arrays:
        for name in ("EDeposit", "MDeposit", "Arrival"):
            flat = rng.gamma(1.0, 5.0, size=n * 252).astype("float32")
            table_cols[name] = pa.FixedSizeListArray.from_arrays(pa.array(flat), 252)
    table = pa.table(table_cols)
    bounds = np.linspace(0, n, parts + 1).astype(int)
    for i in range(parts):
        pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), folder / f"part-{i:05d}.parquet")
    meta = {
        "id": shop_id, "title": f"Test set {shop_id}", "experiment": "KASCADE", "kind": kind,
        "description": "synthetic events for tests (uniform random values, no physics)",
        "simulated": True, "generator": "tests.support.datacentre", "generator_version": "1",
        "seed": seed, "model": "none", "citation": "none (test data)", "events": n,
        "exposure": {"seconds": 1.0},
        "columns": {name: {"unit": "", "description": name, "dtype": dt, "min": lo, "max": hi}
                    for name, (dt, lo, hi) in KASCADE_SCALARS.items()},
    }
    (folder / "datashop.json").write_text(json.dumps(meta, indent=1))
    return folder


class DatacentreProcess:
    """One datacentre process (``python -m datacentre``) as an external hub service."""

    def __init__(self, workdir: str | os.PathLike, *, name: str = "datacentre",
                 data_root: str | os.PathLike | None = None, env: dict | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.api_token = secrets.token_hex(32)
        self.data_root = Path(data_root) if data_root else self.workdir / "datashops"
        self.results_dir = self.workdir / "results"
        self.db_path = self.workdir / "datacentre.sqlite"
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.hub = None
        self.log_path = self.workdir / "datacentre.log"
        self.starts = 0

    @property
    def prefix(self) -> str:
        return f"/services/{self.name}/"

    @property
    def direct_url(self) -> str:
        """The service itself (not through the proxy)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def url(self) -> str:
        """Through the hub's proxy, as browsers and notebooks reach it."""
        return self.hub.url.rstrip("/") + self.prefix if self.hub else self.direct_url

    def service_entry(self, **extra) -> dict:
        entry = {"name": self.name, "url": f"http://127.0.0.1:{self.port}", "api_token": self.api_token,
                 "oauth_no_confirm": True}
        entry.update(extra)
        return entry

    def environment(self) -> dict:
        hub = self.hub
        env = dict(os.environ)
        env.update({
            "JUPYTERHUB_SERVICE_NAME": self.name,
            "JUPYTERHUB_API_TOKEN": self.api_token,
            "JUPYTERHUB_CLIENT_ID": f"service-{self.name}",
            "JUPYTERHUB_HOST": "",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{self.prefix}oauth_callback",
            "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([f"access:services!service={self.name}"]),
            "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
            "JUPYTERHUB_API_URL": hub.api_url if hub else "http://127.0.0.1:1/hub/api",
            "JUPYTERHUB_BASE_URL": hub.base_url if hub else "/",
            "JUPYTERHUB_SERVICE_PREFIX": self.prefix,
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{self.port}",
            "DATACENTRE_DATA_ROOT": str(self.data_root),
            "DATACENTRE_RESULTS_DIR": str(self.results_dir),
            "DATACENTRE_DB_URL": f"sqlite:///{self.db_path}",
            "DATACENTRE_LOG_LEVEL": "DEBUG",
        })
        env.update(self.env)
        return env

    def start(self, hub=None, timeout: float = 30.0) -> "DatacentreProcess":
        if hub is not None:
            self.hub = hub
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts + 1} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen([sys.executable, "-m", "datacentre"], env=self.environment(),
                                     stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        self.starts += 1
        try:
            wait_for_http(self.direct_url + "api/health", timeout=timeout, proc=self.proc, ok=(200,))
        except Exception:
            self.stop()
            raise RuntimeError("datacentre did not start:\n" + self.log())
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash, an OOM kill)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- looking into the database (tests check that bad input creates nothing)
    def db_rows(self, table: str) -> list[dict]:
        if table not in ("jobs", "requests"):
            raise ValueError(table)
        con = sqlite3.connect(self.db_path, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(f"SELECT * FROM {table}")]
        finally:
            con.close()

    def db_count(self, table: str) -> int:
        return len(self.db_rows(table))
