"""The worker: runs selections in a thread pool, driven from the asyncio loop.

A job is a row in the ``jobs`` table. ``Worker.enqueue(job_id)`` hands it to a
thread of a :class:`~concurrent.futures.ThreadPoolExecutor`; the thread marks it
Running, runs the selection with DuckDB over the data shop's Parquet parts (one
part after the other, which gives the progress and a point to notice a
cancellation), writes the result through :mod:`kcdc.formats` into a temporary
folder and moves it into place, and marks the job Finished (or Failed with the
reason). Forwarded data shops are fetched from the upstream KCDC-API server with
the :mod:`kcdc` client instead.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select, update

from . import db
from .config import Settings
from .selection import Selection, quote, where_clause
from .shops import DataShop, ShopRegistry

log = logging.getLogger("datacentre.worker")


class Cancelled(Exception):
    pass


def result_name(job: db.Job) -> str:
    """KCDC's file names (issue 20, README): request.zip for ASCII, events.h5 / events.root;
    the same pattern for this hub's parquet and csv. Each result has its own folder."""
    from kcdc.formats import FORMATS

    if job.format == "ascii":
        return "request.zip"
    return "events" + FORMATS[job.format].suffix


def count_rows(shop: DataShop, sel: Selection) -> int:
    import duckdb

    where, params = where_clause(sel.cuts)
    # Both cores: the student waits for this answer (the aux pool runs at most two at once).
    con = duckdb.connect(config={"threads": 2})
    try:
        files = [str(p) for p in shop.files]
        return int(con.execute(f"SELECT count(*) FROM read_parquet(?){where}", [files] + params).fetchone()[0])
    finally:
        con.close()


