"""Event generation for any registered experiment, in fixed blocks, streamed in chunks.

Reproducibility: thrown primaries are processed in blocks of BLOCK_SIZE; block
``b`` of a run with seed ``s`` draws from its own PCG64 stream seeded by
``SeedSequence([s, STREAM, b])`` (per-station data from a second stream
``[s, STREAM_STATIONS, b]``). Output therefore depends only on the arguments
(seed, number of events, experiment, kind, options), not on how it is cut into
files, and the scalar columns of an event are the same with or without ``--stations``.
What is experiment-specific lives in :mod:`kascade`, :mod:`grande`, :mod:`tunka`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import catalogue
from .experiment import Experiment, throw_primaries
from .flux import MODELS, FluxTable, flux_table  # noqa: F401  (re-exported)
from .kascade import RUN0, RUN_LENGTH_S, T0_UNIX, simulate_stations, weather  # noqa: F401  (re-exported)

BLOCK_SIZE = 1 << 16
STATION_SLICE = 2048
STREAM, STREAM_STATIONS = 1, 2

#: Five mass groups of H3a (Gaisser, Astropart. Phys. 35 (2012) 801) as used for KASCADE
MASS_GROUPS = MODELS["H3a"]["groups"]
GROUP_NAMES = np.array([g[0] for g in MASS_GROUPS], dtype=object)
GROUP_A = np.array([g[2] for g in MASS_GROUPS], dtype=np.int16)
GROUP_Z = np.array([g[3] for g in MASS_GROUPS], dtype=np.int16)

KINDS = ("measured-like", "simulation")


EXPERIMENTS = catalogue.names()


@dataclass(frozen=True)
class Config:
    """What to simulate. Energies in eV, angles in degrees; ``None`` means the
    experiment's default (KASCADE: 40 deg, 1e14-1e18 eV)."""

    seed: int
    experiment: str = "kascade"
    kind: str = "measured-like"
    stations: bool = False
    zenith_max_deg: float | None = None
    emin_ev: float | None = None
    emax_ev: float | None = None

    def __post_init__(self):
        if self.experiment in catalogue.names():
            exp = catalogue.get(self.experiment)
            for fname, default in (("zenith_max_deg", exp.default_zenith_max_deg),
                                   ("emin_ev", exp.default_energy_ev[0]), ("emax_ev", exp.default_energy_ev[1])):
                if getattr(self, fname) is None:
                    object.__setattr__(self, fname, default)

    @property
    def exp(self) -> Experiment:
        return catalogue.get(self.experiment)

    def check(self) -> None:
        exp = self.exp  # unknown experiment: clear error naming the known ones
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if not (0 < self.zenith_max_deg <= 60):
            raise ValueError(f"zenith max {self.zenith_max_deg} deg out of range: use 0 < zenith max <= 60")
        lo, hi = exp.energy_limits_ev
        if not (lo <= self.emin_ev < self.emax_ev <= hi):
            raise ValueError(f"energy range {self.emin_ev:g}-{self.emax_ev:g} eV invalid for {exp.label}: "
                             f"use {lo:g} <= emin < emax <= {hi:g}")
        if not (isinstance(self.seed, (int, np.integer)) and 0 <= self.seed < 2**63):
            raise ValueError(f"seed {self.seed!r} invalid: use an integer 0 <= seed < 2**63")
        if self.stations and not exp.array_columns:
            raise ValueError(f"{exp.label} data sets have no per-station arrays: drop --stations")

    # ---- exposure
    @property
    def area_m2(self) -> float:
        return self.exp.area_m2

    @property
    def solid_angle_sr(self) -> float:
        """Projected (cos-weighted) solid angle pi sin^2(Ze_max) of a flat array."""
        return math.pi * math.sin(math.radians(self.zenith_max_deg)) ** 2

    @property
    def geometric_solid_angle_sr(self) -> float:
        return 2 * math.pi * (1 - math.cos(math.radians(self.zenith_max_deg)))


# --------------------------------------------------------------------------- one block
def _block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), stream, block])))


