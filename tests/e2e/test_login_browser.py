"""Logging in with a real browser (Playwright driving Debian's chromium).

* On the e2e stack (real Swarm, the embedded default): the branded login page,
  and the first admin's native login landing in JupyterLab in a user container.
* On a loopback hub with both test OpenID Connect providers: the login page shows
  both buttons, and a teacher's login through the KCDC button (provider form ->
  callback) ends on the hub's home page.

Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tests.support, as the integration conftest does
    sys.path.insert(0, str(ROOT))

from tests.support.oidc.loginhub import PASSWORDS, login_hub  # noqa: E402

import playwright.sync_api as playwright_api  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser(chromium_env):
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, env=chromium_env)
        yield b
        b.close()


@pytest.mark.browser
def test_native_login_lands_in_jupyterlab(browser, stack):
    admin = stack.settings.admin_users[0]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{stack.local_url}/hub/login")
    assert page.locator("#astro-site-name").inner_text() == "astroparticle.online"
    page.screenshot(path=str(ARTIFACTS / "login-native.png"), full_page=True)
    page.fill("#username_input", admin)
    page.fill("#password_input", stack.secret_value("admin_password"))
    page.click("#login_submit")
    # the hub spawns the server (a Swarm service), then JupyterLab loads
    page.wait_for_url(f"**/user/{admin}/lab**", timeout=240_000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    # the home with the masterclass library, as the student sees it
    page.wait_for_selector(".jp-DirListing-item[title*='masterclasses'], .jp-DirListing-item:has-text('masterclasses')",
                           timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "login-native-jupyterlab.png"))
    assert "JupyterLab" in page.title()
    page.close()


@pytest.mark.browser
def test_both_provider_buttons_and_a_login_through_kcdc(browser, tmp_path):
    with login_hub(tmp_path) as env:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(env.hub.url + "hub/login")
        assert page.locator("#astro-site-name").inner_text() == "astroparticle.online"
        assert "KCDC account" in page.locator("#login-kcdc").inner_text()
        assert "GRADLCI account" in page.locator("#login-gradlci").inner_text()
        page.screenshot(path=str(ARTIFACTS / "login-providers.png"), full_page=True)
        page.click("#login-kcdc")
        page.wait_for_selector("#id_username")  # the provider's own form
        assert page.url.startswith(env.providers["kcdc"].issuer)
        page.fill("#id_username", "emmy")
        page.fill("#id_password", PASSWORDS["emmy"])
        page.click("#provider-submit")
        page.wait_for_url(f"{env.hub.url}hub/**", timeout=60_000)
        page.goto(env.hub.url + "hub/home")
        assert "kcdc-emmy" in page.content()
        page.screenshot(path=str(ARTIFACTS / "login-kcdc-home.png"))
        page.close()
