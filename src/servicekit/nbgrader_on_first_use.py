"""nbgrader's student server extensions, loaded when a student first uses them.

nbgrader's assignment list (fetch, submit) and validate extensions import all of
nbgrader (its gradebook database with SQLAlchemy, pkg_resources, rapidfuzz):
about 0.4 of a student's server start of 1 CPU-s, paid before the server answers,
by every student of a class starting at once, for a tab most open minutes later.
A student's server loads this extension instead (servicekit.server_roles): it
routes nbgrader's URLs to a router that loads the two extensions at the first
request to one of them, then lets nbgrader serve that request.
"""

from __future__ import annotations

import importlib

from jupyter_server.utils import url_path_join
from tornado import web
from tornado.routing import Router

from .server_roles import NBGRADER_STUDENT

# The first path segment of every URL they serve (under the server's base URL).
ROUTES = ("assignments", "courses", "nbgrader_version")


class OnFirstUse(Router):
    """Loads NBGRADER_STUDENT at its first request; after that, routes nothing itself.

    nbgrader's handlers are added behind this router's rule, so once they are
    there a request falls through to them.
    """

    def __init__(self, serverapp):
        self.serverapp = serverapp
        self.loaded = False

    def find_handler(self, request, **kwargs):
        if self.loaded:
            return None
        for name in NBGRADER_STUDENT:
            importlib.import_module(name).load_jupyter_server_extension(self.serverapp)
        self.loaded = True
        self.serverapp.log.info("nbgrader's student extensions loaded on first use (%s)", request.path)
        # Routed again from the start: this rule now passes, nbgrader's answer.
        return self.serverapp.web_app.default_router.find_handler(request)


def route_pattern(base_url: str) -> str:
    return url_path_join(base_url, f"({'|'.join(ROUTES)})(/.*)?$")


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp):
    # Tornado's own add_handlers: the server's checks that every handler method
    # needs a login apply to handler classes; the router answers no request itself,
    # nbgrader's handlers (which do check) answer them.
    web.Application.add_handlers(serverapp.web_app, ".*$", [(route_pattern(serverapp.base_url), OnFirstUse(serverapp))])
