"""The portal's public pages: the home page and the gallery of the public dashboards.

Rendered from the settings and the dashboards' catalogue (``dashboards.DASHBOARDS``) at
``astrohub up`` with the templates in ``templates/portal/``, once per language
(``/portal/<lang>/<page>.html``, astrohub.i18n), mounted into the edge as configs and
served by it as static files (no hub, no kernel for a page that needs none;
src/astrohub/edge.py routes ``/`` and ``/portal/`` to the visitor's language). A new page
is a template here and an entry in TEMPLATES_OF.
"""

from __future__ import annotations

from pathlib import Path

from . import i18n
from .settings import Settings

SITE_NAME = "astroparticle.online"
#: the hub's own page templates (login, error) and the portal's (portal/)
TEMPLATES = Path(__file__).parent / "templates"

#: page -> template; each is rendered per language as <lang>/<page>
TEMPLATES_OF = {"index.html": "portal/index.html", "dashboards.html": "portal/dashboards.html"}
#: file -> template, as the edge serves them under /portal/ (one style sheet for all languages)
PAGES = {**{f"{lang}/{page}": template for lang in i18n.LANGUAGES for page, template in TEMPLATES_OF.items()},
         "portal.css": "portal/portal.css"}
#: where the edge serves them from (its root for /portal/...)
ROOT = "/srv/portal"
LOGIN_URL = "/hub/login"
_ = i18n.mark
_LOGIN_KIND = {"native": _("the account your teacher gave you"), "oidc": _("your KCDC or GRADLCI account"),
               "kcdc-password": _("your KCDC account")}


def config_key(name: str) -> str:
    """The edge's docker config of a page (astrohub.topology)."""
    return "portal_" + name.replace(".", "_").replace("/", "_")


def mount_path(name: str) -> str:
    return f"{ROOT}/portal/{name}"


def gallery(lang: str = i18n.DEFAULT) -> list[dict]:
    """The public dashboards, as the gallery shows them in ``lang``."""
    from dashboards import DASHBOARDS

    def text(value):
        return i18n.gettext_(lang, value) if isinstance(value, str) else value

    return [{"href": f"/services/dashboards/voila/render/{notebook}",
             **{key: text(value) for key, value in entry._asdict().items()}}
            for notebook, entry in DASHBOARDS.items()]


def render(settings: Settings) -> dict[str, str]:
    """Each file's text, by its name under /portal/."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             extensions=[i18n.JINJA_EXTENSION])
    i18n.install(env, lambda context: context["lang"])
    out = {}
    for name, template in PAGES.items():
        lang, _slash, page = name.rpartition("/")
        lang = lang or i18n.DEFAULT
        context = {"site_name": SITE_NAME, "login_url": LOGIN_URL, "lang": lang, "languages": i18n.switch(lang),
                   "login_kind": i18n.gettext_(lang, _LOGIN_KIND[settings.authenticator]),
                   "dashboards": gallery(lang), "forwarded": bool(settings.kcdc_upstream_url)}
        # `page` marks the navigation's current entry.
        out[name] = env.get_template(template).render(page=page.removesuffix(".html"), **context)
    return out


def write(settings: Settings, folder: Path) -> dict[str, Path]:
    """The pages written into ``folder``, by their config keys."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in render(settings).items():
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out[config_key(name)] = path
    return out
