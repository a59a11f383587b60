"""The dashboards server: standalone Voila with only the routes a visitor needs.

``python -m dashboards`` serves the notebooks in ``dashboards/notebooks`` at
``DASHBOARDS_BASE_URL`` (``/services/dashboards/``, the hub service's proxy route).
Standalone Voila refuses ``execute_request`` from the browser (its kernel websocket
lets only comm and info messages through); on top of that this server drops the
directory tree, the contents API and the file handler, serves a static landing page
(no kernel per visit) and BokehJS itself (no CDN). Settings: :mod:`dashboards.settings`
(``DASHBOARDS_*``; the reference is docs/configuration.md).
"""
from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

import tornado.web
from traitlets import Bool, Float, Int
from traitlets.config import Config
from voila.app import Voila
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from servicekit.settings import SettingsError

from . import DASHBOARDS
from .admission import Admission
from .culling import ClosedPageCuller
from .settings import DashboardsSettings
from .settings import load as load_settings
from .settings import tell_kernels_ws_base_url
from .visits import AdmittedVoilaHandler, OwnKernelHandler, OwnKernelWebsocket, OwnShutdownHandler

NOTEBOOKS = Path(__file__).with_name("notebooks")
# Only the widgets manager (ipywidgets' and Voila's own for ipywidgets 8): the environment
# also holds JupyterLab's and nbgrader's extensions, which fail to load in Voila's page.
EXTENSIONS = ["@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8"]
# Routes of Voila's directory mode that a public server does not need: the tree
# (lists files), the contents API, the file handler.
DROPPED = ("/voila/tree", "/voila/api/contents", "/voila/files/")


# Routes whose stock handler is replaced: the page goes through the line, kernels answer their owner.
REPLACED = {"/voila/render/(.*)": AdmittedVoilaHandler, "/api/kernels/": OwnKernelHandler,
            "/voila/api/shutdown/": OwnShutdownHandler}


