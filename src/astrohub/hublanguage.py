"""The hub's own pages (login, error, spawn pending) in their visitor's language.

JupyterHub builds its Jinja environments itself and passes templates no request; this
extension (``c.JupyterHub.jinja_environment_options``) gives them astrohub's catalogues
and finds the request through the handler behind ``static_url``, a bound method of the
handler that JupyterHub puts into every page's namespace (jupyterhub.handlers.base).
"""

from __future__ import annotations

from jinja2.ext import Extension

from . import i18n


def request_language(context) -> str:
    """The language of the request a page is rendered for."""
    return handler_language(getattr(context.get("static_url"), "__self__", None))


def handler_language(handler) -> str:
    """``?lang=``, else the cookie ``astrohub_lang``, else ``Accept-Language``, else English
    (no request: English)."""
    request = getattr(handler, "request", None)
    if request is None:
        return i18n.DEFAULT
    query = request.query_arguments.get(i18n.QUERY, [b""])[0].decode("utf-8", "replace")
    cookie = request.cookies.get(i18n.COOKIE)
    return i18n.negotiate(query, cookie.value if cookie else None, request.headers.get("Accept-Language"))


class HubLanguage(Extension):
    """Listed after i18n.JINJA_EXTENSION, whose gettext it installs (config: JINJA_OPTIONS)."""

    def __init__(self, environment):
        super().__init__(environment)
        i18n.install(environment, request_language)


#: c.JupyterHub.jinja_environment_options
JINJA_OPTIONS = {"extensions": [i18n.JINJA_EXTENSION, f"{__name__}.HubLanguage"]}
