"""Event display: one air shower on the 252 KASCADE array stations (kascade-stations).

Squares sit at the station positions; their colour is the arrival time (the shower
front sweeps across the array from the side the shower comes from) or the energy
deposit, their size grows with the deposit. Beside it, the lateral distribution:
deposit against distance from the shower core."""
from __future__ import annotations

import ipywidgets as w
import numpy as np
from IPython.display import display

from . import data, view

DATASHOP = "kascade-stations"
COLUMNS = ["E", "Xc", "Yc", "Ze", "Az", "Ne", "Nmu", "EDeposit", "MDeposit", "Arrival"]
# Showers above 1 PeV hit most stations: the display has something to show.
CUTS = [("E", ">=", 15.0)]
QUANTITIES = {"Arrival time (ns)": "Arrival", "e/gamma deposit (MeV)": "EDeposit", "Muon deposit (MeV)": "MDeposit"}


def events():
    df = data.selection(DATASHOP, COLUMNS, cuts=CUTS)
    return df.sort_values("E", ascending=False).reset_index(drop=True)


def station_layout() -> tuple[np.ndarray, np.ndarray]:
    st = data.datashop(DATASHOP)["stations"]
    return np.asarray(st["x_m"], dtype=float), np.asarray(st["y_m"], dtype=float)


def draw(event, quantity: str):
    from bokeh.layouts import column
    from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
    from bokeh.palettes import Viridis256

    x, y = station_layout()
    dep = np.asarray(event["EDeposit"], dtype=float)
    values = np.asarray(event[QUANTITIES[quantity]], dtype=float)
    hit = dep > 0
    if quantity.startswith("Arrival"):
        shown = np.where(hit, values, np.nan)
    else:
        shown = np.where(values > 0, np.log10(np.maximum(values, 1e-3)), np.nan)
    size = np.where(hit, 4 + 3 * np.log10(1 + dep), 3)
    src = ColumnDataSource(dict(x=x, y=y, v=shown, size=size, dep=dep, t=np.asarray(event["Arrival"], dtype=float)))
    finite = shown[np.isfinite(shown)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    mapper = LinearColorMapper(palette=Viridis256, low=low, high=high, nan_color="#dddddd")
    title = (f"lg(E/eV) = {event['E']:.2f}, zenith {event['Ze']:.1f} deg, azimuth {event['Az']:.0f} deg, "
             f"lg Ne = {event['Ne']:.2f}, lg Nmu = {event['Nmu']:.2f}")
    arr = view.figure(title, "x (m)", "y (m)", height=420, match_aspect=True,
                      tooltips=[("deposit (MeV)", "@dep{0.0}"), ("time (ns)", "@t{0.0}")])
    arr.title.text_font_size = "9pt"
    arr.scatter("x", "y", source=src, marker="square", size="size", fill_color={"field": "v", "transform": mapper},
                line_color=None)
    arr.scatter([event["Xc"]], [event["Yc"]], marker="x", size=16, line_width=3, color="red", legend_label="core")
    # The direction the shower came from, drawn from the core (azimuth counted from x towards y).
    az = np.radians(event["Az"])
    length = 60 * np.sin(np.radians(event["Ze"]))
    arr.segment([event["Xc"]], [event["Yc"]], [event["Xc"] + length * np.cos(az)],
                [event["Yc"] + length * np.sin(az)], line_width=3, color="red")
    label = quantity if quantity.startswith("Arrival") else "lg " + quantity
    arr.add_layout(ColorBar(color_mapper=mapper, title=label, width=10), "right")
    arr.legend.location = "top_left"

    r = np.hypot(x - event["Xc"], y - event["Yc"])
    ldf = view.figure("Lateral distribution", "distance from the core (m)", "e/gamma deposit (MeV)", height=280,
                      y_axis_type="log", x_axis_type="log")
    ldf.scatter(np.maximum(r[hit], 1.0), dep[hit], size=5, alpha=0.7)
    return column(arr, ldf, sizing_mode="stretch_width")


def build() -> None:
    view.setup()
    table = events()
    pick = view.control_style(w.IntSlider(value=0, min=0, max=max(len(table) - 1, 0),
                                          description="Shower (0 = most energetic)"), "340px")
    quantity = view.control_style(w.Dropdown(options=list(QUANTITIES), value="Arrival time (ns)",
                                             description="Colour"), "260px")
    plot = view.Plot()

    def redraw(*_):
        plot.show(draw(table.iloc[pick.value], quantity.value))
        plot.note(f"{len(table)} simulated showers above 1 PeV (kascade-stations). Grey: stations without a signal; "
                  "red line: where the shower came from.")

    pick.observe(redraw, "value")
    quantity.observe(redraw, "value")
    redraw()
    display(w.VBox([view.controls(pick, quantity), plot.widget]))