def voila_config(settings: DashboardsSettings | None = None, **changes) -> Config:
    """The Voila configuration of the public server (a pure function, tested alone):
    ``settings`` (default: every default) with ``changes``."""
    s = replace(settings or DashboardsSettings(), **changes)
    if not (s.base_url.startswith("/") and s.base_url.endswith("/")):
        raise ValueError(f"DASHBOARDS_BASE_URL must start and end with '/', e.g. {DashboardsSettings().base_url} (got {s.base_url!r})")
    c = Config()
    c.Voila.ip = "0.0.0.0"
    c.Voila.port = s.port
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.base_url = s.base_url
    c.Voila.server_url = s.base_url
    v = c.VoilaConfiguration
    # A visitor's URL must not pick another template or theme (?template=, ?theme=).
    v.allow_template_override = "NO"
    v.allow_theme_override = "NO"
    v.show_tracebacks = False
    v.strip_sources = True
    v.extension_allowlist = EXTENSIONS
    v.preheat_kernel = s.preheat
    v.default_pool_size = s.pool_size if s.preheat else 0
    v.file_allowlist = []
    # Idle kernels go (Voila never culls its preheated pool); connected ones too: a tab
    # left open on a phone must not hold memory for ever.
    # Kernels talk over unix sockets, not loopback ports: a TCP port is picked free by the
    # server and bound later by the kernel, and with kernels starting (and fetching data)
    # at once another connection can take it between the two. That kernel dies with
    # "Address already in use" while its pool still offers it, and its visitor waits 60 s
    # for a page that fails (seen in the e2e dashboards tests).
    c.KernelManager.transport = "ipc"
    k = c.MappingKernelManager
    k.cull_idle_timeout = s.cull_idle_seconds
    k.cull_interval = max(10, min(60, s.cull_idle_seconds // 2))
    k.cull_connected = True
    k.cull_busy = False
    d = c.DashboardsVoila
    d.cull_closed_seconds = s.cull_closed_seconds
    d.cull_unopened_seconds = s.cull_unopened_seconds
    visitor_kernels = s.max_kernels - len(DASHBOARDS) * v.default_pool_size
    if visitor_kernels < 1:
        raise ValueError(f"DASHBOARDS_MAX_KERNELS={s.max_kernels} leaves no kernel for visitors beside "
                         f"{len(DASHBOARDS)} x {v.default_pool_size} preheated ones: raise it or lower DASHBOARDS_POOL_SIZE")
    d.max_visitor_kernels = visitor_kernels
    d.kernels_per_client = s.kernels_per_client
    d.kernels_per_address = s.kernels_per_address
    d.queue_length = s.queue_length
    d.renders_at_once = s.renders_at_once
    # Visitors arrive through the https edge: the anonymous visitor cookie says so (and
    # the line's ticket cookie). Only a direct http connection (tests) turns this off.
    c.IdentityProvider.secure_cookie = s.secure_cookies
    d.secure_cookies = s.secure_cookies
    return c


def landing_page(base_url: str) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(base_url)}voila/render/{html.escape(nb)}"><b>{html.escape(title)}</b></a>'
        f"<br><span>{html.escape(text)}</span></li>"
        for nb, (title, text, *_) in DASHBOARDS.items())
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
    cull_unopened_seconds = Float(300.0, help="stop the kernel of a page that never opened its websocket "
                                  "after this many seconds").tag(config=True)
    max_visitor_kernels = Int(17, help="kernels visitors hold at once (pools not counted)").tag(config=True)
    kernels_per_client = Int(3, help="kernels one visitor cookie holds at once").tag(config=True)
    kernels_per_address = Int(30, help="kernels all visitors behind one address hold at once").tag(config=True)
    queue_length = Int(200, help="visitors waiting in line; beyond them: 503").tag(config=True)
    renders_at_once = Int(2, help="pages rendered (kernels started) at the same time").tag(config=True)
    secure_cookies = Bool(True, help="visitor and ticket cookies only over https").tag(config=True)

    def init_handlers(self):
        from bokeh.util.paths import static_path

        # The kernel manager exists by now, the loop is not yet running.
        culler = ClosedPageCuller(self.kernel_manager, self.cull_closed_seconds, self.cull_unopened_seconds)
        if self.cull_closed_seconds > 0:
            self._closed_culler = culler.start()
        self.app.settings["dashboards_culler"] = culler
        self.app.settings["dashboards_secure_cookies"] = self.secure_cookies
        self.app.settings["dashboards_admission"] = Admission(
            self.max_visitor_kernels, per_client=self.kernels_per_client, per_address=self.kernels_per_address,
            queue_length=self.queue_length, renders_at_once=self.renders_at_once)

        base = self.server_url
        handlers = [self._replaced(base, h) for h in super().init_handlers()
                    if not any(h[0].startswith(base.rstrip("/") + d) for d in DROPPED) and h[0] != base]
        return [
            (base, LandingHandler, {"page": landing_page(self.base_url)}),
            # BokehJS for dashboards.view (Resources mode "server"); tornado refuses paths outside.
            (base + r"bokehjs/static/(.*)", tornado.web.StaticFileHandler, {"path": static_path()}),
            *handlers,
        ]


    @staticmethod
    def _replaced(base: str, handler: tuple) -> tuple:
        pattern, klass, *rest = handler
        if klass is TemplateStaticFileHandler:
            return (pattern, TemplateStatic, *rest)
        if klass is VoilaKernelWebsocketHandler:
            return (pattern, OwnKernelWebsocket, *rest)
        for route, replacement in REPLACED.items():
            if pattern.startswith(base.rstrip("/") + route):
                return (pattern, replacement, *rest)
        return handler


def main(argv: list[str] | None = None) -> None:
    try:
        config = voila_config(load_settings())
    except (SettingsError, ValueError) as e:
        raise SystemExit(f"dashboards: {e}") from None
    tell_kernels_ws_base_url(config.Voila.server_url)
    DashboardsVoila.launch_instance(argv=[*(argv or []), str(NOTEBOOKS)], config=config)
