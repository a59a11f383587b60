"""KASCADE-Grande: 37 scintillator stations of 10 m^2 over ~700 m x 700 m beside
KASCADE, 10^16-10^18 eV. Measured: core, direction, charged-particle number Nch
(Grande stations) and total muon number Nmu (KASCADE muon detectors); energy
from Nch and Nmu.

Sources (numbers read from the papers as we know them, approximate where said):
* array: Apel et al. (KASCADE-Grande), NIM A 620 (2010) 202 -- 37 stations of
  10 m^2, average spacing 137 m (we place them on a hexagonal grid of 3 rings);
  resolution about 5-6 m in core, 0.7-0.8 deg in direction, 15 % in Nch and
  ~25 % in Nmu (approximate); full efficiency above ~10^16 eV for Ze < 40 deg;
* spectrum analysis: Apel et al., Astropart. Phys. 36 (2012) 183 -- cores
  inside a central fiducial area of about 0.2 km^2, Ze < 40 deg, energy from
  Nch and Nmu with a mass-independent combination;
* heavy knee at 10^16.92 eV in the electron-poor sample: Apel et al., PRL 107
  (2011) 171104; light ankle at 10^17.08 eV: Apel et al., PRD 87 (2013)
  081101 (REFERENCE_VALUES.md).

Shower physics is shared with KASCADE (same site, same depth): the mean
electron number and truncated muon number come from :func:`physics.mean_sizes`
(calibrated to the KCDC energy formula), the total muon number from the NKG
muon lateral function (:func:`physics.truncated_fraction`), Nch = Ne + Nmu.
The E column inverts this: Ne = Nch - Nmu, truncated Nmu from total Nmu, then
the KCDC formula -- unbiased on average for every mass. The composition model
is GST 3-gen (see :mod:`flux`): its iron knee and light hardening near 10^17 eV
are what the electron-poor / electron-rich selections show.
"""

from __future__ import annotations

import math

import numpy as np

from . import physics
from .experiment import flux_fields, hex_grid, smear_direction
from .kascade import KarlsruheSite

N_STATIONS = 37
SPACING_M = 137.0
STATION_AREA_M2 = 10.0
#: half width of the square fiducial area (0.2 km^2, Apel et al. 2012, approximate)
CORE_HALF_WIDTH_M = 0.5 * math.sqrt(0.2e6)

# reconstruction resolution (Apel et al. NIM A 620 (2010) 202, approximate)
RES_CORE_M = 6.0
RES_DIR_DEG = 0.8
RES_LGNCH = math.log10(1.15)
RES_LGNMU = math.log10(1.25)
# trigger + reconstruction efficiency: erf in the true lg Nch, placed so that iron at 40 deg
# is fully efficient at 10^16 eV (the published threshold of the spectrum analysis)
EFF_LGNCH50, EFF_WIDTH = 4.8, 0.15


def total_muons(lg_nmu_tr):
    """lg of the total muon number for a truncated (40-200 m) lg Nmu (NKG, r0 = 420 m)."""
    lg_nmu_tr = np.asarray(lg_nmu_tr, dtype=float)
    return lg_nmu_tr - np.log10(physics.truncated_fraction(physics.muon_age(lg_nmu_tr)))


_TR_GRID = np.linspace(0.0, 10.0, 2001)


def truncated_muons(lg_nmu_total):
    """Inverse of :func:`total_muons` (monotonic), by interpolation."""
    return np.interp(lg_nmu_total, total_muons(_TR_GRID), _TR_GRID)


def electrons_and_truncated_muons(lg_nch, lg_nmu, ze_deg=None):
    """(lg Ne, lg Nmu_truncated) from measured lg Nch and total lg Nmu (Ne = Nch - Nmu,
    floored at 1 % of Nch where fluctuations make Nmu exceed Nch)."""
    nch, nmu = 10.0 ** np.asarray(lg_nch, dtype=float), 10.0 ** np.asarray(lg_nmu, dtype=float)
    lg_ne = np.log10(np.maximum(nch - nmu, 0.01 * nch))
    return lg_ne, truncated_muons(lg_nmu)


