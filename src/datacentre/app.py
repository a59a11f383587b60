"""The datacentre tornado application: the KCDC data-request API as a JupyterHub service.

Run with ``datacentre`` (console script) or ``python -m datacentre.app``; tests use
:func:`make_app`. See :mod:`datacentre.config` for the environment variables and
:mod:`datacentre.openapi` for the routes.

Identity: every call is authenticated by the hub (``HubOAuth``): a token in the
``Authorization`` header (a notebook's ``JUPYTERHUB_API_TOKEN``) or the OAuth
cookie of a browser. The token must carry the service's access scope
(``access:services!service=datacentre``). A user owns requests under their user
name; a hub *service* (e.g. the public dashboards, with its own API token) owns
requests under ``service/<name>`` and gets ``service_max_running`` instead of
``max_running``. Admins (hub admin, or the scope ``custom:datacentre:admin``)
may see and remove everybody's requests.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import mimetypes
import os
import re
import signal
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback

from servicekit.settings import HubService, SettingsError

from . import db, jsonld
from .catalogue import DEFAULT_SPECTRA, Catalogue, Licence, QueryError
from .config import FORMATS, Settings
from .openapi import spec_for
from .selection import ApiError, Selection, estimate_bytes, validate
from .shops import ShopRegistry
from .worker import Worker, count_rows

log = logging.getLogger("datacentre")
__version__ = "1.0.0"


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Identity:
    name: str
    kind: str  # "user" | "service"
    admin: bool

    @property
    def owner(self) -> str:
        # "/" never occurs in a hub user name, so service identities cannot collide with users
        return self.name if self.kind == "user" else f"service/{self.name}"


class Datacentre:
    """State shared by the handlers: settings, database, shops, worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.results_dir.mkdir(parents=True, exist_ok=True)
        self.Session = db.make_sessionmaker(settings.db_url)
        self.shops = ShopRegistry(settings.data_root)
        self.worker = Worker(settings, self.Session, self.shops)
        spectra = {"": DEFAULT_SPECTRA, "none": None}.get(settings.spectra_file, settings.spectra_file)
        self.catalogue = Catalogue(self.shops, spectra, Licence(settings.licence_name, settings.licence_url),
                                   settings.prefix)
        self._counts: dict[str, asyncio.Future] = {}
        self._purger: PeriodicCallback | None = None
        self._upstream_next = 0.0

    # -- startup / shutdown
    def start(self) -> None:
        self.shops.scan()
        self.worker.recover()
        self._purger = PeriodicCallback(self._tick, max(0.2, self.settings.purge_interval) * 1000)
        self._purger.start()
        IOLoop.current().add_callback(self._tick)

    def stop(self) -> None:
        if self._purger:
            self._purger.stop()
        self.worker.shutdown()

    async def _tick(self) -> None:
        try:
            await self.worker.run_aux(self.purge)
        except Exception:
            log.exception("purge failed")
        if self.settings.upstream_url and time.monotonic() > self._upstream_next:
            try:
                shops = await self.worker.run_aux(self.worker.fetch_upstream_shops)
                self.shops.set_remote(shops)
                self._upstream_next = time.monotonic() + 600  # refresh the upstream's list every 10 min
                log.info("forwarding data shops %s to %s", [s.id for s in shops], self.settings.upstream_url)
            except Exception as e:
                log.warning("upstream %s not reachable yet: %s", self.settings.upstream_url, e)

    def purge(self) -> dict:
        """Expire finished results past their time, forget old Expired requests."""
        now = db.now()
        expired = forgotten = 0
        with self.Session() as s:
            for job in s.scalars(select(db.Job).where(db.Job.state == db.FINISHED,
                                                      db.Job.expires_at < now)).all():
                job.state = db.EXPIRED
                job.active_key = None
                self.worker.remove_result(job)
                expired += 1
            s.commit()
            old = now - self.settings.forget_seconds
            for req in s.scalars(select(db.Request).join(db.Job).where(
                    db.Job.state.in_((db.EXPIRED, db.FAILED)),
                    func.coalesce(db.Job.expires_at, db.Job.finished_at) < old)).all():
                s.delete(req)
                forgotten += 1
            s.flush()
            # jobs nobody refers to any more; a cancelled job gets a minute for its worker to notice
            orphans = s.scalars(select(db.Job).where(~db.Job.requests.any(), (db.Job.state == db.EXPIRED) | (
                (db.Job.state == db.FAILED) & (func.coalesce(db.Job.finished_at, db.Job.created_at) < now - 60))
            )).all()
            for job in orphans:
                self.worker.remove_result(job)
                s.delete(job)
            s.commit()
        if expired or forgotten:
            log.info("purge: %d results expired, %d requests forgotten", expired, forgotten)
        return {"expired": expired, "forgotten": forgotten}

    async def count(self, shop, sel: Selection) -> int:
        """Rows of a selection; concurrent identical questions share one DuckDB query."""
        key = sel.key
        fut = self._counts.get(key)
        if fut is None:
            log.info("counting rows of %s for selection %s", shop.id, key[:12])
            fut = asyncio.ensure_future(self.worker.run_aux(count_rows, shop, sel))
            self._counts[key] = fut
            fut.add_done_callback(lambda _f: self._counts.pop(key, None))
        return await asyncio.shield(fut)


