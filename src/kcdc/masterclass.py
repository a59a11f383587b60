"""Small helpers shared by the masterclass notebooks (``masterclasses/NN-*/``).

Only what every masterclass repeats lives here: fetching a selection with its data-shop
metadata, the exposure-corrected flux, the published points shipped beside a notebook,
bokeh figures with the same look, and the "your result vs published" check whose
printed marker the tests look for, and the check of a student's answer in a "your turn"
cell (``answer``). The physics steps stay in the notebooks.
"""
from __future__ import annotations

from pathlib import Path

from .spectrum import flux  # noqa: F401  (mc.flux in the notebooks)

PASSED = "RESULT CHECK PASSED"
FAILED = "RESULT CHECK FAILED"
#: printed by ``answer`` (and ``check``) while a "your turn" scaffold still holds its placeholder
NOT_ANSWERED = "not answered yet"
#: printed by ``answer`` on a right answer, and only then
ANSWER_PASSED = "PASSED"
#: printed by ``answer`` on a wrong answer, with the hint
ANSWER_WRONG = "NOT YET"
#: every check made in this kernel: dicts with quantity, yours, published, low, high, passed
RESULTS: list[dict] = []
#: every "your turn" answer checked in this kernel: dicts with name, passed (None: not answered)
ANSWERS: list[dict] = []

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


def answered(value) -> bool:
    """False while ``value`` is a scaffold's placeholder (``...`` or ``None``)."""
    return value is not ... and value is not None


def _range(expected) -> tuple[float, float]:
    return (expected, expected) if not isinstance(expected, (tuple, list)) else tuple(expected)


def answer(name: str, value, expected, tolerance: float = 0.0, hint: str = "") -> bool | None:
    """Check a student's answer to a "your turn" cell and print the verdict.

    ``expected`` is a number or a range ``(low, high)``; the answer is right within
    ``tolerance`` of it. Prints ``not answered yet`` (returns None) while ``value`` is the
    scaffold's placeholder, the ``hint`` on a wrong answer (returns False: the expected
    value is never shown, so the hint must not give it away either), ``PASSED`` on a
    right one (returns True)."""
    if not answered(value):
        print(f"{name}: {NOT_ANSWERED} -- replace the ... in the cell above and run it again")
        ANSWERS.append({"name": name, "passed": None})
        return None
    low, high = _range(expected)
    try:
        right = bool(low - tolerance <= float(value) <= high + tolerance)
    except (TypeError, ValueError):  # e.g. a list or a word where a number was asked for
        right = False
        hint = f"the answer should be one number. {hint}"
    print(f"{ANSWER_PASSED}: {name}" if right else f"{ANSWER_WRONG}: {name} -- hint: {hint}")
    ANSWERS.append({"name": name, "passed": right})
    return right


def check(quantity: str, yours: float, published, tolerance: float, source: str, unit: str = "",
          against: str = "published") -> bool | None:
    """Compare your result with the published value and print the verdict.

    ``published`` is a number or a range ``(low, high)`` (use ``math.inf`` for a bound);
    the check passes when ``yours`` lies within ``tolerance`` of it. Every notebook
    explains beside the call why its tolerance is what it is. ``against`` names what the
    value is: "published" for a result of the literature, "simulation" for a closure test
    (the data come from the same simulation, so the value is its own input or truth):
    the printout must never call a closure test's reference published. While ``yours`` or the
    tolerance depends on an unanswered "your turn" cell (a placeholder), it says so and
    returns None."""
    if not (answered(yours) and answered(tolerance)):
        print(f"{quantity}: {NOT_ANSWERED} -- finish the 'your turn' cells above first")
        return None
    low, high = _range(published)
    passed = bool(low - tolerance <= yours <= high + tolerance)
    pub = f"{low:g}" if low == high else f"{low:g} .. {high:g}"
    u = f" {unit}" if unit else ""
    print(f"{quantity}\n  your result: {yours:.4g}{u}\n  {against + ':':<13s}{pub}{u}  ({source})\n"
          f"  tolerance:   +-{tolerance:.3g}{u}")
    print(f"{PASSED}: {quantity}" if passed else f"{FAILED}: {quantity} -- look again at the steps above")
    RESULTS.append({"quantity": quantity, "yours": float(yours), "reference": pub, "against": against,
                    "passed": passed})
    return passed


def poisson_upper_limit(observed: int, cl: float = 0.9) -> float:
    """Classical upper limit on a Poisson mean for ``observed`` counts (no background)."""
    from scipy.stats import chi2

    return 0.5 * float(chi2.ppf(cl, 2 * (int(observed) + 1)))


def sec(zenith_deg):
    """1 / cos(zenith) for zenith angles in degrees (the slant-depth factor)."""
    import numpy as np

    return 1.0 / np.cos(np.radians(zenith_deg))


__all__ = ["fetch", "exposure", "flux", "published_points", "figure", "histogram", "check", "answer", "answered",
           "poisson_upper_limit", "sec", "client", "PASSED", "FAILED", "RESULTS",
           "ANSWERS", "NOT_ANSWERED", "ANSWER_PASSED", "ANSWER_WRONG"]
