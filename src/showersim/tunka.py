"""Tunka-133: 133 wide-angle Cherenkov light detectors in 19 clusters of 7 over
~1 km^2 in the Tunka valley (675 m a.s.l.), taking data only in clear moonless
winter nights. Measured: core, direction, Q200 (Cherenkov light density at 200 m,
the energy estimator) and the steepness of the lateral distribution (the Xmax
estimator).

Sources (approximate where said):
* array, energy and Xmax methods: Prosin et al. (Tunka-133), NIM A 756 (2014) 94;
  Budnev et al., Astropart. Phys. 117 (2020) 102406 (spectrum 2020, 6e15-1e18 eV,
  cores within 450 m of the centre, Ze <= 45 deg); energy E = A * Q200^g with
  g = 0.94, energy resolution ~15 % (Kuzmichev et al., arXiv:1201.2122);
  Xmax resolution ~20-25 g/cm^2 (approximate);
* Xmax of a nucleus A: superposition, Xmax_A(E) = Xmax_p(E / A), with a proton
  elongation rate of 58 g/cm^2 per decade and Xmax_p(1e17 eV) = 685 g/cm^2
  (near the EPOS-LHC and Sibyll 2.3 values; QGSJet-II-04 is ~20 lower: Kampert &
  Unger, Astropart. Phys. 35 (2012) 660, approximate); fluctuations
  sigma(Xmax) ~65 g/cm^2 (p) to ~20 g/cm^2 (Fe), linear in ln A (same review);
* the steepness -> Xmax relation below is an illustrative linear calibration
  (P = Q(100)/Q(200) as used since Tunka-25; the real one is CORSIKA-based).
"""

from __future__ import annotations

import calendar
import math
from functools import lru_cache

import numpy as np

from .experiment import Experiment, flux_fields, hex_grid, smear_direction, uniform_disk

#: vertical depth of the Tunka valley, 675 m a.s.l. (approximate, standard atmosphere)
X_VERTICAL = 965.0
CORE_RADIUS_M = 450.0
# energy estimator E = A * Q200^G (Q200 in photons cm^-2 eV^-1); A = 400 TeV (approximate)
G_Q200 = 0.94
LG_A_EV = math.log10(4e14)
RES_LGE = math.log10(1.15)  # 15 % energy resolution
RES_CORE_M = 10.0
RES_DIR_DEG = 0.5
# trigger/selection efficiency: erf in lg E, full above ~6e15 eV (Budnev et al. 2020)
EFF_LGE50, EFF_WIDTH = 15.55, 0.07
# Xmax model (see module docstring)
XMAX_P17, ELONGATION = 685.0, 58.0
SIG_XMAX_P, SIG_XMAX_FE = 65.0, 20.0
RES_XMAX = 25.0
# steepness: P = P0 + (X0/cos(Ze) - Xmax) / DX_PER_P (illustrative linear calibration)
P0, DX_PER_P = 1.5, 150.0

#: mean Xmax of Tunka-133 (g/cm^2) against lg(E/eV): points read approximately from the
#: published figure of Prosin et al., NIM A 756 (2014) 94 (Fig. "mean Xmax vs energy",
#: LDF-steepness and pulse-width methods combined) -- NOT checked against a table here;
#: light above 1e17 eV: the elongation rate rises from ~40 to ~90 g/cm^2 per decade.
PUBLISHED_XMAX = ((16.0, 560.0), (16.25, 575.0), (16.5, 590.0), (16.75, 605.0), (17.0, 622.0),
                  (17.25, 643.0), (17.5, 665.0), (17.75, 685.0), (18.0, 705.0))

# ---- observing schedule: clear moonless nights of the winter season
#: first season starts 2009-10-01 (Tunka-133 complete since autumn 2009)
SEASON0 = (2009, 10, 1)
SEASON_NIGHTS = 182  # 1 October - 31 March
#: dark window per night, UTC: 14:00-22:00 (22:00-06:00 local time, UTC+8)
NIGHT_START_UTC_H, NIGHT_HOURS = 14.0, 8.0
#: moon: synodic month and a new moon (2009-10-18 05:33 UTC, approximate); usable within
#: +-7.4 days of new moon (about half of the nights)
SYNODIC_DAYS, NEW_MOON_UNIX, MOON_HALF_WINDOW_DAYS = 29.530589, 1255844000.0, 7.4
#: fraction of moonless nights that are clear (site property, approximate); gives ~360 h
#: of data per season, of the order of the few hundred hours per season Tunka-133 reports
CLEAR_FRACTION = 0.5
RUN0 = 1


SEASONS = 60