# ------------------------------------------------------------------------- handlers
def _hub_mixin():
    from jupyterhub.services.auth import HubOAuthenticated

    return HubOAuthenticated


class BaseHandler(_hub_mixin(), web.RequestHandler):
    dc: Datacentre

    def initialize(self, dc: Datacentre) -> None:
        self.dc = dc
        self._forbidden_model = None

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]

    @hub_auth.setter
    def hub_auth(self, value):  # the mixin's setter; the app's HubOAuth is fixed
        pass

    async def prepare(self) -> None:
        if self.dc.settings.auth == "none":
            self._hub_auth_user_cache = {"name": "anonymous", "kind": "user", "admin": False, "scopes": []}
            return
        from jupyterhub.services.auth import UserNotAllowed

        try:
            model = await self.hub_auth.get_user(self, sync=False)
        except web.HTTPError as e:
            log.error("hub did not answer an authentication check: %s", e)
            raise ApiError(503, "hub_unavailable", "the data service cannot reach the hub to check your "
                           "token right now; try again in a minute") from None
        user = None
        if model:
            try:
                user = self.check_hub_user(dict(model))
            except UserNotAllowed:
                self._forbidden_model = model
        self._hub_auth_user_cache = user

    def identity(self, required: bool = True) -> Identity | None:
        model = self.current_user
        if not model:
            if not required:
                return None
            if self._forbidden_model:
                m = self._forbidden_model
                raise ApiError(403, "missing_scope",
                               f"{m.get('kind', 'user')} {m.get('name')!r} is known to the hub but this token does "
                               f"not carry the scope {' or '.join(sorted(self.hub_auth.access_scopes))}; "
                               "ask the hub administrator to grant access to the datacentre service")
            raise ApiError(401, "not_authenticated",
                           "no valid JupyterHub token: send 'Authorization: token $JUPYTERHUB_API_TOKEN' "
                           "(kcdc.Client() does this in a notebook) or log in to the hub in your browser")
        scopes = set(model.get("scopes") or [])
        admin = bool(model.get("admin")) or self.dc.settings.admin_scope in scopes
        return Identity(model["name"], model.get("kind", "user"), admin)

    def write_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(obj))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiError):
            if self._finished:
                return
            self.clear()
            self.write_json(e.body(), e.status)
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs) -> None:
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message % exc.args if exc.args else exc.log_message
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": "http_%d" % status_code, "message": reason}))

    # -- model of one request
    def request_model(self, req: db.Request, shared: bool | None = None) -> dict:
        job = req.job
        spec = json.loads(job.spec)
        prefix = self.dc.settings.prefix
        return {
            "id": req.id, "owner": req.owner, "datashop": job.datashop,
            "columns": spec["columns"], "cuts": spec["cuts"], "format": job.format,
            "state": req.state, "reason": job.reason if job.state == db.FAILED else None,
            "progress": round(job.progress or 0.0, 4),
            "rows": job.rows, "rows_estimate": job.rows_estimate, "size": job.size,
            "filename": job.filename,
            "created_at": iso(req.created_at), "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at), "expires_at": iso(job.expires_at),
            "key": job.key, "shared": bool(shared) if shared is not None else None,
            "download_url": f"{prefix}api/requests/{req.id}/file",
        }

    def load_request(self, s, request_id: str, ident: Identity) -> db.Request:
        if not re.fullmatch(r"[0-9a-f]{32}", request_id or ""):
            raise ApiError(404, "not_found", f"there is no request {request_id!r}: list yours with GET api/requests")
        req = s.get(db.Request, request_id)
        if req is None:
            raise ApiError(404, "not_found", f"there is no request {request_id!r} (removed, or never existed): "
                           "list yours with GET api/requests")
        if req.owner != ident.owner and not ident.admin:
            raise ApiError(403, "not_yours", f"request {request_id} belongs to another user: you can only see, "
                           "download and remove your own requests; submit the same selection yourself")
        return req


