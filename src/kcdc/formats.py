"""KCDC file layouts: the one place where they are read and written.

Every reader returns a :class:`pandas.DataFrame`; per-station quantities
(``EDeposit``, ``MDeposit``, ``Arrival``: one value per KASCADE array station)
come back as a column whose cells are 1-D numpy arrays of equal length
(use :func:`stack` to get an ``(n_events, n_stations)`` array).
Every writer accepts either such a DataFrame or a plain mapping
``{name: 1-D array}`` plus ``arrays={name: 2-D array}``.

Layouts (what is confirmed from public sources and what is our choice)
----------------------------------------------------------------------
* ASCII (``request.zip``) -- from the KCDC documentation ("Data Format" page, FAQ),
  issue 20 and an observed delivery (omegaflow/omegaflow src/archivar/kcdc.rs): one
  table per detector component (``general.txt`` with T, P, Gt, Mt, R, Ev, DateTime,
  UUID; ``array.txt`` with E, Xc, Yc, Ze, Az, Ne, Nmu, Age; ``grande.txt`` with Xc,
  Yc, Ze, Az, Nch, Nmu, Age; ``calorimeter.txt``, ``lopes.txt``): a header line of
  names, then tab-separated rows; ``row_mapping.txt`` (tab-separated) names the
  tables on its first line, then gives per event its row in each table, ``-1`` where
  it has none; ``Info.txt`` is text with the cuts. KCDC ships ASCII only for
  non-array quantities (FAQ: arrays would blow the files up ~500x), so
  :func:`write_ascii` refuses array columns. Our additions: truth columns of
  simulated sets in ``simulation.txt``, this project's estimates that KCDC does not
  have (Grande's E) in ``analysis.txt``, and a ``[columns]`` section at the end of
  Info.txt with units and dtypes. The older single-table export (one upper-case
  header line) is read by :func:`read_single_table`; :func:`read_delivery`
  (``kcdc.read``) opens every layout here.
* HDF5 (``events.h5``) -- KCDC offers HDF5 "with structures for arrays"; the
  exact internal tree of a KCDC file could not be confirmed from public
  sources. Our layout: one 1-D dataset per quantity at the file root, named as
  in KCDC (``/E``, ``/Ze``, ...), per-station quantities as 2-D datasets
  ``(n_events, 252)``; each dataset carries ``unit``, ``description`` and
  ``component`` attributes; data-set metadata are root attributes (nested
  values JSON-encoded). gzip level 1 + shuffle: readable by any HDF5 tool.
  Read too: one group per component (``/array/E``, ``/grande/Xc``), joined
  through the ``row_mapping.txt`` that comes with it in the request.zip.
* ROOT -- one TTree ``events`` (branch per quantity, per-station quantities as
  fixed-size array branches ``[252]``), written with uproot. String columns
  become int32 category codes and the categories are stored as a JSON
  ``TObjString`` ``categories_<name>``; metadata as JSON ``TObjString``
  ``metadata``. The branch names follow KCDC; the tree name is our choice.
* Parquet -- not a KCDC format; the columnar storage of the data service.
  Per-station quantities are ``fixed_size_list<float32>[252]`` columns;
  metadata JSON lives in the schema metadata under key ``kcdc``.
* CSV -- a convenience for spreadsheets: scalar columns only, ``#`` comment
  lines with units.

Only numpy and pandas are imported at module import; h5py, pyarrow and uproot
are imported inside the functions that need them, so ``import kcdc`` stays light.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "GRANDE_COLUMNS",
    "TUNKA_COLUMNS",
    "COLUMN_TABLES",
    "columns_for",
    "ARRAY_COLUMNS",
    "COMPONENTS",
    "FORMATS",
    "Format",
    "N_STATIONS",
    "stack",
    "to_columns",
    "to_arrow",
    "from_arrow",
    "write_hdf5",
    "read_hdf5",
    "read_hdf5_metadata",
    "write_ascii",
    "read_ascii",
    "write_root",
    "read_root",
    "write_parquet",
    "write_parquet_table",
    "read_parquet",
    "read_parquet_metadata",
    "write_csv",
    "read_csv",
    "write",
    "read",
    "read_delivery",
    "read_single_table",
    "canonical",
    "write_request_zip",
    "DERIVED_GENERAL",
]

#: Number of KASCADE array stations (16 x 16 grid minus the central 2 x 2).
N_STATIONS = 252

#: The KASCADE column layout of KCDC: name -> unit, description, typical range,
#: component (ASCII table it belongs to), and whether the value is a log10.
#: Source: Haungs et al., EPJC 78 (2018) 741 and the KCDC "Data Format" page;
#: see ../shared/reference/REFERENCE_VALUES.md.
COLUMNS: dict[str, dict[str, Any]] = {
    "E": dict(unit="log10(E/eV)", description="reconstructed primary energy", range=(13.0, 19.0), component="array", log10=True),
    "Xc": dict(unit="m", description="shower core x in the array frame", range=(-91.0, 91.0), component="array", log10=False),
    "Yc": dict(unit="m", description="shower core y in the array frame", range=(-91.0, 91.0), component="array", log10=False),
    "Ze": dict(unit="deg", description="zenith angle of the shower axis", range=(0.0, 60.0), component="array", log10=False),
    "Az": dict(unit="deg", description="azimuth angle of the shower axis", range=(0.0, 360.0), component="array", log10=False),
    "Ne": dict(unit="log10(number)", description="electron number (shower size)", range=(2.0, 8.7), component="array", log10=True),
    "Nmu": dict(unit="log10(number)", description="truncated muon number", range=(2.0, 7.7), component="array", log10=True),
    "Age": dict(unit="1", description="shower age from the NKG fit", range=(0.1, 1.48), component="array", log10=False),
    "T": dict(unit="degC", description="air temperature", range=(-20.0, 40.0), component="general", log10=False),
    "P": dict(unit="hPa", description="air pressure", range=(980.0, 1030.0), component="general", log10=False),
    "Gt": dict(unit="s", description="GPS time, seconds since 1970-01-01 UTC", range=(0, 2**31), component="general", log10=False),
    # KCDC: Mt is the "micro time" of the event within the second Gt, 0 .. 999,999,999
    # (so nanoseconds; issue 20 from KCDC's quantity list). Before issue 20 this project
    # wrote microseconds (0 .. 999,999); KCDC's range wins.
    "Mt": dict(unit="ns", description="event time within the second Gt (KCDC micro time)", range=(0, 999_999_999), component="general", log10=False),
    "DateTime": dict(unit="", description="event time, UTC (ISO 8601, from Gt and Mt)", range=None, component="general", log10=False),
    "UUID": dict(unit="", description="unique event id", range=None, component="general", log10=False),
    "R": dict(unit="1", description="run number", range=(0, 10**6), component="general", log10=False),
    "Ev": dict(unit="1", description="event number within the run", range=(0, 10**9), component="general", log10=False),
    "EDeposit": dict(unit="MeV", description="e/gamma energy deposit per array station", range=(0.0, 1e6), component="array", log10=False),
    "MDeposit": dict(unit="MeV", description="muon energy deposit per array station", range=(0.0, 1e6), component="array", log10=False),
    "Arrival": dict(unit="ns", description="arrival time per array station", range=(-1e4, 1e4), component="array", log10=False),
    # truth of simulated sets (KCDC simulations carry the primary and true values)
    "E_true": dict(unit="log10(E/eV)", description="true primary energy (simulation)", range=(14.0, 18.0), component="simulation", log10=True),
    "A": dict(unit="1", description="mass number of the primary (simulation)", range=(1, 56), component="simulation", log10=False),
    "Z": dict(unit="1", description="charge of the primary (simulation)", range=(1, 26), component="simulation", log10=False),
    "primary": dict(unit="", description="mass group of the primary (simulation)", range=None, component="simulation", log10=False),
    "lnA": dict(unit="1", description="ln of the primary mass number (simulation)", range=(0.0, 4.1), component="simulation", log10=False),
    "Ze_true": dict(unit="deg", description="true zenith angle (simulation)", range=(0.0, 60.0), component="simulation", log10=False),
    "Az_true": dict(unit="deg", description="true azimuth (simulation)", range=(0.0, 360.0), component="simulation", log10=False),
    "Xc_true": dict(unit="m", description="true core x (simulation)", range=(-91.0, 91.0), component="simulation", log10=False),
    "Yc_true": dict(unit="m", description="true core y (simulation)", range=(-91.0, 91.0), component="simulation", log10=False),
    "Ne_true": dict(unit="log10(number)", description="true electron number at observation level (simulation)", range=(2.0, 9.0), component="simulation", log10=True),
    "Nmu_true": dict(unit="log10(number)", description="true truncated muon number (simulation)", range=(2.0, 8.0), component="simulation", log10=True),
}

def _col(unit, description, rng, component, log10=False):
    return dict(unit=unit, description=description, range=rng, component=component, log10=log10)


_GENERAL = {k: COLUMNS[k] for k in ("T", "P", "Gt", "Mt", "R", "Ev", "DateTime", "UUID")}
_TRUTH = {k: COLUMNS[k] for k in ("E_true", "A", "Z", "primary", "lnA", "Ze_true", "Az_true")}

#: KASCADE-Grande (the KCDC "COMBINED" data shop): Grande reconstruction of the
#: shower (core in the Grande frame, direction, charged-particle number Nch from
#: the 37 Grande stations, total muon number Nmu from the KASCADE muon
#: detectors) and the energy from Nch and Nmu (Apel et al., Astropart. Phys. 36
#: (2012) 183; Haungs et al., EPJC 78 (2018) 741). Names follow those papers
#: (KCDC's own Grande column list could not be consulted while writing this:
#: check it before relying on the names); sizes as log10 like KASCADE's Ne, Nmu.
GRANDE_COLUMNS: dict[str, dict[str, Any]] = {
    # KCDC's grande table has no E (issue 20: Xc Yc Ze Az Nch Nmu Age). Our simulated
    # shop keeps an energy estimate for the dashboards; it is delivered in a table of
    # its own, analysis.txt, so grande.txt has exactly KCDC's columns.
    "E": _col("log10(E/eV)", "energy estimated from Nch and Nmu (this project, not a KCDC quantity)",
              (15.0, 19.0), "analysis", True),
    "Xc": _col("m", "shower core x in the Grande frame", (-400.0, 400.0), "grande"),
    "Yc": _col("m", "shower core y in the Grande frame", (-400.0, 400.0), "grande"),
    "Ze": _col("deg", "zenith angle of the shower axis", (0.0, 60.0), "grande"),
    "Az": _col("deg", "azimuth angle of the shower axis", (0.0, 360.0), "grande"),
    "Nch": _col("log10(number)", "number of charged particles (Grande stations)", (4.0, 9.5), "grande", True),
    "Nmu": _col("log10(number)", "total muon number (KASCADE muon detectors)", (3.0, 8.5), "grande", True),
    # range as KCDC's plausible Grande ages (omegaflow/omegaflow src/archivar/kcdc.rs)
    "Age": _col("1", "shower age from the lateral distribution of charged particles", (-0.385, 1.485), "grande"),
    **_GENERAL, **_TRUTH,
    "E_true": _col("log10(E/eV)", "true primary energy (simulation)", (15.0, 19.0), "simulation", True),
    "Xc_true": _col("m", "true core x (simulation)", (-400.0, 400.0), "simulation"),
    "Yc_true": _col("m", "true core y (simulation)", (-400.0, 400.0), "simulation"),
    "Nch_true": _col("log10(number)", "true charged-particle number at observation level (simulation)",
                     (4.0, 9.5), "simulation", True),
    "Nmu_true": _col("log10(number)", "true total muon number (simulation)", (3.0, 8.5), "simulation", True),
}

#: Tunka-133 (wide-angle Cherenkov light array): energy from the light density at
#: 200 m, Q200, and Xmax from the steepness of the lateral distribution
#: (Prosin et al., NIM A 756 (2014) 94; Budnev et al., Astropart. Phys. 117
#: (2020) 102406). Tunka has no KCDC table of its own; names are ours.
TUNKA_COLUMNS: dict[str, dict[str, Any]] = {
    "E": _col("log10(E/eV)", "reconstructed primary energy (from Q200)", (15.0, 19.0), "tunka", True),
    "Xc": _col("m", "shower core x in the array frame", (-600.0, 600.0), "tunka"),
    "Yc": _col("m", "shower core y in the array frame", (-600.0, 600.0), "tunka"),
    "Ze": _col("deg", "zenith angle of the shower axis", (0.0, 60.0), "tunka"),
    "Az": _col("deg", "azimuth angle of the shower axis", (0.0, 360.0), "tunka"),
    "Q200": _col("log10(photons/(cm^2 eV))", "Cherenkov light density at 200 m from the core (energy estimator)",
                 (0.0, 5.0), "tunka", True),
    "Steepness": _col("1", "LDF steepness P = Q(100)/Q(200) (estimator of the depth of maximum)", (1.0, 10.0),
                      "tunka"),
    "Xmax": _col("g/cm^2", "depth of shower maximum reconstructed from the LDF steepness", (300.0, 1000.0),
                 "tunka"),
    **{k: _GENERAL[k] for k in ("Gt", "Mt", "R", "Ev", "DateTime", "UUID")}, **_TRUTH,
    "E_true": _col("log10(E/eV)", "true primary energy (simulation)", (15.0, 19.0), "simulation", True),
    "Xc_true": _col("m", "true core x (simulation)", (-600.0, 600.0), "simulation"),
    "Yc_true": _col("m", "true core y (simulation)", (-600.0, 600.0), "simulation"),
    "Xmax_true": _col("g/cm^2", "true depth of shower maximum (simulation)", (300.0, 1000.0), "simulation"),
}

#: Quantities of KCDC components this project does not simulate, known so that
#: :func:`read_delivery` spells and describes them as KCDC does (issue 20; calorimeter
#: Nhad, Ehad as in omegaflow/omegaflow src/archivar/kcdc.rs: Ehad is a log10 there).
OTHER_COLUMNS: dict[str, dict[str, Any]] = {
    "Nhad": _col("1", "number of reconstructed hadrons (calorimeter)", (0, 511), "calorimeter"),
    "Ehad": _col("log10(E/eV)", "energy sum of the hadrons (calorimeter)", (10.0, 16.0), "calorimeter", True),
    "GDeposit": _col("MeV", "energy deposit per Grande station", (0.0, 1e7), "grande"),
    "GArrival": _col("ns", "arrival time per Grande station", (-1e5, 1e5), "grande"),
    "EfieldMaxAbs": _col("uV/m/MHz", "maximum field strength (LOPES)", (0.0, 5e4), "lopes"),
}

#: Column tables by data-shop experiment (ids and the labels datashop.json uses).
COLUMN_TABLES: dict[str, dict[str, dict[str, Any]]] = {
    "kascade": COLUMNS, "kascade-grande": GRANDE_COLUMNS, "tunka133": TUNKA_COLUMNS,
}
_LABELS = {"KASCADE": "kascade", "KASCADE-Grande": "kascade-grande", "Tunka-133": "tunka133"}


def columns_for(experiment: str | None) -> dict[str, dict[str, Any]]:
    """The column table of an experiment (id such as ``tunka133`` or label such as
    ``Tunka-133``); the KASCADE table when none is given."""
    if not experiment:
        return COLUMNS
    key = _LABELS.get(experiment, experiment)
    try:
        return COLUMN_TABLES[key]
    except KeyError:
        raise ValueError(f"no column table for experiment {experiment!r}: use one of "
                         f"{', '.join(COLUMN_TABLES)}") from None


#: Per-station quantities (2-D: events x stations).
ARRAY_COLUMNS = ("EDeposit", "MDeposit", "Arrival")

#: ASCII component tables in the order of row_mapping.txt (KCDC order for the
#: KASCADE data shop, then the Grande and Tunka tables; "simulation" is ours for truth columns).
COMPONENTS = ("general", "array", "grande", "calorimeter", "lopes", "tunka", "analysis", "simulation", "other")


# --------------------------------------------------------------------------- helpers
def _component(name: str, table: Mapping[str, dict] = COLUMNS) -> str:
    return table.get(name, {}).get("component", "other")


def _meta_for(name: str, table: Mapping[str, dict] = COLUMNS) -> tuple[str, str]:
    c = table.get(name, {})
    return c.get("unit", ""), c.get("description", "")


def _table(metadata: Mapping[str, Any] | None) -> Mapping[str, dict]:
    """Column table named by the data set's metadata (its ``experiment``)."""
    experiment = (metadata or {}).get("experiment")
    if experiment and _LABELS.get(experiment, experiment) not in COLUMN_TABLES:
        return {}  # another experiment's data: no units rather than KASCADE's
    return columns_for(experiment)