def energy(lg_nch, lg_nmu, ze_deg):
    """lg(E/eV) from lg Nch, lg Nmu (total) and zenith: what the E column holds."""
    lg_ne, lg_tr = electrons_and_truncated_muons(lg_nch, lg_nmu)
    return physics.kcdc_energy(lg_ne, lg_tr, ze_deg)


def k_parameter(lg_nch, lg_nmu, ze_deg):
    """Mass-sensitive k: 0 on the proton line, 1 on the iron line of the muon number at
    the reconstructed energy (the idea of KASCADE-Grande's k, Apel et al. 2011/2012)."""
    from .analysis import lnA_from_sizes

    lg_ne, lg_tr = electrons_and_truncated_muons(lg_nch, lg_nmu)
    return lnA_from_sizes(lg_ne, lg_tr, ze_deg) / math.log(56.0)


class Grande(KarlsruheSite):
    name = "kascade-grande"
    label = "KASCADE-Grande"
    flux_model = "GST3"
    energy_limits_ev = (1e15, 10**18.5)
    default_energy_ev = (10**15.7, 10**18.3)
    default_zenith_max_deg = 40.0
    full_efficiency_above_ev = 1e16
    # KCDC's grande table: Xc Yc Ze Az Nch Nmu Age (issue 20); E is this project's estimate
    measured_columns = ("E", "Xc", "Yc", "Ze", "Az", "Nch", "Nmu", "Age", "T", "P", "Gt", "Mt", "R", "Ev")
    truth_columns = ("E_true", "primary", "A", "Z", "lnA", "Nch_true", "Nmu_true", "Xc_true", "Yc_true",
                     "Ze_true", "Az_true")
    citation = (
        "showersim {v} (astroparticle.online), a parametric simulation of KASCADE-Grande. "
        "Flux model: T.K. Gaisser, T. Stanev, S. Tilav, Front. Phys. 8 (2013) 748 (GST 3-gen), via crflux. "
        "Array and reconstruction: W.D. Apel et al., NIM A 620 (2010) 202; spectrum: Astropart. Phys. 36 (2012) 183. "
        "Data layout: A. Haungs et al. (KCDC), Eur. Phys. J. C 78 (2018) 741."
    )
    core_note = f"cores thrown uniformly over the fiducial square |Xc|,|Yc| <= {CORE_HALF_WIDTH_M:.1f} m"

    @property
    def area_m2(self) -> float:
        return (2 * CORE_HALF_WIDTH_M) ** 2

    def throw_cores(self, rng, n):
        return rng.uniform(-CORE_HALF_WIDTH_M, CORE_HALF_WIDTH_M, (2, n))

    def simulate(self, cfg, rng, prim):
        from scipy.special import ndtr

        ft, grp, lg_e, core = prim.table, prim.grp, prim.lg_e, prim.core
        u_trig, sec, temp, pres, ln_a, lgne_t, lgnmu_tr = self.true_sizes(rng, prim)
        lgnmu_t = total_muons(lgnmu_tr)
        lgnch_t = np.log10(10.0**lgne_t + 10.0**lgnmu_t)
        idx = np.flatnonzero(u_trig < ndtr((lgnch_t - EFF_LGNCH50) / EFF_WIDTH))
        m = len(idx)
        g = rng.standard_normal((6, m))
        ze_r, az_r = prim.ze[idx], prim.az[idx]
        ze_m, az_m = smear_direction(ze_r, az_r, RES_DIR_DEG, g[2], g[3])
        lgnch_m = lgnch_t[idx] + RES_LGNCH * g[4]
        lgnmu_m = lgnmu_t[idx] + RES_LGNMU * g[5]
        # Age of the charged-particle lateral distribution: the KASCADE age model (physics.mean_age)
        # with twice its resolution (Grande's 37 stations sample the LDF far more sparsely),
        # clipped to the range KCDC's Grande ages take. Drawn last: the other columns of a
        # given seed stay as they were.
        age_m = np.clip(physics.mean_age(lgne_t[idx], sec[idx], ln_a[idx])
                        + 2 * physics.RES_AGE * rng.standard_normal(m), -0.385, 1.485)
        f32 = np.float32
        cols = {
            "E": energy(lgnch_m, lgnmu_m, ze_m).astype(f32),
            "Xc": (core[0, idx] + RES_CORE_M * g[0]).astype(f32), "Yc": (core[1, idx] + RES_CORE_M * g[1]).astype(f32),
            "Ze": ze_m.astype(f32), "Az": az_m.astype(f32),
            "Nch": lgnch_m.astype(f32), "Nmu": lgnmu_m.astype(f32), "Age": age_m.astype(f32),
            "T": temp[idx].astype(f32), "P": pres[idx].astype(f32),
            "E_true": lg_e[idx].astype(f32), "primary": ft.names[grp[idx]],
            "A": ft.a[grp[idx]], "Z": ft.z[grp[idx]], "lnA": ln_a[idx].astype(f32),
            "Nch_true": lgnch_t[idx].astype(f32), "Nmu_true": lgnmu_t[idx].astype(f32),
            "Xc_true": core[0, idx].astype(f32), "Yc_true": core[1, idx].astype(f32),
            "Ze_true": np.degrees(ze_r).astype(f32), "Az_true": np.degrees(az_r).astype(f32),
        }
        return cols, None, idx

    def description(self, cfg, events):
        return (
            f"SIMULATED data, not KASCADE-Grande measurements: {events} air showers generated by showersim "
            f"{{version}} from the GST 3-gen cosmic-ray flux model (p, He, C, O, Fe; "
            f"{cfg.emin_ev:.1e}-{cfg.emax_ev:.1e} eV), isotropic up to {cfg.zenith_max_deg:g} deg zenith, cores "
            f"uniform over the {self.area_m2 / 1e6:.2f} km^2 fiducial area. Nch (charged particles) and Nmu (total "
            "muons) share the KASCADE shower model; E is computed from Nch and Nmu and is unbiased on average "
            "for every mass. Resolution and efficiency parametrised; fully efficient above ~1e16 eV. "
            "Flux = N / (area_m2 * solid_angle_sr * live_time_s * dE).")

    def model_description(self, cfg):
        return {
            **flux_fields(self.flux_model, cfg),
            "hadronic": "none run: sizes from the KASCADE parametrisation (physics.mean_sizes) at the same site",
            "energy": "E from Ne = Nch - Nmu and truncated Nmu via the KCDC formula (showersim.grande.energy)",
            "mass_estimator": "k = position between the proton and iron muon lines (showersim.grande.k_parameter)",
            "vertical_depth_g_cm2": physics.X_VERTICAL,
            "resolution": {"core_m": RES_CORE_M, "direction_deg": RES_DIR_DEG, "lg_Nch": round(RES_LGNCH, 4),
                           "lg_Nmu": round(RES_LGNMU, 4)},
            "trigger": f"erf in true lg Nch: 50% at {EFF_LGNCH50}, width {EFF_WIDTH}",
            "full_efficiency_above_eV": self.full_efficiency_above_ev,
        }

    def stations_json(self):
        xy = hex_grid(3, SPACING_M)
        return {"n": N_STATIONS, "spacing_m": SPACING_M, "x_m": [float(v) for v in xy[:, 0]],
                "y_m": [float(v) for v in xy[:, 1]], "area_m2": [STATION_AREA_M2] * N_STATIONS,
                "note": ("37 Grande stations of 10 m^2 (average spacing 137 m) placed on a hexagonal grid of "
                         "3 rings: the real layout is irregular. No per-station arrays are simulated.")}


GRANDE = Grande()
