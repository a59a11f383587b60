"""Event generation for the KASCADE array, in fixed blocks, streamed in chunks.

Reproducibility: thrown primaries are processed in blocks of BLOCK_SIZE; block
``b`` of a run with seed ``s`` draws from its own PCG64 stream seeded by
``SeedSequence([s, STREAM, b])`` (per-station data from a second stream
``[s, STREAM_STATIONS, b]``). Output therefore depends only on the arguments
(seed, number of events, kind, options), not on how it is cut into files, and
the scalar columns of an event are the same with or without ``--stations``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator

import numpy as np

from . import layout, physics

BLOCK_SIZE = 1 << 16
STATION_SLICE = 2048
STREAM, STREAM_STATIONS = 1, 2

#: Five mass groups of H3a (Gaisser, Astropart. Phys. 35 (2012) 801) as
#: implemented in crflux.models.HillasGaisser2012: (name, crflux id, A, Z).
#: The shower physics uses the representative nucleus A of each group
#: (crflux labels the groups by ids 1206 / 2814 / 5426).
MASS_GROUPS = (
    ("p", 14, 1, 1),
    ("He", 402, 4, 2),
    ("CNO", 1206, 14, 7),
    ("MgSi", 2814, 28, 14),
    ("Fe", 5426, 56, 26),
)
GROUP_NAMES = np.array([g[0] for g in MASS_GROUPS], dtype=object)
GROUP_A = np.array([g[2] for g in MASS_GROUPS], dtype=np.int16)
GROUP_Z = np.array([g[3] for g in MASS_GROUPS], dtype=np.int16)

#: start of the simulated data taking (GPS seconds since 1970): 2003-01-01 00:00 UTC
T0_UNIX = 1041379200
#: length of one simulated run (s)
RUN_LENGTH_S = 6 * 3600
RUN0 = 6000

EXPERIMENTS = ("kascade",)
KINDS = ("measured-like", "simulation")

MEASURED_COLUMNS = ("E", "Xc", "Yc", "Ze", "Az", "Ne", "Nmu", "Age", "T", "P", "Gt", "Mt", "R", "Ev")
TRUTH_COLUMNS = ("E_true", "primary", "A", "Z", "lnA", "Ne_true", "Nmu_true", "Xc_true", "Yc_true",
                 "Ze_true", "Az_true")
ARRAY_COLUMNS = ("EDeposit", "MDeposit", "Arrival")


@dataclass(frozen=True)
class Config:
    """What to simulate. Energies in eV, angles in degrees."""

    seed: int
    experiment: str = "kascade"
    kind: str = "measured-like"
    stations: bool = False
    zenith_max_deg: float = 40.0
    emin_ev: float = 1e14
    emax_ev: float = 1e18

    def check(self) -> None:
        if self.experiment not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {self.experiment!r}: use one of {', '.join(EXPERIMENTS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if not (0 < self.zenith_max_deg <= 60):
            raise ValueError(f"zenith max {self.zenith_max_deg} deg out of range: use 0 < zenith max <= 60")
        if not (1e14 <= self.emin_ev < self.emax_ev <= 1e18):
            raise ValueError(f"energy range {self.emin_ev:g}-{self.emax_ev:g} eV invalid: use 1e14 <= emin < emax <= 1e18")
        if not (isinstance(self.seed, (int, np.integer)) and 0 <= self.seed < 2**63):
            raise ValueError(f"seed {self.seed!r} invalid: use an integer 0 <= seed < 2**63")

    # ---- exposure
    @property
    def area_m2(self) -> float:
        return (2 * layout.CORE_HALF_WIDTH_M) ** 2

    @property
    def solid_angle_sr(self) -> float:
        """Projected (cos-weighted) solid angle pi sin^2(Ze_max) of a flat array."""
        return math.pi * math.sin(math.radians(self.zenith_max_deg)) ** 2

    @property
    def geometric_solid_angle_sr(self) -> float:
        return 2 * math.pi * (1 - math.cos(math.radians(self.zenith_max_deg)))


# --------------------------------------------------------------------------- flux
@dataclass(frozen=True)
class FluxTable:
    lg_e: np.ndarray  # lg(E/eV) grid
    cdf: np.ndarray  # (groups, grid) normalised cumulative integrals
    group_cdf: np.ndarray  # cumulative fractions of the groups
    integral: float  # all-particle integral flux emin..emax, m^-2 s^-1 sr^-1
    group_integral: np.ndarray = field(repr=False)


@lru_cache(maxsize=8)
def flux_table(emin_ev: float, emax_ev: float, n: int = 8001) -> FluxTable:
    """Tabulated H3a (crflux) spectra of the five groups for inverse-CDF sampling."""
    from crflux.models import HillasGaisser2012

    model = HillasGaisser2012("H3a")
    lg = np.linspace(math.log10(emin_ev), math.log10(emax_ev), n)
    e_gev = 10.0 ** (lg - 9.0)
    dens = np.array([model.nucleus_flux(cid, e_gev) * e_gev * math.log(10.0) for _, cid, _, _ in MASS_GROUPS])
    # integral over lg E with the trapezoid rule (dN/dlgE = ln10 E Phi(E))
    seg = 0.5 * (dens[:, 1:] + dens[:, :-1]) * np.diff(lg)
    cum = np.concatenate([np.zeros((len(MASS_GROUPS), 1)), np.cumsum(seg, axis=1)], axis=1)
    tot = cum[:, -1]
    return FluxTable(lg_e=lg, cdf=cum / tot[:, None], group_cdf=np.cumsum(tot) / tot.sum(),
                     integral=float(tot.sum()), group_integral=tot)


# --------------------------------------------------------------------------- weather
def weather(t_unix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Air temperature (degC) and pressure (hPa) at Karlsruhe as smooth functions of
    time: annual (+-9 degC, minimum mid-January) and daily (+-4 degC, maximum
    15:00) temperature cycles, pressure swings of +-7 and +-3 hPa over
    synoptic periods (5.3 and 13.1 days) around the barometric mean at 110 m.
    Climatological round numbers, not a weather record."""
    day = 86400.0
    doy = (t_unix / day) % 365.25
    hour = (t_unix % day) / 3600.0
    temp = 10.0 - 9.0 * np.cos(2 * np.pi * (doy - 15.0) / 365.25) - 4.0 * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    t = t_unix - T0_UNIX  # pressure starts at its mean at the start of the data taking
    pres = physics.P_MEAN_HPA + 7.0 * np.sin(2 * np.pi * t / (5.3 * day)) + 3.0 * np.sin(2 * np.pi * t / (13.1 * day))
    return temp, pres


