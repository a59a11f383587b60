"""Data shops: folders ``DATA_ROOT/<id>/`` with ``datashop.json`` and ``part-NNNNN.parquet``.

The metadata file describes the set (title, experiment, kind, citation, columns
with unit/description/range); the Parquet schema is the authority on the column
types, which decide what a cut on a column may compare with.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("datacentre.shops")

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


#: KCDC's general quantities DateTime and UUID, computed from stored columns when a shop
#: does not store them (KCDC lists both with every data shop; issue 20). DuckDB SQL over
#: the quoted stored columns. DateTime: UTC as in KCDC's observed general.txt
#: ("2005-06-01T00:00:00"; omegaflow/omegaflow src/archivar/kcdc.rs), from Gt and Mt (ns).
#: UUID: KCDC's own ids cannot be known here; ours is name-based (md5 of run, event and
#: second, in UUID form), so one event has one UUID in every request.
_MD5 = """md5(CAST("R" AS VARCHAR) || '-' || CAST("Ev" AS VARCHAR) || '-' || CAST("Gt" AS VARCHAR))"""
DERIVED: dict[str, tuple[tuple[str, ...], str]] = {
    "DateTime": (("Gt", "Mt"), """strftime(make_timestamp(CAST("Gt" AS BIGINT) * 1000000 """
                               """+ CAST("Mt" AS BIGINT) // 1000), '%Y-%m-%dT%H:%M:%S')"""),
    "UUID": (("R", "Ev", "Gt"), f"""(substr({_MD5}, 1, 8) || '-' || substr({_MD5}, 9, 4) || '-' || """
                                f"""substr({_MD5}, 13, 4) || '-' || substr({_MD5}, 17, 4) || '-' || """
                                f"""substr({_MD5}, 21, 12))"""),
}


@dataclass
class Column:
    name: str
    kind: str  # "float" | "int" | "bool" | "string" | "array"
    dtype: str  # arrow type as text
    width: int  # bytes per row in binary output (estimate)
    meta: dict = field(default_factory=dict)

    def public(self) -> dict:
        out = {k: v for k, v in self.meta.items() if k not in ("dtype",)}
        out.update(name=self.name, dtype=self.dtype, kind=self.kind,
                   cuttable=self.kind in ("float", "int", "bool", "string"))
        return out


@dataclass
class DataShop:
    id: str
    meta: dict
    columns: dict[str, Column]
    files: list[Path] = field(default_factory=list)
    upstream: bool = False
    version: str = ""  # changes when the files change: part of the request key

    def public(self, detail: bool = True) -> dict:
        out = {k: v for k, v in self.meta.items() if k not in ("columns",)}
        out["id"] = self.id
        out["upstream"] = self.upstream
        out["version"] = self.version
        if detail:
            out["columns"] = {c.name: c.public() for c in self.columns.values()}
        else:
            out["column_names"] = list(self.columns)
        return out


def _kind(t) -> tuple[str, int]:
    import pyarrow as pa

    if pa.types.is_fixed_size_list(t):
        return "array", t.list_size * max(t.value_type.bit_width // 8, 1)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array", 252 * 4
    if pa.types.is_boolean(t):
        return "bool", 1
    if pa.types.is_integer(t):
        return "int", t.bit_width // 8
    if pa.types.is_floating(t):
        return "float", t.bit_width // 8
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string", 16
    return "other", 8


def load_local_shop(directory: Path) -> DataShop | None:
    import pyarrow.parquet as pq

    meta_file = directory / "datashop.json"
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text())
    shop_id = str(meta.get("id") or directory.name)
    if shop_id != directory.name:
        log.warning("datashop.json id %r differs from folder %s: using the folder name", shop_id, directory.name)
        shop_id = directory.name
    if not ID_RE.match(shop_id):
        log.warning("skipping data shop with unusable id %r", shop_id)
        return None
    files = sorted(directory.glob("part-*.parquet"))
    if not files:
        log.warning("data shop %s has no part-*.parquet files: skipped", shop_id)
        return None
    schema = pq.read_schema(files[0])
    declared = meta.get("columns") or {}
    columns: dict[str, Column] = {}
    for f in schema:
        if not COLUMN_RE.match(f.name):
            log.warning("data shop %s: column %r has an unusable name: hidden", shop_id, f.name)
            continue
        kind, width = _kind(f.type)
        columns[f.name] = Column(f.name, kind, str(f.type), width, dict(declared.get(f.name) or {}))
    add_derived(columns)
    stat = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in files]
    version = hashlib.sha256(json.dumps([meta, stat], sort_keys=True, default=str).encode()).hexdigest()[:16]
    return DataShop(shop_id, meta, columns, files, False, version)


