"""Bokeh in Voila without a Jupyter extension, and the look of every dashboard.

``bokeh.io.show`` inside an ``ipywidgets.Output`` does not draw in standalone Voila:
its embedding script arrives in an output the page does not trust, so it never runs
(tried with Voila 0.5.13). A standalone bokeh document in an ``<iframe srcdoc>`` of an
``ipywidgets.HTML`` runs its own scripts anywhere, needs no extension, and is replaced
as a whole when the controls change (:class:`Plot`). BokehJS comes from this server
(``<base>bokehjs/static/``, see :mod:`dashboards.app`; the browser caches it), never
from a CDN: visitors may have no route to one.

Phones: figures stretch to the width of the page, controls wrap onto new lines.
"""
from __future__ import annotations

import ipywidgets as w
from IPython.display import HTML, display

from .settings import current as settings, voila_base_url

BOKEH_PATH = "bokehjs/"
PALETTE = {"KASCADE": "#1f77b4", "KASCADE-Grande": "#d62728", "Tunka-133": "#2ca02c"}
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"

# Page style: no margins on a phone, controls that wrap, the hint text readable.
STYLE = """<style>
.jp-OutputArea-output, .jp-Cell { padding: 0 !important; }
body { margin: 0 4px; }
.dash-controls { flex-wrap: wrap !important; gap: 4px 12px; }
.dash-controls .widget-inline-hbox, .dash-controls .widget-dropdown, .dash-controls .widget-slider { max-width: 100%; }
.dash-note { color: #555; font-size: 0.9em; }
.dash-error { color: #b00020; }
</style>"""


def setup() -> None:
    """The page style."""
    display(HTML(STYLE))


def resources():
    """BokehJS as this server serves it."""
    from bokeh.resources import Resources

    if settings().bokeh_resources == "inline":
        # stock Voila (benchmarks) has no route for BokehJS: every plot carries it
        return Resources(mode="inline")
    # file_html keeps only the BokehJS parts a document uses.
    return Resources(mode="server", root_url=f"{voila_base_url()}{BOKEH_PATH}")


def layout_height(obj) -> int:
    """Pixels a bokeh figure or column of figures needs (the iframe does not grow by itself)."""
    children = getattr(obj, "children", None)
    if children:
        return sum(layout_height(c) for c in children) + 10 * len(children)
    return int(getattr(obj, "height", None) or 400)


def figure(title: str, x_label: str, y_label: str, height: int = 360, **kw):
    """A bokeh figure as wide as the page (phones included)."""
    from bokeh.plotting import figure as bokeh_figure

    kw.setdefault("tools", TOOLS)
    fig = bokeh_figure(title=title, x_axis_label=x_label, y_axis_label=y_label, height=height,
                       sizing_mode="stretch_width", **kw)
    fig.toolbar.logo = None
    return fig


def controls(*children) -> w.Box:
    """A row of controls that wraps onto new lines on a narrow screen."""
    box = w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", width="100%"))
    box.add_class("dash-controls")
    return box


def control_style(widget, width: str = "300px"):
    """Labels that are not cut off, widths that fit a 360 px phone."""
    widget.style = {"description_width": "initial"}
    widget.layout = w.Layout(width=width, max_width="100%")
    return widget


class Plot:
    """An area on the page whose bokeh plot is drawn again when the controls change."""

    def __init__(self) -> None:
        self.frame = w.HTML(layout=w.Layout(width="100%"))
        self.message = w.HTML()
        self.widget = w.VBox([self.message, self.frame], layout=w.Layout(width="100%"))

    def show(self, obj) -> None:
        import html

        from bokeh.embed import file_html

        doc = file_html(obj, resources(), title="plot")
        height = layout_height(obj) + 24
        self.message.value = ""
        self.frame.value = (f'<iframe class="dash-plot" srcdoc="{html.escape(doc, quote=True)}" '
                            f'style="width:100%;height:{height}px;border:0;display:block"></iframe>')

    def note(self, text: str, error: bool = False) -> None:
        """A line above the plot: what is shown, or what to change."""
        import html

        cls = "dash-error" if error else "dash-note"
        self.message.value = f'<div class="{cls}">{html.escape(text)}</div>'
