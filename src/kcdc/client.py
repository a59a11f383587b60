"""The kcdc client: the KCDC data-request API over HTTP.

Configuration comes from the environment of the notebook container:

* ``JUPYTERHUB_API_TOKEN`` (set by the hub in every user server) or ``KCDC_TOKEN``;
* ``KCDC_URL``: the data service, e.g. ``https://astroparticle.online/services/datacentre/``.
  Without it the URL is derived: the hub's base URL (``JUPYTERHUB_BASE_URL``, or the part of
  ``JUPYTERHUB_SERVICE_PREFIX`` before ``user/``) plus ``services/datacentre/``, on the
  public URL ``JUPYTERHUB_PUBLIC_URL`` if the hub sets it, else on this machine
  (``http://127.0.0.1:10101``, where ``python -m datacentre`` listens; in the hub's stack
  every server and service is given ``KCDC_URL``, see astrohub.topology);
* ``KCDC_CACHE_DIR``: where downloads are kept (default ``~/.cache/kcdc``).

All of them are read in :mod:`kcdc.environment`.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

from .environment import Environment
from .errors import (AuthenticationError, InvalidRequest, KCDCError, LimitExceeded, NotYourRequest,
                     RequestExpired, RequestFailed, ServiceUnavailable)

DEFAULT_SERVICE_HOST = "http://127.0.0.1:10101"
TERMINAL = ("Finished", "Failed", "Expired")


def default_url(env: dict | None = None) -> str:
    """The data service's URL from the variables of ``env`` (default: the environment)."""
    e = Environment.read(env)
    if e.url:
        return e.url if e.url.endswith("/") else e.url + "/"
    base = e.hub_base_url
    if not base:
        prefix = e.service_prefix
        base = prefix.split("user/", 1)[0] if "user/" in prefix else "/"
    base = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    if e.public_url:
        u = urlparse(e.public_url)
        host = f"{u.scheme}://{u.netloc}"
    else:
        host = DEFAULT_SERVICE_HOST
    return f"{host}{base}services/datacentre/"


def normalise_cuts(cuts: Any) -> list[dict]:
    """Accept friendly cuts and return the structured form.

    ``("E", ">", 15.5)``, ``["E", ">", 15.5]``, ``{"column": "E", "op": ">", "value": 15.5}``;
    a tuple value (``("Ze", "between", (0, 18))``) becomes a list. A single cut may be
    passed without the surrounding list."""
    if cuts is None:
        return []
    if isinstance(cuts, dict) or (isinstance(cuts, tuple) and len(cuts) == 3 and isinstance(cuts[0], str)
                                  and isinstance(cuts[1], str)):
        cuts = [cuts]
    out = []
    for c in cuts:
        if isinstance(c, dict):
            d = dict(c)
        elif isinstance(c, (tuple, list)) and len(c) == 3:
            d = {"column": c[0], "op": c[1], "value": c[2]}
        else:
            raise InvalidRequest(f"cannot read the cut {c!r}: write it as (column, op, value), e.g. ('E', '>', 15.5)")
        v = d.get("value")
        if isinstance(v, (tuple, set, frozenset)):
            v = sorted(v) if isinstance(v, (set, frozenset)) else list(v)
        if hasattr(v, "tolist"):  # numpy scalars / arrays
            v = v.tolist()
        d["value"] = v
        out.append(d)
    return out


def _portal_by_default(env: Environment) -> bool:
    # the hub sets KCDC_PORTAL_URL (and no KCDC_URL) for a KCDC-password login
    return not env.url and bool(env.portal_url)


