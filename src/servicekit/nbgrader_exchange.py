"""nbgrader's exchange inside a user's server and a course formgrader.

Loaded by /etc/jupyter/nbgrader_config.py of the singleuser and formgrader images.
The exchange is ngshare behind astrohub's gate (``servicekit.exchange_gate``),
reached over the stack's network at ``$ASTROHUB_EXCHANGE_URL``. Who submits or
fetches feedback is decided by the exchange from this server's hub token; the
name nbgrader puts into its requests is asked from the hub too, not taken from
``$JUPYTERHUB_USER``, which a student can change in a terminal.
"""

from __future__ import annotations

import collections
import json
import os
import types
import urllib.request

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .settings import HubService
from .tokens import hub_token

DEFAULT_URL = "http://ngshare:10101/services/ngshare"


def api_token() -> str | None:
    """This server's hub token: in the environment of a user's server; read from its
    secret file in a formgrader, which keeps it out of the environment its kernels inherit."""
    return hub_token()


def _give_ngshare_the_token(token: str) -> None:
    """ngshare_exchange takes the token from ``os.environ``: show it one with the token,
    without putting the token into the process's real environment."""
    from ngshare_exchange import course_management, exchange

    view = types.SimpleNamespace(**vars(os))
    view.environ = collections.ChainMap({"JUPYTERHUB_API_TOKEN": token}, os.environ)
    for module in (exchange, course_management):
        module.os = view


def hub_identity(timeout: float = 10, hub: HubService | None = None) -> str | None:
    """The hub's name for this server's token (a user, or a formgrader service)."""
    api, token = (hub or HubService.from_environment()).api_url, api_token()
    if not (api and token):
        return None
    req = urllib.request.Request(api.rstrip("/") + "/user", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())["name"]
    except (OSError, ValueError, KeyError):
        return None


class HideHiddenTestTracebacks(Preprocessor):
    """Feedback: a failing cell with hidden tests shows only the error's name.

    ClearHiddenTests removes the hidden lines from the cell's source, but the
    traceback of a failed hidden assertion quotes the line (and the reference
    value it compares with); here it becomes one line without them.
    """

    enabled = Bool(True)  # nbconvert runs only enabled preprocessors

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type != "code" or "BEGIN HIDDEN TESTS" not in cell.source:
                continue
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["evalue"] = "a test of this cell failed (hidden tests are not shown)"
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out['evalue']}"]
        return nb, resources


def configure(c, url: str | None = None) -> None:
    """Point nbgrader's exchange at ngshare and take the user's name from the hub."""
    hub = HubService.from_environment()
    name = hub_identity(hub=hub)
    # ngshare_exchange reads $JUPYTERHUB_USER or $USER when imported; a formgrader
    # service has neither.
    os.environ.setdefault("USER", name or "jovyan")
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades
    from ngshare_exchange import configureExchange
    from ngshare_exchange.exchange import Exchange

    configureExchange(c, url or hub.exchange_url or DEFAULT_URL)
    token = api_token()
    if token and "JUPYTERHUB_API_TOKEN" not in os.environ:
        _give_ngshare_the_token(token)
    if name:
        Exchange.username = name
    # Hidden tests stay out of the feedback a student gets back.
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor,
                                        HideHiddenTestTracebacks, ClearHiddenTests]
