"""The KASCADE array (200 m x 200 m, 252 stations): measured sizes Ne, Nmu, Age,
the KCDC energy formula, weather, per-station arrays. Physics in :mod:`physics`,
geometry in :mod:`layout`."""

from __future__ import annotations

import numpy as np

from . import layout, physics
from .experiment import Experiment, flux_fields, smear_direction

#: start of the simulated data taking (GPS seconds since 1970): 2003-01-01 00:00 UTC
T0_UNIX = 1041379200
#: length of one simulated run (s)
RUN_LENGTH_S = 6 * 3600
RUN0 = 6000


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


class KarlsruheSite(Experiment):
    """KASCADE and KASCADE-Grande share the site, the clock (continuous runs of 6 h from
    2003-01-01) and the weather."""

    def clock(self, t_live):
        return T0_UNIX + t_live, (RUN0 + np.floor(t_live / RUN_LENGTH_S)).astype(np.int32)

    def true_sizes(self, rng, prim):
        """Draw the fluctuations and the trigger numbers (in this order) and return
        (u_trig, sec, temp, pres, ln_a, true lg Ne, true truncated lg Nmu) of all thrown showers."""
        n = len(prim.lg_e)
        g_fl = rng.standard_normal((2, n))
        u_trig = rng.random(n)
        sec = 1.0 / np.cos(prim.ze)
        temp, pres = weather(T0_UNIX + prim.t_rel)
        depth = physics.X_VERTICAL * pres / physics.P_MEAN_HPA * sec
        a = prim.table.a[prim.grp].astype(float)
        lg_a, ln_a = np.log10(a), np.log(a)
        mu_e, mu_mu = physics.mean_sizes(prim.lg_e, lg_a, depth)
        s_e, s_mu = physics.fluctuation_widths(ln_a, prim.lg_e)
        return u_trig, sec, temp, pres, ln_a, mu_e + s_e * g_fl[0], mu_mu + s_mu * g_fl[1]


