"""The one way a container reads a secret: from the environment, else from a file (a docker secret)."""

from __future__ import annotations

import os
from typing import Mapping


def secret(name: str, default_file: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """``$NAME``, else the contents of the file ``$NAME_FILE`` names (else ``default_file``),
    stripped; None when neither is there: a missing secret means "not configured" and the
    caller says what that stops."""
    environ = os.environ if environ is None else environ
    if environ.get(name):
        return environ[name]
    path = environ.get(name + "_FILE") or default_file
    if not path:
        return None
    try:
        with open(path) as f:
            return f.read().strip() or None
    except OSError:
        return None


def hub_token() -> str | None:
    """This server's or service's JupyterHub API token (``JUPYTERHUB_API_TOKEN(_FILE)``)."""
    return secret("JUPYTERHUB_API_TOKEN")
