"""What every simulated experiment shares (the catalogue of them by name: :mod:`showersim.catalogue`).

An experiment (``kascade``, ``kascade-grande``, ``tunka133``) is an
:class:`Experiment` subclass that says *where* showers land (``throw_cores``,
``area_m2``), *which* flux model and ranges it uses, *when* it takes data
(``clock``: live time -> GPS time and run number) and *what* it measures
(``simulate``: columns of the recorded events). The generator
(:mod:`showersim.generator`) throws primaries for all of them with
:func:`throw_primaries`, streams blocks, counts runs and live time; the data-set
writer (:mod:`showersim.dataset`) writes any of them with the same contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .flux import MODELS, FluxTable, flux_table


@dataclass
class Primaries:
    """Thrown primaries of one block (all arrays of length n)."""

    grp: np.ndarray  # mass-group index into the flux model's groups
    lg_e: np.ndarray  # lg(E/eV)
    ze: np.ndarray  # zenith, rad
    az: np.ndarray  # azimuth, rad
    core: np.ndarray  # (2, n) core x, y in m
    t_rel: np.ndarray  # live time of arrival, s since the start of the data taking
    table: FluxTable


class Experiment:
    """Base class: subclasses set the class attributes and implement ``simulate``."""

    name = ""  # CLI / data-set id
    label = ""  # as the experiment writes its name
    flux_model = "H3a"
    energy_limits_ev = (1e14, 1e18)  # what --emin/--emax may ask for
    default_energy_ev = (1e14, 1e18)
    default_zenith_max_deg = 40.0
    full_efficiency_above_ev = 1e15
    measured_columns: tuple[str, ...] = ()
    truth_columns: tuple[str, ...] = ()
    array_columns: tuple[str, ...] = ()  # per-station arrays (only with --stations)
    citation = ""

    # ---- geometry and exposure
    @property
    def area_m2(self) -> float:
        raise NotImplementedError

    def throw_cores(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    core_note = ""

    # ---- time
    def clock(self, t_live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """GPS time (s since 1970, float) and run number of events at live time t_live (s)."""
        raise NotImplementedError

    def exposure_extra(self, live_time_s: float) -> dict[str, Any]:
        """Extra keys for ``exposure`` in datashop.json (duty cycle, observing schedule)."""
        return {}

    # ---- measurement
    def simulate(self, cfg, rng: np.random.Generator, prim: Primaries) -> tuple[dict[str, np.ndarray], Any, np.ndarray]:
        """Return (columns of the recorded events incl. truth, per-station inputs or None,
        indices of the recorded primaries)."""
        raise NotImplementedError

    def simulate_stations(self, rng: np.random.Generator, *inputs) -> dict[str, np.ndarray]:
        raise ValueError(f"{self.label} data sets have no per-station arrays: drop --stations")

    # ---- metadata
    def title(self, kind: str, stations: bool) -> str:
        kind_txt = "measured-like (no truth)" if kind == "measured-like" else "labelled simulation with the true primary"
        return f"Simulated {self.label} events: {kind_txt}"

    def description(self, cfg, events: int) -> str:
        raise NotImplementedError

    def model_description(self, cfg) -> dict[str, Any]:
        raise NotImplementedError

    def stations_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def citation_text(self, version: str) -> str:
        return self.citation.format(v=version)


def flux_fields(model: str, cfg) -> dict[str, Any]:
    """The flux part of ``datashop.json`` model descriptions."""
    import crflux

    return {
        "flux": MODELS[model]["description"],
        "flux_package": f"crflux {getattr(crflux, '__version__', '2.1.0')}",
        "mass_groups": [{"name": n, "crflux_id": c, "A": a, "Z": z} for n, c, a, z in MODELS[model]["groups"]],
        "energy_range_eV": [cfg.emin_ev, cfg.emax_ev],
    }


# --------------------------------------------------------------------------- shared steps
def throw_primaries(exp: Experiment, cfg, rng: np.random.Generator, n: int, t_start: float) -> Primaries:
    """Throw n primaries from the experiment's flux model, isotropic on a flat array,
    cores from ``exp.throw_cores``, Poisson arrival times in live time. The draw order
    (group, energy, zenith, azimuth, core, gaps) is part of the reproducibility contract."""
    ft = flux_table(cfg.emin_ev, cfg.emax_ev, model=exp.flux_model)
    rate = ft.integral * exp.area_m2 * cfg.solid_angle_sr  # thrown primaries per second
    u_group = rng.random(n)
    u_e = rng.random(n)
    u_ze = rng.random(n)
    u_az = rng.random(n)
    core = exp.throw_cores(rng, n)
    gaps = rng.exponential(1.0 / rate, n)

    grp = np.searchsorted(ft.group_cdf, u_group, side="right").clip(0, len(ft.group_cdf) - 1)
    lg_e = np.empty(n)
    for k in range(len(ft.group_cdf)):
        m = grp == k
        lg_e[m] = np.interp(u_e[m], ft.cdf[k], ft.lg_e)
    # isotropic flux on a flat array: dN ~ sin(Ze) cos(Ze) dZe -> sin^2 Ze uniform
    sin2max = math.sin(math.radians(cfg.zenith_max_deg)) ** 2
    ze = np.arcsin(np.sqrt(u_ze * sin2max))
    az = 2 * np.pi * u_az
    t_rel = t_start + np.cumsum(gaps)
    return Primaries(grp, lg_e, ze, az, core, t_rel, ft)


def smear_direction(ze: np.ndarray, az: np.ndarray, sig_dir_deg, g1: np.ndarray, g2: np.ndarray):
    """Measured (zenith, azimuth) in degrees: the true axis (rad) smeared in its tangent
    plane by a small-angle Gaussian of width sig_dir_deg (g1, g2 standard normals)."""
    st, ct, sp, cp = np.sin(ze), np.cos(ze), np.sin(az), np.cos(az)
    d = np.radians(sig_dir_deg)
    nx = st * cp + d * (g1 * ct * cp - g2 * sp)
    ny = st * sp + d * (g1 * ct * sp + g2 * cp)
    nz = ct - d * g1 * st
    norm = np.sqrt(nx * nx + ny * ny + nz * nz)
    ze_m = np.degrees(np.arccos(np.clip(nz / norm, -1, 1)))
    az_m = np.degrees(np.arctan2(ny, nx)) % 360.0
    return ze_m, az_m


def uniform_disk(rng: np.random.Generator, n: int, radius_m: float) -> np.ndarray:
    """(2, n) points uniform in a disk (two uniform draws per point)."""
    u = rng.random((2, n))
    r = radius_m * np.sqrt(u[0])
    phi = 2 * np.pi * u[1]
    return np.stack([r * np.cos(phi), r * np.sin(phi)])


def hex_grid(rings: int, spacing_m: float) -> np.ndarray:
    """(k, 2) positions of a hexagonal grid with ``rings`` rings around a centre point
    (1 + 3 rings (rings + 1) points), in ring order."""
    pts = [(0.0, 0.0)]
    dirs = [(math.cos(math.radians(60 * i)), math.sin(math.radians(60 * i))) for i in range(6)]
    for k in range(1, rings + 1):
        x, y = k * dirs[4][0], k * dirs[4][1]
        for side in range(6):
            for _ in range(k):
                pts.append((x * spacing_m, y * spacing_m))
                x, y = x + dirs[side][0], y + dirs[side][1]
    return np.round(np.array(pts), 3)
