"""A test double of the KCDC web portal (kcdc.iap.kit.edu), written from its public description.

What it copies (issue 20, and the wire protocol recorded in the public code of
omegaflow/omegaflow, tools/harvest/src/bin/kcdc_compiler.rs): a Django site with its own
accounts; ``GET /accounts/login/`` sets the ``csrftoken`` cookie and shows a form,
``POST /accounts/login/`` (trailing slash, ``Referer`` required, CSRF token in the form)
answers a redirect with a ``sessionid`` cookie, or the form again with Django's error text;
``/datashop/quants/`` and ``/datashop/descr/`` answer JSON only to XHR
(``X-Requested-With: XMLHttpRequest``); a request is a form POST to ``/datashop/<prefix>``
with ``out_format`` and ``data`` (the selection as a JSON string) and the CSRF token in
``X-CSRFToken``, answered with ``{"redir": "/datashop/review/"}``; request ids are
integers; ``/datashop/review/`` is an HTML page with each request's state; the download is
``GET /datashop/download/<id>/request.zip`` with the session; links expire.

What it invents (not published): the JSON shape of quants/descr, the keys of the selection
(``{"<component>": {"<quantity>": {"min": .., "max": ..}}}``), the state words on the review
page (Pending, Processing, Done, Error, Expired), and the HDF5 layout inside request.zip
(one group per component). Its files are written here, by its own small writer, in the
layout of a real delivery (tab-separated tables, ``Datetime`` header, ``-1`` in
row_mapping.txt), so that ``kcdc.read`` is tested against files it did not write.

    portal = KCDCPortal(events, users={"alice": "pw"}, expiry=3600).start()
    portal.url  # http://127.0.0.1:<port>/
    portal.stop()

Standalone, as a service of an e2e stack (tests/e2e/conftest.py), on every address:

    python -m tests.support.kcdc_portal --port 8080 --user operator --password-file FILE
"""
from __future__ import annotations

import asyncio
import html
import io
import json
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tornado import httpserver, web

from .net import free_port

# Quantities per detector component (names as KCDC spells them; units as KCDC documents them).
QUANTS = {
    "general": [("Datetime", ""), ("Ev", ""), ("Gt", "s"), ("Mt", "ns"), ("P", "hPa"), ("R", ""), ("T", "degC")],
    "array": [("E", "lg(E/eV)"), ("Xc", "m"), ("Yc", "m"), ("Ze", "deg"), ("Az", "deg"), ("Ne", "lg"), ("Nmu", "lg"),
              ("Age", "")],
    "grande": [("Xc", "m"), ("Yc", "m"), ("Ze", "deg"), ("Az", "deg"), ("Nch", "lg"), ("Nmu", "lg"), ("Age", "")],
    "calorimeter": [("Nhad", ""), ("Ehad", "lg(E/eV)")],
}
# row_mapping.txt order as in the observed delivery
MAPPING_ORDER = ("calorimeter", "grande", "general", "array", "lopes")
PENDING, PROCESSING, DONE, ERROR, EXPIRED = "Pending", "Processing", "Done", "Error", "Expired"


@dataclass
class PortalRequest:
    id: int
    owner: str
    selection: dict
    out_format: str
    created: float
    state: str = PENDING
    reason: str = ""
    finished: float | None = None
    payload: bytes | None = None


