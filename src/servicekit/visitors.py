"""A user's server logs who else opens it: course staff helping a student
(astrohub.courses' course-staff role), or an admin.

JupyterHub lets them in by their scopes; the student's server is where a visit
happens, so it writes it down, in the server's log (``docker service logs``):
``visitor: tina opened sam's server (GET /user/sam/lab)``. Each visitor's first
request is logged, then one line per visitor every ``REPEAT_SECONDS`` while they
stay, so a long visit is visible without a line per API call.
"""
from __future__ import annotations

import time

from .settings import HubService

REPEAT_SECONDS = 600.0


class VisitorLog:
    """Decides which requests are logged as visits; ``owner`` is the server's user."""

    def __init__(self, owner: str, clock=time.monotonic) -> None:
        self.owner = owner
        self.clock = clock
        self.last: dict[str, float] = {}

    def visit(self, name: str | None) -> bool:
        """True when a request by ``name`` is to be logged."""
        if not name or not self.owner or name == self.owner:
            return False
        now = self.clock()
        if now - self.last.get(name, -REPEAT_SECONDS) < REPEAT_SECONDS:
            return False
        self.last[name] = now
        return True


def _visitor_name(handler) -> str | None:
    # Only a user the request already authenticated: looking one up here would run the
    # login machinery again in the log phase (static files have none).
    user = getattr(handler, "_current_user", None)
    if user is None:
        return None
    return getattr(user, "username", None) or getattr(user, "name", None)


def _jupyter_server_extension_points():
    return [{"module": "servicekit.visitors"}]


def _load_jupyter_server_extension(serverapp):
    visits = VisitorLog(HubService.from_environment().user)
    settings = serverapp.web_app.settings
    previous = settings.get("log_function")

    def log_function(handler):
        if previous is not None:
            previous(handler)
        name = _visitor_name(handler)
        if handler.get_status() < 400 and visits.visit(name):
            request = handler.request
            serverapp.log.warning("visitor: %s opened %s's server (%s %s)", name, visits.owner,
                                  request.method, request.path)

    settings["log_function"] = log_function
