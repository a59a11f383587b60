"""Small, transparent analysis helpers (the same steps a masterclass takes).

* :func:`flux` -- exposure-corrected differential flux in bins of lg(E/eV) (:mod:`kcdc.spectrum`);
* :func:`fit_broken_power_law` -- Poisson maximum-likelihood fit of a sharply
  broken power law to binned counts (knee position, slopes below and above);
* :func:`cic_attenuation` -- constant-intensity-cut attenuation length of a
  shower size (KASCADE method: Antoni et al., Astropart. Phys. 19 (2003) 703);
* :func:`lnA_from_sizes` -- a mass estimate from lg Nmu / lg Ne by
  interpolating between the proton and iron lines of the model.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from kcdc.spectrum import exposure_m2_sr_s, flux

from . import physics


def compare_to_points(lg_e, exposure: Mapping[str, float], edges, points, min_count: int = 30, gamma: float = 3.0):
    """Ratio simulated / published flux at each published point (rows with E_GeV,
    flux_per_GeV_m2_s_sr, stat_high, sys_high as in published_spectra.csv) that falls in a
    bin with >= min_count events; the bin flux is moved from the bin centre to the point's
    energy with a power law of index gamma. Returns a list of dicts
    (lg_e, ratio, rel_sys, rel_stat, n)."""
    edges = np.asarray(edges, dtype=float)
    lg, n, f, _ = flux(lg_e, exposure, edges)
    out = []
    for _, row in points.iterrows():
        x = math.log10(row["E_GeV"]) + 9
        i = np.searchsorted(edges, x) - 1
        if not (0 <= i < len(n)) or n[i] < min_count:
            continue
        ref = row["flux_per_GeV_m2_s_sr"]
        out.append({"lg_e": x, "ratio": float(f[i] * 10 ** (-gamma * (x - lg[i])) / ref),
                    "rel_sys": row["sys_high"] / ref, "rel_stat": row["stat_high"] / ref, "n": int(n[i])})
    return out


def _bpl_counts(par, edges, expo):
    """Expected counts per bin for dN/dE = K (E/Eb)^-g1 (E<Eb), K (E/Eb)^-g2 (E>Eb);
    K = 10**lgK per (m^2 s sr eV) at the break."""
    lgk, xb, g1, g2 = par
    eb = 10.0**xb
    lo, hi = 10.0 ** edges[:-1], 10.0 ** edges[1:]

    def integ(a, b, g):  # integral of (E/Eb)^-g dE from a to b
        if abs(g - 1) < 1e-9:
            return eb * np.log(b / a)
        return eb / (1 - g) * ((b / eb) ** (1 - g) - (a / eb) ** (1 - g))

    below = integ(np.minimum(lo, eb), np.minimum(hi, eb), g1)
    above = integ(np.maximum(lo, eb), np.maximum(hi, eb), g2)
    return 10.0**lgk * expo * (below + above)


def fit_broken_power_law(lg_e, exposure: Mapping[str, float], edges) -> dict[str, float]:
    """Poisson-likelihood fit of a sharp broken power law to the lg(E/eV) histogram.
    Returns knee (lg E/eV), gamma1, gamma2 and their approximate 1-sigma errors
    (from the numerical Hessian of the log-likelihood)."""
    from scipy.optimize import minimize

    edges = np.asarray(edges, dtype=float)
    n, _ = np.histogram(np.asarray(lg_e, dtype=float), edges)
    expo = exposure_m2_sr_s(exposure)

    def nll(par):
        mu = _bpl_counts(par, edges, expo)
        if np.any(mu <= 0) or not np.all(np.isfinite(mu)):
            return 1e300
        return float(np.sum(mu - n * np.log(mu)))

    best = None
    for xb0 in np.linspace(edges[2], edges[-3], 9):
        i = np.searchsorted(edges, xb0) - 1
        de = 10.0 ** edges[i + 1] - 10.0 ** edges[i]
        k0 = math.log10(max(n[i], 1) / (expo * de))
        r = minimize(nll, [k0, xb0, 2.7, 3.1], method="Nelder-Mead",
                     options=dict(maxiter=20000, xatol=1e-6, fatol=1e-8))
        if best is None or r.fun < best.fun:
            best = r
    p = best.x
    # numerical Hessian for errors
    h = np.array([1e-3, 2e-3, 2e-3, 2e-3])
    H = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            H[i, j] = (nll(p + ei + ej) - nll(p + ei - ej) - nll(p - ei + ej) + nll(p - ei - ej)) / (4 * h[i] * h[j])
    try:
        err = np.sqrt(np.abs(np.diag(np.linalg.inv(H))))
    except np.linalg.LinAlgError:
        err = np.full(4, np.nan)
    return {"knee": float(p[1]), "gamma1": float(p[2]), "gamma2": float(p[3]), "lgK": float(p[0]),
            "knee_err": float(err[1]), "gamma1_err": float(err[2]), "gamma2_err": float(err[3])}


def cic_attenuation(lg_size, ze_deg, *, zenith_edges=None, intensities=None, vertical_depth=physics.X_VERTICAL):
    """Constant-intensity-cut attenuation length (g/cm^2) of a shower size.

    In each zenith bin (equal solid-angle * cos weights are not needed: the cut is
    on the *rank*, i.e. intensity per unit exposure, which for a flat array is the
    count per bin divided by the bin's projected solid angle) find the size
    ``N_I(theta)`` above which the integral rate equals I; fit
    lg N_I = c - X0 lg(e) (sec(theta) - 1) / Lambda. Returns (Lambda mean over the
    intensities, list of (intensity, Lambda))."""
    lg_size = np.asarray(lg_size, dtype=float)
    ze = np.radians(np.asarray(ze_deg, dtype=float))
    zenith_edges = np.radians(np.asarray(zenith_edges if zenith_edges is not None else [0, 15, 21.6, 26.8, 31.2, 35.1, 38.6]))
    if intensities is None:
        intensities = [1e-3, 3e-4, 1e-4]
    # projected solid angle of each bin: pi (sin^2 b - sin^2 a)
    omega = np.pi * (np.sin(zenith_edges[1:]) ** 2 - np.sin(zenith_edges[:-1]) ** 2)
    total = len(lg_size)
    per_sr = total / (np.pi * np.sin(zenith_edges[-1]) ** 2)
    results = []
    secs = []
    for a, b in zip(zenith_edges[:-1], zenith_edges[1:]):
        m = (ze >= a) & (ze < b)
        secs.append(np.mean(1 / np.cos(ze[m])))
    secs = np.asarray(secs)
    for frac in intensities:
        lgn = []
        for k, (a, b) in enumerate(zip(zenith_edges[:-1], zenith_edges[1:])):
            s = np.sort(lg_size[(ze >= a) & (ze < b)])[::-1]
            rank = int(round(frac * per_sr * omega[k]))  # events above the cut at this intensity
            if rank < 10 or rank >= len(s):
                lgn.append(np.nan)
                continue
            lgn.append(s[rank - 1])
        lgn = np.asarray(lgn)
        ok = np.isfinite(lgn)
        if ok.sum() < 3:
            continue
        slope = np.polyfit(secs[ok] - 1, lgn[ok], 1)[0]
        results.append((frac, -vertical_depth * math.log10(math.e) / slope))
    lam = float(np.mean([r[1] for r in results])) if results else float("nan")
    return lam, results


def lnA_from_sizes(lg_ne, lg_nmu, ze_deg):
    """ln A estimated from the position between the proton and iron lines in the
    (lg Ne, lg Nmu) plane at the energy given by the KCDC formula (model-based,
    as KASCADE's own mass estimators are)."""
    lg_e = physics.kcdc_energy(lg_ne, lg_nmu, ze_deg)
    depth = physics.X_VERTICAL / np.cos(np.radians(np.asarray(ze_deg, dtype=float)))
    _, mu_p = physics.mean_sizes(lg_e, 0.0, depth)
    _, mu_fe = physics.mean_sizes(lg_e, math.log10(56.0), depth)
    return math.log(56.0) * (np.asarray(lg_nmu) - mu_p) / (mu_fe - mu_p)
