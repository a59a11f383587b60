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

from . import __version__, layout, physics
from .generator import ARRAY_COLUMNS, MASS_GROUPS, Config, Simulation

DEFAULT_ROWS_PER_PART = 250_000
DEFAULT_ROWS_PER_PART_STATIONS = 2_000

BUNDLE_SEED = 2026
#: the default bundle: (id, kind, events, stations, seed offset)
BUNDLE = (
    ("kascade", "measured-like", 1_000_000, False, 0),
    ("kascade-sim", "simulation", 200_000, False, 1),
    ("kascade-stations", "simulation", 20_000, True, 2),
)

CITATION = (
    "showersim {v} (astroparticle.online), a parametric simulation of the KASCADE array. "
    "Flux model: T.K. Gaisser, Astropart. Phys. 35 (2012) 801 (H3a), via crflux (A. Fedynitch). "
    "Data layout: A. Haungs et al. (KCDC), Eur. Phys. J. C 78 (2018) 741. "
    "Attenuation: T. Antoni et al. (KASCADE), Astropart. Phys. 19 (2003) 703. "
    "Muon scaling: J. Matthews, Astropart. Phys. 22 (2005) 387."
)


def default_id(kind: str, stations: bool, experiment: str = "kascade") -> str:
    return experiment + ("-sim" if kind == "simulation" and not stations else "") + ("-stations" if stations else "")


def model_description(cfg: Config) -> dict[str, Any]:
    import crflux

    return {
        "flux": "H3a (Gaisser 2012), crflux.models.HillasGaisser2012('H3a')",
        "flux_package": f"crflux {getattr(crflux, '__version__', '2.1.0')}",
        "mass_groups": [{"name": n, "crflux_id": c, "A": a, "Z": z} for n, c, a, z in MASS_GROUPS],
        "energy_range_eV": [cfg.emin_ev, cfg.emax_ev],
        "hadronic": ("none run: parametric sizes calibrated to the KCDC energy formula; muon number "
                     f"Heitler-Matthews A^(1-beta) E^beta with beta={physics.BETA}"),
        "energy_formula": "lg(E/GeV) = 0.313 lg Ne + 0.666 lg Nmu + 1.24/cos(Ze) + 0.580 (E column = this + 9)",
        "attenuation_g_cm2": {"Ne": physics.LAMBDA_E, "Nmu_effective": round(physics.LAMBDA_MU, 1),
                              "note": ("Nmu value is what the formula's 1.24/cos(Ze) term implies; "
                                       "KASCADE-Grande measured 1256+-85 g/cm^2 for its muon number")},
        "vertical_depth_g_cm2": physics.X_VERTICAL,
        "lateral": {"electrons": f"NKG r0={physics.R0_E} m", "muons": f"NKG r0={physics.R0_MU} m"},
        "trigger": f"erf in true lg Ne: 50% at {physics.EFF_LGNE50}, width {physics.EFF_WIDTH}",
        "full_efficiency_above_eV": 10**15.0,
    }


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