class HealthHandler(web.RequestHandler):
    def initialize(self, dc: Datacentre) -> None:
        self.dc = dc

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish({"status": "ok", "version": __version__})


class OpenAPIHandler(web.RequestHandler):
    def initialize(self, dc: Datacentre) -> None:
        self.dc = dc

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(spec_for(self.dc.settings.prefix)))


class CatalogueHandler(web.RequestHandler):
    """The catalogue as JSON (``?q=`` searches) or schema.org JSON-LD (``.jsonld``, or
    ``Accept: application/ld+json``). No authentication: harvesters carry no hub token,
    and the catalogue holds only what the data shops' descriptions say."""

    def initialize(self, dc: Datacentre) -> None:
        self.dc = dc

    def _wants_jsonld(self, suffix: str | None) -> bool:
        return bool(suffix) or "application/ld+json" in self.request.headers.get("Accept", "")

    def _base_url(self) -> str:
        public = HubService.from_environment().public_url
        return public.rstrip("/") if public else f"{self.request.protocol}://{self.request.host}"

    def _write(self, obj: Any, ld: bool, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", ("application/ld+json" if ld else "application/json") + "; charset=UTF-8")
        self.finish(json.dumps(obj))

    def get(self, suffix: str | None = None) -> None:
        q = self.get_argument("q", "")
        try:
            entries = self.dc.catalogue.search(q)
        except QueryError as e:
            self._write({"error": "bad_query", "message": str(e)}, False, 400)
            return
        if self._wants_jsonld(suffix):
            self._write(jsonld.catalogue(entries, self._base_url(), self._base_url() + self.request.path), True)
        else:
            self._write({"query": q, "entries": entries}, False)


class CatalogueEntryHandler(CatalogueHandler):
    def get(self, entry_id: str, suffix: str | None = None) -> None:
        entry = self.dc.catalogue.get(entry_id)
        if entry is None:
            self._write({"error": "unknown_entry", "message": f"the catalogue has no entry {entry_id!r}: "
                         "search it with GET api/catalogue?q=<words>"}, False, 404)
        elif self._wants_jsonld(suffix):
            self._write(jsonld.dataset(entry, self._base_url()), True)
        else:
            self._write(entry, False)


class InfoHandler(BaseHandler):
    def get(self) -> None:
        ident = self.identity()
        st = self.dc.settings
        self.write_json({
            "service": "datacentre", "version": __version__, "api": "KCDC data-request API",
            "you": {"name": ident.name, "kind": ident.kind, "owner": ident.owner, "admin": ident.admin},
            "formats": list(FORMATS), "states": list(db.STATES),
            "limits": {"max_running": st.service_max_running if ident.kind == "service" else st.max_running,
                       "max_rows": st.max_rows, "max_bytes": st.max_bytes,
                       "max_user_bytes": st.max_user_bytes,
                       "expiry_seconds": st.expiry_seconds},
            "openapi": f"{st.prefix}api/openapi.json",
            "catalogue": f"{st.prefix}api/catalogue",
        })


class DataShopsHandler(BaseHandler):
    def get(self) -> None:
        self.identity()
        self.write_json({"datashops": self.dc.shops.public_list()})


class DataShopHandler(BaseHandler):
    def get(self, shop_id: str) -> None:
        self.identity()
        shop = self.dc.shops.get(shop_id)
        if shop is None:
            raise ApiError(404, "unknown_datashop", f"there is no data shop {shop_id!r}: list them with GET api/datashops")
        self.write_json(shop.public(detail=True))


class RequestsHandler(BaseHandler):
    def get(self) -> None:
        ident = self.identity()
        want_all = self.get_argument("all", "0").lower() in ("1", "true", "yes")
        if want_all and not ident.admin:
            raise ApiError(403, "not_admin", "only datacentre admins may list everybody's requests; "
                           "leave out ?all=1 to list your own")
        state = self.get_argument("state", None)
        with self.dc.Session() as s:
            q = select(db.Request).join(db.Job).order_by(db.Request.created_at)
            if not want_all:
                q = q.where(db.Request.owner == ident.owner)
            reqs = s.scalars(q).unique().all()
            models = [self.request_model(r) for r in reqs]
        if state:
            models = [m for m in models if m["state"] == state]
        self.write_json({"requests": models})

    async def post(self) -> None:
        """Submit a selection: checked, sized against the limits, then attached to the job
        of an identical selection (shared) or to a new one."""
        ident = self.identity()
        st = self.dc.settings
        shop, sel = self._selection()
        max_running = st.service_max_running if ident.kind == "service" else st.max_running
        # the same user asking again gets the request they already have
        with self.dc.Session() as s:
            mine = _own_request(s, ident, sel.key)
            if mine is not None:
                self.write_json(self.request_model(mine, shared=len(mine.job.requests) > 1), 200)
                return
            job = s.scalar(select(db.Job).where(db.Job.active_key == sel.key))
            rows = job.rows_estimate if job is not None else None
            # before any counting: a user at the limit must not make DuckDB scan the shop
            _check_running(s, ident, job, max_running)
        rows, est = await self._size(shop, sel, rows)
        # from here on no await: the check and the insert happen together in this process,
        # and the unique active_key settles races with other processes
        with self.dc.Session() as s:
            mine = _own_request(s, ident, sel.key)
            if mine is not None:  # an identical submit of this user won the race meanwhile
                self.write_json(self.request_model(mine, shared=len(mine.job.requests) > 1), 200)
                return
            job = s.scalar(select(db.Job).where(db.Job.active_key == sel.key))
            if est is not None and st.max_user_bytes:
                _check_user_bytes(s, ident, est, st.max_user_bytes)
            _check_running(s, ident, job, max_running)  # again: others may have submitted meanwhile
            job, created = _job_for(s, job, sel, rows, est)
            req = db.Request(owner=ident.owner, job_id=job.id)
            s.add(req)
            s.commit()
            s.refresh(req)
            model = self.request_model(req, shared=not created)
        if created:
            self.dc.worker.enqueue(job.id)
        log.info("request %s by %s for %s (%s job %s)", model["id"], ident.owner, sel.datashop,
                 "new" if created else "shared", model["key"][:12])
        self.set_header("Location", f"{st.prefix}api/requests/{model['id']}")
        self.write_json(model, 201)

    def _selection(self):
        """The body as a checked selection of a known data shop: (shop, selection)."""
        ctype = self.request.headers.get("Content-Type", "")
        if "json" not in ctype:
            raise ApiError(415, "json_required", "send the request as JSON with 'Content-Type: application/json'")
        if len(self.request.body) > 256 * 1024:
            raise ApiError(413, "body_too_large", "the request body is larger than 256 KiB: use fewer cuts or values")
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError as e:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON ({e}); send an object like "
                           '{"datashop": "...", "columns": ["E"], "cuts": [], "format": "hdf5"}') from None
        shop_id = body.get("datashop") if isinstance(body, dict) else None
        if isinstance(body, dict) and not isinstance(shop_id, str):
            raise ApiError(400, "invalid_request", "datashop is missing: name one of GET api/datashops")
        shop = self.dc.shops.get(shop_id) if shop_id else None
        return shop, validate(body, shop, shop_id)

    async def _size(self, shop, sel, rows: int | None) -> tuple[int | None, int | None]:
        """(rows, estimated bytes) of the selection, refused past max_rows and max_bytes;
        (None, None) for a forwarded shop, which the upstream sizes."""
        st = self.dc.settings
        if rows is None and not shop.upstream:
            try:
                rows = await self.dc.count(shop, sel)
            except Exception as e:
                log.error("counting rows of %s failed: %s", shop.id, e)
                raise ApiError(503, "datashop_unreadable",
                               f"the data shop {shop.id!r} cannot be read right now ({type(e).__name__}); the "
                               "administrators can see the details in the service log. Try again later") from None
        if rows is None:
            return None, None
        if rows > st.max_rows:
            raise ApiError(413, "limit_exceeded",
                           f"this selection has {rows} rows, more than the limit max_rows = {st.max_rows}: "
                           "add cuts (e.g. a narrower energy range) to make it smaller",
                           limit="max_rows", limit_value=st.max_rows, rows=rows)
        est = estimate_bytes(shop, sel, rows)
        if est > st.max_bytes:
            raise ApiError(413, "limit_exceeded",
                           f"the file would be about {est} bytes, more than the limit max_bytes = "
                           f"{st.max_bytes}: choose fewer columns, add cuts, or a binary format",
                           limit="max_bytes", limit_value=st.max_bytes, estimated_bytes=est)
        return rows, est