class Client:
    """A connection to the datacentre (or any KCDC-API server), or, with ``portal=True`` (or
    ``KCDC_PORTAL_URL`` set and no ``KCDC_URL``), to the KCDC web portal itself
    (:class:`kcdc.portal.PortalClient`: the same calls and exceptions)."""

    #: the client of each other upstream, by name: the subclass says so with
    #: ``class PortalClient(Client, upstream="portal")`` (kcdc's __init__ imports it), so this
    #: module need not import its subclasses.
    _upstreams: dict[str, type[Client]] = {}

    def __init_subclass__(cls, upstream: str | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if upstream:
            Client._upstreams[upstream] = cls

    def __new__(cls, *args: Any, portal: bool | None = None, **kw: Any):
        if cls is Client and (portal or (portal is None and not args and not kw.get("url")
                                         and _portal_by_default(Environment.read()))):
            return super().__new__(Client._upstreams["portal"])
        return super().__new__(cls)

    def __init__(self, url: str | None = None, token: str | None = None, *,
                 cache_dir: str | os.PathLike | bool | None = None, progress: bool = True,
                 timeout: float = 60.0, poll_interval: float = 1.0, portal: bool | None = None) -> None:
        self.url = url if url else default_url()
        if not self.url.endswith("/"):
            self.url += "/"
        env = Environment.read()
        self.token = token or env.token or env.hub_token or None
        if cache_dir is False:
            self.cache_dir = None
        elif cache_dir is None or cache_dir is True:
            self.cache_dir = env.cache_path()
        else:
            self.cache_dir = Path(cache_dir)
        self.progress = progress
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._session = None

    def __repr__(self) -> str:
        return f"<kcdc.Client {self.url}>"

    # ------------------------------------------------------------ HTTP
    @staticmethod
    def _new_session():
        import requests

        s = requests.Session()
        s.headers["User-Agent"] = "kcdc-client/1.0"
        return s

    @property
    def session(self):
        if self._session is None:
            s = self._new_session()
            if self.token:
                s.headers["Authorization"] = f"token {self.token}"
            self._session = s
        return self._session

    def _http(self, method: str, path: str, *, stream: bool = False, headers: dict | None = None, **kw):
        import requests

        url = self.url + path.lstrip("/")
        try:
            r = self.session.request(method, url, timeout=self.timeout, allow_redirects=False,
                                     stream=stream, headers=headers, **kw)
        except requests.RequestException as e:
            raise ServiceUnavailable(
                f"cannot reach the data service at {self.url} ({type(e).__name__}). Check KCDC_URL and your "
                "network, and try again in a minute; if it persists, tell the hub administrators") from None
        if r.status_code < 300 or r.status_code == 304:
            return r
        self._raise(r)

    def _raise(self, r) -> None:
        try:
            body = r.json()
            if not isinstance(body, dict):
                body = {}
        except ValueError:
            body = {}
        code = body.get("error")
        msg = body.get("message") or f"HTTP {r.status_code} from {r.url}"
        st = r.status_code
        kw = dict(status=st, code=code, body=body)
        if st in (301, 302, 303, 307, 308):
            raise AuthenticationError(
                "the data service asked for a browser login: this client needs a token. In a notebook on the "
                "hub JUPYTERHUB_API_TOKEN is set for you; elsewhere create one on the hub's token page and "
                "pass kcdc.Client(token=...)", **kw)
        if st == 401 or code in ("missing_scope", "not_admin", "not_authenticated"):
            raise AuthenticationError(
                f"{msg}. (kcdc sends $JUPYTERHUB_API_TOKEN; outside the hub pass kcdc.Client(token=...))", **kw)
        if code == "not_yours" or (st == 404 and code == "not_found"):
            raise NotYourRequest(msg + ". List your own requests with client.list()", **kw)
        if code == "limit_exceeded" or st in (413, 429):
            raise LimitExceeded(msg, **kw)
        if st == 410 or code == "expired":
            raise RequestExpired(msg, **kw)
        if st in (502, 503, 504) or st >= 500:
            raise ServiceUnavailable(f"the data service answered {st}: {msg}. Try again in a minute; if it "
                                     "persists, tell the hub administrators", **kw)
        if st in (400, 404, 415, 422):
            raise InvalidRequest(msg, **kw)
        raise KCDCError(msg, **kw)

    def _json(self, method: str, path: str, **kw) -> Any:
        r = self._http(method, path, **kw)
        try:
            return r.json()
        except ValueError:
            raise ServiceUnavailable(f"the data service at {self.url} did not answer JSON (HTTP {r.status_code}): "
                                     "check KCDC_URL", status=r.status_code) from None

    # ------------------------------------------------------------ what Request needs
    def _model(self, request_id) -> dict:
        return self._json("GET", f"api/requests/{request_id}")

    def _file_response(self, request_id, headers: dict):
        return self._http("GET", f"api/requests/{request_id}/file", stream=True, headers=headers)

    # ------------------------------------------------------------ API
    def info(self) -> dict:
        """Who the service thinks you are, formats, states and your limits."""
        return self._json("GET", "api/")

    def datashops(self) -> list[dict]:
        """The data shops (id, title, experiment, kind, simulated, events, ...)."""
        return self._json("GET", "api/datashops")["datashops"]

    def datashop(self, datashop_id: str) -> dict:
        """One data shop with its columns (unit, description, range, dtype)."""
        return self._json("GET", f"api/datashops/{datashop_id}")

    def search(self, query: str = "") -> list[dict]:
        """Catalogue entries (data shops and published spectra) matching every word of ``query``,
        best first: ``client.search("knee")``, ``client.search("Tunka Xmax")``. Each says its
        experiment, kind (simulated or measured), columns with units, licence and identifier."""
        if not isinstance(query, str):
            raise InvalidRequest(f"search for text, e.g. client.search('knee'), not {type(query).__name__}")
        return self._json("GET", "api/catalogue", params={"q": query})["entries"]

    def request(self, datashop: str, columns: Iterable[str] | str | None = None, cuts: Any = None,
                format: str = "hdf5") -> "Request":
        """Submit a data request and return it (it runs on the server; use ``.wait()``).

        cuts: ``[("E", ">", 15.5), ("Ze", "between", (0, 18)), ("Mt", "in", [1, 2])]``
        (or the structured dicts); format: hdf5, ascii, root, parquet or csv."""
        if isinstance(columns, str):
            columns = [columns]
        body = {"datashop": datashop, "columns": list(columns) if columns is not None else "*",
                "cuts": normalise_cuts(cuts), "format": format}
        model = self._json("POST", "api/requests", json=body)
        return Request(self, model)

    def get(self, request_id: str) -> "Request":
        """A request by id (yours, or anybody's if you are an admin)."""
        return Request(self, self._json("GET", f"api/requests/{request_id}"))

    def list(self, all: bool = False, state: str | None = None) -> list["Request"]:
        """Your requests (admins: ``all=True`` for everybody's)."""
        params = {}
        if all:
            params["all"] = "1"
        if state:
            params["state"] = state
        return [Request(self, m) for m in self._json("GET", "api/requests", params=params)["requests"]]

    def delete(self, request: "Request | str") -> None:
        """Remove a request (and its file on the server)."""
        rid = request.id if isinstance(request, Request) else request
        self._json("DELETE", f"api/requests/{rid}")


class Request:
    """A data request on the server. Attributes mirror the service's JSON model."""

    def __init__(self, client: Client, model: dict) -> None:
        self.client = client
        self._update(model)

    def _update(self, model: dict) -> None:
        self.model = model
        for k in ("id", "datashop", "columns", "cuts", "format", "state", "reason", "progress", "rows",
                  "rows_estimate", "size", "filename", "created_at", "finished_at", "expires_at", "key", "owner"):
            setattr(self, k, model.get(k))

    def __repr__(self) -> str:
        extra = f" reason={self.reason!r}" if self.reason else ""
        return (f"<kcdc.Request {self.id} {self.datashop} {self.format} {self.state} "
                f"{int((self.progress or 0) * 100)}%{extra}>")

    def refresh(self) -> "Request":
        self._update(self.client._model(self.id))
        return self

    def _check(self) -> None:
        if self.state == "Failed":
            raise RequestFailed(f"request {self.id} failed: {self.reason or 'no reason given'}. Change the "
                                "request if the reason says so, or submit it again", body=self.model)
        if self.state == "Expired":
            raise RequestExpired(f"the result of request {self.id} expired (at {self.expires_at}) and was purged: "
                                 "submit the request again", body=self.model)
        if self.state == "Deleting":
            raise NotYourRequest(f"request {self.id} is being removed: submit it again if you need it",
                                 body=self.model)

    def wait(self, timeout: float | None = None, progress: bool | None = None,
             poll_interval: float | None = None) -> "Request":
        """Block until the request is Finished (progress bar meanwhile); raise if it fails."""
        show = self.client.progress if progress is None else progress
        poll = poll_interval or self.client.poll_interval
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None
        if show and self.state not in TERMINAL:
            from tqdm.auto import tqdm

            bar = tqdm(total=100, desc=f"{self.datashop} {self.state}", unit="%",
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}]")
        try:
            delay = min(0.1, poll)
            while self.state not in TERMINAL:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"request {self.id} still {self.state} after {timeout} s; call "
                                       ".wait() again, or check client.list()")
                time.sleep(delay)
                delay = min(delay * 1.5, poll)
                self.refresh()
                if bar is not None:
                    bar.set_description(f"{self.datashop} {self.state}")
                    bar.n = int(round((self.progress or 0) * 100))
                    bar.refresh()
            if bar is not None and self.state == "Finished":
                bar.n = 100
                bar.refresh()
        finally:
            if bar is not None:
                bar.close()
        self._check()
        return self

    # ------------------------------------------------------------ files
    def _cache_folder(self) -> Path | None:
        if self.client.cache_dir is None or not self.key:
            return None
        return self.client.cache_dir / self.key[:32]

    def cached_file(self) -> Path | None:
        """The downloaded file in the local cache, if there is one."""
        folder = self._cache_folder()
        if folder is None or not folder.is_dir():
            return None
        files = [p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part")]
        return files[0] if files else None

    def download(self, path: str | os.PathLike | None = None, progress: bool | None = None,
                 max_bytes: int | None = None) -> Path:
        """Download the file (waits first if needed) and return its path.

        With a cache (default) the file is fetched once per identical request; ``path`` (a file
        or an existing directory) gets a copy. Interrupted downloads resume (HTTP Range).
        ``max_bytes``: stop and raise once more than that arrives (a service forwarding
        another's results)."""
        cached = self.cached_file()
        if cached is None:
            if self.state not in TERMINAL:
                self.wait(progress=progress)
            self._check()
            folder = self._cache_folder()
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                cached = self._fetch(folder / (self.filename or f"{self.id}.{self.format}"), progress, max_bytes)
            else:
                if path is None:
                    path = Path.cwd() / (self.filename or f"{self.id}.{self.format}")
                target = Path(path)
                if target.is_dir():
                    target = target / (self.filename or f"{self.id}.{self.format}")
                return self._fetch(target, progress, max_bytes)
        if path is None:
            return cached
        target = Path(path)
        if target.is_dir():
            target = target / cached.name
        if target.resolve() != cached.resolve():
            shutil.copyfile(cached, target)
        return target

    def _fetch(self, target: Path, progress: bool | None, max_bytes: int | None = None) -> Path:
        show = self.client.progress if progress is None else progress
        part = target.with_name(target.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        r = self.client._file_response(self.id, headers)
        if r.status_code != 206:
            have = 0
        total = have + int(r.headers.get("Content-Length") or 0)
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=f"download {target.name}")
        try:
            with open(part, "ab" if have else "wb") as fh:
                for chunk in r.iter_content(1 << 20):
                    fh.write(chunk)
                    if max_bytes is not None and fh.tell() > max_bytes:
                        part.unlink()
                        raise LimitExceeded(f"the file of request {self.id} is larger than {max_bytes} bytes")
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            r.close()
            if bar is not None:
                bar.close()
        if self.size is not None and part.stat().st_size != self.size:
            raise ServiceUnavailable(f"the download of request {self.id} stopped early "
                                     f"({part.stat().st_size} of {self.size} bytes): call .download() again to resume")
        os.replace(part, target)
        return target

    def to_pandas(self, columns: list[str] | None = None):
        """Download (once) and read the file into a pandas DataFrame.

        Per-station quantities come as a column of 1-D arrays; ``kcdc.formats.stack(df, name)``
        gives the 2-D (events x stations) array."""
        from . import formats

        df = formats.read_delivery(self.download())
        if columns is not None:
            df = df[list(columns)]
        return df

    def stations(self, name: str = "EDeposit"):
        """A per-station quantity as a 2-D numpy array (events x stations)."""
        from . import formats

        return formats.stack(self.to_pandas(), name)

    def delete(self) -> None:
        """Remove this request on the server (the local cached file stays)."""
        self.client.delete(self.id)
        self.state = "Deleting"
