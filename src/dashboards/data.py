"""Data for the dashboards: the datacentre as the hub service ``dashboards``, cached.

Every Voila visit is a new kernel (a new process), so an in-kernel cache alone would
request the same selection on every visit. Selections are therefore kept as Parquet
files in a folder shared by all kernels of the container (``DASHBOARDS_CACHE_DIR``)
for ``DASHBOARDS_CACHE_SECONDS``, and in memory within a kernel. Preheated kernels
load them before a visitor arrives.

Visitors choose selections freely (the explorer's sliders), and the dashboards' data
requests are all owned by one service account with one quota. So the folder is bounded
(``DASHBOARDS_CACHE_MB``, least recently used files go first), each kernel's memory
cache too (``DASHBOARDS_MEMORY_CACHE_MB``), a request is removed on the datacentre as
soon as its file is read (it never counts against the quota for longer than it runs),
and the explorer asks for its cuts rounded outwards to a grid (:func:`grid_range`), so a
visitor sweeping a slider makes a few dozen distinct requests, not thousands.

The token is read from a file (the docker secret ``astrohub_dashboards_token``) and
never put into the environment, which kernels would pass on to their children.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import pandas as pd

from servicekit.tokens import secret

from .settings import current as settings

#: largest selection a dashboard asks for; a visitor's wider cuts get a clear message instead
MAX_ROWS = 1_000_000

#: steps of a column's range the explorer's cuts are rounded to (2 % of the range each)
GRID_STEPS = 50

_memory: OrderedDict[str, object] = OrderedDict()
_client = None


class SelectionTooLarge(ValueError):
    pass


def cache_dir() -> Path:
    path = Path(settings().cache_dir or Path(tempfile.gettempdir()) / "dashboards-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_age() -> float:
    return settings().cache_seconds


def cache_bytes() -> int:
    return int(settings().cache_mb * 2**20)


def memory_bytes() -> int:
    return int(settings().memory_cache_mb * 2**20)


def grid_range(low: float, high: float, column_min: float, column_max: float,
               steps: int = GRID_STEPS) -> tuple[float, float]:
    """``[low, high]`` widened to the nearest grid lines of the column's range: the
    selection to ask the datacentre for (the exact cut is then applied locally)."""
    step = (column_max - column_min) / steps
    if not step > 0:
        return low, high
    lo = column_min + math.floor(round((low - column_min) / step, 9)) * step
    hi = column_min + math.ceil(round((high - column_min) / step, 9)) * step
    return max(column_min, round(lo, 12)), min(column_max, round(hi, 12))


def trim_cache(limit: int | None = None) -> None:
    """Remove the least recently used files until the folder holds at most ``limit`` bytes."""
    limit = cache_bytes() if limit is None else limit
    entries = []
    for path in cache_dir().iterdir():
        try:
            st = path.stat()
        except FileNotFoundError:  # another kernel trimmed it
            continue
        if path.is_file() and not path.name.startswith("."):  # dot files: writes in progress
            entries.append((st.st_atime, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size


def _used(path: Path) -> None:
    # The access time orders the LRU trim (set here: mounts with noatime/relatime would not).
    st = path.stat()
    os.utime(path, (time.time(), st.st_mtime))


def _remember(key: str, value) -> None:
    """Keep ``value`` in this kernel, dropping the least recently used beyond the memory bound."""
    _memory[key] = value
    _memory.move_to_end(key)
    size = lambda v: int(v.memory_usage(deep=False).sum()) if isinstance(v, pd.DataFrame) else 0  # noqa: E731
    while len(_memory) > 1 and sum(size(v) for v in _memory.values()) > memory_bytes():
        _memory.popitem(last=False)


def read_token() -> str | None:
    return secret("DASHBOARDS_TOKEN", settings().token_file)


def client():
    """One kcdc client per kernel, as the ``dashboards`` service (requests owned as service/dashboards)."""
    global _client
    if _client is None:
        import kcdc

        # No client-side file cache: each file is read once into this module's bounded cache.
        _client = kcdc.Client(token=read_token(), cache_dir=False, progress=False, timeout=30)
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
            _remember(key, json.loads(path.read_text()))
            _used(path)
        else:
            value = patiently(fetch)
            _write_atomic(path, lambda p: p.write_text(json.dumps(value)))
            _remember(key, value)
    return _memory[key]


def datashop(datashop_id: str) -> dict:
    """A data shop's description (columns, exposure, stations), cached."""
    return _cached_json(_key("datashop", datashop_id), lambda: client().datashop(datashop_id))


def datashops() -> list[dict]:
    return _cached_json(_key("datashops", ""), lambda: client().datashops())


def search(query: str) -> list[dict]:
    """The catalogue's entries for a visitor's words (the data service ranks them). Asked
    each time, not cached: free text would let visitors fill the cache with entries."""
    return client().search(query)


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
        _memory.move_to_end(key)
        return _memory[key]
    path = cache_dir() / f"{key}.parquet"
    try:
        df = pd.read_parquet(path) if _fresh(path) else None
        if df is not None:
            _used(path)
    except (OSError, ValueError):  # trimmed by another kernel meanwhile, or half written
        df = None
    if df is None:
        df = _fetch_selection(datashop_id, list(columns), cuts, max_rows)
        _write_atomic(path, lambda p: df.to_parquet(p))
        trim_cache()
    _remember(key, df)
    return df


def _fetch_selection(datashop_id: str, columns: list[str], cuts: list, max_rows: int) -> pd.DataFrame:
    """One data request, read, and removed on the datacentre whatever happens."""
    from kcdc import formats

    req = patiently(lambda: client().request(datashop_id, columns, cuts=cuts, format="parquet"))
    try:
        if req.rows_estimate is not None and req.rows_estimate > max_rows:
            raise SelectionTooLarge(f"these cuts keep {req.rows_estimate:,} events; tighten them to "
                                    f"at most {max_rows:,} (e.g. a higher minimum energy)")
        with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".download-") as tmp:
            return formats.read("parquet", req.wait(timeout=180).download(tmp))
    finally:
        try:
            req.delete()
        except Exception:  # the datacentre's own expiry removes it later; the page must not fail for it
            pass
