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


def _(text: str) -> str:
    """Marks a text for translation (extracted into astrohub's catalogues, babel.cfg):
    the portal's gallery shows it in the visitor's language."""
    return text


#: notebook file -> its entry, in the landing page's and the gallery's order.
DASHBOARDS = {
    "spectrum.ipynb": Dashboard(
        _("Cosmic-ray energy spectrum"),
        _("KASCADE, KASCADE-Grande and Tunka-133 side by side against the published points: find the knee."),
        _("secondary school and up"), 10),
    "event-display.ipynb": Dashboard(
        _("Air-shower event display"),
        _("One shower on the 252 KASCADE stations: energy deposits and arrival times."), _("everyone"), 5),
    "composition.ipynb": Dashboard(
        _("Light or heavy? The Ne-Nmu plane"),
        _("Electrons against muons: protons and iron nuclei make different showers."), _("upper secondary and up"), 10),
    "arrival-directions.ipynb": Dashboard(
        _("Where do cosmic rays come from?"),
        _("Arrival directions on the sky: zenith and azimuth of every shower."), _("everyone"), 5),
    "data-explorer.ipynb": Dashboard(
        _("Data explorer"),
        _("Pick a data shop, columns and cuts: scatter plot, histogram or heat map, no code."), _("university"), 15),
}
