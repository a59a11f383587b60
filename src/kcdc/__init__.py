"""kcdc: request open KASCADE / KCDC data from a notebook.

    >>> import kcdc
    >>> client = kcdc.Client()                      # token and URL from the environment
    >>> client.datashops()                           # what is there
    >>> req = client.request("kascade-sim", ["E", "Ze", "Ne", "Nmu"],
    ...                      cuts=[("E", ">", 15.5), ("Ze", "between", (0, 18))],
    ...                      format="hdf5")
    >>> req.wait()                                   # progress bar while it runs
    >>> df = req.to_pandas()                         # downloads (once; cached) and reads
    >>> df = kcdc.read("request.zip")                # any file KCDC delivers

The KCDC portal itself (its own accounts, no tokens): ``kcdc.Client(portal=True)`` with
``KCDC_PORTAL_URL``, ``KCDC_USERNAME`` and the password from ``KCDC_PASSWORD``, the file
``KCDC_PASSWORD_FILE`` or a prompt (or the session the hub hands over after a KCDC-password
login, ``KCDC_SESSION``); the same calls and exceptions (:mod:`kcdc.portal`).

Errors are subclasses of :class:`kcdc.KCDCError` (``RequestFailed``, ``RequestExpired``,
``NotYourRequest``, ``LimitExceeded``, ``ServiceUnavailable``, ``InvalidRequest``,
``AuthenticationError``); each message says what to do.

Importing kcdc is light: requests, tqdm, pandas and the file readers are loaded
only when used. File layouts are in :mod:`kcdc.formats`.
"""
from .errors import (AuthenticationError, InvalidRequest, KCDCError, LimitExceeded, NotYourRequest,
                     RequestExpired, RequestFailed, ServiceUnavailable)

from .client import Client, Request, default_url
from . import portal  # noqa: F401,E402  (registers Client(portal=True))

__version__ = "1.0.0"

__all__ = ["read", "Client", "Request", "KCDCError", "InvalidRequest", "AuthenticationError", "NotYourRequest",
           "LimitExceeded", "RequestFailed", "RequestExpired", "ServiceUnavailable", "default_url"]


def read(path):
    """Open any KCDC delivery (request.zip or its folder, the older single table, events.h5,
    events.root, this hub's Parquet/CSV) as one DataFrame: see :func:`kcdc.formats.read_delivery`."""
    from .formats import read_delivery

    return read_delivery(path)
