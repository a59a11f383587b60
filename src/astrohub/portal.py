"""The portal's public pages: the home page and the gallery of the public dashboards.

Rendered from the settings and the dashboards' catalogue (``dashboards.DASHBOARDS``) at
``astrohub up`` with the templates in ``templates/portal/``, mounted into the edge as
configs and served by it as static files (no hub, no kernel for a page that needs none;
src/astrohub/edge.py routes ``/`` and ``/portal/``). A new page is a template here and
an entry in PAGES.
"""

from __future__ import annotations

from pathlib import Path

from .settings import Settings

SITE_NAME = "astroparticle.online"
#: the hub's own page templates (login, error) and the portal's (portal/)
TEMPLATES = Path(__file__).parent / "templates"

#: file name -> template, as the edge serves them under /portal/ (index.html also at /)
PAGES = {"index.html": "portal/index.html", "dashboards.html": "portal/dashboards.html",
         "portal.css": "portal/portal.css"}
#: where the edge serves them from (its root for /portal/...)
ROOT = "/srv/portal"
LOGIN_URL = "/hub/login"
_LOGIN_KIND = {"native": "the account your teacher gave you", "oidc": "your KCDC or GRADLCI account",
               "kcdc-password": "your KCDC account"}


def config_key(name: str) -> str:
    """The edge's docker config of a page (astrohub.topology)."""
    return "portal_" + name.replace(".", "_")


def mount_path(name: str) -> str:
    return f"{ROOT}/portal/{name}"


def gallery() -> list[dict]:
    """The public dashboards, as the gallery shows them."""
    from dashboards import DASHBOARDS

    return [{"href": f"/services/dashboards/voila/render/{notebook}", **entry._asdict()}
            for notebook, entry in DASHBOARDS.items()]


def render(settings: Settings) -> dict[str, str]:
    """Each page's text."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    context = {"site_name": SITE_NAME, "login_url": LOGIN_URL, "login_kind": _LOGIN_KIND[settings.authenticator],
               "dashboards": gallery(), "forwarded": bool(settings.kcdc_upstream_url)}
    # `page` marks the navigation's current entry.
    return {name: env.get_template(template).render(page=name.removesuffix(".html"), **context)
            for name, template in PAGES.items()}


def write(settings: Settings, folder: Path) -> dict[str, Path]:
    """The pages written into ``folder``, by their config keys."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in render(settings).items():
        path = folder / name
        path.write_text(text)
        out[config_key(name)] = path
    return out
