"""The public dashboards of astroparticle.online: standalone Voila, no login.

* ``notebooks/``: one notebook per dashboard (a title and one call into this package);
* :mod:`dashboards.data`: the data shops through the datacentre as the hub service
  ``dashboards``, cached on disk and in the kernel so a visit costs no data request;
* :mod:`dashboards.view`: bokeh figures drawn in Voila without any Jupyter extension;
* one module per dashboard (:mod:`~dashboards.spectrum`, :mod:`~dashboards.events`,
  :mod:`~dashboards.composition`, :mod:`~dashboards.directions`, :mod:`~dashboards.explorer`);
* :mod:`dashboards.app`: the Voila server with only the routes a visitor needs.
"""

#: notebook file -> (title, one-line description) for the landing page, in its order.
DASHBOARDS = {
    "spectrum.ipynb": ("Cosmic-ray energy spectrum",
                       "KASCADE, KASCADE-Grande and Tunka-133 side by side against the published points: find the knee."),
    "event-display.ipynb": ("Air-shower event display",
                            "One shower on the 252 KASCADE stations: energy deposits and arrival times."),
    "composition.ipynb": ("Light or heavy? The Ne-Nmu plane",
                          "Electrons against muons: protons and iron nuclei make different showers."),
    "arrival-directions.ipynb": ("Where do cosmic rays come from?",
                                 "Arrival directions on the sky: zenith and azimuth of every shower."),
    "data-explorer.ipynb": ("Data explorer",
                            "Pick a data shop, columns and cuts: scatter plot, histogram or heat map, no code."),
}