@dataclass
class Events:
    """The events the portal serves: one frame per component, aligned on the general rows
    (NaN rows: the event has no entry in that component)."""

    general: pd.DataFrame
    components: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def synthetic(cls, n: int = 200, seed: int = 7) -> "Events":
        rng = np.random.default_rng(seed)
        gt = 1117584000 + np.arange(n, dtype=np.int64) * 3
        general = pd.DataFrame({
            "Datetime": [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) for t in gt],
            "Ev": np.arange(608000, 608000 + n), "Gt": gt, "Mt": rng.integers(0, 10**9, n),
            "P": np.round(rng.uniform(995, 1015, n), 1), "R": np.full(n, 5376), "T": np.round(rng.uniform(-5, 25, n), 1),
        })
        in_array = rng.random(n) < 0.8
        in_grande = rng.random(n) < 0.4
        array = pd.DataFrame({
            "E": np.round(rng.uniform(14, 17.5, n), 3), "Xc": np.round(rng.uniform(-91, 91, n), 2),
            "Yc": np.round(rng.uniform(-91, 91, n), 2), "Ze": np.round(rng.uniform(0, 40, n), 2),
            "Az": np.round(rng.uniform(0, 360, n), 2), "Ne": np.round(rng.uniform(3, 7, n), 3),
            "Nmu": np.round(rng.uniform(2, 6, n), 3), "Age": np.round(rng.uniform(0.3, 1.4, n), 3)})
        array.loc[rng.random(n) < 0.05, "Ne"] = -1.0  # "not measured"
        grande = pd.DataFrame({
            "Xc": np.round(rng.uniform(-450, 50, n), 2), "Yc": np.round(rng.uniform(-550, 50, n), 2),
            "Ze": np.round(rng.uniform(0, 40, n), 2), "Az": np.round(rng.uniform(0, 360, n), 2),
            "Nch": np.round(rng.uniform(5, 8, n), 3), "Nmu": np.round(rng.uniform(4, 7, n), 3),
            "Age": np.round(rng.uniform(-0.3, 1.4, n), 3)})
        array.loc[~in_array, :] = np.nan
        grande.loc[~in_grande, :] = np.nan
        return cls(general, {"array": array, "grande": grande})


