"""The exposure-corrected differential flux: the one formula the masterclasses, the public
dashboards and the simulation's own checks use.

    flux = counts / (area x solid angle x live time x bin width in GeV)

The exposure is a data shop's ``exposure`` block (``area_m2``, ``solid_angle_sr``,
``live_time_s``), as :meth:`kcdc.Client.datashop` returns it.
"""

from __future__ import annotations

from typing import Mapping


def exposure_m2_sr_s(exposure: Mapping[str, float]) -> float:
    return float(exposure["area_m2"]) * float(exposure["solid_angle_sr"]) * float(exposure["live_time_s"])


def flux(lg_e, exposure: Mapping[str, float], edges):
    """Differential flux per (m^2 s sr GeV) in bins of lg(E/eV) with the given edges.

    Returns ``(bin centres, counts, flux, flux error)``; the error is the Poisson spread of
    the count (sqrt N), so an empty bin has flux 0 with error 0: leave it out of a fit."""
    import numpy as np

    edges = np.asarray(edges, dtype=float)
    counts, _ = np.histogram(np.asarray(lg_e, dtype=float), edges)
    width_gev = (10.0 ** edges[1:] - 10.0 ** edges[:-1]) / 1e9
    per_count = 1.0 / (exposure_m2_sr_s(exposure) * width_gev)
    return 0.5 * (edges[1:] + edges[:-1]), counts, counts * per_count, np.sqrt(counts) * per_count