# --------------------------------------------------------------------------- one block
def _block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), stream, block])))


def simulate_block(cfg: Config, block: int, t_start: float) -> tuple[dict[str, np.ndarray], tuple | None, np.ndarray, float]:
    """Throw BLOCK_SIZE primaries; return (recorded columns, inputs of the
    per-station simulation (true core, direction, sizes, age) or None,
    time of each recorded event relative to the run start, time of the last
    thrown primary). Columns contain truth; the caller selects by kind."""
    rng = _block_rng(cfg.seed, STREAM, block)
    n = BLOCK_SIZE
    ft = flux_table(cfg.emin_ev, cfg.emax_ev)
    rate = ft.integral * cfg.area_m2 * cfg.solid_angle_sr  # thrown primaries per second

    # fixed draw order: every draw is for all n thrown primaries
    u_group = rng.random(n)
    u_e = rng.random(n)
    u_ze = rng.random(n)
    u_az = rng.random(n)
    core = rng.uniform(-layout.CORE_HALF_WIDTH_M, layout.CORE_HALF_WIDTH_M, (2, n))
    gaps = rng.exponential(1.0 / rate, n)
    g_fl = rng.standard_normal((2, n))
    u_trig = rng.random(n)

    grp = np.searchsorted(ft.group_cdf, u_group, side="right").clip(0, len(MASS_GROUPS) - 1)
    lg_e = np.empty(n)
    for k in range(len(MASS_GROUPS)):
        m = grp == k
        lg_e[m] = np.interp(u_e[m], ft.cdf[k], ft.lg_e)
    # isotropic flux on a flat array: dN ~ sin(Ze) cos(Ze) dZe -> sin^2 Ze uniform
    sin2max = math.sin(math.radians(cfg.zenith_max_deg)) ** 2
    ze = np.arcsin(np.sqrt(u_ze * sin2max))
    az = 2 * np.pi * u_az
    t_rel = t_start + np.cumsum(gaps)
    temp, pres = weather(T0_UNIX + t_rel)
    sec = 1.0 / np.cos(ze)
    depth = physics.X_VERTICAL * pres / physics.P_MEAN_HPA * sec
    a = GROUP_A[grp].astype(float)
    lg_a, ln_a = np.log10(a), np.log(a)
    mu_e, mu_mu = physics.mean_sizes(lg_e, lg_a, depth)
    s_e, s_mu = physics.fluctuation_widths(ln_a, lg_e)
    lgne_t = mu_e + s_e * g_fl[0]
    lgnmu_t = mu_mu + s_mu * g_fl[1]
    rec = u_trig < physics.efficiency(lgne_t)

    idx = np.flatnonzero(rec)
    m = len(idx)
    # measurement of the recorded events (draw order fixed again)
    g_res = rng.standard_normal((7, m))
    ze_r, az_r, sec_r = ze[idx], az[idx], sec[idx]
    age_t = physics.mean_age(lgne_t[idx], sec_r, ln_a[idx]) + physics.AGE_SIGMA * g_res[6]
    sig_core, sig_dir, sig_ne, sig_nmu = physics.resolution(lgne_t[idx], lgnmu_t[idx])
    xc = core[0, idx] + sig_core * g_res[0]
    yc = core[1, idx] + sig_core * g_res[1]
    # direction: smear the axis in its tangent plane (small-angle Gaussian)
    st, ct, sp, cp = np.sin(ze_r), np.cos(ze_r), np.sin(az_r), np.cos(az_r)
    d = np.radians(sig_dir)
    nx = st * cp + d * (g_res[2] * ct * cp - g_res[3] * sp)
    ny = st * sp + d * (g_res[2] * ct * sp + g_res[3] * cp)
    nz = ct - d * g_res[2] * st
    norm = np.sqrt(nx * nx + ny * ny + nz * nz)
    ze_m = np.degrees(np.arccos(np.clip(nz / norm, -1, 1)))
    az_m = np.degrees(np.arctan2(ny, nx)) % 360.0
    lgne_m = lgne_t[idx] + sig_ne * g_res[4]
    lgnmu_m = lgnmu_t[idx] + sig_nmu * g_res[5]
    age_m = np.clip(age_t + physics.RES_AGE * rng.standard_normal(m), 0.1, 1.48)
    e_rec = physics.kcdc_energy(lgne_m, lgnmu_m, ze_m)

    f32 = np.float32
    cols = {
        "E": e_rec.astype(f32), "Xc": xc.astype(f32), "Yc": yc.astype(f32),
        "Ze": ze_m.astype(f32), "Az": az_m.astype(f32),
        "Ne": lgne_m.astype(f32), "Nmu": lgnmu_m.astype(f32), "Age": age_m.astype(f32),
        "T": temp[idx].astype(f32), "P": pres[idx].astype(f32),
        "E_true": lg_e[idx].astype(f32), "primary": GROUP_NAMES[grp[idx]],
        "A": GROUP_A[grp[idx]], "Z": GROUP_Z[grp[idx]], "lnA": ln_a[idx].astype(f32),
        "Ne_true": lgne_t[idx].astype(f32), "Nmu_true": lgnmu_t[idx].astype(f32),
        "Xc_true": core[0, idx].astype(f32), "Yc_true": core[1, idx].astype(f32),
        "Ze_true": np.degrees(ze_r).astype(f32), "Az_true": np.degrees(az_r).astype(f32),
    }
    station_inputs = None
    if cfg.stations and m:
        # computed lazily, slice by slice, by Simulation.chunks (bounded memory)
        station_inputs = (core[0, idx], core[1, idx], ze_r, az_r, lgne_t[idx], age_t, lgnmu_t[idx])
    return cols, station_inputs, t_rel[idx], float(t_rel[-1])