def _column_meta(stats: _Stats, names: list[str]) -> dict[str, Any]:
    out = {}
    for c in names:
        info = formats.COLUMNS.get(c, {})
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
                     zenith_max_deg: float = 40.0, emin_ev: float = 1e14, emax_ev: float = 1e18,
                     rows_per_part: int | None = None, title: str | None = None,
                     progress: bool = False) -> Path:
    """Generate one data set as ``out_dir/<id>/`` (datashop.json + part-NNNNN.parquet).
    Returns the data-set directory. An existing showersim data set of the same id is replaced."""
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
    out = Path(out_dir)
    _check_out_dir(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(f"cannot create {out} ({exc.strerror}): choose a writable --out directory") from None
    final = out / dataset_id
    if final.exists():
        old = final / "datashop.json"
        try:
            ok = json.loads(old.read_text()).get("generator") == "showersim"
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise FileExistsError(f"{final} exists and is not a showersim data set: choose another --id or --out")
    tmp = out / f".{dataset_id}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()

    sim = Simulation(cfg, events)
    stats = _Stats()
    buf_s: dict[str, list[np.ndarray]] = {}
    buf_a: dict[str, list[np.ndarray]] = {}
    nbuf, part, total = 0, 0, 0
    names: list[str] = list(sim.columns())
    parts: list[str] = []
    t0 = time.monotonic()

    def flush(final_flush: bool = False) -> None:
        nonlocal nbuf, part
        while nbuf >= rows_per_part or (final_flush and nbuf > 0):
            k = min(rows_per_part, nbuf)
            cols = {c: np.concatenate(v) for c, v in buf_s.items()}
            arrs = {c: np.concatenate(v) for c, v in buf_a.items()}
            name = f"part-{part:05d}.parquet"
            formats.write_parquet({c: v[:k] for c, v in cols.items()}, tmp / name,
                                  arrays={c: v[:k] for c, v in arrs.items()}, row_group_size=131072)
            parts.append(name)
            part += 1
            for c in buf_s:
                buf_s[c] = [cols[c][k:]]
            for c in buf_a:
                buf_a[c] = [arrs[c][k:]]
            nbuf -= k

    try:
        for cols, arrays in sim.chunks():
            n = len(cols["E"])
            for c, v in cols.items():
                buf_s.setdefault(c, []).append(v)
                stats.update(c, v, _dtype_name(v, False))
            for c, v in arrays.items():
                buf_a.setdefault(c, []).append(v)
                stats.update(c, v, _dtype_name(v, True))
            nbuf += n
            total += n
            flush()
            if progress and sys.stderr.isatty():
                print(f"\r{dataset_id}: {total}/{events} events", end="", file=sys.stderr, flush=True)
        flush(final_flush=True)
        if progress:
            print(f"\r{dataset_id}: {total} events in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        if total == 0:  # an empty data set still gets one (empty) part with the right schema
            empty = {c: np.zeros(0, dtype=np.float32) for c in names if c not in ARRAY_COLUMNS}
            formats.write_parquet(empty, tmp / "part-00000.parquet",
                                  arrays={c: np.zeros((0, layout.N_STATIONS), np.float32)
                                          for c in names if c in ARRAY_COLUMNS})
            parts.append("part-00000.parquet")
        meta = datashop_metadata(cfg, dataset_id, total, sim.live_time_s, _column_meta(stats, names), parts, title)
        (tmp / "datashop.json").write_text(json.dumps(meta, indent=1, sort_keys=False) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def datashop_metadata(cfg: Config, dataset_id: str, events: int, live_time_s: float, columns: dict,
                      parts: list[str], title: str | None = None) -> dict[str, Any]:
    kind_txt = ("measured-like (no truth)" if cfg.kind == "measured-like"
                else "labelled simulation with the true primary")
    stations_txt = " with per-station EDeposit/MDeposit/Arrival" if cfg.stations else ""
    title = title or f"Simulated KASCADE events: {kind_txt}{stations_txt}"
    if "simulated" not in title.lower():
        title = f"{title} (simulated)"
    return {
        "id": dataset_id,
        "title": title,
        "experiment": "KASCADE",
        "kind": cfg.kind,
        "description": (
            f"SIMULATED data, not KASCADE measurements: {events} air showers generated by showersim "
            f"{__version__} from the H3a cosmic-ray flux model (five mass groups, "
            f"{cfg.emin_ev:.0e}-{cfg.emax_ev:.0e} eV), isotropic up to {cfg.zenith_max_deg:g} deg zenith, "
            f"cores uniform over {cfg.area_m2:.0f} m^2, in the KCDC KASCADE column layout{stations_txt}. "
            "Electron and muon numbers follow published attenuation lengths and Heitler-Matthews muon scaling, "
            "calibrated so that the KCDC energy formula in the E column returns the true energy on average; "
            "detector resolution and trigger efficiency are parametrised. Fully efficient above ~1e15 eV. "
            "Flux = N / (area_m2 * solid_angle_sr * live_time_s * dE)."),
        "simulated": True,
        "generator": "showersim",
        "generator_version": __version__,
        "seed": int(cfg.seed),
        "model": model_description(cfg),
        "citation": CITATION.format(v=__version__),
        "events": int(events),
        "exposure": {
            "area_m2": cfg.area_m2,
            "zenith_max_deg": cfg.zenith_max_deg,
            "solid_angle_sr": cfg.solid_angle_sr,
            "live_time_s": live_time_s,
            "geometric_solid_angle_sr": cfg.geometric_solid_angle_sr,
            "aperture_m2_sr": cfg.area_m2 * cfg.solid_angle_sr,
            "note": ("solid_angle_sr is the projected solid angle pi*sin^2(zenith_max) of a flat array, so "
                     "area_m2*solid_angle_sr*live_time_s is the exposure (m^2 sr s); cores thrown uniformly "
                     "over the square |Xc|,|Yc| <= 91 m; valid where the trigger is fully efficient"),
        },
        "columns": columns,
        "stations": layout.stations_json(),
        "per_station_arrays": bool(cfg.stations),
        "parts": parts,
        "generate_command": (f"showersim generate --experiment {cfg.experiment} --events {events} --seed {cfg.seed} "
                             f"--kind {cfg.kind}{' --stations' if cfg.stations else ''} --id {dataset_id}"
                             + ("" if cfg.zenith_max_deg == 40.0 else f" --zenith-max {cfg.zenith_max_deg:g}")
                             + ("" if cfg.emin_ev == 1e14 else f" --emin {cfg.emin_ev:g}")
                             + ("" if cfg.emax_ev == 1e18 else f" --emax {cfg.emax_ev:g}")),
    }


def build_bundle(data_root: str | os.PathLike, *, seed: int = BUNDLE_SEED, scale: float = 1.0,
                 progress: bool = False) -> list[Path]:
    """Write the default bundle (kascade, kascade-sim, kascade-stations) into data_root.
    ``scale`` shrinks the event counts (tests); 1.0 is the bundle the image ships."""
    if not (0 < scale <= 1):
        raise ValueError("scale must be in (0, 1]")
    out = []
    for dataset_id, kind, events, stations, off in BUNDLE:
        out.append(generate_dataset(data_root, events=max(1, int(math.ceil(events * scale))), seed=seed + off,
                                    kind=kind, stations=stations, dataset_id=dataset_id, progress=progress))
    return out


def load_dataset(path: str | os.PathLike, columns: list[str] | None = None):
    """Read a data set directory into a DataFrame (per-station columns hold 1-D arrays)."""
    return formats.read_parquet(Path(path), columns=columns)


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(path) / "datashop.json").read_text())