@lru_cache(maxsize=1)
def observing_windows(seasons: int = SEASONS) -> tuple[np.ndarray, np.ndarray]:
    """(start GPS time of each usable night, cumulative live time at its start). The
    calendar is a property of the site, not of a data set's seed: the clear/cloudy draw
    uses a fixed stream."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([133, 2009])))
    y, mo, d = SEASON0
    starts = []
    for s in range(seasons):
        t0 = calendar.timegm((y + s, mo, d, 0, 0, 0)) + NIGHT_START_UTC_H * 3600
        nights = t0 + 86400.0 * np.arange(SEASON_NIGHTS)
        mid = nights + NIGHT_HOURS * 1800
        age = ((mid - NEW_MOON_UNIX) / 86400.0) % SYNODIC_DAYS
        moonless = np.minimum(age, SYNODIC_DAYS - age) < MOON_HALF_WINDOW_DAYS
        clear = rng.random(SEASON_NIGHTS) < CLEAR_FRACTION
        starts.append(nights[moonless & clear])
    starts = np.concatenate(starts)
    return starts, NIGHT_HOURS * 3600 * np.arange(len(starts), dtype=float)


def mean_xmax(lg_e, ln_a):
    """Mean Xmax (g/cm^2) of nuclei ln A at lg(E/eV) (superposition)."""
    return XMAX_P17 + ELONGATION * (np.asarray(lg_e) - 17.0 - np.asarray(ln_a) / math.log(10.0))


def xmax_from_steepness(p, ze_deg):
    """Xmax (g/cm^2) from the LDF steepness P and the zenith angle: what the Xmax column holds."""
    return X_VERTICAL / np.cos(np.radians(ze_deg)) - DX_PER_P * (np.asarray(p) - P0)


def energy_from_q200(lg_q200):
    """lg(E/eV) from lg Q200: E = A Q200^0.94."""
    return LG_A_EV + G_Q200 * np.asarray(lg_q200)


class Tunka133(Experiment):
    name = "tunka133"
    label = "Tunka-133"
    flux_model = "GST3"
    energy_limits_ev = (1e15, 1e19)
    default_energy_ev = (10**15.5, 10**18.5)
    default_zenith_max_deg = 45.0
    full_efficiency_above_ev = 6e15
    measured_columns = ("E", "Xc", "Yc", "Ze", "Az", "Q200", "Steepness", "Xmax", "Gt", "Mt", "R", "Ev")
    truth_columns = ("E_true", "primary", "A", "Z", "lnA", "Xmax_true", "Xc_true", "Yc_true", "Ze_true", "Az_true")
    citation = (
        "showersim {v} (astroparticle.online), a parametric simulation of Tunka-133. "
        "Flux model: T.K. Gaisser, T. Stanev, S. Tilav, Front. Phys. 8 (2013) 748 (GST 3-gen), via crflux. "
        "Array and methods: V.V. Prosin et al., NIM A 756 (2014) 94; N.M. Budnev et al., Astropart. Phys. 117 "
        "(2020) 102406. Xmax: K.-H. Kampert, M. Unger, Astropart. Phys. 35 (2012) 660."
    )
    core_note = f"cores thrown uniformly over the disk of radius {CORE_RADIUS_M:g} m around the array centre"

    @property
    def area_m2(self) -> float:
        return math.pi * CORE_RADIUS_M**2

    def throw_cores(self, rng, n):
        return uniform_disk(rng, n, CORE_RADIUS_M)

    def clock(self, t_live):
        starts, cum = observing_windows()
        i = np.searchsorted(cum, t_live, side="right") - 1
        if len(t_live) and i[-1] >= len(starts) - 1:
            raise ValueError("the data set needs more observing seasons than simulated: ask for fewer events")
        return starts[i] + (t_live - cum[i]), (RUN0 + i).astype(np.int32)

    def exposure_extra(self, live_time_s):
        starts, cum = observing_windows()
        i = int(np.searchsorted(cum, live_time_s, side="right") - 1)
        span = starts[i] + (live_time_s - cum[i]) - starts[0] if live_time_s > 0 else 0.0
        return {
            "duty_cycle": round(live_time_s / span, 5) if span > 0 else None,
            "live_time_note": ("data only in clear moonless nights of October-March (8 h per night, about half "
                               "the nights moonless and half of those clear): live_time_s is the sum of the "
                               "observing windows up to the last event; duty_cycle = live time / calendar time"),
            "observing_hours_per_season": round(float(NIGHT_HOURS * len(starts) / SEASONS), 1),
        }

    def simulate(self, cfg, rng, prim):
        from scipy.special import ndtr

        n = len(prim.lg_e)
        g_x = rng.standard_normal(n)
        u_trig = rng.random(n)
        ft, grp, lg_e, core = prim.table, prim.grp, prim.lg_e, prim.core
        a = ft.a[grp].astype(float)
        ln_a = np.log(a)
        f = np.clip(ln_a / math.log(56.0), 0.0, 1.0)
        xmax_t = mean_xmax(lg_e, ln_a) + (SIG_XMAX_P + (SIG_XMAX_FE - SIG_XMAX_P) * f) * g_x
        idx = np.flatnonzero(u_trig < ndtr((lg_e - EFF_LGE50) / EFF_WIDTH))
        m = len(idx)
        g = rng.standard_normal((6, m))
        ze_r, az_r = prim.ze[idx], prim.az[idx]
        ze_m, az_m = smear_direction(ze_r, az_r, RES_DIR_DEG, g[2], g[3])
        lgq = (lg_e[idx] + RES_LGE * g[4] - LG_A_EV) / G_Q200
        steep = P0 + (X_VERTICAL / np.cos(ze_r) - xmax_t[idx]) / DX_PER_P + RES_XMAX / DX_PER_P * g[5]
        f32 = np.float32
        cols = {
            "E": energy_from_q200(lgq).astype(f32),
            "Xc": (core[0, idx] + RES_CORE_M * g[0]).astype(f32), "Yc": (core[1, idx] + RES_CORE_M * g[1]).astype(f32),
            "Ze": ze_m.astype(f32), "Az": az_m.astype(f32),
            "Q200": lgq.astype(f32), "Steepness": steep.astype(f32),
            "Xmax": xmax_from_steepness(steep, ze_m).astype(f32),
            "E_true": lg_e[idx].astype(f32), "primary": ft.names[grp[idx]],
            "A": ft.a[grp[idx]], "Z": ft.z[grp[idx]], "lnA": ln_a[idx].astype(f32),
            "Xmax_true": xmax_t[idx].astype(f32),
            "Xc_true": core[0, idx].astype(f32), "Yc_true": core[1, idx].astype(f32),
            "Ze_true": np.degrees(ze_r).astype(f32), "Az_true": np.degrees(az_r).astype(f32),
        }
        return cols, None, idx

    def description(self, cfg, events):
        return (
            f"SIMULATED data, not Tunka-133 measurements: {events} air showers generated by showersim "
            f"{{version}} from the GST 3-gen cosmic-ray flux model (p, He, C, O, Fe; "
            f"{cfg.emin_ev:.1e}-{cfg.emax_ev:.1e} eV), isotropic up to {cfg.zenith_max_deg:g} deg zenith, cores "
            f"uniform within {CORE_RADIUS_M:g} m of the centre, recorded only in clear moonless winter nights. "
            "E = A * Q200^0.94 (15 % resolution); Xmax from the LDF steepness (25 g/cm^2 resolution), "
            "superposition model for nuclei. Fully efficient above ~6e15 eV. "
            "Flux = N / (area_m2 * solid_angle_sr * live_time_s * dE).")

    def model_description(self, cfg):
        return {
            **flux_fields(self.flux_model, cfg),
            "energy": f"E = 4e14 eV * Q200^{G_Q200} (Q200 in photons cm^-2 eV^-1), resolution {RES_LGE:.3f} dex",
            "xmax": (f"Xmax_A(E) = {XMAX_P17:g} + {ELONGATION:g} (lg(E/eV) - 17 - lg A) g/cm^2, sigma "
                     f"{SIG_XMAX_P:g} (p) .. {SIG_XMAX_FE:g} (Fe); measured via Steepness, resolution {RES_XMAX:g}"),
            "steepness": f"P = {P0} + (X0/cos(Ze) - Xmax) / {DX_PER_P:g}, X0 = {X_VERTICAL:g} g/cm^2 (illustrative)",
            "published_mean_xmax": [list(p) for p in PUBLISHED_XMAX],
            "trigger": f"erf in lg E: 50% at {EFF_LGE50}, width {EFF_WIDTH}",
            "full_efficiency_above_eV": self.full_efficiency_above_ev,
        }

    def stations_json(self):
        clusters = hex_grid(2, 175.0)  # 19 cluster centres, outer ring at 350 m
        det = hex_grid(1, 85.0)  # 7 detectors per cluster, 85 m apart
        xy = (clusters[:, None, :] + det[None, :, :]).reshape(-1, 2)
        return {"n": 133, "clusters": 19, "x_m": [float(v) for v in xy[:, 0]], "y_m": [float(v) for v in xy[:, 1]],
                "cluster": [int(c) for c in np.repeat(np.arange(19), 7)],
                "note": ("19 clusters of 7 Cherenkov detectors (85 m apart) on hexagonal grids within ~1 km^2; "
                         "the real layout differs in detail. No per-detector arrays are simulated.")}


TUNKA = Tunka133()
