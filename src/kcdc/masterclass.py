"""Small helpers shared by the masterclass notebooks (``masterclasses/NN-*/``).

Only what every masterclass repeats lives here: fetching a selection with its data-shop
metadata, the exposure-corrected flux, the published points shipped beside a notebook,
bokeh figures with the same look, and the "your result vs published" check whose
printed marker the tests look for. The physics steps stay in the notebooks.
"""
from __future__ import annotations

from pathlib import Path

from .spectrum import flux  # noqa: F401  (mc.flux in the notebooks)

PASSED = "RESULT CHECK PASSED"
FAILED = "RESULT CHECK FAILED"
#: every check made in this kernel: dicts with quantity, yours, published, low, high, passed
RESULTS: list[dict] = []

_client = None


def client():
    """One :class:`kcdc.Client` per kernel (token and URL from the environment)."""
    global _client
    if _client is None:
        from .client import Client

        _client = Client()
    return _client


def fetch(datashop: str, columns, cuts=None):
    """Request a selection, wait for it and return it as a pandas DataFrame."""
    req = client().request(datashop, columns, cuts=cuts, format="hdf5")
    return req.wait().to_pandas()


def exposure(datashop: str) -> dict:
    """The data shop's exposure block (area_m2, solid_angle_sr, live_time_s, ...)."""
    return client().datashop(datashop)["exposure"]


def published_points(experiment: str | None = None, path: str = "published_spectra.csv"):
    """Published all-particle flux points (the CSV copied into the masterclass folder)."""
    import pandas as pd

    df = pd.read_csv(Path(path))
    if experiment is not None:
        df = df[df["experiment"] == experiment]
        if df.empty:
            raise ValueError(f"no points for {experiment!r} in {path}")
    return df.reset_index(drop=True)


def figure(title: str, x_label: str, y_label: str, **kw):
    """A bokeh figure with the masterclass look (size, tools, axis labels)."""
    from bokeh.plotting import figure as _figure

    kw.setdefault("width", 640)
    kw.setdefault("height", 380)
    kw.setdefault("tools", "pan,wheel_zoom,box_zoom,reset,hover,save")
    fig = _figure(title=title, x_axis_label=x_label, y_axis_label=y_label, **kw)
    fig.title.text_font_size = "13pt"
    return fig


def histogram(fig, values, edges, **kw):
    """Draw a histogram of ``values`` as bars on ``fig``; returns the counts."""
    import numpy as np

    counts, edges = np.histogram(np.asarray(values, dtype=float), edges)
    kw.setdefault("fill_alpha", 0.5)
    fig.quad(top=counts, bottom=0, left=edges[:-1], right=edges[1:], **kw)
    return counts


def check(quantity: str, yours: float, published, tolerance: float, source: str, unit: str = "") -> bool:
    """Compare your result with the published value and print the verdict.

    ``published`` is a number or a range ``(low, high)`` (use ``math.inf`` for a bound);
    the check passes when ``yours`` lies within ``tolerance`` of it. Every notebook
    explains beside the call why its tolerance is what it is."""
    low, high = (published, published) if not isinstance(published, (tuple, list)) else published
    passed = bool(low - tolerance <= yours <= high + tolerance)
    pub = f"{low:g}" if low == high else f"{low:g} .. {high:g}"
    u = f" {unit}" if unit else ""
    print(f"{quantity}\n  your result: {yours:.4g}{u}\n  published:   {pub}{u}  ({source})\n"
          f"  tolerance:   +-{tolerance:.3g}{u}")
    print(f"{PASSED}: {quantity}" if passed else f"{FAILED}: {quantity} -- look again at the steps above")
    RESULTS.append({"quantity": quantity, "yours": float(yours), "published": pub, "passed": passed})
    return passed


def poisson_upper_limit(observed: int, cl: float = 0.9) -> float:
    """Classical upper limit on a Poisson mean for ``observed`` counts (no background)."""
    from scipy.stats import chi2

    return 0.5 * float(chi2.ppf(cl, 2 * (int(observed) + 1)))


def sec(zenith_deg):
    """1 / cos(zenith) for zenith angles in degrees (the slant-depth factor)."""
    import numpy as np

    return 1.0 / np.cos(np.radians(zenith_deg))


__all__ = ["fetch", "exposure", "flux", "published_points", "figure", "histogram", "check",
           "poisson_upper_limit", "sec", "client", "PASSED", "FAILED", "RESULTS"]
