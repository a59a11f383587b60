"""Data explorer: find a data shop, pick columns and cuts, get a plot, write no code.

The search box asks the data service's catalogue (experiment, quantity, any word of the
description: "knee", "Xmax") and offers the data shops it finds. Cuts run on the
datacentre (only the selected events travel); a selection larger than
:data:`dashboards.data.MAX_ROWS` is refused with a hint to tighten the cuts. The page
may be opened with ``?shop=<data shop id>`` (links from the landing page)."""
from __future__ import annotations

import threading
from urllib.parse import parse_qs

import ipywidgets as w
import numpy as np
from IPython.display import display

from . import data, view
from .settings import query_string

KINDS = ("Heat map", "Scatter", "Histogram")
MAX_SCATTER = 5000  # points drawn; more would make a phone crawl
DEFAULTS = {"kascade": ("Ne", "Nmu", "E", (15.5, 18.0))}


def numeric_columns(datashop: str) -> dict[str, dict]:
    """Columns a visitor can plot and cut on (numbers, not per-station arrays or text)."""
    cols = data.datashop(datashop)["columns"]
    return {name: c for name, c in cols.items() if c.get("kind") in ("float", "int") and c.get("cuttable", True)}


def label(datashop: str, name: str) -> str:
    c = data.datashop(datashop)["columns"][name]
    return f"{name} ({c.get('unit', '')})" if c.get("unit") not in (None, "", "1") else name


def matching_shops(query: str, shops: list[str]) -> list[str]:
    """The data shops of ``shops`` that the catalogue finds for ``query``, best first."""
    return [e["id"] for e in data.search(query) if e["type"] == "datashop" and e["id"] in shops]