def select_table(files, columns, cuts, *, on_part=None, threads: int = 2, steps: int = 4, expressions=None):
    """Run one selection with DuckDB over Parquet files; returns a pyarrow Table.

    The files are read in at most ``steps`` groups (one parameterised query per group:
    fewer queries scan faster, several give progress and points to cancel);
    ``on_part(i, n_groups, rows_so_far)`` is called after each group; ``expressions`` maps a
    column to the SQL that yields it (derived columns; default: the quoted stored column)."""
    import duckdb
    import pyarrow as pa

    files = [str(f) for f in files]
    n = max(1, min(len(files), steps))
    groups = [files[len(files) * i // n: len(files) * (i + 1) // n] for i in range(n)]
    where, params = where_clause(cuts)
    cols = ", ".join((expressions or {}).get(c) or quote(c) for c in columns)
    sql = f"SELECT {cols} FROM read_parquet(?){where}"
    con = duckdb.connect(config={"threads": threads})
    tables, rows = [], 0
    try:
        for i, group in enumerate(groups):
            t = con.sql(sql, params=[group] + list(params)).to_arrow_table()
            rows += t.num_rows
            tables.append(t)
            if on_part is not None:
                on_part(i, len(groups), rows)
    finally:
        con.close()
    return pa.concat_tables(tables)


def _arrow_to_columns(table):
    import pyarrow as pa

    scalars, arrays = {}, {}
    n = table.num_rows
    for name, col in zip(table.column_names, table.columns):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if pa.types.is_fixed_size_list(col.type):
            arrays[name] = col.flatten().to_numpy(zero_copy_only=False).reshape(n, col.type.list_size)
        elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            import numpy as np

            arrays[name] = np.stack([np.asarray(x) for x in col.to_pylist()]) if n else np.zeros((0, 252))
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            import numpy as np

            scalars[name] = np.asarray(col.to_pylist(), dtype=object)
        else:
            scalars[name] = col.to_numpy(zero_copy_only=False)
    return scalars, arrays


def write_result(fmt: str, table, target: Path, metadata: dict) -> int:
    """Write an Arrow table as ``fmt`` at ``target`` (ASCII: a .zip of the folder). Returns bytes."""
    import pyarrow as pa

    from kcdc.formats import FORMATS, write_parquet_table, write_request_zip

    f = FORMATS[fmt]
    if fmt == "parquet" and not any(pa.types.is_list(t) or pa.types.is_large_list(t) for t in table.schema.types):
        # DuckDB's Arrow goes to Parquet as it is: no round trip through numpy.
        write_parquet_table(table, target, metadata=metadata)
        return target.stat().st_size
    scalars, arrays = _arrow_to_columns(table)
    if fmt == "ascii":
        write_request_zip(scalars, target, metadata=metadata)
    elif f.arrays:
        f.writer(scalars, target, metadata=metadata, arrays=arrays)
    else:
        f.writer(scalars, target, metadata=metadata)
    return target.stat().st_size


class Worker:
    def __init__(self, settings: Settings, Session, shops: ShopRegistry) -> None:
        self.settings = settings
        self.Session = Session
        self.shops = shops
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.workers), thread_name_prefix="job")
        self.aux = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aux")
        self.jobs_run = 0  # number of selections actually executed (for tests and metrics)
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._stopping = False

    # ---------------------------------------------------------------- scheduling
    def enqueue(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._queued or self._stopping:
                return
            self._queued.add(job_id)
        self.pool.submit(self._run_safely, job_id)

    async def run_aux(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.aux, fn, *args)

    def recover(self) -> None:
        """At startup: nothing stays Running or Scheduled without a worker behind it."""
        # partial outputs of the previous process (before any job of this one starts)
        shutil.rmtree(self.settings.results_dir / ".tmp", ignore_errors=True)
        with self.Session() as s:
            for job in s.scalars(select(db.Job).where(db.Job.state.in_(db.LIVE))).all():
                if job.state == db.RUNNING and job.attempts >= self.settings.max_attempts:
                    self._fail(s, job, f"interrupted by {job.attempts} restarts of the data service; "
                                       "submit the request again")
                    continue
                if job.state == db.RUNNING:
                    log.info("job %s was running when the service stopped: re-queued", job.id)
                    job.state = db.SCHEDULED
                    job.progress = 0.0
                    self._remove_partial(job)
                s.commit()
                self.enqueue(job.id)
            # requests whose removal was cut short
            for req in s.scalars(select(db.Request).where(db.Request.deleting.is_(True))).all():
                self.finish_delete(s, req)
            s.commit()

    def shutdown(self) -> None:
        self._stopping = True
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.aux.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- helpers
    def _remove_partial(self, job: db.Job) -> None:
        shutil.rmtree(self.settings.results_dir / ".tmp" / job.id, ignore_errors=True)

    def _fail(self, s, job: db.Job, reason: str) -> None:
        job.state = db.FAILED
        job.reason = reason
        job.active_key = None
        job.finished_at = db.now()
        s.commit()
        self._remove_partial(job)

    def result_path(self, job: db.Job) -> Path | None:
        if not job.filename:
            return None
        return self.settings.results_dir / job.id / job.filename

    def remove_result(self, job: db.Job) -> None:
        shutil.rmtree(self.settings.results_dir / job.id, ignore_errors=True)
        self._remove_partial(job)

    def finish_delete(self, s, req: db.Request) -> None:
        """Remove a request; its job goes too when no other request uses it."""
        job = req.job
        s.delete(req)
        s.flush()
        others = s.scalar(select(func.count()).select_from(db.Request).where(db.Request.job_id == job.id))
        if not others:
            live = job.state in db.LIVE
            if live:  # the worker notices `cancel` at its next progress step
                job.cancel = True
                job.state = db.FAILED
                job.reason = "removed by its owner before it finished"
                job.active_key = None
                job.finished_at = db.now()
            self.remove_result(job)
            if not live:
                s.delete(job)

    # ---------------------------------------------------------------- running
    def _run_safely(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except Exception:  # never leave a job Running because of a bug
            log.exception("job %s crashed", job_id)
            with self.Session() as s:
                job = s.get(db.Job, job_id)
                if job is not None and job.state in db.LIVE:
                    self._fail(s, job, "internal error in the data service; the administrators have "
                                       "the log. Submit the request again later")
        finally:
            with self._lock:
                self._queued.discard(job_id)

    def _progress(self, job_id: str, value: float) -> None:
        with self.Session() as s:
            s.execute(update(db.Job).where(db.Job.id == job_id).values(progress=value))
            s.commit()
            if s.scalar(select(db.Job.cancel).where(db.Job.id == job_id)):
                raise Cancelled()

    def _run(self, job_id: str) -> None:
        if self._stopping:
            return
        with self.Session() as s:
            job = s.get(db.Job, job_id)
            if job is None or job.state != db.SCHEDULED or job.cancel:
                return
            job.state = db.RUNNING
            job.started_at = db.now()
            job.attempts += 1
            job.progress = 0.0
            s.commit()
            spec = json.loads(job.spec)
            shop = self.shops.get(job.datashop)
            if shop is None:
                self._fail(s, job, f"data shop {job.datashop!r} is no longer available")
                return
            tmpdir = self.settings.results_dir / ".tmp" / job.id
            shutil.rmtree(tmpdir, ignore_errors=True)
            tmpdir.mkdir(parents=True)
            name = result_name(job)
            target = tmpdir / name
            try:
                if shop.upstream:
                    rows, size = self._run_upstream(job, spec, target)
                else:
                    rows, size = self._run_local(job, shop, spec, target)
            except Cancelled:
                log.info("job %s cancelled", job_id)
                shutil.rmtree(tmpdir, ignore_errors=True)
                s.refresh(job)
                if job.state in db.LIVE:
                    self._fail(s, job, "cancelled")
                return
            except Exception as e:
                log.warning("job %s failed: %s", job_id, e, exc_info=True)
                if not isinstance(e, RuntimeError) or "duckdb" in type(e).__module__:
                    e = RuntimeError(f"reading or writing the data failed ({type(e).__name__}: {e}); "
                                     "the administrators can see this in the service log. Submit the "
                                     "request again later")
                s.refresh(job)
                self._fail(s, job, str(e) or type(e).__name__)
                return
            final = self.settings.results_dir / job.id
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmpdir, final)
            finished = db.now()
            # conditional: a removal (cancel) that raced with the end of the run wins
            done = s.execute(update(db.Job).where(
                db.Job.id == job.id, db.Job.state == db.RUNNING, db.Job.cancel.is_(False)).values(
                filename=name, rows=rows, size=size, state=db.FINISHED, progress=1.0, finished_at=finished,
                expires_at=finished + self.settings.expiry_seconds)).rowcount
            s.commit()
            if not done:
                shutil.rmtree(final, ignore_errors=True)
                return
            s.refresh(job)
            with self._lock:
                self.jobs_run += 1
            log.info("job %s finished: %s rows, %s bytes in %.2f s", job_id, rows, size,
                     job.finished_at - job.started_at)

    def _run_local(self, job: db.Job, shop: DataShop, spec: dict, target: Path) -> tuple[int, int]:
        def step(i: int, n: int, rows: int) -> None:
            self._limit_rows(rows)
            if self.settings.part_delay:
                time.sleep(self.settings.part_delay)
            self._progress(job.id, 0.9 * (i + 1) / n)

        cuts = [(c["column"], c["op"], c["value"]) for c in spec["cuts"]]
        from .shops import select_expression

        exprs = {c: select_expression(c, shop.columns[c]) for c in spec["columns"] if c in shop.columns}
        table = select_table(shop.files, spec["columns"], cuts, on_part=step, expressions=exprs)
        rows = table.num_rows
        metadata = self._metadata(job, shop, spec, rows)
        size = write_result(job.format, table, target, metadata)
        self._limit_bytes(size)
        return rows, size

    # The same limits for local and forwarded shops (an upstream may allow more).
    def _limit_rows(self, rows: int | None) -> None:
        if rows is not None and rows > self.settings.max_rows:
            raise RuntimeError(f"the selection has {rows} rows, more than the limit max_rows = "
                               f"{self.settings.max_rows}: add cuts to make it smaller")

    def _limit_bytes(self, size: int | None) -> None:
        if size is not None and size > self.settings.max_bytes:
            raise RuntimeError(f"the result has {size} bytes, more than the limit max_bytes = "
                               f"{self.settings.max_bytes}: add cuts or choose fewer columns")

    def _metadata(self, job: db.Job, shop: DataShop, spec: dict, rows: int) -> dict:
        keep = ("title", "experiment", "kind", "description", "simulated", "generator",
                "generator_version", "seed", "model", "citation")
        md = {k: shop.meta[k] for k in keep if k in shop.meta}
        md.update(datashop=shop.id, datashop_version=shop.version, request=spec, job=job.id,
                  rows=rows, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  produced_by="astroparticle.online datacentre")
        return md

    def _run_upstream(self, job: db.Job, spec: dict, target: Path) -> tuple[int, int]:
        import kcdc

        try:
            return self._run_upstream_inner(job, spec, target)
        except kcdc.KCDCError as e:
            raise RuntimeError(f"the upstream KCDC server {self.settings.upstream_url} answered: {e}") from None

    def upstream_client(self):
        """The kcdc client of the upstream: another data service (token), or the KCDC portal with
        the operator's account (password read from its secret file at each login, never kept in
        the settings or logged). One portal client (one KCDC session) serves every job."""
        import kcdc

        st = self.settings
        if st.upstream_kind != "portal":
            return kcdc.Client(url=st.upstream_url, token=st.upstream_token, cache_dir=False, progress=False)
        with self._lock:
            if getattr(self, "_portal", None) is None:
                try:
                    password = Path(st.upstream_password_file).read_text().strip()
                except OSError as e:
                    raise kcdc.AuthenticationError(
                        f"the KCDC password file {st.upstream_password_file} cannot be read ({e.strerror}): mount "
                        "the operator's password as that secret (DATACENTRE_UPSTREAM_PASSWORD_FILE)") from None
                self._portal = kcdc.Client(url=st.upstream_url, portal=True, username=st.upstream_username,
                                           password=password, cache_dir=False, progress=False)
            return self._portal

    def _run_upstream_inner(self, job: db.Job, spec: dict, target: Path) -> tuple[int, int]:
        import kcdc

        client = self.upstream_client()
        if job.upstream_id:
            try:
                req = client.get(job.upstream_id)
            except kcdc.KCDCError:
                req = None
        else:
            req = None
        portal = self.settings.upstream_kind == "portal"
        if req is None or req.state in (db.FAILED, db.EXPIRED):
            # KCDC delivers ascii (hdf5 where per-station arrays are asked for); the file is then
            # cut exactly and written in the requested format here (portal_result)
            shop = self.shops.get(spec["datashop"])
            arrays = shop is not None and any(shop.columns[c].kind == "array" for c in spec["columns"]
                                              if c in shop.columns)
            fmt = ("hdf5" if arrays else "ascii") if portal else spec["format"]
            req = client.request(spec["datashop"], spec["columns"], cuts=spec["cuts"], format=fmt)
            with self.Session() as s:
                s.execute(update(db.Job).where(db.Job.id == job.id).values(upstream_id=str(req.id)))
                s.commit()
        try:
            self._limit_rows(req.rows_estimate)
        except RuntimeError:
            client.delete(req)  # the upstream need not make what is refused here
            raise
        while True:
            req.refresh()
            self._progress(job.id, 0.9 * float(req.progress or 0))
            if req.state == db.FINISHED:
                break
            if req.state in (db.FAILED, db.EXPIRED, db.DELETING):
                raise RuntimeError(f"the upstream KCDC server reports the request {req.state}: "
                                   f"{req.reason or 'no reason given'}")
            time.sleep(self.settings.upstream_poll)
        if portal:
            return self.portal_result(req.download(target.with_name("kcdc-request.zip")), spec, target)
        self._limit_rows(req.rows)
        self._limit_bytes(req.size)
        req.download(target, max_bytes=self.settings.max_bytes)
        return int(req.rows or 0), target.stat().st_size

    def portal_result(self, delivery: Path, spec: dict, target: Path) -> tuple[int, int]:
        """The KCDC portal's request.zip as the requested file: the exact cuts (KCDC's ranges are
        inclusive), the requested columns, the requested format; the row and byte limits apply."""
        import pyarrow as pa

        from kcdc import read

        df = read(delivery)
        delivery.unlink()
        for c in spec["cuts"]:
            col = df[c["column"] if c["column"] in df else c["column"].split("_", 1)[-1]]
            op, v = c["op"], c["value"]
            keep = {"==": col == v, "!=": col != v, "<": col < v, "<=": col <= v, ">": col > v, ">=": col >= v,
                    "between": col.between(*v) if op == "between" else None,
                    "in": col.isin(v) if op == "in" else None}[op]
            df = df[keep.fillna(False).astype(bool)]
        # a component prefix appears in the file only where two tables were delivered with the name
        names = {c: c if c in df else c.split("_", 1)[-1] for c in spec["columns"]}
        df = df[list(names.values())].set_axis(list(names), axis=1).reset_index(drop=True)
        if len(df) > self.settings.max_rows:
            raise RuntimeError(f"the selection has {len(df)} rows, more than the limit max_rows = "
                               f"{self.settings.max_rows}: add cuts to make it smaller")
        size = write_result(spec["format"], pa.Table.from_pandas(df, preserve_index=False), target,
                            {"produced_by": "KCDC portal via the astroparticle.online datacentre", "request": spec})
        if size > self.settings.max_bytes:
            raise RuntimeError(f"the result has {size} bytes, more than the limit max_bytes = "
                               f"{self.settings.max_bytes}: add cuts or choose fewer columns")
        return len(df), size

    def fetch_upstream_shops(self) -> list[DataShop]:
        from .shops import shop_from_remote

        client = self.upstream_client()
        wanted = {s.strip() for s in self.settings.upstream_shops.split(",") if s.strip()}
        out = []
        for item in client.datashops():
            if "*" in wanted or item["id"] in wanted:
                try:
                    out.append(shop_from_remote(client.datashop(item["id"])))
                except ValueError as e:
                    log.warning("upstream data shop skipped: %s", e)
        return out