def _txt(frame: pd.DataFrame) -> str:
    lines = ["\t".join(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("\t".join(str(v) for v in row))
    return "\n".join(lines) + "\n"


class Portal:
    def __init__(self, events: Events, users: dict[str, str], *, expiry: float, steps: tuple[float, float]) -> None:
        self.events = events
        self.users = dict(users)
        self.expiry = expiry
        self.steps = steps  # seconds in Pending, then in Processing
        self.sessions: dict[str, str] = {}  # sessionid -> user
        self.requests: dict[int, PortalRequest] = {}
        self.next_id = 1001
        self.logins: list[tuple[str, bool]] = []  # (user, ok): tests check who logged in
        self.lock = threading.Lock()

    # -- the request life: Pending -> Processing -> Done (or Error) -> Expired
    def advance(self, r: PortalRequest) -> None:
        age = time.time() - r.created
        if r.state == PENDING and age >= self.steps[0]:
            r.state = PROCESSING
        if r.state == PROCESSING and age >= self.steps[0] + self.steps[1]:
            try:
                r.payload = self.build(r)
                r.state = DONE
            except ValueError as e:
                r.state, r.reason = ERROR, str(e)
            r.finished = time.time()
        if r.state == DONE and time.time() - (r.finished or 0) > self.expiry:
            r.state, r.payload = EXPIRED, None

    def build(self, r: PortalRequest) -> bytes:
        """request.zip for the selection: one table per component with selected quantities."""
        ev = self.events
        keep = np.ones(len(ev.general), dtype=bool)
        chosen: dict[str, list[str]] = {}
        for comp, quants in r.selection.items():
            if comp not in QUANTS:
                raise ValueError(f"unknown detector component {comp!r}")
            frame = ev.general if comp == "general" else ev.components.get(comp)
            for q, rng in quants.items():
                if q not in dict(QUANTS[comp]):
                    raise ValueError(f"unknown quantity {q!r} of {comp}")
                chosen.setdefault(comp, []).append(q)
                col = frame[q]
                lo, hi = rng.get("min"), rng.get("max")
                if lo is not None:
                    keep &= (col >= lo).to_numpy()
                if hi is not None:
                    keep &= (col <= hi).to_numpy()
        if not chosen:
            raise ValueError("no quantity selected")
        general = ev.general[keep].reset_index(drop=True)
        files: dict[str, bytes] = {}
        comps = [c for c in MAPPING_ORDER if c in QUANTS]
        rows = {c: [] for c in comps}
        tables: dict[str, pd.DataFrame] = {}
        for comp in comps:
            if comp == "general":
                sub = general
                rows[comp] = list(range(len(general)))
            else:
                frame = ev.components.get(comp, pd.DataFrame(index=ev.general.index))[keep].reset_index(drop=True)
                present = frame.notna().all(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), bool)
                idx = np.cumsum(present) - 1
                rows[comp] = [int(i) if p else -1 for i, p in zip(idx, present)]
                sub = frame[present]
            if comp in chosen or comp == "general":  # general (event id and time) always comes along
                cols = [q for q, _ in QUANTS[comp] if comp == "general" or q in chosen[comp]]
                tables[comp] = sub[cols]
        if r.out_format == "ascii":
            for comp, t in tables.items():
                files[f"{comp}.txt"] = _txt(t).encode()
        else:
            import h5py

            buf = io.BytesIO()
            with h5py.File(buf, "w") as f:
                for comp, t in tables.items():
                    for c in t.columns:
                        v = t[c].to_numpy()
                        f[f"{comp}/{c}"] = v.astype("S") if v.dtype == object else v
            files["events.h5"] = buf.getvalue()
        mapping = ["\t".join(comps)] + ["\t".join(str(rows[c][i]) for c in comps) for i in range(len(general))]
        files["row_mapping.txt"] = ("\n".join(mapping) + "\n").encode()
        files["Info.txt"] = (f"KCDC request {r.id}\nSelection: {json.dumps(r.selection)}\n").encode()
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
        return out.getvalue()


class _Base(web.RequestHandler):
    def initialize(self, portal: Portal) -> None:
        self.portal = portal

    def check_xsrf_cookie(self) -> None:  # Django's CSRF rules, below
        pass

    def user(self) -> str | None:
        sid = self.get_cookie("sessionid")
        return self.portal.sessions.get(sid) if sid else None

    def csrf_ok(self, token: str | None) -> bool:
        cookie = self.get_cookie("csrftoken")
        return bool(cookie) and token == cookie

    def referer_ok(self) -> bool:
        ref = self.request.headers.get("Referer", "")
        return ref.startswith(f"{self.request.protocol}://{self.request.host}/")

    def login_redirect(self) -> None:
        self.redirect(f"/accounts/login/?next={self.request.path}")

    def forbidden(self, why: str) -> None:
        self.set_status(403)
        self.finish(f"<h1>Forbidden (403)</h1><p>CSRF verification failed. Request aborted.</p><p>{why}</p>")


LOGIN_FORM = ("<html><body><form method='post' action='/accounts/login/'>{error}"
              "<input type='hidden' name='csrfmiddlewaretoken' value='{token}'>"
              "<input name='username'><input type='password' name='password'><button>Log in</button>"
              "</form></body></html>")


class LoginHandler(_Base):
    def _form(self, error: str = "") -> None:
        token = self.get_cookie("csrftoken") or secrets.token_hex(16)
        self.set_cookie("csrftoken", token, samesite="Lax")
        self.finish(LOGIN_FORM.format(error=error, token=token))

    def get(self) -> None:
        self._form()

    def post(self) -> None:
        if not self.referer_ok():
            return self.forbidden("Referer checking failed - no Referer.")
        if not self.csrf_ok(self.get_body_argument("csrfmiddlewaretoken", None)):
            return self.forbidden("CSRF token missing or incorrect.")
        user = self.get_body_argument("username", "")
        ok = self.portal.users.get(user) == self.get_body_argument("password", "") and user != ""
        self.portal.logins.append((user, ok))
        if not ok:
            return self._form("<p class='errornote'>Please enter a correct username and password. "
                              "Note that both fields may be case-sensitive.</p>")
        sid = secrets.token_hex(16)
        self.portal.sessions[sid] = user
        self.set_cookie("sessionid", sid, httponly=True, samesite="Lax")
        self.set_cookie("csrftoken", secrets.token_hex(16), samesite="Lax")  # Django rotates it at login
        self.redirect(self.get_query_argument("next", "/datashop/"))


class LogoutHandler(_Base):
    def post(self) -> None:
        self.portal.sessions.pop(self.get_cookie("sessionid") or "", None)
        self.redirect("/")


class XHRHandler(_Base):
    kind = "quants"

    def get(self) -> None:
        if self.user() is None:
            return self.login_redirect()
        if self.request.headers.get("X-Requested-With") != "XMLHttpRequest":
            self.set_status(400)
            return self.finish("<p>Bad request</p>")
        det = self.get_query_argument("det_name", "")
        if det not in QUANTS:
            self.set_status(404)
            return self.finish(json.dumps({"error": f"unknown det_name {det!r}"}))
        self.set_header("Content-Type", "application/json")
        if self.kind == "quants":
            return self.finish(json.dumps({"quants": [{"name": q, "unit": u} for q, u in QUANTS[det]]}))
        quant = self.get_query_argument("quant_name", None)
        items = {q: f"{q} of the {det} component ({u or 'no unit'})" for q, u in QUANTS[det] if quant in (None, q)}
        self.finish(json.dumps({"det_name": det, "descr": items}))


class DescrHandler(XHRHandler):
    kind = "descr"


class SubmitHandler(_Base):
    def get(self, prefix: str) -> None:
        """The DataShop page (a form): like Django, it sets the CSRF cookie if there is none."""
        if self.user() is None:
            return self.login_redirect()
        if not self.get_cookie("csrftoken"):
            self.set_cookie("csrftoken", secrets.token_hex(16), samesite="Lax")
        self.finish("<html><body><form id='datashop'></form></body></html>")

    def post(self, prefix: str) -> None:
        if self.user() is None:
            return self.login_redirect()
        if not self.referer_ok():
            return self.forbidden("Referer checking failed.")
        if not self.csrf_ok(self.request.headers.get("X-CSRFToken")):
            return self.forbidden("CSRF token missing or incorrect.")
        fmt = self.get_body_argument("out_format", "")
        try:
            data = json.loads(self.get_body_argument("data", ""))
        except ValueError:
            data = None
        if fmt not in ("ascii", "root", "hdf5") or not isinstance(data, dict):
            self.set_status(400)
            return self.finish(json.dumps({"error": "out_format must be ascii, root or hdf5 and data a JSON object"}))
        p = self.portal
        with p.lock:
            r = PortalRequest(p.next_id, self.user(), data, fmt, time.time())
            p.requests[r.id] = r
            p.next_id += 1
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"redir": "/datashop/review/"}))


