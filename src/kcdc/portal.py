"""The kcdc client against the KCDC web portal itself (kcdc.iap.kit.edu), not the hub's service.

KCDC is a Django site with its own accounts and no API tokens. The wire protocol below is
the one recorded in public code that talks to it (omegaflow/omegaflow,
tools/harvest/src/bin/kcdc_compiler.rs; summarised in issue 20):

* login: ``GET /accounts/login/`` gives the ``csrftoken`` cookie; ``POST /accounts/login/``
  (trailing slash and ``Referer`` required) with ``username``, ``password`` and
  ``csrfmiddlewaretoken``; success is a redirect plus the ``sessionid`` cookie;
* quantities: ``GET /datashop/quants/?det_prefix=&det_name=<component>`` and
  ``/datashop/descr/...``, JSON only with ``X-Requested-With: XMLHttpRequest``;
* a request: form POST to ``/datashop/<prefix>`` with ``out_format`` (ascii|root|hdf5) and
  ``data`` (the selection as JSON), CSRF token in ``X-CSRFToken``, answered with
  ``{"redir": "/datashop/review/"}``; ids are integers, the review page shows the state;
* download: ``GET /datashop/download/<id>/request.zip`` with the session. Links expire.

Not published, so chosen here and kept in this module: the JSON inside quants/descr
(``{"quants": [{"name", "unit"}]}``), the keys of the selection
(``{"<component>": {"<quantity>": {"min": .., "max": ..}}}``: KCDC selects ranges, so
``>`` and ``>=`` both become ``min``), and the state words of the review page
(:data:`STATES`). Check them against the live portal before relying on them.

Credentials: ``username``/``password`` arguments, else ``KCDC_USERNAME`` and
``KCDC_PASSWORD``, else the password in the file ``KCDC_PASSWORD_FILE`` (default
``/run/secrets/kcdc_password`` if it exists), else a prompt (getpass) in an interactive
session. The password is never logged, printed or kept in a repr. A session handed over by
the hub (``KCDC_SESSION``: the ``sessionid`` cookie) is used without a login.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any, Iterable

from .client import Client, Request, normalise_cuts
from .environment import Environment
from .errors import (AuthenticationError, InvalidRequest, KCDCError, NotYourRequest, RequestExpired,
                     ServiceUnavailable)

#: Review-page state words -> the states of the hub's data service (our reading; see above).
STATES = {"pending": "Scheduled", "queued": "Scheduled", "processing": "Running", "running": "Running",
          "done": "Finished", "finished": "Finished", "ready": "Finished", "error": "Failed", "failed": "Failed",
          "expired": "Expired", "deleted": "Expired", "deleting": "Deleting"}
PROGRESS = {"Scheduled": 0.0, "Running": 0.5, "Finished": 1.0}
#: Detector components asked for their quantities (KCDC's det_name values, issue 20; general is ours).
COMPONENTS = ("general", "array", "grande", "calorimeter", "lopes")
#: Data shops of the portal: id -> URL prefix of the request POST (KASCADE's is empty).
SHOPS = {"kascade": ""}
FORMATS = ("ascii", "hdf5", "root")
DEFAULT_PASSWORD_FILE = "/run/secrets/kcdc_password"

def _pairs(env: str, raw: str, default: dict[str, str]) -> dict[str, str]:
    """``word=value,word=value`` (the value ``raw`` of the variable ``env``), over ``default``: a
    deployment sets KCDC_PORTAL_SHOPS (data shop id=URL prefix) or KCDC_PORTAL_STATES (review
    word=state) where the live portal differs from what is written down here."""
    raw = raw.strip()
    if not raw:
        return dict(default)
    out = dict(default)
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(f"{env}={raw!r}: write it as key=value pairs separated by commas")
        out[key.strip().lower() if env.endswith("STATES") else key.strip()] = value.strip()
    return out


_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S | re.I)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _states() -> dict[str, str]:
    return _pairs("KCDC_PORTAL_STATES", Environment.read().portal_states, STATES)


def _shops() -> dict[str, str]:
    return _pairs("KCDC_PORTAL_SHOPS", Environment.read().portal_shops, SHOPS)


def parse_review(page: str) -> dict[int, dict]:
    """Rows of the review page: {id: {"state": KCDC's word, "reason": text}}. A row counts when
    its first cell is an integer id and one cell is a known state word."""
    out: dict[int, dict] = {}
    for row in _ROW.findall(page):
        cells = [html.unescape(_TAG.sub("", c)).strip() for c in _CELL.findall(row)]
        if not cells or not cells[0].isdigit():
            continue
        states = [i for i, c in enumerate(cells) if c.lower() in _states()]
        if not states:
            continue
        i = states[0]
        out[int(cells[0])] = {"state": cells[i], "reason": cells[i + 1] if i + 1 < len(cells) else ""}
    return out


def _password(username: str, password: str | None) -> str:
    if password:
        return password
    env = Environment.read()
    if env.password:
        return env.password
    path = env.password_file or (DEFAULT_PASSWORD_FILE if Path(DEFAULT_PASSWORD_FILE).exists()
                                                     else "")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            raise AuthenticationError(f"cannot read the KCDC password file {path} ({e.strerror}): fix "
                                      "KCDC_PASSWORD_FILE or set KCDC_PASSWORD") from None
    interactive = "ipykernel" in sys.modules or (sys.stdin is not None and sys.stdin.isatty())
    if interactive:
        import getpass

        return getpass.getpass(f"KCDC password for {username}: ")
    raise AuthenticationError("no KCDC password: pass kcdc.Client(portal=True, username=..., password=...), set "
                              "KCDC_PASSWORD, or put it in a file named by KCDC_PASSWORD_FILE")


class PortalClient(Client, upstream="portal"):
    """``kcdc.Client`` for the KCDC portal: the same calls and exceptions as for the hub's service."""

    _submit_locks: dict[str, threading.Lock] = {}

    def __init__(self, url: str | None = None, token: str | None = None, *, username: str | None = None,
                 password: str | None = None, session: str | None = None, portal: bool | None = True,
                 **kw: Any) -> None:
        env = Environment.read()
        url = url or env.portal_url
        if not url:
            raise InvalidRequest("no KCDC portal URL: pass kcdc.Client(url=..., portal=True) or set KCDC_PORTAL_URL")
        super().__init__(url, None, **kw)
        self.username = username or env.username
        self.__password = password  # resolved at the first login; never printed
        self._handed_session = session or env.session or None
        self._specs: dict[int, dict] = {}
        self._columns: dict[str, dict[str, tuple[str, str]]] = {}

    def __repr__(self) -> str:
        return f"<kcdc.Client KCDC portal {self.url} user={self.username or '?'}>"

    # ------------------------------------------------------------ session
    @property
    def session(self):
        if self._session is None:
            self._session = self._new_session()
            if self._handed_session:
                self._session.cookies.set("sessionid", self._handed_session)
            else:
                self.login()
        return self._session

    def login(self) -> None:
        """Log in with username and password (Django form login with CSRF)."""
        import requests

        if not self.username:
            raise AuthenticationError("no KCDC username: pass kcdc.Client(portal=True, username=...) or set "
                                      "KCDC_USERNAME")
        if self._session is None:
            self._session = self._new_session()
        s = self._session
        login_url = self.url + "accounts/login/"
        try:
            s.get(login_url, timeout=self.timeout)
            token = s.cookies.get("csrftoken")
            if not token:
                raise ServiceUnavailable(f"{login_url} set no csrftoken cookie: is {self.url} the KCDC portal?")
            self.__password = _password(self.username, self.__password)
            r = s.post(login_url, data={"username": self.username, "password": self.__password,
                                        "csrfmiddlewaretoken": token},
                       headers={"Referer": login_url}, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as e:
            raise ServiceUnavailable(f"cannot reach the KCDC portal at {self.url} ({type(e).__name__}): check the "
                                     "URL and your network, and try again later") from None
        if r.status_code == 403:
            raise AuthenticationError(f"the KCDC portal refused the login form (HTTP 403, CSRF check): {self.url} "
                                      "may have changed its login; tell the hub administrators", status=403)
        if r.status_code >= 500:
            raise ServiceUnavailable(f"the KCDC portal answered {r.status_code} to the login: try again later",
                                     status=r.status_code)
        if r.status_code not in (301, 302, 303) or not s.cookies.get("sessionid"):
            raise AuthenticationError(f"KCDC did not accept the username {self.username!r} with this password: "
                                      "check both (they are case-sensitive) or reset the password on the KCDC "
                                      "portal", status=r.status_code)

    def _http(self, method: str, path: str, *, stream: bool = False, headers: dict | None = None, xhr=False,
              relogin: bool = True, **kw):
        import requests

        h = dict(headers or {})
        if xhr:
            h["X-Requested-With"] = "XMLHttpRequest"
        if method == "POST":
            if not self.session.cookies.get("csrftoken"):
                # a handed-over session comes without Django's CSRF cookie: the DataShop's own
                # page (a form) sets one
                self._http("GET", "datashop/", relogin=relogin)
            h["X-CSRFToken"] = self.session.cookies.get("csrftoken", "")
            h["Referer"] = self.url + "datashop/"
        try:
            r = self.session.request(method, self.url + path.lstrip("/"), timeout=self.timeout,
                                     allow_redirects=False, stream=stream, headers=h, **kw)
        except requests.RequestException as e:
            raise ServiceUnavailable(f"cannot reach the KCDC portal at {self.url} ({type(e).__name__}): try "
                                     "again later") from None
        if r.status_code in (301, 302, 303) and "/accounts/login/" in r.headers.get("Location", ""):
            if relogin and not self._handed_session:
                self.login()
                return self._http(method, path, stream=stream, headers=headers, xhr=xhr, relogin=False, **kw)
            raise AuthenticationError("your KCDC session has expired: log in again", status=r.status_code)
        if r.status_code >= 500:
            raise ServiceUnavailable(f"the KCDC portal answered {r.status_code}: try again later",
                                     status=r.status_code)
        if r.status_code == 403:
            raise AuthenticationError(f"the KCDC portal refused {path} (403)", status=403)
        return r

    def _json(self, method: str, path: str, **kw) -> Any:
        r = self._http(method, path, xhr=True, **kw)
        try:
            return r.json()
        except ValueError:
            raise ServiceUnavailable(f"the KCDC portal did not answer JSON to {path} (HTTP {r.status_code})",
                                     status=r.status_code) from None

    # ------------------------------------------------------------ data shops
    def info(self) -> dict:
        return {"service": "KCDC portal", "url": self.url, "you": {"name": self.username, "kind": "user"},
                "formats": list(FORMATS), "states": sorted(set(_states().values()))}

    def datashops(self) -> list[dict]:
        return [{"id": k, "title": f"KCDC DataShop ({k})", "upstream": True, "simulated": False} for k in _shops()]

    def search(self, query: str = "") -> list[dict]:
        raise KCDCError("the KCDC portal offers no catalogue search: search the hub's catalogue with "
                        "kcdc.Client(portal=False).search(...), or list the portal's data shops with "
                        "client.datashops()", code="not_offered")

    def _shop_columns(self, datashop: str) -> dict[str, tuple[str, str, str]]:
        """name -> (component, KCDC's spelling, unit); names in two components get a prefix."""
        from .formats import canonical

        shops = _shops()
        if datashop not in shops:
            raise InvalidRequest(f"there is no data shop {datashop!r} at the KCDC portal: use one of "
                                 f"{', '.join(shops)}")
        if datashop not in self._columns:
            found: list[tuple[str, str, str]] = []
            for comp in COMPONENTS:
                r = self._http("GET", f"datashop/quants/?det_prefix={shops[datashop]}&det_name={comp}", xhr=True)
                if r.status_code != 200:
                    continue  # the portal has no such component
                try:
                    found += [(comp, q["name"], q.get("unit", "")) for q in r.json().get("quants", [])]
                except (ValueError, AttributeError, KeyError, TypeError):
                    raise ServiceUnavailable("the KCDC portal's quantity list has an unknown form: tell the hub "
                                             "administrators") from None
            count: dict[str, int] = {}
            for _, q, _ in found:
                count[canonical(q)] = count.get(canonical(q), 0) + 1
            self._columns[datashop] = {(f"{c}_{canonical(q)}" if count[canonical(q)] > 1 else canonical(q)): (c, q, u)
                                       for c, q, u in found}
        return self._columns[datashop]

    def datashop(self, datashop_id: str) -> dict:
        cols = self._shop_columns(datashop_id)
        return {"id": datashop_id, "title": f"KCDC DataShop ({datashop_id})", "simulated": False,
                "columns": {n: {"name": n, "unit": u, "component": c, "kcdc_name": q,
                                # DateTime cannot be sent as a range: "text" is not cuttable anywhere
                                "kind": "text" if q.lower() == "datetime" else "float",
                                "cuttable": q.lower() != "datetime"}
                            for n, (c, q, u) in cols.items()}}

    # ------------------------------------------------------------ requests
    def selection(self, datashop: str, columns: Iterable[str], cuts: Any) -> dict:
        """KCDC's selection JSON for columns and cuts (see the module docstring)."""
        cols = self._shop_columns(datashop)
        sel: dict[str, dict[str, dict]] = {}

        def entry(name: str) -> dict:
            if name not in cols:
                shared = [n for n in cols if n.endswith("_" + name)]
                hint = f": write {' or '.join(shared)}" if shared else f"; available are {', '.join(cols)}"
                raise InvalidRequest(f"KCDC has no quantity {name!r} in {datashop}{hint}")
            comp, q, _ = cols[name]
            return sel.setdefault(comp, {}).setdefault(q, {})

        for name in columns:
            entry(name)
        for cut in normalise_cuts(cuts):
            name, op, v = cut["column"], cut["op"], cut["value"]
            e = entry(name)
            if op in (">", ">=", "gt", "ge"):
                e["min"] = v
            elif op in ("<", "<=", "lt", "le"):
                e["max"] = v
            elif op == "between" and isinstance(v, list) and len(v) == 2:
                e["min"], e["max"] = v
            elif op in ("==", "="):
                e["min"] = e["max"] = v
            else:
                raise InvalidRequest(f"KCDC's DataShop selects ranges: the cut {name} {op} {v!r} cannot be sent; "
                                     "use >, >=, <, <=, == or between (then filter the DataFrame)")
        return sel

    def request(self, datashop: str, columns: Iterable[str] | str | None = None, cuts: Any = None,
                format: str = "hdf5") -> Request:
        if format not in FORMATS:
            raise InvalidRequest(f"KCDC delivers {', '.join(FORMATS)}, not {format!r}: choose one of those")
        if isinstance(columns, str):
            columns = [columns]
        columns = list(columns) if columns is not None else list(self._shop_columns(datashop))
        sel = self.selection(datashop, columns, cuts)
        lock = self._submit_locks.setdefault(f"{self.url} {self.username}", threading.Lock())
        with lock:  # the portal does not answer the new id: it is the one the review page gained
            before = set(self._review())
            r = self._http("POST", f"datashop/{_shops()[datashop]}", data={"out_format": format,
                                                                         "data": json.dumps(sel)})
            if r.status_code != 200:
                raise InvalidRequest(f"the KCDC portal refused the request (HTTP {r.status_code}): "
                                     f"{r.text[:200]}", status=r.status_code)
            try:
                redir = r.json().get("redir")
            except ValueError:
                redir = None
            if not redir:
                raise ServiceUnavailable("the KCDC portal did not confirm the request (no redirect to the review "
                                         "page): look at the portal's review page before submitting again")
            new = sorted(set(self._review()) - before)
        if not new:
            raise ServiceUnavailable("the request was sent but does not show on the KCDC review page")
        rid = new[-1]
        self._specs[rid] = {"datashop": datashop, "columns": columns, "cuts": normalise_cuts(cuts), "format": format}
        return Request(self, self._model(rid))

    def _review(self) -> dict[int, dict]:
        r = self._http("GET", "datashop/review/")
        if r.status_code != 200:
            raise ServiceUnavailable(f"the KCDC review page answered {r.status_code}", status=r.status_code)
        return parse_review(r.text)

    def _model(self, request_id) -> dict:
        rid = int(request_id)
        row = self._review().get(rid)
        if row is None:
            raise NotYourRequest(f"there is no request {rid} among yours on the KCDC portal (deleted after about two "
                                 "weeks, or another account's). List yours with client.list()")
        state = _states().get(row["state"].lower(), "Failed")
        spec = self._specs.get(rid, {})
        key = hashlib.sha256(f"{self.url} {self.username} {rid}".encode()).hexdigest()
        return {"id": rid, "datashop": spec.get("datashop"), "columns": spec.get("columns"),
                "cuts": spec.get("cuts"), "format": spec.get("format"), "state": state,
                "reason": row["reason"] or None if state == "Failed" else None,
                "progress": PROGRESS.get(state, 0.0), "filename": "request.zip", "key": key,
                "kcdc_state": row["state"]}

    def get(self, request_id) -> Request:
        return Request(self, self._model(request_id))

    def list(self, all: bool = False, state: str | None = None) -> list[Request]:
        reqs = [Request(self, self._model(rid)) for rid in self._review()]
        return [r for r in reqs if state is None or r.state == state]

    def delete(self, request) -> None:
        raise KCDCError("the KCDC portal offers no removal of requests: they are deleted there after about two weeks")

    def _file_response(self, request_id, headers: dict):
        r = self._http("GET", f"datashop/download/{int(request_id)}/request.zip", stream=True, headers=headers)
        if r.status_code in (200, 206):
            return r
        r.close()
        if r.status_code in (404, 410):
            raise RequestExpired(f"the download link of KCDC request {request_id} has expired (or the request is "
                                 "gone): submit the request again", status=r.status_code)
        raise KCDCError(f"the KCDC portal answered {r.status_code} to the download of request {request_id}",
                        status=r.status_code)
