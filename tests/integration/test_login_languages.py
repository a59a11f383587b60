"""The hub's login page in its visitor's language (issue 15), from a real hub configured by
astrohub: ?lang= first, then the cookie astrohub_lang the edge sets, then Accept-Language."""
from __future__ import annotations

import re

import pytest
import requests

from tests.support.hub import ASTROHUB_NATIVE_LOGIN_CONFIG, HubProcess


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = HubProcess(tmp_path_factory.mktemp("login-languages") / "hub", services=[{"name": "ops", "api_token": "0" * 64}])
    h.env.update({"ASTROHUB_AUTHENTICATOR": "native", "ASTROHUB_ADMIN_USERS": "teacher-admin",
                  "ASTROHUB_ADMIN_PASSWORD": "a-long-enough-password"})
    h.extra_config += ASTROHUB_NATIVE_LOGIN_CONFIG
    with h:
        yield h


def login_page(hub, query="", **kw) -> str:
    r = requests.get(hub.url + "hub/login" + query, timeout=30, **kw)
    assert r.status_code == 200, r.text[:500]
    return r.content.decode("utf-8")  # the page says so in its <meta charset>


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_german_browser_gets_the_german_login_page(hub):
    html = login_page(hub, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "<title>astroparticle.online - Anmeldung</title>" in html
    assert '<label for="username_input">Benutzername:</label>' in html and "Passwort:" in html
    assert 'id="login_submit" type="submit" class="btn btn-jupyter form-control" value="Anmelden"' in html
    assert "Physik der kosmischen Strahlung mit offenen KASCADE-Daten" in html
    assert 'document.documentElement.lang = "de"' in html
    assert '<a id="lang-de" href="?lang=de" hreflang="de" lang="de" aria-current="true">Deutsch</a>' in html
    text = visible_text(html)
    for english in ("Sign in", "Username", "Password", "No account?", "Cosmic-ray physics"):
        assert english not in text


def test_the_cookie_of_the_edge_comes_before_the_browser(hub):
    html = login_page(hub, headers={"Accept-Language": "de"}, cookies={"astrohub_lang": "ru"})
    assert "<title>astroparticle.online - вход</title>" in html
    assert "Имя пользователя:" in html and "Пароль:" in html and 'value="Войти"' in html
    assert "Нет учётной записи?" in html and 'document.documentElement.lang = "ru"' in html


def test_the_switch_comes_before_the_cookie_and_english_is_the_default(hub):
    assert "Benutzername:" in login_page(hub, "?lang=de", cookies={"astrohub_lang": "ru"})
    html = login_page(hub, headers={"Accept-Language": "fr-FR,fr"})
    assert "<title>astroparticle.online - sign in</title>" in html and "Username:" in html
    assert all(f'<a id="lang-{code}" href="?lang={code}"' in html for code in ("en", "de", "ru"))


def test_the_translated_form_still_logs_in(hub):
    s = requests.Session()
    s.get(hub.url + "hub/login?lang=ru", timeout=30)
    r = s.post(hub.url + "hub/login?next=%2Fhub%2Ftoken", data={
        "username": "teacher-admin", "password": "a-long-enough-password", "_xsrf": s.cookies.get("_xsrf", "")},
        allow_redirects=False, timeout=30)
    assert r.status_code == 302, (r.status_code, r.text[:300], hub.log()[-2000:])
