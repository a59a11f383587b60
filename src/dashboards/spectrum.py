"""Spectrum explorer: the exposure-corrected all-particle flux of the three data shops
against the published points (KASCADE, KASCADE-Grande, Tunka-133 side by side)."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd
from IPython.display import display

from kcdc.spectrum import flux

from . import data, view

PUBLISHED = Path(__file__).with_name("published_spectra.csv")
# data shop, label, lowest lg(E/eV) where its trigger is fully efficient (showersim README),
# the published series it is compared with (rows of published_spectra.csv).
EXPERIMENTS = (
    ("kascade", "KASCADE", 15.0, "KASCADE (QGSJet-I)"),
    ("kascade-grande", "KASCADE-Grande", 16.0, "KASCADE-Grande"),
    ("tunka133", "Tunka-133", 15.8, "Tunka-133 (2020)"),
)


def published() -> pd.DataFrame:
    return pd.read_csv(PUBLISHED)


def experiment_flux(datashop: str, threshold: float, bin_width: float):
    """(lg E centres, flux, flux error, counts) above the full-efficiency threshold."""
    df = data.selection(datashop, ["E"], cuts=[("E", ">=", threshold)])
    exposure = data.datashop(datashop)["exposure"]
    top = float(df["E"].max()) if len(df) else threshold + bin_width
    edges = np.arange(threshold, top + bin_width, bin_width)
    lg, counts, f, err = flux(df["E"].to_numpy(), exposure, edges)
    keep = counts > 0
    return lg[keep], f[keep], err[keep], counts[keep]


def lower_bar(value, error):
    """Lower end of an error bar on a log axis: an error as large as the value would reach 0."""
    return np.where(value - error > 0.1 * value, value - error, 0.1 * value)


def draw(shown: list[str], gamma: float, bin_width: float, with_points: bool):
    fig = view.figure(f"All-particle flux x E^{gamma:g}", "lg(E/eV)",
                      f"flux x E^{gamma:g}  (GeV^{gamma - 1:g} m^-2 s^-1 sr^-1)", y_axis_type="log")
    points = published() if with_points else None
    for datashop, label, threshold, series in EXPERIMENTS:
        if label not in shown:
            continue
        color = view.PALETTE[label]
        lg, f, err, _ = experiment_flux(datashop, threshold, bin_width)
        scale = (10.0 ** (lg - 9)) ** gamma
        fig.scatter(lg, f * scale, size=7, color=color, legend_label=f"{label} (simulated data)")
        fig.segment(lg, lower_bar(f, err) * scale, lg, (f + err) * scale, color=color)
        if points is not None:
            p = points[points["experiment"] == series]
            lg_p = np.log10(p["E_GeV"].to_numpy()) + 9
            scale_p = p["E_GeV"].to_numpy() ** gamma
            y = p["flux_per_GeV_m2_s_sr"].to_numpy()
            total = np.hypot(p["stat_high"].to_numpy(), p["sys_high"].to_numpy())
            fig.scatter(lg_p, y * scale_p, marker="square_pin", size=9, fill_color="white", line_color=color,
                        line_width=2, legend_label=f"{series} (published)")
            fig.segment(lg_p, lower_bar(y, total) * scale_p, lg_p, (y + total) * scale_p,
                        color=color, line_dash="dotted")
    fig.legend.location = "bottom_left"
    fig.legend.label_text_font_size = "8pt"
    fig.legend.click_policy = "hide"
    return fig


def build() -> None:
    view.setup()
    labels = [label for _, label, _, _ in EXPERIMENTS]
    pick = view.control_style(w.SelectMultiple(options=labels, value=tuple(labels), description="Experiments",
                                               rows=3), "260px")
    gamma = view.control_style(w.SelectionSlider(options=[0, 2, 2.5, 2.6, 2.7, 3], value=2.6,
                                                 description="Multiply by E^"), "260px")
    width = view.control_style(w.Dropdown(options=[("0.1 (fine)", 0.1), ("0.2", 0.2), ("0.25 (coarse)", 0.25)],
                                          value=0.1, description="Bin width in lg E"), "220px")
    points = w.Checkbox(value=True, description="Published points", indent=False)
    plot = view.Plot()

    def redraw(*_):
        plot.show(draw(list(pick.value), float(gamma.value), float(width.value), points.value))
        plot.note("Simulated showersim data shops, flux = events / (area x solid angle x live time x dE), "
                  "above each array's full-efficiency energy. The knee: where the slope steepens near 10^15.6 eV.")

    for c in (pick, gamma, width, points):
        c.observe(redraw, "value")
    redraw()
    display(w.VBox([view.controls(pick, gamma, width, points), plot.widget]))