def draw(datashop: str, kind: str, x: str, y: str, cut_column: str | None, cut_range):
    from bokeh.models import ColorBar, LogColorMapper
    from bokeh.palettes import Viridis256

    columns = [x] if kind == "Histogram" else list(dict.fromkeys([x, y]))
    cuts = []
    if cut_column:
        # The datacentre is asked for the cut widened to the grid (a few dozen distinct
        # requests per column, shared by every visitor); the exact cut is applied here.
        c = numeric_columns(datashop)[cut_column]
        cuts = [(cut_column, "between", list(data.grid_range(*cut_range, float(c["min"]), float(c["max"]))))]
        columns = list(dict.fromkeys([*columns, cut_column]))
    df = data.selection(datashop, columns, cuts=cuts)
    if cut_column:
        df = df[df[cut_column].between(*cut_range)]
    where = f" with {cut_range[0]:g} <= {cut_column} <= {cut_range[1]:g}" if cut_column else ""
    title = f"{datashop}: {len(df):,} events{where}"
    if len(df) == 0:
        return None, title + ": no events, widen the cut"
    xs = df[x].to_numpy(dtype=float)
    if kind == "Histogram":
        counts, edges = np.histogram(xs[np.isfinite(xs)], bins=60)
        fig = view.figure(title, label(datashop, x), "events", y_axis_type="log")
        fig.quad(left=edges[:-1], right=edges[1:], top=np.maximum(counts, 0.5), bottom=0.5, fill_alpha=0.6)
        return fig, title
    ys = df[y].to_numpy(dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if kind == "Scatter":
        note = title
        if len(xs) > MAX_SCATTER:
            pick = np.random.default_rng(0).choice(len(xs), MAX_SCATTER, replace=False)
            xs, ys = xs[pick], ys[pick]
            note += f" ({MAX_SCATTER:,} drawn at random)"
        fig = view.figure(title, label(datashop, x), label(datashop, y))
        fig.scatter(xs, ys, size=3, alpha=0.5)
        return fig, note
    counts, xe, ye = np.histogram2d(xs, ys, bins=60)
    fig = view.figure(title, label(datashop, x), label(datashop, y))
    mapper = LogColorMapper(palette=Viridis256, low=1, high=max(float(counts.max()), 2.0), nan_color=(0, 0, 0, 0))
    fig.image(image=[np.where(counts.T > 0, counts.T, np.nan)], x=xe[0], y=ye[0], dw=xe[-1] - xe[0],
              dh=ye[-1] - ye[0], color_mapper=mapper)
    fig.add_layout(ColorBar(color_mapper=mapper, title="events", width=10), "right")
    return fig, title


def query_shop() -> str | None:
    """The ``shop`` query parameter of the visitor's URL.

    A preheated kernel runs this page before anybody asks for it; ``wait_for_request``
    pauses here until a visitor arrives (it reaches Voila at VOILA_WS_BASE_URL)."""
    from voila.utils import wait_for_request

    wait_for_request()
    values = parse_qs(query_string()).get("shop")
    return values[0] if values else None


def build() -> None:
    view.setup()
    shops = [s["id"] for s in data.datashops()]
    find = view.control_style(w.Text(description="Search", placeholder="knee, Xmax, muon number ...",
                                     continuous_update=False), "260px")
    shop = view.control_style(w.Dropdown(options=shops, value="kascade" if "kascade" in shops else shops[0],
                                         description="Data shop"), "260px")
    kind = w.ToggleButtons(options=KINDS, value="Heat map")
    x = view.control_style(w.Dropdown(description="x"), "200px")
    y = view.control_style(w.Dropdown(description="y"), "200px")
    cut_column = view.control_style(w.Dropdown(description="Cut on"), "200px")
    cut_range = view.control_style(w.FloatRangeSlider(description="range", step=0.01, readout_format=".2f"), "340px")
    go = w.Button(description="Plot", button_style="primary", icon="chart-bar")
    plot = view.Plot()

    def columns_changed(*_):
        cols = numeric_columns(shop.value)
        names = list(cols)
        dx, dy, dc, drange = DEFAULTS.get(shop.value, (names[0], names[1 % len(names)], "E" if "E" in cols else None, None))
        x.options, y.options = names, names
        x.value, y.value = dx, dy
        cut_column.options = [("no cut", None)] + [(n, n) for n in names]
        cut_column.value = dc
        cut_changed(drange)

    def cut_changed(default_range=None):
        name = cut_column.value
        cut_range.layout.visibility = "visible" if name else "hidden"
        if not name:
            return
        c = numeric_columns(shop.value)[name]
        low, high = float(c["min"]), float(c["max"])
        cut_range.min, cut_range.max = -1e300, 1e300  # widen first: min may not pass max
        cut_range.min, cut_range.max = low, high
        cut_range.step = (high - low) / 200 or 0.01
        if isinstance(default_range, tuple):
            cut_range.value = (max(low, default_range[0]), min(high, default_range[1]))
        else:
            cut_range.value = (low + 0.5 * (high - low), high)

    def redraw(*_):
        import kcdc

        plot.note("asking the datacentre ...")
        try:
            fig, note = draw(shop.value, kind.value, x.value, y.value, cut_column.value, cut_range.value)
        except data.SelectionTooLarge as e:
            plot.note(str(e), error=True)
            return
        except (kcdc.KCDCError, TimeoutError) as e:
            # Said on the page: a redraw started by ?shop= runs in a thread, where an
            # exception would vanish and leave the previous shop's plot standing.
            plot.note(f"{shop.value}: {e}. Press Plot to ask again.", error=True)
            return
        if fig is None:
            plot.note(note, error=True)
            return
        plot.show(fig)
        plot.note(note)

    def searched(*_):
        import kcdc

        words = find.value.strip()
        try:
            hits = matching_shops(words, shops) if words else shops
        except kcdc.KCDCError as e:
            plot.note(str(e), error=True)
            return
        if not hits:
            plot.note(f"no data shop matches {words!r}: try an experiment (KASCADE), a quantity (Xmax, "
                      "muon number) or a word such as knee", error=True)
            return
        before = shop.value
        keep = before if before in hits else hits[0]
        shop.options = hits
        shop.value = keep
        if keep != before:
            redraw()
        plot.note(f"{len(hits)} of {len(shops)} data shops match {words!r}: choose one under Data shop" if words
                  else f"all {len(shops)} data shops under Data shop")

    find.observe(searched, "value")
    shop.observe(columns_changed, "value")
    cut_column.observe(lambda change: cut_changed(), "value")
    kind.observe(lambda change: setattr(y.layout, "display", "none" if kind.value == "Histogram" else None), "value")
    kind.observe(redraw, "value")
    go.on_click(redraw)
    columns_changed()
    redraw()
    display(w.VBox([view.controls(find), view.controls(shop, kind), view.controls(x, y), view.controls(cut_column, cut_range, go),
                    plot.widget]))

    def follow_query():
        wanted = query_shop()
        if wanted in shops and wanted != shop.value:
            shop.value = wanted
            redraw()

    # In a thread: the cell ends at once, so the controls answer even while a preheated
    # kernel still waits for its visitor's URL.
    threading.Thread(target=follow_query, daemon=True).start()
