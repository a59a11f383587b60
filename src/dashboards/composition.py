"""Light or heavy? Showers in the plane of electron number Ne and muon number Nmu.

At the same energy an iron nucleus makes more muons and fewer electrons than a proton
(the energy is shared among 56 nucleons). The labelled simulation (kascade-sim) shows
the mass groups in colour; the measured-like data (kascade) lie between them."""
from __future__ import annotations

import ipywidgets as w
import numpy as np
from IPython.display import display

from . import data, view

COLUMNS = ["E", "Ze", "Ne", "Nmu"]
# Below ~10^14.6 eV the array's trigger loses showers; near-vertical showers avoid the
# attenuation that shrinks Ne with zenith angle.
CUTS = [("E", ">=", 14.6), ("Ze", "<", 30)]
GROUPS = {"p": "#e41a1c", "He": "#ff7f00", "CNO": "#4daf4a", "MgSi": "#377eb8", "Fe": "#984ea3"}
MAX_POINTS = 3000  # per group: enough to see the bands, light enough for a phone


def simulated():
    return data.selection("kascade-sim", COLUMNS + ["primary"], cuts=CUTS)


def measured():
    return data.selection("kascade", COLUMNS, cuts=CUTS + [("E", "<=", 16.0)])


def draw(energy: tuple[float, float], groups: list[str], with_data: bool):
    from bokeh.models import ColumnDataSource

    fig = view.figure(f"lg(E/eV) {energy[0]:.1f} to {energy[1]:.1f}, zenith < 30 deg",
                      "lg Ne (electrons)", "lg Nmu (muons)", height=420)
    rng = np.random.default_rng(1)  # same sample on every redraw: points do not jump
    if with_data:
        d = measured()
        d = d[(d["E"] >= energy[0]) & (d["E"] < energy[1])]
        if len(d) > 2 * MAX_POINTS:
            d = d.iloc[rng.choice(len(d), 2 * MAX_POINTS, replace=False)]
        fig.scatter(d["Ne"], d["Nmu"], size=3, color="#888888", alpha=0.4, legend_label="data (kascade)")
    s = simulated()
    s = s[(s["E"] >= energy[0]) & (s["E"] < energy[1])]
    for group in groups:
        g = s[s["primary"] == group]
        if len(g) > MAX_POINTS:
            g = g.iloc[rng.choice(len(g), MAX_POINTS, replace=False)]
        src = ColumnDataSource(dict(ne=g["Ne"], nmu=g["Nmu"]))
        fig.scatter("ne", "nmu", source=src, size=3, alpha=0.6, color=GROUPS[group], legend_label=group)
    fig.legend.location = "top_left"
    fig.legend.click_policy = "hide"
    return fig


def build() -> None:
    view.setup()
    energy = view.control_style(w.FloatRangeSlider(value=(15.0, 16.0), min=14.6, max=17.0, step=0.1,
                                                   description="lg(E/eV)"), "320px")
    groups = view.control_style(w.SelectMultiple(options=list(GROUPS), value=("p", "Fe"), rows=5,
                                                 description="Primaries"), "200px")
    with_data = w.Checkbox(value=False, description="Show measured-like data", indent=False)
    plot = view.Plot()

    def redraw(*_):
        plot.show(draw(tuple(energy.value), list(groups.value), with_data.value))
        plot.note("Simulated showers: protons (red) sit low in muons, iron (purple) high. "
                  "Which mass group do the data resemble at the knee?")

    for c in (energy, groups, with_data):
        c.observe(redraw, "value")
    redraw()
    display(w.VBox([view.controls(energy, groups, with_data), plot.widget]))
