"""Validation and normalisation of a data request, and the SQL it becomes.

A request body::

    {"datashop": "kascade-sim", "columns": ["E", "Ze"],
     "cuts": [{"column": "E", "op": ">", "value": 15.5},
              {"column": "Ze", "op": "between", "value": [0, 18]}],
     "format": "hdf5"}

Cuts are data, never SQL text: column names must be columns of the data shop
(and are quoted as identifiers), values are checked against the column type and
passed to DuckDB as bound parameters. Normalisation (columns in the shop's order,
duplicate columns and cuts removed, cuts sorted, numbers as float for float
columns, ``in`` lists sorted) gives identical requests one key, and so one job.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from .config import FORMATS
from .shops import COLUMN_RE, DataShop

OPS = ("==", "!=", "<", "<=", ">", ">=", "between", "in")
OP_ALIASES = {"=": "==", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "<>": "!="}
FORMAT_ALIASES = {"h5": "hdf5", "hdf": "hdf5", "txt": "ascii", "text": "ascii"}
MAX_CUTS = 50
MAX_IN_VALUES = 1000


class ApiError(Exception):
    """An error answered to the client: HTTP status, a code, a message saying what to do."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict:
        return {"error": self.code, "message": self.message, **self.extra}


def bad(message: str, code: str = "invalid_request", **extra) -> ApiError:
    return ApiError(400, code, message, **extra)


@dataclass(frozen=True)
class Selection:
    datashop: str
    columns: tuple[str, ...]
    cuts: tuple[tuple[str, str, Any], ...]
    format: str
    shop_version: str

    def spec(self) -> dict:
        return {
            "datashop": self.datashop,
            "columns": list(self.columns),
            "cuts": [{"column": c, "op": o, "value": v} for c, o, v in self.cuts],
            "format": self.format,
        }

    @property
    def key(self) -> str:
        doc = dict(self.spec(), version=self.shop_version)
        return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _number(v: Any, column: str, kind: str) -> float | int | bool:
    if kind == "bool":
        if isinstance(v, bool):
            return v
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
        raise bad(f"cut on {column!r}: {v!r} is not a boolean; give true or false", "wrong_type")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise bad(f"cut on {column!r}: {json.dumps(v)} is not a number; give a number such as 15.5 "
                  f"(column {column!r} holds {kind} values)", "wrong_type")
    if isinstance(v, float) and not math.isfinite(v):
        raise bad(f"cut on {column!r}: {v!r} is not a finite number", "wrong_type")
    if kind == "float":
        return float(v)
    if isinstance(v, float):
        if not v.is_integer():
            return v  # comparison of an integer column with a fraction is still meaningful for < >
        return int(v)
    return int(v)


def validate(body: Any, shop: DataShop | None, shop_id: str | None = None) -> Selection:
    """A request body as a Selection in its one normal form (the key of identical requests),
    or an ApiError that says what to change."""
    if not isinstance(body, dict):
        raise bad('the body must be a JSON object like {"datashop": "...", "columns": [...], '
                  '"cuts": [...], "format": "hdf5"}')
    unknown = set(body) - {"datashop", "columns", "cuts", "format"}
    if unknown:
        raise bad(f"unknown field(s) {sorted(unknown)}: allowed are datashop, columns, cuts, format")
    if shop is None:
        raise ApiError(404, "unknown_datashop",
                       f"there is no data shop {shop_id!r}: list them with GET api/datashops")
    fmt = _format(body.get("format", "hdf5"))
    columns = _columns(body.get("columns"), shop, fmt)
    cuts_in = body.get("cuts") or []
    if not isinstance(cuts_in, list):
        raise bad('cuts must be a list like [{"column": "E", "op": ">", "value": 15.5}]', "malformed_cut")
    if len(cuts_in) > MAX_CUTS:
        raise bad(f"too many cuts ({len(cuts_in)}): at most {MAX_CUTS}", "too_many_cuts")
    cuts = {_cut(cut, shop, f"cut #{i + 1}") for i, cut in enumerate(cuts_in)}
    order = {c: i for i, c in enumerate(shop.columns)}
    cuts_sorted = tuple(sorted(cuts, key=lambda c: (order[c[0]], OPS.index(c[1]), json.dumps(c[2]))))
    cuts_out = tuple((c, o, list(v) if isinstance(v, tuple) else v) for c, o, v in cuts_sorted)
    return Selection(shop.id, columns, cuts_out, fmt, shop.version)


def _format(fmt: Any) -> str:
    if not isinstance(fmt, str):
        raise bad(f"format must be a string, one of {', '.join(FORMATS)}", "unknown_format")
    normal = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    if normal not in FORMATS:
        raise bad(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}", "unknown_format")
    return normal


