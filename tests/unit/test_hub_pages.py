"""The hub's own pages (spawn pending, error, the OpenID Connect buttons) in the visitor's
language, rendered as JupyterHub renders them: its Jinja loader, astrohub's template folder
and JINJA_OPTIONS, the request reached through the handler's static_url."""

from __future__ import annotations

import os
import re

import jinja2
import pytest
from tornado.httputil import HTTPHeaders, HTTPServerRequest

from astrohub import hublanguage
from astrohub.portal import TEMPLATES


def environment() -> jinja2.Environment:
    from jupyterhub._data import DATA_FILES_PATH

    default = os.path.join(DATA_FILES_PATH, "templates")
    loader = jinja2.ChoiceLoader([jinja2.PrefixLoader({"templates": jinja2.FileSystemLoader([default])}, "/"),
                                  jinja2.FileSystemLoader([str(TEMPLATES), default])])
    return jinja2.Environment(loader=loader, autoescape=True, **hublanguage.JINJA_OPTIONS)


class Handler:
    """What the templates reach of a JupyterHub handler: its static_url and its request."""

    def __init__(self, uri="/hub/spawn-pending/alice", **headers):
        from tornado.httputil import RequestStartLine

        self.request = HTTPServerRequest(start_line=RequestStartLine("GET", uri, "HTTP/1.1"), headers=HTTPHeaders({"Host": "hub.example", **headers}))

    def static_url(self, path, **kw):
        return "/hub/static/" + path


def render(name, handler, **ns):
    namespace = dict(static_url=handler.static_url, base_url="/hub/", prefix="/", user=None, login_url="/hub/login",
                     logout_url="/hub/logout", version_hash="", services=[], parsed_scopes={}, expanded_scopes=set(),
                     xsrf="x", site_name="astroparticle.online", languages={"en": "English", "de": "Deutsch",
                                                                            "ru": "Русский"}, login_providers=[])
    namespace.update(ns)
    return environment().get_template(name).render(**namespace)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class User:
    name = json_escaped_name = "alice"
    admin = False
    url = "/user/alice/"

    class spawner:
        options_form = None


@pytest.mark.parametrize("headers, says", [
    ({"Accept-Language": "de"}, ["Ihr Server startet.", "Ereignisprotokoll", "Server anhalten", "0% abgeschlossen",
                                 "Start Token alice Abmelden"]),
    ({"Cookie": "astrohub_lang=ru"}, ["Ваш сервер запускается.", "Журнал событий", "Остановить сервер", "выполнено: 0%",
                                      "Главная Токен alice Выйти"]),
    ({}, ["Your server is starting up.", "Event log", "Stop server", "0% complete", "Home Token alice Log out"]),
])
def test_the_spawn_pending_page_is_in_the_students_language(headers, says):
    html = render("spawn_pending.html", Handler(**headers), user=User(), spawner=None, progress_url="/p")
    text = visible_text(html)
    assert all(s in text for s in says), text
    # the frame (page.html) too, with the page's language
    lang = "de" if "Accept-Language" in headers else "ru" if headers else "en"
    assert f'<script>document.documentElement.lang = "{lang}";</script>' in html
    # JupyterHub's script finds its elements by these ids
    for element in ("progress-bar", "sr-progress", "progress-message", "progress-log", "stop-server-btn"):
        assert f'id="{element}"' in html


def test_an_error_page_carries_the_switch_in_its_language():
    html = render("error.html", Handler("/hub/error?lang=ru"), status_code=403, status_message="Forbidden",
                  message="", message_html="", extra_error_html="", exception=None)
    assert '<a id="lang-ru" href="?lang=ru" hreflang="ru" lang="ru" aria-current="true">Русский</a>' in html
    assert "Физика космических лучей на открытых данных KASCADE" in html


def test_the_provider_buttons_are_translated_with_the_providers_names():
    providers = [{"key": "kcdc", "name": "KCDC account"}, {"key": "gradlci", "name": "GRADLCI account"}]
    html = render("login.html", Handler("/hub/login", **{"Accept-Language": "de"}), login_providers=providers,
                  authenticator_login_url="/hub/login", login_service="", custom_html="", next="", username="",
                  login_error="", authenticator={"request_otp": False})
    assert "Anmelden mit Ihrem KCDC-Konto" in html and "Anmelden mit Ihrem GRADLCI-Konto" in html
    assert "Sign in" not in visible_text(html)