def add_derived(columns: dict[str, Column]) -> None:
    """Offer DateTime and UUID where the stored columns they come from are there."""
    from kcdc.formats import COLUMNS

    for name, (needs, _sql) in DERIVED.items():
        if name not in columns and all(n in columns for n in needs):
            meta = {k: v for k, v in COLUMNS[name].items() if k in ("unit", "description")}
            columns[name] = Column(name, "derived", "string", 36, dict(meta, derived_from=list(needs)))


def select_expression(name: str, column: Column) -> str:
    """The SQL that yields ``name`` (a quoted stored column, or a derived one's expression)."""
    if column.kind == "derived":
        return f'{DERIVED[name][1]} AS "{name}"'
    if not COLUMN_RE.match(name):
        raise ValueError(f"bad identifier {name!r}")
    return f'"{name}"'


# "text": the KCDC portal's kind for DateTime (not cuttable); "derived": what another
# astrohub datacentre reports for its computed columns.
KINDS = ("float", "int", "bool", "string", "array", "text", "derived")
_REMOTE_MODEL_BYTES = 256 * 1024


def shop_from_remote(model: Any) -> DataShop:
    """A data shop described by an upstream KCDC-API server (its /datashops/<id> model).

    The model is checked as a local shop's files are: a usable id, columns with usable
    names and known kinds, JSON of bounded size; ValueError says what is wrong."""
    if not isinstance(model, dict) or not isinstance(model.get("id"), str) or not ID_RE.match(model["id"]):
        raise ValueError("the upstream's data shop has no usable id")
    if len(json.dumps(model, default=str)) > _REMOTE_MODEL_BYTES:
        raise ValueError(f"the upstream's description of {model['id']} is larger than {_REMOTE_MODEL_BYTES} bytes")
    columns = model.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ValueError(f"the upstream's data shop {model['id']} has no columns")
    cols = {}
    for name, c in columns.items():
        if not COLUMN_RE.match(name) or not isinstance(c, dict) or c.get("kind", "float") not in KINDS:
            log.warning("upstream data shop %s: column %r is unusable: hidden", model["id"], name)
            continue
        cols[name] = Column(name, c.get("kind", "float"), str(c.get("dtype", "")), 8 if c.get("kind") != "array" else 1008,
                            {k: v for k, v in c.items() if k not in ("name", "kind", "dtype", "cuttable")})
    meta = {k: v for k, v in model.items() if k not in ("columns", "upstream", "version", "id")}
    return DataShop(model["id"], meta, cols, [], True, "upstream:" + str(model.get("version", "")))


class ShopRegistry:
    """The data shops on disk (rescanned when asked) plus the upstream ones."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._local: dict[str, DataShop] = {}
        self._remote: dict[str, DataShop] = {}
        self._lock = threading.Lock()
        self._stamp = None

    def scan(self) -> None:
        try:
            entries = sorted(p for p in self.root.iterdir() if p.is_dir())
        except FileNotFoundError:
            entries = []
        stamp = tuple((p.name, (p / "datashop.json").stat().st_mtime if (p / "datashop.json").exists() else 0,
                       len(list(p.glob("part-*.parquet")))) for p in entries)
        if stamp == self._stamp:
            return
        shops = {}
        for p in entries:
            try:
                shop = load_local_shop(p)
            except Exception as e:  # a broken shop must not take the service down
                log.error("data shop %s unreadable: %s", p, e)
                continue
            if shop:
                shops[shop.id] = shop
        with self._lock:
            self._local = shops
            self._stamp = stamp

    def set_remote(self, shops: list[DataShop]) -> None:
        with self._lock:
            self._remote = {s.id: s for s in shops}

    def all(self) -> list[DataShop]:
        self.scan()
        with self._lock:
            merged = dict(self._remote)
            merged.update(self._local)  # a local copy wins over forwarding
        return [merged[k] for k in sorted(merged)]

    def get(self, shop_id: str) -> DataShop | None:
        self.scan()
        with self._lock:
            return self._local.get(shop_id) or self._remote.get(shop_id)

    def public_list(self) -> list[dict[str, Any]]:
        return [s.public(detail=False) for s in self.all()]