class ReviewHandler(_Base):
    def get(self) -> None:
        user = self.user()
        if user is None:
            return self.login_redirect()
        rows = []
        for r in sorted(self.portal.requests.values(), key=lambda r: r.id):
            if r.owner != user:
                continue
            self.portal.advance(r)
            link = (f"<a href='/datashop/download/{r.id}/request.zip'>request.zip</a>" if r.state == DONE else "")
            rows.append(f"<tr><td>{r.id}</td><td>{time.strftime('%Y-%m-%d %H:%M', time.gmtime(r.created))}</td>"
                        f"<td>{r.out_format}</td><td>{r.state}</td><td>{html.escape(r.reason)}</td><td>{link}</td></tr>")
        self.finish("<html><body><h1>Your requests</h1><table><tr><th>Id</th><th>Date</th><th>Format</th>"
                    "<th>Status</th><th>Message</th><th>Download</th></tr>" + "".join(rows) + "</table></body></html>")


class DownloadHandler(_Base):
    def get(self, rid: str) -> None:
        user = self.user()
        if user is None:
            return self.login_redirect()
        r = self.portal.requests.get(int(rid))
        if r is not None:
            self.portal.advance(r)
        if r is None or r.owner != user or r.state != DONE:
            self.set_status(404)
            return self.finish("<h1>Not Found</h1><p>The requested resource was not found on this server.</p>")
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", "attachment; filename=request.zip")
        self.finish(r.payload)


class KCDCPortal:
    """The portal double as a real HTTP server on loopback, in a thread of its own."""

    def __init__(self, events: Events | None = None, users: dict[str, str] | None = None, *,
                 expiry: float = 3600.0, steps: tuple[float, float] = (0.3, 0.3),
                 host: str = "127.0.0.1", port: int | None = None) -> None:
        self.portal = Portal(events or Events.synthetic(), users or {}, expiry=expiry, steps=steps)
        self.host = host
        self.port = port or free_port()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def app(self) -> web.Application:
        kw = {"portal": self.portal}
        return web.Application([
            (r"/accounts/login/", LoginHandler, kw),
            (r"/accounts/logout/", LogoutHandler, kw),
            (r"/datashop/quants/", XHRHandler, kw),
            (r"/datashop/descr/", DescrHandler, kw),
            (r"/datashop/review/", ReviewHandler, kw),
            (r"/datashop/download/([0-9]+)/request\.zip", DownloadHandler, kw),
            (r"/datashop/(.*)", SubmitHandler, kw),
        ])

    def start(self) -> "KCDCPortal":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = httpserver.HTTPServer(self.app())
            self._server.listen(self.port, self.host)
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="kcdc-portal", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._server.stop)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


def main() -> None:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--user", required=True, help="the one account")
    parser.add_argument("--password-file", required=True, help="its password (a docker secret)")
    args = parser.parse_args()
    password = Path(args.password_file).read_text().strip()
    KCDCPortal(users={args.user: password}, host="0.0.0.0", port=args.port, steps=(1.0, 1.0)).start()
    print(f"KCDC portal double on :{args.port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
