"""Writing data sets in the on-disk contract of the data service.

``DATA_ROOT/<id>/datashop.json`` plus ``part-NNNNN.parquet`` files (scalar
columns; per-station arrays as fixed-size list<float32>[252] columns).
Files are written into a hidden temporary directory and moved into place at
the end, so a reader never sees a half-written data set.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from kcdc import formats

from .version import __version__
from .generator import Config, Simulation

DEFAULT_ROWS_PER_PART = 250_000
DEFAULT_ROWS_PER_PART_STATIONS = 2_000

BUNDLE_SEED = 2026
#: the default bundle: (id, experiment, kind, events, stations, seed offset). Counts: the
#: 3e6 KASCADE set puts a student's knee fit at 15.5-15.75 (with 1e6 it landed at 15.46 +- 0.04);
#: the Grande and Tunka sets hold a few thousand events above 1e17 eV for the heavy knee, the
#: light ankle and the Xmax elongation rate; the whole bundle stays well under a minute on 2 cores.
BUNDLE = (
    ("kascade", "kascade", "measured-like", 3_000_000, False, 0),
    ("kascade-sim", "kascade", "simulation", 200_000, False, 1),
    ("kascade-stations", "kascade", "simulation", 20_000, True, 2),
    ("kascade-grande", "kascade-grande", "measured-like", 1_000_000, False, 3),
    ("kascade-grande-sim", "kascade-grande", "simulation", 200_000, False, 4),
    ("tunka133", "tunka133", "measured-like", 1_000_000, False, 5),
    ("tunka133-sim", "tunka133", "simulation", 200_000, False, 6),
)


def default_id(kind: str, stations: bool, experiment: str = "kascade") -> str:
    return experiment + ("-sim" if kind == "simulation" and not stations else "") + ("-stations" if stations else "")


def model_description(cfg: Config) -> dict[str, Any]:
    return cfg.exp.model_description(cfg)


class _Stats:
    """Streaming min/max per column (finite values only)."""

    def __init__(self):
        self.lo: dict[str, Any] = {}
        self.hi: dict[str, Any] = {}
        self.dtype: dict[str, str] = {}

    def update(self, name: str, a: np.ndarray, dtype: str) -> None:
        self.dtype[name] = dtype
        if a.dtype == object or a.size == 0:
            if a.dtype == object and a.size:
                vals = sorted(set(a.tolist()))
                self.lo[name] = min(vals + ([self.lo[name]] if name in self.lo else []))
                self.hi[name] = max(vals + ([self.hi[name]] if name in self.hi else []))
            return
        f = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        if f.size == 0:
            return
        lo, hi = f.min().item(), f.max().item()
        self.lo[name] = min(lo, self.lo.get(name, lo))
        self.hi[name] = max(hi, self.hi.get(name, hi))


def _dtype_name(a: np.ndarray, per_station: bool) -> str:
    if per_station:
        return f"fixed_size_list<{a.dtype.name}>[{a.shape[1]}]"
    return "string" if a.dtype == object else a.dtype.name


def _column_meta(stats: _Stats, names: list[str], experiment: str = "kascade") -> dict[str, Any]:
    out = {}
    table = formats.columns_for(experiment)
    for c in names:
        info = table.get(c, {})
        lo, hi = stats.lo.get(c), stats.hi.get(c)
        out[c] = {
            "unit": info.get("unit", ""), "description": info.get("description", ""),
            "dtype": stats.dtype.get(c, ""),
            "min": None if lo is None else (round(lo, 6) if isinstance(lo, float) else lo),
            "max": None if hi is None else (round(hi, 6) if isinstance(hi, float) else hi),
        }
    return out


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} is a file: give a directory for --out")
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("/"))
    if not probe.is_dir():
        raise ValueError(f"cannot create {out}: {probe} is a file; choose a writable --out directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write into {probe}: choose a writable --out directory")


def generate_dataset(out_dir: str | os.PathLike, *, events: int, seed: int, experiment: str = "kascade",
                     kind: str = "measured-like", stations: bool = False, dataset_id: str | None = None,
                     zenith_max_deg: float | None = None, emin_ev: float | None = None,
                     emax_ev: float | None = None,
                     rows_per_part: int | None = None, title: str | None = None,
                     progress: bool = False) -> Path:
    """Generate one data set as ``out_dir/<id>/`` (datashop.json + part-NNNNN.parquet).
    Returns the data-set directory. An existing showersim data set of the same id is replaced.
    ``None`` for zenith and energies means the experiment's defaults."""
    cfg = Config(seed=seed, experiment=experiment, kind=kind, stations=stations,
                 zenith_max_deg=zenith_max_deg, emin_ev=emin_ev, emax_ev=emax_ev)
    cfg.check()
    if not isinstance(events, (int, np.integer)) or isinstance(events, bool) or events < 0:
        raise ValueError(f"--events must be a non-negative integer, got {events!r}")
    dataset_id = dataset_id or default_id(kind, stations, experiment)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", dataset_id or ""):
        raise ValueError(f"data-set id {dataset_id!r} invalid: use letters, digits, '-' and '_' only")
    rows_per_part = rows_per_part or (DEFAULT_ROWS_PER_PART_STATIONS if stations else DEFAULT_ROWS_PER_PART)
    if rows_per_part <= 0:
        raise ValueError("rows per part must be positive")
    final, tmp = _prepare_target(Path(out_dir), dataset_id)
    sim = Simulation(cfg, events)
    stats = _Stats()
    names: list[str] = list(sim.columns())
    writer = _PartWriter(tmp, rows_per_part)
    t0 = time.monotonic()
    try:
        for cols, arrays in sim.chunks():
            for c, v in cols.items():
                stats.update(c, v, _dtype_name(v, False))
            for c, v in arrays.items():
                stats.update(c, v, _dtype_name(v, True))
            writer.add(cols, arrays)
            if progress and sys.stderr.isatty():
                print(f"\r{dataset_id}: {writer.total}/{events} events", end="", file=sys.stderr, flush=True)
        writer.flush(final=True)
        if progress:
            print(f"\r{dataset_id}: {writer.total} events in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        if writer.total == 0:
            writer.empty_part(cfg, names)
        meta = datashop_metadata(cfg, dataset_id, writer.total, sim.live_time_s,
                                 _column_meta(stats, names, cfg.experiment), writer.parts, title)
        (tmp / "datashop.json").write_text(json.dumps(meta, indent=1, sort_keys=False) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _prepare_target(out: Path, dataset_id: str) -> tuple[Path, Path]:
    """(the data set's folder, an empty temporary folder beside it); refuses to replace a
    folder that is not a showersim data set."""
    _check_out_dir(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(f"cannot create {out} ({exc.strerror}): choose a writable --out directory") from None
    final = out / dataset_id
    if final.exists():
        try:
            ok = json.loads((final / "datashop.json").read_text()).get("generator") == "showersim"
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise FileExistsError(f"{final} exists and is not a showersim data set: choose another --id or --out")
    tmp = out / f".{dataset_id}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return final, tmp


class _PartWriter:
    """Buffers the simulation's chunks and writes them as Parquet parts of rows_per_part rows."""

    def __init__(self, folder: Path, rows_per_part: int):
        self.folder, self.rows_per_part = folder, rows_per_part
        self.scalars: dict[str, list[np.ndarray]] = {}
        self.arrays: dict[str, list[np.ndarray]] = {}
        self.buffered = self.total = 0
        self.parts: list[str] = []

    def add(self, cols: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> None:
        for c, v in cols.items():
            self.scalars.setdefault(c, []).append(v)
        for c, v in arrays.items():
            self.arrays.setdefault(c, []).append(v)
        n = len(cols["E"])
        self.buffered += n
        self.total += n
        self.flush()

    def flush(self, final: bool = False) -> None:
        while self.buffered >= self.rows_per_part or (final and self.buffered > 0):
            k = min(self.rows_per_part, self.buffered)
            cols = {c: np.concatenate(v) for c, v in self.scalars.items()}
            arrs = {c: np.concatenate(v) for c, v in self.arrays.items()}
            name = f"part-{len(self.parts):05d}.parquet"
            formats.write_parquet({c: v[:k] for c, v in cols.items()}, self.folder / name,
                                  arrays={c: v[:k] for c, v in arrs.items()}, row_group_size=131072)
            self.parts.append(name)
            self.scalars = {c: [v[k:]] for c, v in cols.items()}
            self.arrays = {c: [v[k:]] for c, v in arrs.items()}
            self.buffered -= k

    def empty_part(self, cfg: Config, names: list[str]) -> None:
        """An empty data set still gets one (empty) part with the right schema."""
        arr_cols = cfg.exp.array_columns if cfg.stations else ()
        n_st = len(cfg.exp.stations_json()["x_m"])
        empty = {c: np.zeros(0, dtype=np.float32) for c in names if c not in arr_cols}
        formats.write_parquet(empty, self.folder / "part-00000.parquet",
                              arrays={c: np.zeros((0, n_st), np.float32) for c in names if c in arr_cols})
        self.parts.append("part-00000.parquet")


def datashop_metadata(cfg: Config, dataset_id: str, events: int, live_time_s: float, columns: dict,
                      parts: list[str], title: str | None = None) -> dict[str, Any]:
    exp = cfg.exp
    title = title or exp.title(cfg.kind, cfg.stations)
    if "simulated" not in title.lower():
        title = f"{title} (simulated)"
    defaults = {"zenith_max_deg": exp.default_zenith_max_deg, "emin_ev": exp.default_energy_ev[0],
                "emax_ev": exp.default_energy_ev[1]}
    return {
        "id": dataset_id,
        "title": title,
        "experiment": exp.label,
        "kind": cfg.kind,
        "description": exp.description(cfg, events).replace("{version}", __version__),
        "simulated": True,
        "generator": "showersim",
        "generator_version": __version__,
        "seed": int(cfg.seed),
        "model": model_description(cfg),
        "citation": exp.citation_text(__version__),
        "events": int(events),
        "exposure": {
            "area_m2": cfg.area_m2,
            "zenith_max_deg": cfg.zenith_max_deg,
            "solid_angle_sr": cfg.solid_angle_sr,
            "live_time_s": live_time_s,
            "geometric_solid_angle_sr": cfg.geometric_solid_angle_sr,
            "aperture_m2_sr": cfg.area_m2 * cfg.solid_angle_sr,
            "note": ("solid_angle_sr is the projected solid angle pi*sin^2(zenith_max) of a flat array, so "
                     "area_m2*solid_angle_sr*live_time_s is the exposure (m^2 sr s); "
                     f"{exp.core_note}; valid where the trigger is fully efficient"),
            **exp.exposure_extra(live_time_s),
        },
        "columns": columns,
        "stations": exp.stations_json(),
        "per_station_arrays": bool(cfg.stations),
        "parts": parts,
        "generate_command": (f"showersim generate --experiment {cfg.experiment} --events {events} --seed {cfg.seed} "
                             f"--kind {cfg.kind}{' --stations' if cfg.stations else ''} --id {dataset_id}"
                             + ("" if cfg.zenith_max_deg == defaults["zenith_max_deg"]
                                else f" --zenith-max {cfg.zenith_max_deg:g}")
                             + ("" if cfg.emin_ev == defaults["emin_ev"] else f" --emin {cfg.emin_ev:g}")
                             + ("" if cfg.emax_ev == defaults["emax_ev"] else f" --emax {cfg.emax_ev:g}")),
    }


def build_bundle(data_root: str | os.PathLike, *, seed: int = BUNDLE_SEED, scale: float = 1.0,
                 progress: bool = False) -> list[Path]:
    """Write the default bundle (see BUNDLE: KASCADE, KASCADE-Grande and Tunka-133 data shops)
    into data_root. ``scale`` shrinks the event counts (tests); 1.0 is the bundle the image ships."""
    if not (0 < scale <= 1):
        raise ValueError("scale must be in (0, 1]")
    out = []
    for dataset_id, experiment, kind, events, stations, off in BUNDLE:
        out.append(generate_dataset(data_root, events=max(1, int(math.ceil(events * scale))), seed=seed + off,
                                    experiment=experiment, kind=kind, stations=stations, dataset_id=dataset_id,
                                    progress=progress))
    return out


def load_dataset(path: str | os.PathLike, columns: list[str] | None = None):
    """Read a data set directory into a DataFrame (per-station columns hold 1-D arrays)."""
    return formats.read_parquet(Path(path), columns=columns)


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(path) / "datashop.json").read_text())