def _own_request(s, ident: Identity, key: str) -> db.Request | None:
    return s.scalar(select(db.Request).join(db.Job).where(
        db.Request.owner == ident.owner, db.Job.active_key == key, db.Request.deleting.is_(False)))


def _check_user_bytes(s, ident: Identity, est: int, limit: int) -> None:
    """429 when the owner's results (finished, plus estimates of those under way) and this one pass the limit."""
    held = s.scalar(select(func.coalesce(func.sum(func.coalesce(db.Job.size, db.Job.bytes_estimate, 0)), 0))
                    .select_from(db.Request).join(db.Job).where(
        db.Request.owner == ident.owner, db.Request.deleting.is_(False),
        db.Job.state.in_((db.SCHEDULED, db.RUNNING, db.FINISHED))))
    if held + est > limit:
        raise ApiError(429, "limit_exceeded",
                       f"your results hold {held} bytes and this one would add about {est}; the limit "
                       f"max_user_bytes is {limit}: remove requests you no longer need "
                       "(client.delete(...) or DELETE api/requests/<id>) or wait until they expire",
                       limit="max_user_bytes", limit_value=limit, held_bytes=held)


def _job_for(s, job: db.Job | None, sel, rows: int | None, est: int | None) -> tuple[db.Job, bool]:
    """The job an identical selection runs as, or a new one: (job, created)."""
    if job is not None:
        return job, False
    job = db.Job(key=sel.key, active_key=sel.key, datashop=sel.datashop, spec=json.dumps(sel.spec()),
                 format=sel.format, state=db.SCHEDULED, rows_estimate=rows, bytes_estimate=est)
    s.add(job)
    try:
        s.flush()
        return job, True
    except IntegrityError:  # another process created it meanwhile
        s.rollback()
        job = s.scalar(select(db.Job).where(db.Job.active_key == sel.key))
        if job is None:
            raise ApiError(503, "busy", "the request collided with an identical one; submit it again") from None
        return job, False


