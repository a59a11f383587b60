"""The portal's public face on the stack (issue 18, its first part): the home page and the
gallery of the public dashboards are files the edge serves (no hub, no kernel), reached
without an account from the login page, and every public page passes an automated
accessibility check (axe-core: no serious or critical violation), works with the
keyboard and fits a phone's width. In English, German and Russian (issue 15): the
browser's language chooses, the switch changes it and the edge remembers it for the hub's
login page too."""

from __future__ import annotations

import re

import playwright.sync_api as playwright_api
import pytest
import requests

from dashboards import DASHBOARDS

from .conftest import ROOT
from .test_login_browser import ARTIFACTS, CHROMIUM_ARGS

AXE = ROOT / "tests/support/browser/node_modules/axe-core/axe.min.js"
PHONE = {"width": 390, "height": 844}
PUBLIC = ["/", "/portal/dashboards.html", "/hub/login",
          "/portal/de/index.html", "/portal/ru/dashboards.html", "/hub/login?lang=de", "/hub/login?lang=ru"]


@pytest.fixture(scope="module")
def browser(chromium_env):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (it installs the pinned axe-core)")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, env=chromium_env)
        yield b
        b.close()


def test_the_home_page_and_the_gallery_are_the_edges_files(stack):
    for path in ("/", "/portal/dashboards.html", "/portal/portal.css"):
        r = requests.get(stack.local_url + path, timeout=30, allow_redirects=False)
        assert r.status_code == 200, (path, r.status_code)
        # caddy's file server, not the hub: a policy of its own, no hub cookie
        assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "Last-Modified" in r.headers and not r.cookies
    home = requests.get(stack.local_url + "/", timeout=30).text
    assert "<h1 id=\"hero-title\">" in home and 'href="/hub/login"' in home
    gallery = requests.get(stack.local_url + "/portal/dashboards.html", timeout=30).text
    hrefs = re.findall(r'href="/services/dashboards/(voila/render/[^"]+)"', gallery)
    assert sorted(h.rsplit("/", 1)[1] for h in hrefs) == sorted(DASHBOARDS)
    # each card leads to a dashboard the dashboards service offers
    landing = requests.get(stack.local_url + "/services/dashboards/", timeout=60).text
    assert all(href in landing for href in hrefs)
    # the hub's own pages are where they were
    assert requests.get(stack.local_url + "/hub/api/", timeout=30).json()["version"]
    # one rendering per language
    for lang in ("en", "de", "ru"):
        for page in ("index.html", "dashboards.html"):
            r = requests.get(f"{stack.local_url}/portal/{lang}/{page}", timeout=30)
            assert r.status_code == 200 and f'<html lang="{lang}">' in r.content.decode("utf-8"), (lang, page)


@pytest.mark.browser
@pytest.mark.parametrize("path", PUBLIC)
def test_a_public_page_passes_the_accessibility_check_on_a_phone(browser, stack, path):
    # The check is injected as a script of the test's own: the pages' policy allows only theirs.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(stack.local_url + path)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run()).violations
        .filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map(n => n.target.join(" ")).join(", ")}`)""")
    assert violations == [], f"{path}: {violations}"
    # readable on a phone: nothing wider than the screen
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"], path
    page.screenshot(path=str(ARTIFACTS / f"portal-phone{path.replace('/', '-').rstrip('-') or '-home'}.png"), full_page=True)
    context.close()


@pytest.mark.browser
def test_a_visitor_finds_a_dashboard_from_the_login_page_with_the_keyboard(browser, stack):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{stack.local_url}/hub/login")
    page.click("#astro-public a[href='/portal/dashboards.html']")
    page.wait_for_url("**/portal/dashboards.html")
    # Tab from the top: the skip link first, then through the navigation to the first card.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    first = f"/services/dashboards/voila/render/{next(iter(DASHBOARDS))}"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == first:
            break
    else:
        raise AssertionError("the first dashboard's card cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{first}**", timeout=60_000)
    page.close()


@pytest.mark.browser
def test_a_german_browser_gets_german_pages_and_a_switch_to_russian_is_remembered_at_the_login(browser, stack):
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(stack.local_url + "/")
    assert page.get_attribute("html", "lang") == "de"
    assert page.inner_text("#hero-title") == "Kosmische Strahlung mit den Daten echter Detektoren"
    assert page.inner_text("nav[aria-label='Hauptnavigation'] a.button") == "Anmelden"
    page.click("#lang-ru")
    page.wait_for_url("**/portal/ru/index.html")
    assert page.inner_text("#hero-title") == "Космические лучи: данные настоящих детекторов"
    page.click("nav[aria-label='Основная навигация'] >> text=Интерактивные панели")
    page.wait_for_url("**/portal/dashboards.html")
    assert page.inner_text("h1") == "Общедоступные интерактивные панели"
    # the hub reads the edge's cookie: its login page is Russian too, with the switch
    page.goto(stack.local_url + "/hub/login")
    assert page.title() == "astroparticle.online - вход"
    assert page.get_attribute("html", "lang") == "ru"
    assert page.inner_text("label[for='username_input']") == "Имя пользователя:"
    assert page.get_attribute("#login_submit", "value") == "Войти"
    page.click("#lang-de")
    page.wait_for_url("**/hub/login?lang=de")
    assert page.inner_text("label[for='username_input']") == "Benutzername:"
    page.screenshot(path=str(ARTIFACTS / "portal-login-de.png"), full_page=True)
    context.close()
