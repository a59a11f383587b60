"""Where do cosmic rays come from? Arrival directions of the showers.

A map of the local sky (zenith in the middle, the horizon outside; azimuth around)
and the azimuth distribution. Azimuth as in the data (showersim, KCDC columns, the
masterclasses and the event display): counted from the array's x axis towards its y axis. Charged cosmic rays are bent by magnetic fields on the
way: the sky looks the same in every direction (isotropic), apart from the array's
own acceptance, which falls with zenith angle."""
from __future__ import annotations

import ipywidgets as w
import numpy as np
from IPython.display import display

from . import data, view

SHOPS = {"KASCADE": ("kascade", 15.0), "KASCADE-Grande": ("kascade-grande", 16.0), "Tunka-133": ("tunka133", 15.8)}
VIEWS = ("Sky map", "Azimuth", "Zenith")


def directions(label: str):
    datashop, threshold = SHOPS[label]
    return data.selection(datashop, ["E", "Ze", "Az"], cuts=[("E", ">=", threshold)])


def sky_xy(ze, az):
    """Where a shower's arrival direction lands on the map (deg): seen from above, in the
    array frame, x = Ze cos Az, y = Ze sin Az (azimuth from x towards y, as generated)."""
    return ze * np.cos(np.radians(az)), ze * np.sin(np.radians(az))


def sky_counts(ze, az, bins: int = 41, radius: float = 50.0):
    """Counts on a square grid of the projection ``sky_xy`` (deg)."""
    x, y = sky_xy(ze, az)
    counts, _, _ = np.histogram2d(x, y, bins=bins, range=[[-radius, radius], [-radius, radius]])
    return counts.T  # rows = y for bokeh's image


def draw(label: str, emin: float, what: str):
    from bokeh.models import ColorBar, LinearColorMapper
    from bokeh.palettes import Inferno256

    df = directions(label)
    df = df[df["E"] >= emin]
    color = view.PALETTE[label]
    if what == "Sky map":
        radius = 50.0
        counts = sky_counts(df["Ze"].to_numpy(), df["Az"].to_numpy(), radius=radius)
        fig = view.figure(f"{label}: {len(df):,} showers above 10^{emin:.1f} eV (seen from above)",
                          "array x: Ze cos(Az) (deg)", "array y: Ze sin(Az) (deg)", height=420, match_aspect=True)
        mapper = LinearColorMapper(palette=Inferno256, low=0, high=max(float(counts.max()), 1.0))
        fig.image(image=[counts], x=-radius, y=-radius, dw=2 * radius, dh=2 * radius, color_mapper=mapper)
        for ring in (15, 30, 45):
            fig.circle(0, 0, radius=ring, fill_color=None, line_color="white", line_alpha=0.6, line_dash="dashed")
        fig.add_layout(ColorBar(color_mapper=mapper, title="showers", width=10), "right")
        return fig
    column, unit, edges = ("Az", "azimuth (deg)", np.linspace(0, 360, 37)) if what == "Azimuth" else \
        ("Ze", "zenith angle (deg)", np.linspace(0, 50, 26))
    counts, _ = np.histogram(df[column], edges)
    fig = view.figure(f"{label}: {what.lower()} of {len(df):,} showers", unit, "showers", height=360)
    fig.quad(left=edges[:-1], right=edges[1:], top=counts, bottom=0, fill_color=color, fill_alpha=0.5, line_color=color)
    err = np.sqrt(counts)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig.segment(centres, counts - err, centres, counts + err, color="black")
    return fig


def build() -> None:
    view.setup()
    shop = view.control_style(w.Dropdown(options=list(SHOPS), value="KASCADE", description="Experiment"), "240px")
    emin = view.control_style(w.FloatSlider(value=15.0, min=15.0, max=17.5, step=0.1, description="lg(E/eV) above"),
                              "300px")
    what = w.ToggleButtons(options=VIEWS, value="Sky map")
    plot = view.Plot()

    def redraw(*_):
        low = SHOPS[shop.value][1]
        if emin.value < low:
            emin.value = low  # observing emin redraws
            return
        plot.show(draw(shop.value, float(emin.value), what.value))
        plot.note("Simulated isotropic sky: differences between directions are statistical (error bars) "
                  "or come from the detector's acceptance.")

    for c in (shop, emin, what):
        c.observe(redraw, "value")
    redraw()
    display(w.VBox([view.controls(shop, emin, what), plot.widget]))