def _check_running(s, ident: Identity, job: db.Job | None, max_running: int) -> None:
    """429 when the owner has max_running requests live, unless this one attaches to a finished job."""
    if job is not None and job.state == db.FINISHED:
        return
    running = s.scalar(select(func.count()).select_from(db.Request).join(db.Job).where(
        db.Request.owner == ident.owner, db.Request.deleting.is_(False), db.Job.state.in_(db.LIVE)))
    if running >= max_running:
        raise ApiError(429, "limit_exceeded",
                       f"you have {running} requests Scheduled or Running, the limit max_running is "
                       f"{max_running}: wait until one finishes or remove one, then submit again",
                       limit="max_running", limit_value=max_running)


class RequestHandler(BaseHandler):
    def get(self, request_id: str) -> None:
        ident = self.identity()
        with self.dc.Session() as s:
            req = self.load_request(s, request_id, ident)
            self.write_json(self.request_model(req, shared=len(req.job.requests) > 1))

    def delete(self, request_id: str) -> None:
        ident = self.identity()
        with self.dc.Session() as s:
            req = self.load_request(s, request_id, ident)
            req.deleting = True
            s.commit()
            model = self.request_model(req)
        self.write_json(model, 202)
        IOLoop.current().add_callback(self._finish_delete, request_id)

    async def _finish_delete(self, request_id: str) -> None:
        def work():
            with self.dc.Session() as s:
                req = s.get(db.Request, request_id)
                if req is not None:
                    self.dc.worker.finish_delete(s, req)
                    s.commit()
        await self.dc.worker.run_aux(work)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class DownloadHandler(BaseHandler):
    CHUNK = 1 << 20

    def _resolve(self, request_id: str):
        ident = self.identity()
        with self.dc.Session() as s:
            req = self.load_request(s, request_id, ident)
            state, job = req.state, req.job
            if state == db.EXPIRED:
                raise ApiError(410, "expired", f"the result of request {request_id} expired at "
                               f"{iso(job.expires_at)} and was purged: submit the request again")
            if state != db.FINISHED:
                why = f" ({job.reason})" if state == db.FAILED and job.reason else ""
                raise ApiError(409, "not_ready", f"request {request_id} is {state}{why}, not Finished: "
                               "wait for it (GET api/requests/<id>) before downloading")
            path = self.dc.worker.result_path(job)
            etag = f'"{job.id}-{job.size}"'
        if path is None or not path.exists():
            raise ApiError(410, "expired", f"the file of request {request_id} is gone: submit the request again")
        return path, etag

    def _file_headers(self, path, etag) -> int:
        size = path.stat().st_size
        ctype = mimetypes.guess_type(path.name)[0]
        if path.suffix == ".h5":
            ctype = "application/x-hdf5"
        self.set_header("Content-Type", ctype or "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("ETag", etag)
        return size

    def head(self, request_id: str) -> None:
        path, etag = self._resolve(request_id)
        size = self._file_headers(path, etag)
        self.set_header("Content-Length", str(size))
        self.finish()

    async def get(self, request_id: str) -> None:
        path, etag = self._resolve(request_id)
        size = self._file_headers(path, etag)
        start, end = 0, size - 1
        rng = self.request.headers.get("Range")
        if_range = self.request.headers.get("If-Range")
        if rng and (not if_range or if_range == etag):
            m = _RANGE.match(rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                raise ApiError(416, "bad_range", f"unsupported Range {rng!r}: use one range 'bytes=<start>-[<end>]'")
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # suffix range: the last N bytes
                start = max(size - int(m.group(2)), 0)
            if start >= size or start > end:
                self.set_header("Content-Range", f"bytes */{size}")
                raise ApiError(416, "bad_range", f"Range {rng!r} is outside the file of {size} bytes")
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end}/{size}")
        length = end - start + 1 if size else 0
        self.set_header("Content-Length", str(length))
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                chunk = fh.read(min(self.CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                self.write(chunk)
                await self.flush()
        self.finish()


class UIHandler(BaseHandler):
    """A small HTML page for browsers (hub OAuth login): data shops and my requests."""

    def get(self) -> None:
        ident = self.identity(required=False)
        if ident is None:
            if self._forbidden_model:
                self.identity()
            self.redirect(self.get_login_url())
            return
        with self.dc.Session() as s:
            reqs = s.scalars(select(db.Request).join(db.Job).where(db.Request.owner == ident.owner)
                             .order_by(db.Request.created_at)).unique().all()
            rows = [self.request_model(r) for r in reqs]
        e = html.escape
        shops = "".join(f"<li><b>{e(x['id'])}</b>: {e(str(x.get('title', '')))} "
                        f"{'(simulated)' if x.get('simulated') else ''}</li>" for x in self.dc.shops.public_list())
        table = "".join(
            f"<tr><td>{e(r['id'])}</td><td>{e(r['datashop'])}</td><td>{e(r['format'])}</td><td>{e(r['state'])}"
            f"{(' – ' + e(r['reason'])) if r['reason'] else ''}</td><td>{int(r['progress'] * 100)}%</td>"
            f"<td>{r['size'] or ''}</td><td>{e(r['expires_at'] or '')}</td><td>"
            + (f"<a href='{e(r['download_url'])}'>download</a>" if r['state'] == db.FINISHED else "")
            + "</td></tr>" for r in rows)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            f"<!doctype html><html><head><meta charset='utf-8'><title>Data centre</title></head><body>"
            f"<h1>Open data centre</h1><p>Signed in as {e(ident.name)}. "
            f"In a notebook: <code>import kcdc; kcdc.Client().datashops()</code>. "
            f"API: <a href='{e(self.dc.settings.prefix)}api/openapi.json'>OpenAPI</a>. "
            f"Catalogue: <a href='{e(self.dc.settings.prefix)}api/catalogue'>JSON</a>, "
            f"<a href='{e(self.dc.settings.prefix)}api/catalogue.jsonld'>JSON-LD</a>; search it with "
            f"<code>kcdc.Client().search('knee')</code>.</p>"
            f"<h2>Data shops</h2><ul>{shops}</ul><h2>My requests</h2><table border=1>"
            f"<tr><th>id</th><th>data shop</th><th>format</th><th>state</th><th>progress</th><th>bytes</th>"
            f"<th>expires</th><th></th></tr>{table}</table></body></html>")


def _callback_handler():
    from jupyterhub.services.auth import HubOAuthCallbackHandler

    class OAuthCallbackHandler(HubOAuthCallbackHandler):
        """The hub's OAuth callback, bound to this application's HubOAuth."""

        @property
        def hub_auth(self):
            return self.settings["hub_auth"]

        @hub_auth.setter
        def hub_auth(self, value):
            pass

    return OAuthCallbackHandler


def _make_hub_auth(settings: Settings, hub: HubService):
    """HubOAuth reads the hub's variables itself: ours fill in those the hub did not set
    (a datacentre started by hand)."""
    from jupyterhub.services.auth import HubOAuth

    kw: dict = {"cache_max_age": settings.auth_cache_seconds}
    if settings.hub_api_url:
        kw["api_url"] = settings.hub_api_url
    if settings.hub_api_token:
        kw["api_token"] = settings.hub_api_token
    if not hub.service_prefix:
        kw["base_url"] = settings.prefix
    if not hub.oauth_access_scopes and not hub.service_name:
        kw["access_scopes"] = {"access:services!service=datacentre"}
    return HubOAuth(**kw)


def routes(prefix: str) -> list[tuple[str, type, str]]:
    """(regex, handler class, OpenAPI path) of every route."""
    return [
        (r"api/?", InfoHandler, "/api/"),
        (r"api/health", HealthHandler, "/api/health"),
        (r"api/openapi.json", OpenAPIHandler, "/api/openapi.json"),
        (r"api/catalogue(\.jsonld)?/?", CatalogueHandler, "/api/catalogue"),
        (r"api/catalogue/([^/]+?)(\.jsonld)?", CatalogueEntryHandler, "/api/catalogue/{entry_id}"),
        (r"api/datashops/?", DataShopsHandler, "/api/datashops"),
        (r"api/datashops/([^/]+)", DataShopHandler, "/api/datashops/{datashop_id}"),
        (r"api/requests/?", RequestsHandler, "/api/requests"),
        (r"api/requests/([^/]+)", RequestHandler, "/api/requests/{request_id}"),
        (r"api/requests/([^/]+)/(?:file|download)", DownloadHandler, "/api/requests/{request_id}/file"),
    ]


def make_app(settings: Settings | dict | None = None, *, start: bool = True) -> web.Application:
    """Build the tornado application. ``app.settings['datacentre']`` is the :class:`Datacentre`.

    ``start``: recover interrupted jobs and start the purge timer (needs a running IOLoop
    or one that will run)."""
    if settings is None:
        settings = Settings.from_env()
    elif isinstance(settings, dict):
        settings = Settings(**settings)
    dc = Datacentre(settings)
    prefix = settings.prefix
    handlers: list = [(prefix + rx, cls, {"dc": dc}) for rx, cls, _ in routes(prefix)]
    handlers.append((prefix + "oauth_callback", _callback_handler()))
    handlers.append((prefix + "?", UIHandler, {"dc": dc}))
    hub = HubService.from_environment()
    hub_auth = _make_hub_auth(settings, hub) if settings.auth != "none" else None
    app = web.Application(
        handlers,
        hub_auth=hub_auth,
        cookie_secret=bytes.fromhex(settings.cookie_secret) if settings.cookie_secret else os.urandom(32),
        datacentre=dc,
        login_url=None,
        # Behind the hub's https edge the login's _xsrf cookie is Secure too (HubOAuth
        # marks its own cookies from the public URL; this one takes tornado's settings).
        xsrf_cookie_kwargs={"secure": True} if hub.public_url.startswith("https://") else {},
    )
    if start:
        dc.start()
    return app


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="datacentre", description="KCDC data-request API as a JupyterHub service "
                                "(configuration: DATACENTRE_* environment variables)")
    p.add_argument("--ip")
    p.add_argument("--port", type=int)
    p.add_argument("--log-level")
    a = p.parse_args(argv)
    over = {k: v for k, v in (("ip", a.ip), ("port", a.port), ("log_level", a.log_level)) if v is not None}
    try:
        settings = Settings.from_env(**over)
    except SettingsError as e:
        p.exit(2, f"{e}\n")
    logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s")
    if settings.auth == "hub" and not settings.hub_api_token:
        p.error("no hub token (JUPYTERHUB_API_TOKEN or the file JUPYTERHUB_API_TOKEN_FILE names): run the datacentre as a JupyterHub service (the hub's "
                "service api_token), or DATACENTRE_AUTH=none for a local trial without any access control")
    if settings.auth == "none":
        log.warning("DATACENTRE_AUTH=none: every caller is 'anonymous', there is NO access control. "
                    "Never use this in production.")

    async def run() -> None:
        app = make_app(settings)
        server = HTTPServer(app, xheaders=True, max_body_size=1 << 20)
        server.listen(settings.port, settings.ip)
        log.info("datacentre %s listening on %s:%d%s (data %s, results %s, db %s)", __version__, settings.ip,
                 settings.port, settings.prefix, settings.data_root, settings.results_dir,
                 re.sub(r"//[^@/]*@", "//***@", settings.db_url))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping: running jobs are re-queued at the next start")
        server.stop()
        app.settings["datacentre"].stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
