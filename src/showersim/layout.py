"""Geometry of the KASCADE array.

Source: Antoni et al. (KASCADE), "The cosmic-ray experiment KASCADE",
Nucl. Instr. Meth. A 513 (2003) 490; EPJC 78 (2018) 741 (KCDC).
252 detector stations on a 13 m grid (16 x 16 positions, the central 2 x 2 left
free for the central detector), grouped in 16 clusters of 4 x 4 positions.
The 4 inner clusters carry e/gamma detectors only (4 liquid-scintillator
detectors, 3.2 m^2 per station); the 12 outer clusters carry 2 e/gamma
detectors (1.6 m^2) plus shielded muon scintillators (3.24 m^2, threshold
230 MeV) per station. Areas are quoted from that paper as we remember it and
were not re-verified line by line; they only set the particle counting
statistics of the per-station arrays.

Coordinates: x, y in metres in the array frame, origin at the array centre
(positions at +-6.5, +-19.5, ..., +-97.5 m). Station index order: row-major over
(y, x) grid positions, skipping the 4 central positions. This order is the order
of the 252 entries of EDeposit, MDeposit and Arrival.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_GRID = 16
SPACING_M = 13.0
N_STATIONS = 252
# effective detector areas (m^2) -- Antoni et al. NIM A 513 (2003) 490
AREA_EG_INNER_M2 = 3.2
AREA_EG_OUTER_M2 = 1.6
AREA_MU_M2 = 3.24
#: geometric area over which shower cores are thrown (the KCDC Xc, Yc range -91..91 m)
CORE_HALF_WIDTH_M = 91.0


@lru_cache(maxsize=1)
def _layout() -> dict[str, np.ndarray]:
    idx = np.arange(N_GRID)
    gx, gy = np.meshgrid(idx, idx)  # gy row, gx column
    gx, gy = gx.ravel(), gy.ravel()
    centre = np.isin(gx, (7, 8)) & np.isin(gy, (7, 8))
    gx, gy = gx[~centre], gy[~centre]
    x = (gx - (N_GRID - 1) / 2) * SPACING_M
    y = (gy - (N_GRID - 1) / 2) * SPACING_M
    cluster = (gy // 4) * 4 + (gx // 4)
    inner = np.isin(gx // 4, (1, 2)) & np.isin(gy // 4, (1, 2))
    has_muon = ~inner
    area_eg = np.where(inner, AREA_EG_INNER_M2, AREA_EG_OUTER_M2)
    area_mu = np.where(has_muon, AREA_MU_M2, 0.0)
    out = dict(
        station=np.arange(N_STATIONS), x=x, y=y, row=gy, col=gx, cluster=cluster,
        has_muon=has_muon, area_eg_m2=area_eg, area_mu_m2=area_mu,
    )
    for v in out.values():
        v.setflags(write=False)
    return out


def stations() -> dict[str, np.ndarray]:
    """The 252 KASCADE stations: ``station, x, y`` (m), grid ``row, col``,
    ``cluster`` (0..15), ``has_muon`` (bool), ``area_eg_m2``, ``area_mu_m2``.
    Arrays are read-only and in the order of the per-station columns."""
    return dict(_layout())


def stations_json() -> dict:
    """The layout as JSON-ready lists (for ``datashop.json`` under ``stations``)."""
    s = _layout()
    return {
        "n": N_STATIONS,
        "spacing_m": SPACING_M,
        "x_m": [float(v) for v in s["x"]],
        "y_m": [float(v) for v in s["y"]],
        "row": [int(v) for v in s["row"]],
        "col": [int(v) for v in s["col"]],
        "cluster": [int(v) for v in s["cluster"]],
        "has_muon": [bool(v) for v in s["has_muon"]],
        "area_eg_m2": [float(v) for v in s["area_eg_m2"]],
        "area_mu_m2": [float(v) for v in s["area_mu_m2"]],
        "note": ("Station order = order of EDeposit/MDeposit/Arrival entries; row-major over the 16x16 grid "
                 "without the central 2x2. Muon detectors only in the 12 outer clusters (has_muon)."),
    }


def station_grid(values, fill: float = 0.0) -> np.ndarray:
    """Map per-station values ``(..., 252)`` onto the ``(..., 16, 16)`` grid
    (rows = y, columns = x) for images and CNN input; the 4 empty central
    positions and NaN entries get ``fill``."""
    v = np.asarray(values)
    s = _layout()
    out = np.full(v.shape[:-1] + (N_GRID, N_GRID), fill, dtype=np.result_type(v.dtype, np.float32))
    out[..., s["row"], s["col"]] = v
    if fill == fill:  # replace NaN unless the fill itself is NaN
        out = np.where(np.isnan(out), fill, out)
    return out
