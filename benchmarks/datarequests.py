"""Data-request benchmark of the datacentre: prints figures, passes or fails nothing.

1. Selection throughput (rows scanned per second) of the worker's DuckDB selection on an
   N-row Parquet data shop (default 10^7 rows, KASCADE columns), against a plain pandas
   filter of the same files (read the needed columns, boolean mask); and the ratio.
2. Latency of a small request, submit -> Finished -> file downloaded, over real HTTP
   through a real JupyterHub proxy with a real hub token; and one request on the N-row set,
   submit -> file ready, against pandas reading, filtering and writing the same files (ratio).
3. 30 concurrent identical requests (30 users) and 30 concurrent different requests
   (30 users) on the N-row set: wall time until all files are downloaded, per-request
   p50/p95, and the number of jobs actually run.

    .venv/bin/python benchmarks/datarequests.py --rows 10000000
    .venv/bin/python benchmarks/datarequests.py --rows 1000000 --skip-http   # quick

Needs Debian's configurable-http-proxy for part 2/3 (as the integration tests do).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the real hub and datacentre process helpers

COLUMNS = {"E": (14.0, 18.0), "Xc": (-91, 91), "Yc": (-91, 91), "Ze": (0.0, 40.0), "Az": (0.0, 360.0),
           "Ne": (3.0, 7.0), "Nmu": (2.0, 6.0), "Age": (0.2, 1.4), "T": (-5.0, 25.0), "P": (990.0, 1020.0)}


def make_big_shop(root: Path, shop_id: str, n: int, rows_per_part: int) -> Path:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = root / shop_id
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    start = 0
    part = 0
    while start < n:
        m = min(rows_per_part, n - start)
        cols = {k: rng.uniform(lo, hi, m) for k, (lo, hi) in COLUMNS.items()}
        cols["Gt"] = rng.integers(800_000_000, 1_200_000_000, m)
        cols["Mt"] = rng.integers(0, 1_000_000_000, m).astype("int32")
        cols["R"] = rng.integers(1, 9000, m).astype("int32")
        cols["Ev"] = np.arange(start, start + m, dtype="int64")
        pq.write_table(pa.table(cols), folder / f"part-{part:05d}.parquet", compression="zstd")
        start += m
        part += 1
    (folder / "datashop.json").write_text(json.dumps({
        "id": shop_id, "title": f"benchmark set ({n} rows)", "experiment": "KASCADE", "kind": "measured-like",
        "description": "uniform random values for the benchmark", "simulated": True,
        "generator": "benchmarks/datarequests.py", "generator_version": "1", "seed": 42, "events": n,
        "columns": {}}))
    return folder


def bench_selection(folder: Path, repeat: int) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    from datacentre.worker import select_table

    files = sorted(folder.glob("part-*.parquet"))
    n = sum(pq.read_metadata(f).num_rows for f in files)
    cols = ["E", "Ze", "Ne", "Nmu"]
    for e_min, ze_max in ((16.0, 30.0), (17.8, 20.0)):
        print(f"   columns E, Ze, Ne, Nmu; cuts E > {e_min} and Ze < {ze_max}:")
        cuts = [("E", ">", e_min), ("Ze", "<", ze_max)]

        def duck():
            return select_table(files, cols, cuts).num_rows

        def pandas_filter():
            df = pd.read_parquet(files, columns=cols)
            return len(df[(df.E > e_min) & (df.Ze < ze_max)])

        results = {}
        for name, fn in (("duckdb (datacentre worker)", duck), ("pandas filter", pandas_filter)):
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                rows = fn()
                times.append(time.perf_counter() - t0)
            best = min(times)
            results[name] = (best, rows)
            print(f"  {name:28s} {n / best / 1e6:8.1f} M rows/s   ({best:.3f} s best of {repeat}, "
                  f"{rows} rows selected)")
        (td, rd), (tp, rp) = results["duckdb (datacentre worker)"], results["pandas filter"]
        assert rd == rp, (rd, rp)
        print(f"  ratio duckdb / pandas throughput: {tp / td:.2f}x")


def bench_http(root: Path, workdir: Path, shop_id: str, n: int) -> None:
    import requests

    from tests.support.datacentre import DatacentreProcess, make_datashop
    from tests.support.hub import HubProcess

    make_datashop(root, "small", n=5000, parts=1)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=workdir))  # fresh database and results each run
    dc = DatacentreProcess(run_dir / "dc", data_root=root, env={
        "DATACENTRE_MAX_ROWS": str(n), "DATACENTRE_MAX_BYTES": str(10**11), "DATACENTRE_WORKERS": "2",
        "DATACENTRE_LOG_LEVEL": "WARNING"})
    hub = HubProcess(run_dir / "hub", services=[dc.service_entry()],
                     roles=[{"name": "user", "scopes": ["self", "access:services!service=datacentre"]}])
    dc.start(hub)
    hub.start()
    try:
        users = [f"u{i:02d}" for i in range(30)]
        with cf.ThreadPoolExecutor(6) as ex:
            list(ex.map(hub.create_user, users))
            tokens = dict(zip(users, ex.map(hub.create_token, users)))
        url = dc.url

        def run(user: str, body: dict) -> tuple[float, float, int]:
            """submit -> Finished -> downloaded; returns (total s, submit s, bytes)."""
            h = {"Authorization": f"token {tokens[user]}"}
            t0 = time.perf_counter()
            r = requests.post(url + "api/requests", json=body, headers=h, timeout=300)
            r.raise_for_status()
            t_submit = time.perf_counter() - t0
            rid = r.json()["id"]
            state = r.json()["state"]
            while state not in ("Finished", "Failed"):
                time.sleep(0.02)
                state = requests.get(url + f"api/requests/{rid}", headers=h, timeout=60).json()["state"]
            if state != "Finished":
                raise RuntimeError(f"{rid} failed")
            size = len(requests.get(url + f"api/requests/{rid}/file", headers=h, timeout=300).content)
            return time.perf_counter() - t0, t_submit, size

        lat = [run(users[0], {"datashop": "small", "columns": ["E", "Ze"], "format": "hdf5",
                              "cuts": [{"column": "E", "op": ">", "value": 17.0 + i * 0.01}]})
               for i in range(10)]
        tot = sorted(x[0] for x in lat)
        print(f"  small request (5000-row shop, ~1200 rows out, hdf5), submit -> file downloaded, 10 runs: "
              f"p50 {statistics.median(tot) * 1000:.0f} ms, max {tot[-1] * 1000:.0f} ms "
              f"(submit answer p50 {statistics.median(x[1] for x in lat) * 1000:.0f} ms)")

        # submit -> file ready on the N-row set, against pandas doing the same job on the
        # same files (read the columns, filter, write the same format), in this run
        import pandas as pd

        files = sorted((root / shop_id).glob("part-*.parquet"))
        cols, e_min, ze_max = ["E", "Ze", "Ne", "Nmu"], 16.0, 30.0
        body = {"datashop": shop_id, "columns": cols, "format": "parquet",
                "cuts": [{"column": "E", "op": ">", "value": e_min}, {"column": "Ze", "op": "<", "value": ze_max}]}
        h = {"Authorization": f"token {tokens[users[1]]}"}
        t0 = time.perf_counter()
        rid = requests.post(url + "api/requests", json=body, headers=h, timeout=300).json()["id"]
        while (state := requests.get(url + f"api/requests/{rid}", headers=h, timeout=60).json()["state"]) not in (
                "Finished", "Failed"):
            time.sleep(0.02)
        t_service = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = pd.read_parquet(files, columns=cols)
        df[(df.E > e_min) & (df.Ze < ze_max)].to_parquet(run_dir / "pandas.parquet", index=False)
        t_pandas = time.perf_counter() - t0
        # The floor no engine passes on these files: writing the selected rows alone (from
        # memory, the service's own Parquet writer), after Arrow's multi-threaded read of the
        # columns the cuts need.
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from kcdc.formats import write_parquet_table

        t0 = time.perf_counter()
        cut_cols = pq.read_table(files, columns=["E", "Ze"])
        t_read = time.perf_counter() - t0
        selected = pq.read_table(files, columns=cols).filter(
            pc.and_(pc.greater(cut_cols["E"], e_min), pc.less(cut_cols["Ze"], ze_max)))
        t0 = time.perf_counter()
        write_parquet_table(selected, run_dir / "floor.parquet")
        t_floor = t_read + time.perf_counter() - t0
        print(f"  one request on the {n}-row set (4 columns, E > {e_min}, Ze < {ze_max}, parquet), submit -> file "
              f"ready: {t_service:.2f} s ({state}); pandas read+filter+write: {t_pandas:.2f} s; "
              f"ratio pandas / service: {t_pandas / t_service:.2f}x; floor (read the cut columns, write the "
              f"{selected.num_rows} rows): {t_floor:.2f} s, service / floor {t_service / t_floor:.2f}x, "
              f"pandas / floor {t_pandas / t_floor:.2f}x")

        def concurrent(bodies, label):
            jobs_before = dc.db_count("jobs")
            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(30) as ex:
                res = list(ex.map(run, users, bodies))
            wall = time.perf_counter() - t0
            per = sorted(r[0] for r in res)
            p95 = per[int(0.95 * (len(per) - 1))]
            print(f"  30 {label:9s}: all 30 files downloaded in {wall:.2f} s; per request p50 "
                  f"{statistics.median(per):.2f} s, p95 {p95:.2f} s; jobs run {dc.db_count('jobs') - jobs_before}; "
                  f"{sum(r[2] for r in res) / 1e6:.1f} MB downloaded")

        base = {"datashop": shop_id, "columns": ["E", "Ze", "Ev"], "format": "parquet"}
        concurrent([dict(base, cuts=[{"column": "E", "op": ">", "value": 17.8},
                                     {"column": "Ze", "op": "<", "value": 20.0}])] * 30, "identical")
        concurrent([dict(base, cuts=[{"column": "E", "op": ">", "value": 17.8 + (i + 1) * 0.001},
                                     {"column": "Ze", "op": "<", "value": 20.0}]) for i in range(30)], "different")
    finally:
        dc.stop()
        hub.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--rows-per-part", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workdir", default=None)
    p.add_argument("--skip-http", action="store_true")
    a = p.parse_args()
    import os

    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="bench-datarequests-"))
    root = workdir / "datashops"
    shop_id = f"bench-{a.rows}"
    print(f"datacentre data-request benchmark: N = {a.rows} rows, {os.cpu_count()} CPUs, workdir {workdir}")
    folder = root / shop_id
    if not (folder / "datashop.json").exists():
        t0 = time.perf_counter()
        make_big_shop(root, shop_id, a.rows, a.rows_per_part)
        print(f"  (wrote the Parquet set in {time.perf_counter() - t0:.1f} s)")
    print("1. selection throughput (rows scanned per second):")
    bench_selection(folder, a.repeat)
    if not a.skip_http:
        print("2./3. over HTTP through a real JupyterHub (token auth, proxy):")
        bench_http(root, workdir, shop_id, a.rows)


if __name__ == "__main__":
    main()