class Kascade(KarlsruheSite):
    name = "kascade"
    label = "KASCADE"
    flux_model = "H3a"
    energy_limits_ev = (1e14, 1e18)
    default_energy_ev = (1e14, 1e18)
    default_zenith_max_deg = 40.0
    full_efficiency_above_ev = 10**15.0
    measured_columns = ("E", "Xc", "Yc", "Ze", "Az", "Ne", "Nmu", "Age", "T", "P", "Gt", "Mt", "R", "Ev")
    truth_columns = ("E_true", "primary", "A", "Z", "lnA", "Ne_true", "Nmu_true", "Xc_true", "Yc_true",
                     "Ze_true", "Az_true")
    array_columns = ("EDeposit", "MDeposit", "Arrival")
    citation = (
        "showersim {v} (astroparticle.online), a parametric simulation of the KASCADE array. "
        "Flux model: T.K. Gaisser, Astropart. Phys. 35 (2012) 801 (H3a), via crflux (A. Fedynitch). "
        "Data layout: A. Haungs et al. (KCDC), Eur. Phys. J. C 78 (2018) 741. "
        "Attenuation: T. Antoni et al. (KASCADE), Astropart. Phys. 19 (2003) 703. "
        "Muon scaling: J. Matthews, Astropart. Phys. 22 (2005) 387."
    )
    core_note = "cores thrown uniformly over the square |Xc|,|Yc| <= 91 m"

    @property
    def area_m2(self) -> float:
        return (2 * layout.CORE_HALF_WIDTH_M) ** 2

    def throw_cores(self, rng, n):
        return rng.uniform(-layout.CORE_HALF_WIDTH_M, layout.CORE_HALF_WIDTH_M, (2, n))

    def simulate(self, cfg, rng, prim):
        ft, grp, lg_e, core = prim.table, prim.grp, prim.lg_e, prim.core
        u_trig, sec, temp, pres, ln_a, lgne_t, lgnmu_t = self.true_sizes(rng, prim)
        rec = u_trig < physics.efficiency(lgne_t)

        idx = np.flatnonzero(rec)
        m = len(idx)
        # measurement of the recorded events (draw order fixed again)
        g_res = rng.standard_normal((7, m))
        ze_r, az_r, sec_r = prim.ze[idx], prim.az[idx], sec[idx]
        age_t = physics.mean_age(lgne_t[idx], sec_r, ln_a[idx]) + physics.AGE_SIGMA * g_res[6]
        sig_core, sig_dir, sig_ne, sig_nmu = physics.resolution(lgne_t[idx], lgnmu_t[idx])
        xc = core[0, idx] + sig_core * g_res[0]
        yc = core[1, idx] + sig_core * g_res[1]
        ze_m, az_m = smear_direction(ze_r, az_r, sig_dir, g_res[2], g_res[3])
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
            "E_true": lg_e[idx].astype(f32), "primary": ft.names[grp[idx]],
            "A": ft.a[grp[idx]], "Z": ft.z[grp[idx]], "lnA": ln_a[idx].astype(f32),
            "Ne_true": lgne_t[idx].astype(f32), "Nmu_true": lgnmu_t[idx].astype(f32),
            "Xc_true": core[0, idx].astype(f32), "Yc_true": core[1, idx].astype(f32),
            "Ze_true": np.degrees(ze_r).astype(f32), "Az_true": np.degrees(az_r).astype(f32),
        }
        station_inputs = None
        if cfg.stations and m:
            # computed lazily, slice by slice, by Simulation.chunks (bounded memory)
            station_inputs = (core[0, idx], core[1, idx], ze_r, az_r, lgne_t[idx], age_t, lgnmu_t[idx])
        return cols, station_inputs, idx

    def simulate_stations(self, rng, xc, yc, ze, az, lgne, age, lgnmu):
        return simulate_stations(rng, xc, yc, ze, az, lgne, age, lgnmu)

    def title(self, kind, stations):
        return super().title(kind, stations) + (" with per-station EDeposit/MDeposit/Arrival" if stations else "")

    def description(self, cfg, events):
        stations_txt = " with per-station EDeposit/MDeposit/Arrival" if cfg.stations else ""
        return (
            f"SIMULATED data, not KASCADE measurements: {events} air showers generated by showersim "
            f"{{version}} from the H3a cosmic-ray flux model (five mass groups, "
            f"{cfg.emin_ev:.0e}-{cfg.emax_ev:.0e} eV), isotropic up to {cfg.zenith_max_deg:g} deg zenith, "
            f"cores uniform over {self.area_m2:.0f} m^2, in the KCDC KASCADE column layout{stations_txt}. "
            "Electron and muon numbers follow published attenuation lengths and Heitler-Matthews muon scaling, "
            "calibrated so that the KCDC energy formula in the E column returns the true energy on average; "
            "detector resolution and trigger efficiency are parametrised. Fully efficient above ~1e15 eV. "
            "Flux = N / (area_m2 * solid_angle_sr * live_time_s * dE).")

    def model_description(self, cfg):
        return {
            **flux_fields(self.flux_model, cfg),
            "hadronic": ("none run: parametric sizes calibrated to the KCDC energy formula; muon number "
                         f"Heitler-Matthews A^(1-beta) E^beta with beta={physics.BETA}"),
            "energy_formula": "lg(E/GeV) = 0.313 lg Ne + 0.666 lg Nmu + 1.24/cos(Ze) + 0.580 (E column = this + 9)",
            "attenuation_g_cm2": {"Ne": physics.LAMBDA_E, "Nmu_effective": round(physics.LAMBDA_MU, 1),
                                  "note": ("Nmu value is what the formula's 1.24/cos(Ze) term implies; "
                                           "KASCADE-Grande measured 1256+-85 g/cm^2 for its muon number")},
            "vertical_depth_g_cm2": physics.X_VERTICAL,
            "lateral": {"electrons": f"NKG r0={physics.R0_E} m", "muons": f"NKG r0={physics.R0_MU} m"},
            "trigger": f"erf in true lg Ne: 50% at {physics.EFF_LGNE50}, width {physics.EFF_WIDTH}",
            "full_efficiency_above_eV": self.full_efficiency_above_ev,
        }

    def stations_json(self):
        return layout.stations_json()


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


KASCADE = Kascade()
