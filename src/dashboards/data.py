"""Data for the dashboards: the datacentre as the hub service ``dashboards``, cached.

Every Voila visit is a new kernel (a new process), so an in-kernel cache alone would
request the same selection on every visit. Selections are therefore kept as Parquet
files in a folder shared by all kernels of the container (``DASHBOARDS_CACHE_DIR``)
for ``DASHBOARDS_CACHE_SECONDS``, and in memory within a kernel. Preheated kernels
load them before a visitor arrives.

The token is read from a file (the docker secret ``astrohub_dashboards_token``) and
never put into the environment, which kernels would pass on to their children.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

TOKEN_FILE = "/run/secrets/astrohub_dashboards_token"
#: largest selection a dashboard asks for; a visitor's wider cuts get a clear message instead
MAX_ROWS = 1_000_000

_memory: dict[str, object] = {}
_client = None


class SelectionTooLarge(ValueError):
    pass


def cache_dir() -> Path:
    path = Path(os.environ.get("DASHBOARDS_CACHE_DIR") or Path(tempfile.gettempdir()) / "dashboards-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_age() -> float:
    return float(os.environ.get("DASHBOARDS_CACHE_SECONDS", "86400"))


def read_token() -> str | None:
    path = Path(os.environ.get("DASHBOARDS_TOKEN_FILE", TOKEN_FILE))
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def client():
    """One kcdc client per kernel, as the ``dashboards`` service (requests owned as service/dashboards)."""
    global _client
    if _client is None:
        import kcdc

        _client = kcdc.Client(token=read_token(), cache_dir=cache_dir() / "kcdc", progress=False, timeout=30)
    return _client


def _key(kind: str, payload) -> str:
    return hashlib.sha256(json.dumps([kind, payload], sort_keys=True).encode()).hexdigest()[:32]


def _fresh(path: Path) -> bool:
    return path.exists() and time.time() - path.stat().st_mtime < max_age()


def _write_atomic(path: Path, write) -> None:
    # Several kernels may fill the same entry at once: each writes its own file, the last rename wins.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _cached_json(key: str, fetch):
    """``fetch()`` (patiently), kept in memory and as a JSON file for every kernel."""
    if key not in _memory:
        path = cache_dir() / f"{key}.json"
        if _fresh(path):
            _memory[key] = json.loads(path.read_text())
        else:
            value = patiently(fetch)
            _write_atomic(path, lambda p: p.write_text(json.dumps(value)))
            _memory[key] = value
    return _memory[key]


def datashop(datashop_id: str) -> dict:
    """A data shop's description (columns, exposure, stations), cached."""
    return _cached_json(_key("datashop", datashop_id), lambda: client().datashop(datashop_id))


def datashops() -> list[dict]:
    return _cached_json(_key("datashops", ""), lambda: client().datashops())


def patiently(call, patience: float = 180.0):
    """``call()``, retried while the datacentre cannot answer yet or its running-request
    limit is reached: the stack starts every service at once and all dashboards'
    preheated kernels run before the datacentre listens; a kernel that gave up then
    would keep its error page until a visitor used it up."""
    from kcdc import LimitExceeded, ServiceUnavailable

    deadline = time.monotonic() + patience
    delay = 0.5
    while True:
        try:
            return call()
        except (LimitExceeded, ServiceUnavailable) as e:
            if (isinstance(e, LimitExceeded) and e.status != 429) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def selection(datashop_id: str, columns: list[str], cuts: list | None = None, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Events of a data shop (these columns, these cuts) as a DataFrame, cached.

    Raises SelectionTooLarge (with what to change) when the cuts leave more than max_rows."""
    from kcdc.client import normalise_cuts

    cuts = normalise_cuts(cuts)
    key = _key("selection", [datashop_id, list(columns), cuts])
    if key in _memory:
        return _memory[key]
    path = cache_dir() / f"{key}.parquet"
    if _fresh(path):
        df = pd.read_parquet(path)
    else:
        req = patiently(lambda: client().request(datashop_id, list(columns), cuts=cuts, format="parquet"))
        if req.rows_estimate is not None and req.rows_estimate > max_rows:
            req.delete()
            raise SelectionTooLarge(f"these cuts keep {req.rows_estimate:,} events; tighten them to "
                                    f"at most {max_rows:,} (e.g. a higher minimum energy)")
        df = req.wait(timeout=180).to_pandas()
        _write_atomic(path, lambda p: df.to_parquet(p))
    _memory[key] = df
    return df
