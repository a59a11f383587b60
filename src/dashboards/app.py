"""The dashboards server: standalone Voila with only the routes a visitor needs.

``python -m dashboards`` serves the notebooks in ``dashboards/notebooks`` at
``DASHBOARDS_BASE_URL`` (``/services/dashboards/``, the hub service's proxy route).
Standalone Voila refuses ``execute_request`` from the browser (its kernel websocket
lets only comm and info messages through); on top of that this server drops the
directory tree, the contents API and the file handler, serves a static landing page
(no kernel per visit) and BokehJS itself (no CDN). Settings (environment):

=============================  ============================  ===========================================
variable                       default                       meaning
=============================  ============================  ===========================================
DASHBOARDS_BASE_URL            /services/dashboards/         URL prefix (the proxy forwards it unchanged)
DASHBOARDS_PORT                8866                          port to listen on
DASHBOARDS_PREHEAT             1                             0: every visit starts and runs a kernel
DASHBOARDS_POOL_SIZE           1                             preheated kernels per dashboard
DASHBOARDS_CULL_IDLE_SECONDS   900                           a visitor's kernel idle this long is stopped
DASHBOARDS_CULL_CLOSED_SECONDS 30                            ... and after this long once its page is closed
DASHBOARDS_TOKEN_FILE          /run/secrets/astrohub_...     the ``dashboards`` service's hub token
KCDC_URL                       (kcdc default)                the datacentre, e.g. http://datacentre:10101/...
DASHBOARDS_CACHE_DIR           $TMP/dashboards-cache         selections shared by all kernels
=============================  ============================  ===========================================
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import tornado.web
from traitlets import Float
from traitlets.config import Config
from voila.app import Voila
from voila.static_file_handler import TemplateStaticFileHandler

from . import DASHBOARDS
from .culling import start_culling_closed

NOTEBOOKS = Path(__file__).with_name("notebooks")
DEFAULT_BASE_URL = "/services/dashboards/"
# Only the widgets manager (ipywidgets' and Voila's own for ipywidgets 8): the environment
# also holds JupyterLab's and nbgrader's extensions, which fail to load in Voila's page.
EXTENSIONS = ["@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8"]
# Routes of Voila's directory mode that a public server does not need: the tree
# (lists files), the contents API, the file handler.
DROPPED = ("/voila/tree", "/voila/api/contents", "/voila/files/")


def voila_config(base_url: str = DEFAULT_BASE_URL, port: int = 8866, preheat: bool = True, pool_size: int = 1,
                 cull_idle_seconds: int = 900, cull_closed_seconds: float = 30.0) -> Config:
    """The Voila configuration of the public server (a pure function, tested alone)."""
    if not (base_url.startswith("/") and base_url.endswith("/")):
        raise ValueError(f"DASHBOARDS_BASE_URL must start and end with '/', e.g. {DEFAULT_BASE_URL} (got {base_url!r})")
    c = Config()
    c.Voila.ip = "0.0.0.0"
    c.Voila.port = port
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.base_url = base_url
    c.Voila.server_url = base_url
    v = c.VoilaConfiguration
    # A visitor's URL must not pick another template or theme (?template=, ?theme=).
    v.allow_template_override = "NO"
    v.allow_theme_override = "NO"
    v.show_tracebacks = False
    v.strip_sources = True
    v.extension_allowlist = EXTENSIONS
    v.preheat_kernel = preheat
    v.default_pool_size = pool_size if preheat else 0
    v.file_allowlist = []
    # Idle kernels go (Voila never culls its preheated pool); connected ones too: a tab
    # left open on a phone must not hold memory for ever.
    k = c.MappingKernelManager
    k.cull_idle_timeout = cull_idle_seconds
    k.cull_interval = max(10, min(60, cull_idle_seconds // 2))
    k.cull_connected = True
    k.cull_busy = False
    c.DashboardsVoila.cull_closed_seconds = cull_closed_seconds
    # Visitors arrive through the https edge: the anonymous visitor cookie says so.
    c.IdentityProvider.secure_cookie = True
    return c


def landing_page(base_url: str) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(base_url)}voila/render/{html.escape(nb)}"><b>{html.escape(title)}</b></a>'
        f"<br><span>{html.escape(text)}</span></li>"
        for nb, (title, text) in DASHBOARDS.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cosmic-ray dashboards - astroparticle.online</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; line-height: 1.4; }}
li {{ margin: 0 0 1rem 0; }} ul {{ padding-left: 1.2rem; }} a {{ font-size: 1.1rem; }}
span, footer {{ color: #444; }}
</style></head>
<body>
<h1>Cosmic-ray dashboards</h1>
<p>Explore air showers recorded by cosmic-ray detectors: no account, no code.</p>
<ul>
{items}
</ul>
<footer>The events are <b>simulated</b> (showersim) in the layout of the KASCADE Cosmic-ray Data Centre;
published points: the sources named in each plot's legend.</footer>
</body></html>"""


class LandingHandler(tornado.web.RequestHandler):
    def initialize(self, page: str) -> None:
        self.page = page

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(self.page)


class TemplateStatic(TemplateStaticFileHandler):
    """Voila's template files, answering 404 (not 500) to a path that is not
    ``<template>/static/<file>``, such as ``../../app.py``: Voila asserts the shape."""

    def parse_url_path(self, path):
        parts = path.split("/", 2)
        if len(parts) < 3 or parts[1] != "static" or ".." in path.split("/"):
            raise tornado.web.HTTPError(404)
        return super().parse_url_path(path)


class DashboardsVoila(Voila):
    """Voila in directory mode minus the tree, contents and files routes."""

    cull_closed_seconds = Float(30.0, help="stop the kernel of a closed page after this many seconds "
                                "(0: only the idle culler)").tag(config=True)

    def init_handlers(self):
        from bokeh.util.paths import static_path

        if self.cull_closed_seconds > 0:  # the kernel manager exists by now, the loop not yet running
            self._closed_culler = start_culling_closed(self.kernel_manager, self.cull_closed_seconds)

        base = self.server_url
        handlers = [(h[0], TemplateStatic, *h[2:]) if h[1] is TemplateStaticFileHandler else h
                    for h in super().init_handlers()
                    if not any(h[0].startswith(base.rstrip("/") + d) for d in DROPPED) and h[0] != base]
        return [
            (base, LandingHandler, {"page": landing_page(self.base_url)}),
            # BokehJS for dashboards.view (Resources mode "server"); tornado refuses paths outside.
            (base + r"bokehjs/static/(.*)", tornado.web.StaticFileHandler, {"path": static_path()}),
            *handlers,
        ]


def main(argv: list[str] | None = None) -> None:
    env = os.environ
    config = voila_config(
        base_url=env.get("DASHBOARDS_BASE_URL", DEFAULT_BASE_URL),
        port=int(env.get("DASHBOARDS_PORT", "8866")),
        preheat=env.get("DASHBOARDS_PREHEAT", "1") not in ("0", "false", "no"),
        pool_size=int(env.get("DASHBOARDS_POOL_SIZE", "1")),
        cull_idle_seconds=int(env.get("DASHBOARDS_CULL_IDLE_SECONDS", "900")),
        cull_closed_seconds=float(env.get("DASHBOARDS_CULL_CLOSED_SECONDS", "30")),
    )
    # Preheated kernels ask Voila for the visitor's request on this path (voila.utils.wait_for_request).
    os.environ.setdefault("VOILA_WS_BASE_URL", config.Voila.server_url)
    DashboardsVoila.launch_instance(argv=[*(argv or []), str(NOTEBOOKS)], config=config)