# --------------------------------------------------------------------------- stations
def simulate_stations(rng: np.random.Generator, xc, yc, ze, az, lgne, age, lgnmu) -> dict[str, np.ndarray]:
    """EDeposit, MDeposit (MeV) and Arrival (ns) at the 252 stations for showers with
    true core (m), direction (rad), lg Ne, age, lg Nmu (truncated). NKG lateral
    densities with Poisson counting, Gamma-distributed deposits, curved front.
    MDeposit is NaN at stations without muon detector, Arrival NaN without signal."""
    st = layout.stations()
    sx, sy = st["x"][None, :], st["y"][None, :]
    n_ev = len(xc)
    nx = (np.sin(ze) * np.cos(az))[:, None]
    ny = (np.sin(ze) * np.sin(az))[:, None]
    cz = np.cos(ze)[:, None]
    dx, dy = sx - xc[:, None], sy - yc[:, None]
    along = dx * nx + dy * ny  # projection on the axis (z = 0 for stations)
    r2 = np.maximum(dx * dx + dy * dy - along * along, 0.0)
    r = np.sqrt(r2)
    s_e = np.clip(age, 0.2, 1.48)[:, None]
    rho_e = physics.nkg_density(r, 10.0 ** lgne[:, None], s_e, physics.R0_E)
    s_mu = physics.muon_age(lgnmu)
    n_mu_tot = 10.0 ** lgnmu / physics.truncated_fraction(s_mu)
    rho_mu = physics.nkg_density(r, n_mu_tot[:, None], s_mu[:, None], physics.R0_MU)
    a_eg = st["area_eg_m2"][None, :] * cz
    a_mu = st["area_mu_m2"][None, :] * cz
    k_eg = rng.poisson(rho_e * a_eg + rho_mu * a_eg)  # muons also cross the e/gamma detectors
    k_mu = rng.poisson(rho_mu * a_mu)
    shape = physics.DEPOSIT_SHAPE
    edep = rng.gamma(shape * k_eg + (k_eg == 0), physics.MEV_PER_EG / shape) * (k_eg > 0)
    mdep = rng.gamma(shape * k_mu + (k_mu == 0), physics.MEV_PER_MU / shape) * (k_mu > 0)
    mdep = np.where(st["has_muon"][None, :], mdep, np.nan)
    # arrival: plane front (upstream stations earlier) + curvature + thickness jitter
    t_plane = -along / physics.C_M_PER_NS
    t_curv = r2 / (2.0 * physics.FRONT_RADIUS_M * physics.C_M_PER_NS)
    thick = (1.5 + r / 40.0) / np.sqrt(np.maximum(k_eg, 1))
    sig_t = np.sqrt(thick * thick + physics.T_JITTER_NS**2)
    t = t_plane + t_curv + sig_t * rng.standard_normal((n_ev, layout.N_STATIONS))
    t = np.where(k_eg > 0, t, np.nan)
    return {"EDeposit": edep.astype(np.float32), "MDeposit": mdep.astype(np.float32),
            "Arrival": t.astype(np.float32)}


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
        cols = MEASURED_COLUMNS + (TRUTH_COLUMNS if self.cfg.kind == "simulation" else ())
        return cols + (ARRAY_COLUMNS if self.cfg.stations else ())

    def chunks(self) -> Iterator[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """Yield ``(scalar_columns, per_station_arrays)``: one chunk per simulation
        block, or per STATION_SLICE events when per-station arrays are made."""
        cfg = self.cfg
        keep = MEASURED_COLUMNS + (TRUTH_COLUMNS if cfg.kind == "simulation" else ())
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
            t_abs = T0_UNIX + t_rec
            gt = np.floor(t_abs)
            cols["Gt"] = gt.astype(np.int64)
            cols["Mt"] = np.minimum(np.floor((t_abs - gt) * 1e6), 999999).astype(np.int32)
            run = (RUN0 + np.floor(t_rec / RUN_LENGTH_S)).astype(np.int32)
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
                arrays = simulate_stations(srng, *(v[sl] for v in sin))
                k = min(j + STATION_SLICE, m) - j
                yield {c: v[j:j + k] for c, v in out.items()}, {c: v[:k] for c, v in arrays.items()}