def _columns(cols: Any, shop: DataShop, fmt: str) -> tuple[str, ...]:
    """The asked columns in the shop's order; all of them for none or '*'."""
    if cols is None or cols == "*":
        cols = list(shop.columns)
    if isinstance(cols, str):
        cols = [cols]
    if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
        raise bad('columns must be a non-empty list of column names, e.g. ["E", "Ze"]')
    missing = [c for c in cols if c not in shop.columns]
    if missing:
        raise bad(f"unknown column(s) {missing} in data shop {shop.id!r}: available are "
                  f"{', '.join(shop.columns)}", "unknown_column")
    wanted = set(cols)
    columns = tuple(c for c in shop.columns if c in wanted)
    arrays = [c for c in columns if shop.columns[c].kind == "array"]
    if arrays and fmt in ("ascii", "csv"):
        raise bad(f"the {fmt} format cannot hold per-station arrays ({', '.join(arrays)}): choose hdf5, "
                  "root or parquet, or leave those columns out", "format_cannot_hold_arrays")
    return columns


def _cut(cut: Any, shop: DataShop, where: str) -> tuple[str, str, Any]:
    """One cut as (column, operator, value) in normal form (sets sorted, aliases resolved)."""
    if isinstance(cut, list) and len(cut) == 3:
        cut = {"column": cut[0], "op": cut[1], "value": cut[2]}
    if not isinstance(cut, dict) or set(cut) != {"column", "op", "value"}:
        raise bad(f'{where} is malformed: write it as {{"column": "E", "op": ">", "value": 15.5}} '
                  f"(ops: {', '.join(OPS)})", "malformed_cut")
    col, op, value = cut["column"], cut["op"], cut["value"]
    if not isinstance(col, str) or not COLUMN_RE.match(col) or col not in shop.columns:
        raise bad(f"{where}: unknown column {col!r} in data shop {shop.id!r}: available are "
                  f"{', '.join(shop.columns)}", "unknown_column")
    kind = shop.columns[col].kind
    if kind not in ("float", "int", "bool", "string"):
        raise bad(f"{where}: cuts apply to scalar columns; {col!r} is {kind} (per-station arrays "
                  "cannot be cut on)", "malformed_cut")
    if not isinstance(op, str) or OP_ALIASES.get(op, op) not in OPS:
        raise bad(f"{where}: unknown operator {op!r}: use one of {', '.join(OPS)}", "malformed_cut")
    op = OP_ALIASES.get(op, op)
    if kind == "string":
        return col, op, _text_value(value, op, col, where)
    return col, op, _numeric_value(value, op, col, kind, where)


def _text_value(value: Any, op: str, col: str, where: str) -> Any:
    if op not in ("==", "!=", "in"):
        raise bad(f"{where}: {col!r} holds text: use ==, != or in", "malformed_cut")
    vals = value if op == "in" else [value]
    if not isinstance(vals, list) or not vals or len(vals) > MAX_IN_VALUES or not all(
            isinstance(v, str) and len(v) <= 100 for v in vals):
        raise bad(f"{where}: {col!r} holds text: give a string (or, for 'in', a list of strings), "
                  'e.g. {"column": "primary", "op": "in", "value": ["p", "Fe"]}', "wrong_type")
    return tuple(sorted(set(vals))) if op == "in" else value


def _numeric_value(value: Any, op: str, col: str, kind: str, where: str) -> Any:
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise bad(f"{where}: 'between' needs a list of two numbers [low, high]", "malformed_cut")
        lo, hi = (_number(v, col, kind) for v in value)
        if lo > hi:
            raise bad(f"{where}: 'between' needs low <= high, got [{lo}, {hi}]", "malformed_cut")
        return lo, hi
    if op == "in":
        if not isinstance(value, list) or not value:
            raise bad(f"{where}: 'in' needs a non-empty list of values", "malformed_cut")
        if len(value) > MAX_IN_VALUES:
            raise bad(f"{where}: 'in' takes at most {MAX_IN_VALUES} values", "too_many_cuts")
        return tuple(sorted(set(_number(v, col, kind) for v in value)))
    if isinstance(value, list):
        raise bad(f"{where}: {op!r} needs one value, not a list (use 'between' or 'in')", "wrong_type")
    return _number(value, col, kind)


def quote(name: str) -> str:
    if not COLUMN_RE.match(name):  # validated already; belt and braces
        raise ValueError(f"bad identifier {name!r}")
    return '"' + name + '"'


def where_clause(cuts) -> tuple[str, list]:
    """SQL WHERE text (identifiers quoted, values as ? parameters) and the parameters."""
    parts, params = [], []
    for col, op, value in cuts:
        q = quote(col)
        if op == "between":
            parts.append(f"{q} BETWEEN ? AND ?")
            params += list(value)
        elif op == "in":
            parts.append(f"{q} IN ({', '.join('?' for _ in value)})")
            params += list(value)
        else:
            sql_op = {"==": "=", "!=": "<>"}.get(op, op)
            parts.append(f"{q} {sql_op} ?")
            params.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def estimate_bytes(shop: DataShop, sel: Selection, rows: int) -> int:
    width = sum(shop.columns[c].width for c in sel.columns)
    # text needs ~3x the binary width; Parquet's dictionary pages can exceed the raw size on noisy floats
    factor = {"ascii": 3.0, "csv": 3.0, "parquet": 1.5}.get(sel.format, 1.1)
    return int(rows * width * factor)