def simulate_block(cfg: Config, block: int, t_start: float) -> tuple[dict[str, np.ndarray], tuple | None, np.ndarray, float]:
    """Throw BLOCK_SIZE primaries; return (recorded columns, inputs of the
    per-station simulation or None, live time of each recorded event, live time
    of the last thrown primary). Columns contain truth; the caller selects by kind."""
    rng = _block_rng(cfg.seed, STREAM, block)
    prim = throw_primaries(cfg.exp, cfg, rng, BLOCK_SIZE, t_start)
    cols, station_inputs, idx = cfg.exp.simulate(cfg, rng, prim)
    return cols, station_inputs, prim.t_rel[idx], float(prim.t_rel[-1])


# --------------------------------------------------------------------------- streaming
class Simulation:
    """Stream ``events`` recorded events for ``cfg`` in chunks.

    Iterate ``chunks()``; afterwards ``live_time_s`` and ``thrown`` describe the
    exposure that produced exactly these events."""

    def __init__(self, cfg: Config, events: int):
        cfg.check()
        if not (isinstance(events, (int, np.integer)) and events >= 0):
            raise ValueError(f"events must be a non-negative integer, got {events!r}")
        self.cfg = cfg
        self.events = int(events)
        self.live_time_s = 0.0
        self.blocks = 0

    def columns(self) -> tuple[str, ...]:
        exp = self.cfg.exp
        cols = exp.measured_columns + (exp.truth_columns if self.cfg.kind == "simulation" else ())
        return cols + (exp.array_columns if self.cfg.stations else ())

    def chunks(self) -> Iterator[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """Yield ``(scalar_columns, per_station_arrays)``: one chunk per simulation
        block, or per STATION_SLICE events when per-station arrays are made."""
        cfg = self.cfg
        exp = cfg.exp
        keep = exp.measured_columns + (exp.truth_columns if cfg.kind == "simulation" else ())
        done, t_start, block = 0, 0.0, 0
        run_first = None  # (run number, global index of its first event)
        while done < self.events:
            cols, sin, t_rec, t_last = simulate_block(cfg, block, t_start)
            srng = _block_rng(cfg.seed, STREAM_STATIONS, block) if sin is not None else None
            m_block = len(t_rec)
            block += 1
            need = self.events - done
            m = m_block
            if m >= need:
                # stop at the last needed event: the live time ends with it
                cols = {k: v[:need] for k, v in cols.items()}
                t_rec = t_rec[:need]
                t_last = float(t_rec[-1]) if need else t_start
                m = need
            t_start = t_last
            t_abs, run = exp.clock(t_rec)
            gt = np.floor(t_abs)
            cols["Gt"] = gt.astype(np.int64)
            # KCDC's micro time: 0 .. 999,999,999 within the second (kcdc.formats.COLUMNS["Mt"])
            cols["Mt"] = np.minimum(np.floor((t_abs - gt) * 1e9), 999_999_999).astype(np.int32)
            gidx = done + np.arange(m, dtype=np.int64)
            first = np.empty(m, dtype=np.int64)
            if m:
                starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
                first_of = gidx[starts].copy()
                if run_first is not None and run[0] == run_first[0]:
                    first_of[0] = run_first[1]
                seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, m]))
                first = first_of[seg]
                run_first = (int(run[-1]), int(first[-1]))
            cols["R"] = run
            cols["Ev"] = gidx - first
            done += m
            self.blocks = block
            self.live_time_s = t_start
            out = {k: cols[k] for k in keep}
            if sin is None:
                yield out, {}
                continue
            # per-station arrays slice by slice; a slice is always simulated whole (then
            # cut), so an event's station data do not depend on the requested count
            for j in range(0, m, STATION_SLICE):
                sl = slice(j, min(j + STATION_SLICE, m_block))
                arrays = exp.simulate_stations(srng, *(v[sl] for v in sin))
                k = min(j + STATION_SLICE, m) - j
                yield {c: v[j:j + k] for c, v in out.items()}, {c: v[:k] for c, v in arrays.items()}
