"""ngshare behind a gate: the nbgrader exchange of the hub's courses.

Runs in the ngshare image (its own environment: ngshare 0.6.0 needs SQLAlchemy<2)
as ``python -m servicekit.exchange_gate``. It starts ngshare's own tornado
application in this process and replaces its authentication step, which fixes
ngshare's weak spots:

- no token, or a token the hub does not know: 403 with a JSON message (ngshare
  answers 500 on submit and feedback because it never checks for a user there);
- a token must carry the scope ``access:services!service=<this service>``, which
  servers of course members get through their ``nbgrader-<course>`` role; any
  other token of the same person (say one made to read the hub API) is refused;
- uploads larger than ``EXCHANGE_MAX_UPLOAD_MB`` are refused with 413, counted by the
  bytes that arrive (a chunked upload has no Content-Length): nothing past the
  limit is kept in memory (ngshare keeps every submission forever, with no quota);
- a course keeps at most ``EXCHANGE_COURSE_QUOTA_MB`` in the exchange (releases,
  submissions, feedback, as ngshare counts them): an upload past it is refused
  with 413 and a message saying so;
- the hub is asked asynchronously, once per token per ``EXCHANGE_CACHE_SECONDS``; stock
  ngshare asks with a blocking call on every request, so one slow answer stalls
  the exchange for the whole class.

Enrolment follows the hub's groups: ngshare's instructors of a course are the
members of ``formgrade-<course>`` plus the course's formgrader service, its
students the members of ``nbgrader-<course>``. The gate reads those groups at
start, every ``EXCHANGE_SYNC_SECONDS``, and before a request when the last read is
older than ``EXCHANGE_FRESH_SECONDS``, so a student added to a course group can fetch
at once and one removed is refused at once.

Only tornado, the standard library, ngshare, :mod:`servicekit.settings` and
:mod:`servicekit.tokens` are used here: the ngshare image carries the servicekit package
and nothing else of this repository.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections import namedtuple
from dataclasses import dataclass
from urllib.parse import urlparse

from tornado import httputil
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from .settings import HubService, SettingsError, from_environment, setting
from .tokens import hub_token

log = logging.getLogger("exchange-gate")

# A formgrader service acts in ngshare under this id; hub user names with ':'
# are refused so that no person can be mistaken for it.
FORMGRADER_ID = "formgrader:{course}"


class Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Gate:
    """Who is asking (from the hub), and the course rosters (from the hub's groups)."""

    def __init__(self, hub_api: str, token: str, service: str, courses: list[str],
                 cache_seconds: float = 30, fresh_seconds: float = 5, course_quota: int = 0):
        self.hub_api = hub_api.rstrip("/")
        self.token = token
        self.scope = f"access:services!service={service}"
        self.courses = list(courses)
        self.cache_seconds = cache_seconds
        self.fresh_seconds = fresh_seconds
        self.course_quota = course_quota  # bytes a course keeps at most; 0: no limit
        self._identities: dict[str, tuple[float, str]] = {}
        self._synced_at = 0.0
        self._sync_lock = asyncio.Lock()
        self.db_session = None  # set by main: ngshare's sessionmaker

    async def _hub_get(self, path: str, token: str):
        r = await AsyncHTTPClient().fetch(
            self.hub_api + path, headers={"Authorization": f"token {token}"},
            raise_error=False, request_timeout=20)
        return r.code, (json.loads(r.body) if r.body else None)

    async def identify(self, authorization: str | None) -> str:
        """The ngshare user id of the request's token, or Refused."""
        if not authorization or not authorization.lower().startswith(("token ", "bearer ")):
            raise Refused(403, "the exchange needs your server's API token: send 'Authorization: token <JUPYTERHUB_API_TOKEN>'")
        token = authorization.split(None, 1)[1].strip()
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._identities.get(key)
        if hit and hit[0] > now:
            return hit[1]
        code, model = await self._hub_get("/user", token)
        if code != 200 or not model:
            raise Refused(403, "the hub does not accept this token (expired or revoked?)")
        if self.scope not in model.get("scopes", []) and "access:services" not in model.get("scopes", []):
            raise Refused(403, f"this token lacks the scope {self.scope}: use your server's own token "
                               "(members of a course get it through the course's nbgrader role)")
        name = model.get("name", "")
        if model.get("kind") == "service":
            if name not in self.courses:
                raise Refused(403, f"service {name!r} is not a course formgrader")
            ident = FORMGRADER_ID.format(course=name)
        elif model.get("kind", "user") == "user" and name and ":" not in name:
            ident = name
        else:
            raise Refused(403, f"{name!r} cannot use the exchange")
        # Forget expired entries now and then so the cache cannot grow without bound.
        if len(self._identities) > 10000:
            self._identities = {k: v for k, v in self._identities.items() if v[0] > now}
        self._identities[key] = (now + self.cache_seconds, ident)
        return ident

    async def rosters(self) -> dict[str, tuple[set[str], set[str]]]:
        """{course: (instructors, students)} from the hub's course groups."""
        out = {}
        for course in self.courses:
            members = []
            for group in (f"formgrade-{course}", f"nbgrader-{course}"):
                code, model = await self._hub_get(f"/groups/{group}", self.token)
                if code == 404:
                    members.append(set())
                elif code == 200:
                    members.append({u for u in model.get("users", []) if ":" not in u})
                else:
                    raise RuntimeError(f"reading hub group {group}: HTTP {code}")
            teachers = members[0] | {FORMGRADER_ID.format(course=course)}
            out[course] = (teachers, members[1] - teachers)
        return out

    async def sync(self, force: bool = False) -> None:
        """Make ngshare's courses, instructors and students match the hub's groups."""
        if not force and time.monotonic() - self._synced_at < self.fresh_seconds:
            return
        async with self._sync_lock:
            if not force and time.monotonic() - self._synced_at < self.fresh_seconds:
                return
            started = time.monotonic()
            rosters = await self.rosters()
            apply_rosters(self.db_session, rosters)
            self._synced_at = started


def apply_rosters(db_session, rosters: dict[str, tuple[set[str], set[str]]]) -> None:
    from ngshare.database import Course, User

    db = db_session()
    try:
        def user(uid):
            found = db.query(User).filter(User.id == uid).one_or_none()
            if found is None:
                found = User(uid)
                db.add(found)
            return found

        for course_id, (teachers, students) in rosters.items():
            course = db.query(Course).filter(Course.id == course_id).one_or_none()
            if course is None:
                course = Course(course_id)
                db.add(course)
            for members, want in ((course.instructors, teachers), (course.students, students)):
                for u in [u for u in members if u.id not in want]:
                    members.remove(u)
                have = {u.id for u in members}
                for uid in sorted(want - have):
                    members.append(user(uid))
        db.commit()
    finally:
        db.close()


def course_bytes(db, course_id: str) -> int:
    """Bytes the exchange keeps for a course: its releases, submissions and feedback."""
    from ngshare.database import Course

    course = db.query(Course).filter(Course.id == course_id).one_or_none()
    if course is None:
        return 0
    total = 0
    for assignment in course.assignments:
        total += sum(f.size or 0 for f in assignment.files)
        for submission in assignment.submissions:
            total += sum(f.size or 0 for f in [*submission.files, *submission.feedbacks])
    return total


def check_course_quota(db, course_id: str, upload: int, quota: int) -> None:
    """Refused (413) when the upload would take the course past its quota."""
    kept = course_bytes(db, course_id)
    if kept + upload > quota:
        mb = 1024 * 1024
        raise Refused(413, f"course {course_id} keeps {kept / mb:.1f} MB in the exchange and this upload of "
                           f"{upload / mb:.1f} MB would pass its limit of {quota / mb:.1f} MB: a teacher can remove "
                           "old assignments, or the operator raise ASTROHUB_EXCHANGE_COURSE_QUOTA_MB")


def install(gate: Gate) -> None:
    """Replace ngshare's authentication step with the gate."""
    from ngshare import ngshare as ng
    from ngshare.database import User

    # The handlers that store files; their first path argument is the course.
    uploads = (ng.DownloadReleaseAssignment, ng.SubmitAssignment, ng.UploadDownloadFeedback)

    async def prepare(self):
        self.db = self.application.db_session()
        self.auth_token = None
        self.user = None
        try:
            ident = await gate.identify(self.request.headers.get("Authorization"))
            await gate.sync()
            if gate.course_quota and self.request.method == "POST" and isinstance(self, uploads):
                # The body is base64 in JSON: its length bounds the files' size from above.
                check_course_quota(self.db, self.path_args[0], len(self.request.body), gate.course_quota)
        except Refused as e:
            self.json_error(e.code, e.message)
        self.user = User.from_jupyterhub_user({"name": ident}, self.db)
        # tornado's @authenticated (on some of ngshare's handlers) asks current_user.
        self.current_user = {"name": ident}

    ng.MyRequestHandler.prepare = prepare


class UploadLimit(httputil.HTTPServerConnectionDelegate):
    """Refuse request bodies above ``limit`` bytes with 413, counting what arrives.

    A declared Content-Length over the limit is refused before any byte is passed
    on; a chunked body is passed on until its count passes the limit, then the
    application is told the request is gone (it drops what it buffered)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    def start_request(self, server_conn, request_conn):
        return _LimitedRequest(self.app.start_request(server_conn, request_conn), request_conn, self.limit)

    def on_close(self, server_conn):
        self.app.on_close(server_conn)


class _LimitedRequest(httputil.HTTPMessageDelegate):
    def __init__(self, inner, conn, limit):
        self.inner, self.conn, self.limit = inner, conn, limit
        self.received = 0
        self.refused = False

    def headers_received(self, start_line, headers):
        try:
            length = int(headers.get("Content-Length", "0"))
        except ValueError:
            length = 0
        if length > self.limit:
            # Answered once the body is in (and dropped): a proxy in front loses
            # an answer sent while it is still sending the body.
            self.refused = True
            return None
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk):
        self.received += len(chunk)
        if self.refused:
            return None
        if self.received > self.limit:
            self.refused = True
            self.inner.on_connection_close()  # the application forgets the request and its buffer
            return None
        return self.inner.data_received(chunk)

    def finish(self):
        if not self.refused:
            return self.inner.finish()
        body = json.dumps({"success": False, "message": (
            f"upload of {self.received} bytes is over the exchange's limit of {self.limit} bytes: keep large data files out of the assignment folder")}).encode()
        self.conn.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", 413, "Payload Too Large"),
            httputil.HTTPHeaders({"Content-Type": "application/json", "Content-Length": str(len(body))}), body)
        self.conn.finish()

    def on_connection_close(self):
        if not self.refused:
            self.inner.on_connection_close()


@dataclass(frozen=True)
class GateSettings:
    courses: str = setting("", "The course ids the exchange serves, comma-separated.")
    database: str = setting("sqlite:////srv/ngshare/ngshare.db", "ngshare's database (SQLAlchemy URL).")
    storage: str = setting("/srv/ngshare/files/", "Where ngshare keeps the files of releases, submissions and feedback.")
    max_upload_mb: float = setting(20.0, "Largest upload in MB; larger ones are refused with 413.")
    course_quota_mb: float = setting(0.0, "Most the exchange keeps for one course, in MB; 0: no limit.")
    cache_seconds: float = setting(30.0, "Seconds the hub's answer about a token is kept.")
    fresh_seconds: float = setting(5.0, "A request re-reads the course groups when the last read is older than this.")
    sync_seconds: float = setting(60.0, "Seconds between reads of the course groups in the background.")


def main() -> None:
    try:
        args = from_environment(GateSettings, "EXCHANGE_", "exchange gate")
    except SettingsError as e:
        raise SystemExit(str(e)) from None
    hub = HubService.from_environment()
    missing = hub.missing("api_url", "service_name", "service_prefix", "service_url")
    if missing:
        raise SystemExit(f"exchange gate: {', '.join(missing)} not set: run it as the hub's service")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from ngshare import dbutil
    from ngshare import ngshare as ng

    courses = [c.strip() for c in args.courses.split(",") if c.strip()]
    prefix = hub.service_prefix
    dbutil.upgrade(args.database, cmd_opts=namedtuple("CmdOpts", ["x"])(["data=true", "storage=" + args.storage]))
    # alembic's logging set-up (in the upgrade) disables every logger that existed before
    # it: the gate's own and tornado's access log, one line per request (which the e2e
    # test of the autograding sandbox reads to see that student code never called).
    for name in ("exchange-gate", "tornado.access"):
        logging.getLogger(name).disabled = False
        logging.getLogger(name).setLevel(logging.INFO)
    token = hub_token()
    if not token:
        raise SystemExit("exchange gate: no hub token: set JUPYTERHUB_API_TOKEN or JUPYTERHUB_API_TOKEN_FILE "
                         "(the service's docker secret)")
    # ngshare's application reads the token from the environment itself
    os.environ["JUPYTERHUB_API_TOKEN"] = token
    gate = Gate(hub.api_url, token, hub.service_name, courses, args.cache_seconds, args.fresh_seconds,
                int(args.course_quota_mb * 1024 * 1024))
    install(gate)
    app = ng.MyApplication(prefix, args.database, args.storage, admin=(), debug=False, autoreload=False)
    gate.db_session = app.db_session
    limit = int(args.max_upload_mb * 1024 * 1024)
    # The body of a refused upload is still read (and dropped) so the client sees
    # the 413; beyond 4x the limit the connection is simply cut.
    server = HTTPServer(UploadLimit(app, limit), max_body_size=4 * limit + 1024 * 1024)
    server.listen(urlparse(hub.service_url).port, "0.0.0.0")

    async def keep_in_sync():
        while True:
            try:
                await gate.sync(force=True)
            except Exception as e:  # the hub restarting must not end the exchange
                log.warning("enrolment sync failed: %s", e)
            await asyncio.sleep(args.sync_seconds)

    IOLoop.current().spawn_callback(keep_in_sync)
    log.info("exchange for courses %s at %s (uploads up to %d bytes, %d bytes kept per course)",
             courses, prefix, limit, gate.course_quota)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
