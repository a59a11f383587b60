"""The public dashboards of astroparticle.online: standalone Voila, no login.

* ``notebooks/``: one notebook per dashboard (a title and one call into this package);
* :mod:`dashboards.data`: the data shops through the datacentre as the hub service
  ``dashboards``, cached on disk and in the kernel so a visit costs no data request;
* :mod:`dashboards.view`: bokeh figures drawn in Voila without any Jupyter extension;
* one module per dashboard (:mod:`~dashboards.spectrum`, :mod:`~dashboards.events`,
  :mod:`~dashboards.composition`, :mod:`~dashboards.directions`, :mod:`~dashboards.explorer`);
* :mod:`dashboards.app`: the Voila server with only the routes a visitor needs.
"""

from typing import NamedTuple


class Dashboard(NamedTuple):
    """What the landing page and the portal's gallery say of a dashboard."""

    title: str
    question: str  # one line: what a visitor finds out
    level: str  # who it is for
    minutes: int  # time a visitor spends with it


#: notebook file -> its entry, in the landing page's and the gallery's order.
DASHBOARDS = {
    "spectrum.ipynb": Dashboard(
        "Cosmic-ray energy spectrum",
        "KASCADE, KASCADE-Grande and Tunka-133 side by side against the published points: find the knee.",
        "secondary school and up", 10),
    "event-display.ipynb": Dashboard(
        "Air-shower event display",
        "One shower on the 252 KASCADE stations: energy deposits and arrival times.", "everyone", 5),
    "composition.ipynb": Dashboard(
        "Light or heavy? The Ne-Nmu plane",
        "Electrons against muons: protons and iron nuclei make different showers.", "upper secondary and up", 10),
    "arrival-directions.ipynb": Dashboard(
        "Where do cosmic rays come from?",
        "Arrival directions on the sky: zenith and azimuth of every shower.", "everyone", 5),
    "data-explorer.ipynb": Dashboard(
        "Data explorer",
        "Pick a data shop, columns and cuts: scatter plot, histogram or heat map, no code.", "university", 15),
}