def to_columns(data: Any, arrays: Mapping[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Normalise a DataFrame or mapping into ``(scalars, arrays, n_rows)``.

    ``scalars`` maps names to 1-D numpy arrays (strings as ``object``),
    ``arrays`` maps names to 2-D ``(n_rows, k)`` arrays. DataFrame columns whose
    cells are sequences (lists / 1-D arrays) are treated as per-station arrays.
    """
    scalars: dict[str, np.ndarray] = {}
    arr2: dict[str, np.ndarray] = {}
    if isinstance(data, pd.DataFrame):
        items = [(str(k), data[k]) for k in data.columns]
    elif data is None:
        items = []
    else:
        items = [(str(k), v) for k, v in dict(data).items()]
    for name, col in items:
        if isinstance(col, pd.Series):
            if col.dtype == object and len(col) and isinstance(col.iloc[0], (list, tuple, np.ndarray)):
                arr2[name] = np.stack([np.asarray(c) for c in col.to_numpy()])
                continue
            if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
                scalars[name] = col.astype(object).to_numpy()
                continue
            scalars[name] = col.to_numpy()
            continue
        a = np.asarray(col)
        if a.ndim == 2:
            arr2[name] = a
        elif a.ndim == 1:
            scalars[name] = a.astype(object) if a.dtype.kind in "US" else a
        else:
            raise ValueError(f"column {name!r} must be 1-D (scalar) or 2-D (per-station), got shape {a.shape}")
    for name, a in (arrays or {}).items():
        a = np.asarray(a)
        if a.ndim != 2:
            raise ValueError(f"array {name!r} must be 2-D (events x stations), got shape {a.shape}")
        arr2[str(name)] = a
    lengths = {len(v) for v in scalars.values()} | {v.shape[0] for v in arr2.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    return scalars, arr2, n


def _frame(scalars: Mapping[str, np.ndarray], arrays: Mapping[str, np.ndarray], order: list[str] | None = None) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    names = order or (list(scalars) + list(arrays))
    for name in names:
        if name in scalars:
            cols[name] = scalars[name]
        elif name in arrays:
            a = np.ascontiguousarray(arrays[name])
            obj = np.empty(a.shape[0], dtype=object)
            for i in range(a.shape[0]):
                obj[i] = a[i]
            cols[name] = obj
    return pd.DataFrame(cols)


def stack(df: pd.DataFrame, name: str) -> np.ndarray:
    """Per-station column ``name`` of ``df`` as a 2-D ``(n_events, n_stations)`` array."""
    col = df[name].to_numpy()
    if len(col) == 0:
        return np.zeros((0, N_STATIONS), dtype=np.float32)
    return np.stack([np.asarray(c) for c in col])


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path,)):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True)


# --------------------------------------------------------------------------- HDF5
def write_hdf5(df: Any, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None,
               arrays: Mapping[str, Any] | None = None, compression: str | None = "gzip") -> Path:
    """Write the KCDC ``events.h5`` layout (see module docstring). Returns the path."""
    import h5py

    scalars, arr2, n = to_columns(df, arrays)
    table = _table(metadata)
    path = Path(path)
    kw: dict[str, Any] = {}
    if compression:
        kw = dict(compression=compression, shuffle=True)
        if compression == "gzip":
            kw["compression_opts"] = 1
    with h5py.File(path, "w") as f:
        f.attrs["layout"] = "KCDC events.h5 (astroparticle.online kcdc.formats)"
        f.attrs["n_events"] = n
        f.attrs["columns"] = _dumps(list(scalars) + list(arr2))
        for k, v in (metadata or {}).items():
            if isinstance(v, (str, int, float, bool, np.integer, np.floating)):
                f.attrs[k] = v
            else:
                f.attrs[k] = _dumps(v)
            if not isinstance(v, str) and not isinstance(v, (int, float, bool, np.integer, np.floating)):
                f.attrs[f"{k}.__json__"] = True
        for name, a in scalars.items():
            if a.dtype == object:
                ds = f.create_dataset(name, data=np.asarray([str(x) for x in a], dtype=object),
                                      dtype=h5py.string_dtype("utf-8"), **(kw if n else {}))
            else:
                ds = f.create_dataset(name, data=a, chunks=(min(max(n, 1), 65536),) if n else None, **(kw if n else {}))
            unit, desc = _meta_for(name, table)
            ds.attrs["unit"] = unit
            ds.attrs["description"] = desc
            ds.attrs["component"] = _component(name, table)
        for name, a in arr2.items():
            chunks = (min(max(n, 1), 1024), a.shape[1]) if n else None
            ds = f.create_dataset(name, data=a, chunks=chunks, **(kw if n else {}))
            unit, desc = _meta_for(name, table)
            ds.attrs["unit"] = unit
            ds.attrs["description"] = desc
            ds.attrs["component"] = _component(name, table)
            ds.attrs["dims"] = "event, station"
    return path


def read_hdf5_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Root attributes of an ``events.h5`` file (JSON-encoded values decoded)."""
    import h5py

    out: dict[str, Any] = {}
    with h5py.File(path, "r") as f:
        keys = set(f.attrs)
        for k in keys:
            if k.endswith(".__json__") or k in ("layout", "n_events", "columns"):
                continue
            v = f.attrs[k]
            if isinstance(v, bytes):
                v = v.decode()
            if f"{k}.__json__" in keys:
                v = json.loads(v)
            elif isinstance(v, np.generic):
                v = v.item()
            out[k] = v
    return out


def read_hdf5(path: str | os.PathLike, columns: list[str] | None = None,
              mapping: tuple[list[str], np.ndarray] | None = None) -> pd.DataFrame:
    """Read an ``events.h5`` file into a DataFrame (per-station columns hold 1-D arrays)."""
    import h5py

    scalars: dict[str, np.ndarray] = {}
    arr2: dict[str, np.ndarray] = {}
    def load(name, ds):
        if ds.ndim == 2:
            arr2[name] = ds[()]
        elif h5py.check_string_dtype(ds.dtype) is not None:
            scalars[name] = np.asarray(ds.asstr()[()], dtype=object)
        else:
            scalars[name] = ds[()]

    with h5py.File(path, "r") as f:
        groups = [k for k in f.keys() if isinstance(f[k], h5py.Group)]
        if groups:
            # One group per component (/array/E, /grande/Xc): KCDC's HDF5 internals are not
            # published, so this variant is read too, joined like the ASCII tables (through
            # the row_mapping.txt that came with it, or row by row when the groups align).
            parts = {}
            for g in groups:
                scalars, arr2 = {}, {}
                names = [n for n in f[g].keys() if isinstance(f[g][n], h5py.Dataset)]
                for n in names:
                    load(n, f[g][n])
                parts[g] = _frame(scalars, arr2, names)
            lengths = {len(t) for t in parts.values()}
            if mapping is None:
                if len(lengths) > 1:
                    raise ValueError(f"{path}: its component groups have different lengths {sorted(lengths)}: read "
                                     "it together with its row_mapping.txt (kcdc.read on the request.zip or folder)")
                mapping = (list(parts), np.tile(np.arange(lengths.pop() if lengths else 0)[:, None], len(parts)))
            df = _join(parts, *mapping)
            return df[[c for c in df.columns if columns is None or c in columns]]
        order = json.loads(f.attrs["columns"]) if "columns" in f.attrs else sorted(f.keys())
        order = [c for c in order if c in f and (columns is None or c in columns)]
        for name in order:
            load(name, f[name])
    return _frame(scalars, arr2, order)


# --------------------------------------------------------------------------- ASCII
def _fmt(a: np.ndarray) -> Callable[[Any], str]:
    if a.dtype.kind in "iu":
        return lambda x: str(int(x))
    if a.dtype.kind == "b":
        return lambda x: str(int(x))
    if a.dtype.kind == "f":
        # float32 needs 9 significant digits, float64 17, for an exact round trip
        digits = 9 if a.dtype.itemsize <= 4 else 17
        return lambda x: format(float(x), f".{digits}g")
    return lambda x: str(x).replace(" ", "_")


#: Columns of KCDC's ``general`` table that the data service derives from the event
#: time and id (KCDC lists them with every data shop; the Parquet shops do not store them).
DERIVED_GENERAL = ("DateTime", "UUID")


def _info_text(scalars: Mapping[str, np.ndarray], groups: Mapping[str, list[str]], n: int,
               table: Mapping[str, dict], metadata: Mapping[str, Any] | None) -> str:
    """KCDC's ``Info.txt``: plain text for people (data set, cuts, units). Decision: KCDC's
    own file is free text (issue 20, "an Info.txt with the cuts"); ours is text too, ending
    in a ``[columns]`` section (name, unit, dtype, component; tab-separated) that the reader
    uses to give the columns back their exact dtypes. A KCDC Info.txt has no such section."""
    md = dict(metadata or {})
    lines = ["KCDC data request", ""]
    if md.get("title"):
        lines.append(f"Data shop: {md.get('datashop', '')} - {md['title']}")
    if md.get("simulated"):
        lines.append("SIMULATED DATA: these events come from a simulation "
                     f"({md.get('generator', 'simulation')} {md.get('generator_version', '')}), not from the detector.")
    if md.get("description"):
        lines.append(f"Description: {md['description']}")
    if md.get("citation"):
        lines.append(f"Please cite: {md['citation']}")
    req = md.get("request") or {}
    lines.append(f"Events: {n}")
    if md.get("created"):
        lines.append(f"Created: {md['created']}")
    lines += ["", "Cuts:"]
    cuts = req.get("cuts") or []
    for c in cuts:
        lines.append(f"  {c.get('column')} {c.get('op')} {json.dumps(c.get('value'), default=_json_default)}")
    if not cuts:
        lines.append("  none")
    lines += ["", "Tables: " + ", ".join(f"{t}.txt ({' '.join(groups[t])})" for t in groups), "",
              "[columns]"]
    for comp, names in groups.items():
        for c in names:
            a = scalars[c]
            lines.append("\t".join([c, _meta_for(c, table)[0] or "-",
                                    "string" if a.dtype == object else a.dtype.name, comp]))
    if md:
        lines += ["", "[metadata]", _dumps(md)]
    return "\n".join(lines) + "\n"


def write_ascii(df: Any, directory: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write the KCDC ASCII delivery into ``directory``: one ``<component>.txt`` per
    component (a header line of names, then tab-separated rows), ``row_mapping.txt``
    (tab-separated: the table names, then one line per event with its row in each
    table, ``-1`` where the event has none) and ``Info.txt``. Layout as observed in
    KCDC deliveries (issue 20; omegaflow/omegaflow src/archivar/kcdc.rs test data:
    tab separators, header without ``#``). Per-station arrays are refused (KCDC ships
    them only in HDF5 and ROOT)."""
    scalars, arr2, n = to_columns(df)
    table = _table(metadata)
    if arr2:
        raise ValueError(
            f"ASCII cannot hold per-station arrays ({', '.join(arr2)}): choose the hdf5 or root format, "
            "or drop those columns (KCDC offers ASCII only for non-array quantities)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[str]] = {}
    for name in scalars:
        groups.setdefault(_component(name, table), []).append(name)
    tables = [c for c in COMPONENTS if c in groups] or ["general"]
    groups = {c: groups.get(c, []) for c in tables}
    for comp in tables:
        names = groups[comp]
        fmts = [_fmt(scalars[c]) for c in names]
        cols = [scalars[c] for c in names]
        with open(directory / f"{comp}.txt", "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\t".join(names) + "\n")
            for i in range(n):
                fh.write("\t".join(f(col[i]) for f, col in zip(fmts, cols)) + "\n")
    with open(directory / "row_mapping.txt", "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\t".join(tables) + "\n")
        for i in range(n):
            fh.write("\t".join([str(i)] * len(tables)) + "\n")
    (directory / "Info.txt").write_text(_info_text(scalars, groups, n, table, metadata), encoding="utf-8")
    return directory


def write_request_zip(df: Any, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None) -> Path:
    """The ASCII delivery packed as KCDC's ``request.zip`` (the files at the top level)."""
    import tempfile
    import zipfile

    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        folder = write_ascii(df, Path(tmp) / "request", metadata=metadata)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for p in sorted(folder.iterdir()):
                z.write(p, arcname=p.name)
    return path


def _numeric(tokens: list[str]) -> bool:
    try:
        [float(t) for t in tokens]
    except ValueError:
        return False
    return True


def _read_table(path: Path) -> pd.DataFrame:
    """One component table: an optional ``#`` comment block, a header line of names, then
    rows separated by tabs or blanks (both occur: tab in KCDC deliveries, blanks in ours
    before issue 20). A header given only as the last ``#`` line is accepted too."""
    header: list[str] | None = None
    last_comment: list[str] = []
    rows: list[list[str]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            s = line.strip()
            if not s:
                continue
            if s.startswith("#"):
                last_comment = s.lstrip("#").split()
                continue
            tok = s.split()
            if header is None:
                if _numeric(tok) and len(last_comment) == len(tok):
                    header = last_comment
                else:
                    header = tok
                    continue
            rows.append(tok)
    if header is None:
        return pd.DataFrame()
    if not rows:
        return pd.DataFrame({h: np.zeros(0) for h in header})
    width = len(header)
    bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
    if bad is not None:
        raise ValueError(f"{path.name}: row {bad + 1} has {len(rows[bad])} values but the header names {width} "
                         "columns: the table is damaged (download the request again)")
    raw = np.asarray(rows, dtype=object)
    out: dict[str, np.ndarray] = {}
    for j, h in enumerate(header):
        out[h] = _parse_column(raw[:, j])
    return pd.DataFrame(out)


def _parse_column(col: np.ndarray) -> np.ndarray:
    try:
        ints = np.asarray(col, dtype=np.int64)
        if all("." not in x and "e" not in x.lower() and "n" not in x.lower() for x in col[:1000]):
            return ints
    except (ValueError, OverflowError):
        pass
    try:
        return np.asarray(col, dtype=np.float64)
    except ValueError:
        return col.astype(object)


def _info_columns(directory: Path) -> dict[str, str]:
    """dtypes from the ``[columns]`` section of our Info.txt (a KCDC Info.txt has none)."""
    info = next((directory / n for n in ("Info.txt", "info.txt") if (directory / n).exists()), None)
    if info is None:
        return {}
    out: dict[str, str] = {}
    section = None
    for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line
            continue
        parts = line.split("\t")
        if section == "[columns]" and len(parts) == 4:
            out[parts[0]] = parts[2]
    return out


def _read_mapping(directory: Path) -> tuple[list[str], np.ndarray]:
    """row_mapping.txt: the table names, and per event its row in each table (-1: none)."""
    mapping_file = directory / "row_mapping.txt"
    if not mapping_file.exists():
        raise FileNotFoundError(f"{mapping_file} not found: not a KCDC ASCII directory")
    with open(mapping_file, encoding="utf-8") as fh:
        tables = fh.readline().split()
        idx = np.loadtxt(fh, dtype=np.int64, ndmin=2) if tables else np.zeros((0, 0), dtype=np.int64)
    if idx.size == 0:
        idx = np.zeros((0, len(tables)), dtype=np.int64)
    if idx.shape[1] != len(tables):
        raise ValueError(f"{mapping_file}: the first line names {len(tables)} tables but the rows have "
                         f"{idx.shape[1]} values: the file is damaged (download the request again)")
    return tables, idx


def _join(parts: Mapping[str, pd.DataFrame], tables: list[str], idx: np.ndarray) -> pd.DataFrame:
    """One row per event from per-component tables. A component without a table (KCDC lists
    every component in row_mapping.txt but ships only those the request selected from)
    adds nothing; -1 gives missing values; a name in two components (Xc, Yc, Ze, Az, Nmu,
    Age of array and grande) gets the component as prefix: array_Xc, grande_Xc."""
    aligned: dict[str, pd.DataFrame] = {}
    for j, comp in enumerate(tables):
        if comp not in parts:
            continue
        t = parts[comp]
        t = t.rename(columns={c: canonical(c) for c in t.columns})
        rows = idx[:, j]
        t = t.reindex(pd.Index(rows)) if (rows < 0).any() else t.iloc[rows]
        aligned[comp] = t.reset_index(drop=True)
    seen: dict[str, int] = {}
    for t in aligned.values():
        for c in t.columns:
            seen[c] = seen.get(c, 0) + 1
    frames = [t.rename(columns={c: f"{comp}_{c}" for c in t.columns if seen[c] > 1}) for comp, t in aligned.items()]
    if not frames:
        return pd.DataFrame(index=pd.RangeIndex(len(idx)))
    return pd.concat(frames, axis=1)


def read_ascii(directory: str | os.PathLike) -> pd.DataFrame:
    """Read a KCDC ASCII delivery folder (see :func:`read_delivery` for what is accepted)."""
    directory = Path(directory)
    tables, idx = _read_mapping(directory)
    dtypes = _info_columns(directory)
    parts: dict[str, pd.DataFrame] = {}
    for comp in tables:
        f = directory / f"{comp}.txt"
        if not f.exists():
            continue
        t = _read_table(f)
        for c in t.columns:
            if dtypes.get(c) not in (None, "string") and len(t):
                t[c] = t[c].astype(dtypes[c])
        parts[comp] = t
    return _join(parts, tables, idx)


# --------------------------------------------------------------------------- ROOT
def write_root(df: Any, path: str | os.PathLike, *, arrays: Mapping[str, Any] | None = None,
               metadata: Mapping[str, Any] | None = None, tree: str = "events") -> Path:
    """Write a ROOT file with one TTree (``events``) via uproot (see module docstring)."""
    import uproot

    scalars, arr2, n = to_columns(df, arrays)
    table = _table(metadata)
    branches: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    for name, a in scalars.items():
        if a.dtype == object:
            codes, cats = pd.factorize(pd.Series(a, dtype=object), sort=True)
            branches[name] = codes.astype(np.int32)
            categories[name] = [str(c) for c in cats]
        elif a.dtype.kind == "b":
            branches[name] = a.astype(np.bool_)
        else:
            branches[name] = np.ascontiguousarray(a)
    for name, a in arr2.items():
        branches[name] = np.ascontiguousarray(a)
    path = Path(path)
    with uproot.recreate(path) as f:
        if branches:
            f[tree] = branches
        for name, cats in categories.items():
            f[f"categories_{name}"] = _dumps(cats)
        f["columns"] = _dumps(list(scalars) + list(arr2))
        f["units"] = _dumps({c: _meta_for(c, table)[0] for c in list(scalars) + list(arr2)})
        if metadata:
            f["metadata"] = _dumps(dict(metadata))
    return path


def read_root(path: str | os.PathLike, tree: str = "events") -> pd.DataFrame:
    """Read the ``events`` TTree written by :func:`write_root` (or any flat TTree)."""
    import uproot

    scalars: dict[str, np.ndarray] = {}
    arr2: dict[str, np.ndarray] = {}
    with uproot.open(path) as f:
        keys = {k.split(";")[0] for k in f.keys()}
        order = json.loads(str(f["columns"])) if "columns" in keys else None
        if tree not in keys:
            return pd.DataFrame({c: [] for c in (order or [])})
        t = f[tree]
        data = t.arrays(library="np")
        for name, a in data.items():
            if a.dtype == object:  # jagged / non-uniform: stack if possible
                a = np.stack([np.asarray(x) for x in a])
            if a.ndim == 2:
                arr2[name] = a
            else:
                scalars[name] = a
        for name in list(scalars):
            if f"categories_{name}" in keys:
                cats = np.asarray(json.loads(str(f[f"categories_{name}"])), dtype=object)
                scalars[name] = cats[scalars[name]]
    return _frame(scalars, arr2, order or (list(scalars) + list(arr2)))


# --------------------------------------------------------------------------- Arrow / Parquet
def to_arrow(df: Any, *, arrays: Mapping[str, Any] | None = None, metadata: Mapping[str, Any] | None = None):
    """A :class:`pyarrow.Table` with per-station arrays as fixed-size list columns."""
    import pyarrow as pa

    scalars, arr2, n = to_columns(df, arrays)
    names, cols = [], []
    for name, a in scalars.items():
        names.append(name)
        cols.append(pa.array(a, type=pa.string()) if a.dtype == object else pa.array(a))
    for name, a in arr2.items():
        a = np.ascontiguousarray(a)
        names.append(name)
        cols.append(pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1)), a.shape[1]))
    schema_md = {"kcdc": _dumps(dict(metadata))} if metadata else None
    table = pa.Table.from_arrays(cols, names=names) if names else pa.table({})
    if schema_md:
        table = table.replace_schema_metadata(schema_md)
    return table


def from_arrow(table) -> pd.DataFrame:
    """Inverse of :func:`to_arrow` (fixed-size list columns -> per-station arrays)."""
    import pyarrow as pa

    scalars: dict[str, np.ndarray] = {}
    arr2: dict[str, np.ndarray] = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_fixed_size_list(col.type) or pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            chunks = [c for c in col.chunks]
            mats = []
            for c in chunks:
                if len(c) == 0:
                    continue
                flat = c.flatten().to_numpy(zero_copy_only=False)
                mats.append(flat.reshape(len(c), -1))
            width = col.type.list_size if pa.types.is_fixed_size_list(col.type) else (mats[0].shape[1] if mats else 0)
            vt = col.type.value_type.to_pandas_dtype()
            arr2[name] = np.concatenate(mats) if mats else np.zeros((0, width), dtype=vt)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            scalars[name] = np.asarray(col.to_pylist(), dtype=object)
        else:
            scalars[name] = col.to_numpy()
    return _frame(scalars, arr2, list(table.column_names))


def write_parquet(df: Any, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None,
                  arrays: Mapping[str, Any] | None = None, compression: str = "zstd",
                  row_group_size: int | None = None) -> Path:
    """Write Parquet (the data service's columnar storage)."""
    return write_parquet_table(to_arrow(df, arrays=arrays), path, metadata=metadata, compression=compression,
                               row_group_size=row_group_size)


def write_parquet_table(table: Any, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None,
                        compression: str = "zstd", row_group_size: int | None = None) -> Path:
    """Write an Arrow table (per-station arrays as fixed-size lists) as :func:`write_parquet` does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if metadata:
        table = table.replace_schema_metadata({"kcdc": _dumps(dict(metadata))})
    # Measured values seldom repeat: a dictionary page for a float column is tried, fails
    # and costs a third of the write (benchmarks/datarequests.py); run numbers and strings keep it.
    keep = [f.name for f in table.schema if not pa.types.is_floating(f.type)
            and not (pa.types.is_fixed_size_list(f.type) and pa.types.is_floating(f.type.value_type))]
    pq.write_table(table, path, compression=compression, row_group_size=row_group_size, use_dictionary=keep)
    return path


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file (or a directory of ``part-*.parquet`` files)."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir():
        import pyarrow as pa

        parts = sorted(p.glob("part-*.parquet")) or sorted(p.glob("*.parquet"))
        tables = [pq.read_table(x, columns=columns) for x in parts]
        table = pa.concat_tables(tables) if tables else pa.table({})
    else:
        table = pq.read_table(p, columns=columns)
    return from_arrow(table)


def read_parquet_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata dict stored by :func:`write_parquet` (empty if none)."""
    import pyarrow.parquet as pq

    md = pq.read_schema(path).metadata or {}
    raw = md.get(b"kcdc")
    return json.loads(raw) if raw else {}


# --------------------------------------------------------------------------- CSV
def write_csv(df: Any, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write scalar columns as CSV with ``#`` comment lines (units, metadata)."""
    scalars, arr2, n = to_columns(df)
    table = _table(metadata)
    if arr2:
        raise ValueError(f"CSV cannot hold per-station arrays ({', '.join(arr2)}): choose hdf5, root or parquet")
    path = Path(path)
    frame = pd.DataFrame(scalars)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("# units: " + ",".join(f"{c}[{_meta_for(c, table)[0] or '-'}]" for c in scalars) + "\n")
        if metadata:
            fh.write("# metadata: " + _dumps(dict(metadata)) + "\n")
        frame.to_csv(fh, index=False, float_format="%.17g", lineterminator="\n")
    return path


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`."""
    return pd.read_csv(path, comment="#")


# --------------------------------------------------------------------------- any delivery
#: Names of the single-table ASCII export of older KCDC releases that are not a
#: case variant of today's quantity names. ESUMHAD (hadronic energy sum) is kept
#: under its own name: its unit there is not documented as KCDC's Ehad (log10).
_OLD_NAMES = {"ESUMHAD": "Esumhad", "YMD": "Ymd", "HMS": "Hms"}
_OLD_COLUMNS: dict[str, dict[str, Any]] = {
    "Esumhad": _col("", "energy sum of the hadrons in the calorimeter (older KCDC export; unit not documented)",
                    (0.0, float("inf")), "calorimeter"),
    "Ymd": _col("", "date of the event as yymmdd (older KCDC export)", (0, 991231), "general"),
    "Hms": _col("", "time of the event as hhmmss (older KCDC export)", (0, 235959), "general"),
}


def _known() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for t in (OTHER_COLUMNS, _OLD_COLUMNS, TUNKA_COLUMNS, GRANDE_COLUMNS, COLUMNS):  # KASCADE wins
        out.update(t)
    return out


_KNOWN = _known()
_CANONICAL = {name.lower(): name for name in _KNOWN}


def canonical(name: str) -> str:
    """KCDC's spelling of a quantity name given in any case (``NMU``, ``nmu`` -> ``Nmu``;
    ``Datetime`` as in observed deliveries -> ``DateTime``); an unknown name stays as it is."""
    old = _OLD_NAMES.get(name)
    if old:
        return old
    return _CANONICAL.get(name.lower(), name)


def _minus_one_is_missing(name: str) -> bool:
    """KCDC writes -1 for "not measured" (issue 20, older export). Decision: -1 means
    missing exactly where it cannot be a value, i.e. where the quantity's documented
    range excludes it (E, Ne, Nmu, Age, Ze, Gt, ... but not Xc, Yc or T)."""
    rng = _KNOWN.get(name.split("_", 1)[1] if name.split("_", 1)[0] in COMPONENTS else name, {}).get("range")
    return bool(rng) and not (rng[0] <= -1 <= rng[1])


def _finish(df: pd.DataFrame, table: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """Canonical names, -1 as missing, units in ``df.attrs["units"]``."""
    df = df.rename(columns={c: canonical(c) for c in df.columns})
    units: dict[str, str] = {}
    for c in df.columns:
        bare = c.split("_", 1)[1] if c.split("_", 1)[0] in COMPONENTS and "_" in c else c
        meta = (table or {}).get(bare) or _KNOWN.get(bare) or {}
        units[c] = meta.get("unit", "")
        col = df[c]
        if _minus_one_is_missing(c) and col.dtype.kind in "iuf" and (col == -1).any():
            df[c] = col.astype("Int64" if col.dtype.kind in "iu" else col.dtype).mask(col == -1)
    df.attrs["units"] = units
    return df


def read_single_table(path: str | os.PathLike) -> pd.DataFrame:
    """The ASCII export of older KCDC releases: one fixed-width table whose first line
    names the columns in upper case (``E YC XC ZE AZ NE NMU ESUMHAD NHAD T P GT MT YMD
    HMS R EV AGE``); E, NE, NMU as log10, -1 for "not measured" (issue 20)."""
    t = pd.read_csv(path, sep=r"\s+", comment="#", engine="python")
    return _finish(t)


_EXPECTED = ("expected a KCDC delivery: request.zip or its unpacked folder (row_mapping.txt with general.txt, "
             "array.txt, ...), the single-table ASCII export of older KCDC releases (a first line of upper-case "
             "names such as E XC YC ZE AZ NE NMU), events.h5 (HDF5), events.root (ROOT), or this hub's "
             "Parquet or CSV")


def _looks_like_single_table(line: str) -> bool:
    names = line.split()
    return (len(names) >= 2 and all(n.isupper() and n.isalpha() for n in names)
            and sum(canonical(n) in _KNOWN for n in names) >= len(names) // 2 + 1)


def read_delivery(path: str | os.PathLike) -> pd.DataFrame:
    """Open any KCDC delivery and return one DataFrame (``kcdc.read``).

    Accepts ``request.zip`` (ASCII tables, or an HDF5/ROOT file inside) or its unpacked
    folder, the older single upper-case table, ``events.h5``, ``events.root``, and this
    hub's Parquet (a file or a folder of parts) and CSV. Names are KCDC's spelling whatever
    their case; a name found in two components gets the component as prefix
    (``array_Xc``, ``grande_Xc``); -1 is missing where it cannot be a value; units are in
    ``df.attrs["units"]``; per-station quantities are columns of 1-D arrays."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist: {_EXPECTED}")
    if p.is_dir():
        return _read_folder(p)
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        import tempfile
        import zipfile

        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(p) as z:
                for member in z.namelist():  # never write outside tmp (absolute or ../ names)
                    target = (Path(tmp) / member).resolve()
                    if not str(target).startswith(str(Path(tmp).resolve())):
                        raise ValueError(f"{p}: the zip names a file outside itself ({member!r}); not a KCDC delivery")
                z.extractall(tmp)
            return _read_folder(Path(tmp), shown=p)
    if head.startswith(b"\x89HDF"):
        return _finish(read_hdf5(p))
    if head.startswith(b"root"):
        return _finish(read_root(p))
    if head.startswith(b"PAR1"):
        return _finish(read_parquet(p))
    first = _first_line(p)
    if first is not None:
        if _looks_like_single_table(first):
            return read_single_table(p)
        if "," in first:
            return _finish(read_csv(p))
    raise ValueError(f"{p} is none of the KCDC layouts: {_EXPECTED}")


def _first_line(p: Path) -> str | None:
    try:
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                if line.strip() and not line.lstrip().startswith("#"):
                    return line.strip()
    except (UnicodeDecodeError, OSError):
        return None
    return None


def _read_folder(d: Path, shown: Path | None = None) -> pd.DataFrame:
    shown = shown or d
    files = [x for x in d.iterdir() if not x.name.startswith(".")]
    data = [x for x in files if x.suffix in (".h5", ".hdf5", ".root") or x.name.endswith(".parquet")]
    if len(data) == 1 and not data[0].name.startswith("part-"):
        # an HDF5/ROOT request.zip also carries row_mapping.txt and Info.txt: the events file is the data
        if data[0].suffix in (".h5", ".hdf5") and (d / "row_mapping.txt").exists():
            return _finish(read_hdf5(data[0], mapping=_read_mapping(d)))
        return read_delivery(data[0])
    if (d / "row_mapping.txt").exists():
        return _finish(read_ascii(d))
    if any(x.name.startswith("part-") and x.suffix == ".parquet" for x in files):
        return _finish(read_parquet(d))
    subdirs = [x for x in files if x.is_dir()]
    if len(subdirs) == 1 and len(files) == 1:  # a zip with one top folder
        return _read_folder(subdirs[0], shown)
    tables = [x for x in files if x.suffix == ".txt" and x.name.lower() != "info.txt"]
    if len(tables) == 1:
        return read_delivery(tables[0])
    raise ValueError(f"{shown} holds no KCDC delivery (no row_mapping.txt, no single events file): {_EXPECTED}")


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Format:
    """One downloadable format: writer(df, path, metadata=...), reader(path), suffix."""

    name: str
    writer: Callable[..., Path]
    reader: Callable[..., pd.DataFrame]
    suffix: str  # "" for ASCII: the writer makes a directory
    arrays: bool  # can hold per-station arrays
    media_type: str


FORMATS: dict[str, Format] = {
    "hdf5": Format("hdf5", write_hdf5, read_hdf5, ".h5", True, "application/x-hdf5"),
    "ascii": Format("ascii", write_ascii, read_ascii, "", False, "text/plain"),
    "root": Format("root", write_root, read_root, ".root", True, "application/octet-stream"),
    "parquet": Format("parquet", write_parquet, read_parquet, ".parquet", True, "application/vnd.apache.parquet"),
    "csv": Format("csv", write_csv, read_csv, ".csv", False, "text/csv"),
}


def _get(fmt: str) -> Format:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}") from None


def write(fmt: str, df: Any, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``df`` in format ``fmt`` (a key of :data:`FORMATS`)."""
    return _get(fmt).writer(df, path, metadata=metadata)


def read(fmt: str, path: str | os.PathLike) -> pd.DataFrame:
    """Read a file (or ASCII directory) in format ``fmt``."""
    return _get(fmt).reader(path)
