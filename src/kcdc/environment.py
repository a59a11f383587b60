"""The one place kcdc reads the environment of the notebook (or service) it runs in.

=============================  ==================  ===============================================
variable                       field               meaning (empty or unset: the default)
=============================  ==================  ===============================================
``KCDC_URL``                   ``url``             the data service; default: derived from the hub's
                                                   variables (:func:`kcdc.client.default_url`)
``KCDC_TOKEN``                 ``token``           API token; default ``JUPYTERHUB_API_TOKEN``
``JUPYTERHUB_API_TOKEN``       ``hub_token``       the token the hub gives every user server
``JUPYTERHUB_BASE_URL``        ``hub_base_url``    the hub's base URL (for the derived ``KCDC_URL``)
``JUPYTERHUB_SERVICE_PREFIX``  ``service_prefix``  the server's prefix (``<base>user/<name>/``);
                                                   its part before ``user/`` is the base URL
``JUPYTERHUB_PUBLIC_URL``      ``public_url``      the hub's public URL; default host of the derived
                                                   URL: ``http://127.0.0.1:10101``
``KCDC_CACHE_DIR``             ``cache_dir``       where downloads are kept; default ``~/.cache/kcdc``
``KCDC_PORTAL_URL``            ``portal_url``      the KCDC web portal; set without ``KCDC_URL``:
                                                   ``kcdc.Client()`` talks to the portal
``KCDC_USERNAME``              ``username``        the KCDC account at the portal
``KCDC_PASSWORD``              ``password``        its password ...
``KCDC_PASSWORD_FILE``         ``password_file``   ... or the file holding it (default
                                                   ``/run/secrets/kcdc_password`` if it exists)
``KCDC_SESSION``               ``session``         a portal session the hub handed over (no login)
``KCDC_PORTAL_STATES``         ``portal_states``   ``word=state,...``: review-page words where the
                                                   live portal differs (:mod:`kcdc.portal`)
``KCDC_PORTAL_SHOPS``          ``portal_shops``    ``shop id=URL prefix,...``: the portal's data shops
=============================  ==================  ===============================================

:meth:`Environment.read` takes them at the moment of a call (a client's start, a login, a
page read), so a notebook that sets one before it makes a client is heard.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


def _variable(name: str, *, secret: bool = False) -> str:
    # secrets stay out of the repr (a notebook cell may print the environment)
    return dataclasses.field(default="", repr=not secret, metadata={"variable": name})


@dataclass(frozen=True)
class Environment:
    url: str = _variable("KCDC_URL")
    token: str = _variable("KCDC_TOKEN", secret=True)
    hub_token: str = _variable("JUPYTERHUB_API_TOKEN", secret=True)
    hub_base_url: str = _variable("JUPYTERHUB_BASE_URL")
    service_prefix: str = _variable("JUPYTERHUB_SERVICE_PREFIX")
    public_url: str = _variable("JUPYTERHUB_PUBLIC_URL")
    cache_dir: str = _variable("KCDC_CACHE_DIR")
    portal_url: str = _variable("KCDC_PORTAL_URL")
    username: str = _variable("KCDC_USERNAME")
    password: str = _variable("KCDC_PASSWORD", secret=True)
    password_file: str = _variable("KCDC_PASSWORD_FILE")
    session: str = _variable("KCDC_SESSION", secret=True)
    portal_states: str = _variable("KCDC_PORTAL_STATES")
    portal_shops: str = _variable("KCDC_PORTAL_SHOPS")

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The variables of ``environ`` (default: this process's environment), read once."""
        environ = os.environ if environ is None else environ
        return cls(**{f.name: environ.get(f.metadata["variable"]) or "" for f in dataclasses.fields(cls)})

    def cache_path(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path.home() / ".cache" / "kcdc"
