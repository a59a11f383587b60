"""Users' servers on subdomains (issue 19 item 4): each server in an origin of its own.

Its own stack with `user_subdomains` on and the public URL https://hub.localhost:<port>.
Chromium resolves every *.localhost name to this machine by itself; for this process the
module maps the stack's names to 127.0.0.1 (nothing leaves the machine). The attack: code
served from a student's server, running in a browser that is logged in to the hub, tries
to read the hub's pages (their XSRF token opens the hub's API) with that browser's session. With subdomains the browser refuses
(another origin); from the hub's own origin the same call is answered, so the probe can
fail. A data request from the student's kernel still reaches the data service (the proxy
routes by host name; servers call it by the public name)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from urllib.parse import urlparse

import pytest
import requests

from astrohub import roster, settings
from astrohub.deploy import Stack

from .conftest import ROOT, chromium_trusting, wipe

import playwright.sync_api as playwright_api  # noqa: E402
from .test_login_browser import CHROMIUM_ARGS  # noqa: E402

HOST = "hub.localhost"
STUDENT = "sub-ada"
# Run in the page: read a hub page with the browser's cookies (its XSRF token is what
# would let the code call the hub's API as the user), or be refused.
READ_HUB_PAGE = """async (url) => {
  try {
    const r = await fetch(url, {credentials: "include"});
    const body = await r.text();
    return "read " + r.status + (body.includes("xsrf_token") ? " with xsrf_token" : "");
  } catch (e) { return "refused"; }
}"""


@pytest.fixture(scope="module")
def sub_stack(tmp_path_factory):
    port = int(os.environ.get("ASTROHUB_E2E_PORT", "18000")) + 5
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTROHUB_E2E")}
    env.update({"ASTROHUB_STACK_NAME": os.environ.get("ASTROHUB_E2E_STACK", "astrohub-e2e") + "-sub",
                "ASTROHUB_HTTP_PORT": str(port), "ASTROHUB_PUBLIC_URL": f"https://{HOST}:{port}",
                "ASTROHUB_USER_SUBDOMAINS": "true", "ASTROHUB_MEM_LIMIT": "1G",
                "ASTROHUB_IMAGE_TAG": os.environ.get("ASTROHUB_IMAGE_TAG", settings.VERSION),
                "ASTROHUB_STATE_DIR": str(tmp_path_factory.mktemp("sub-state"))})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASTROHUB_STATE_DIR", env["ASTROHUB_STATE_DIR"])
        real = socket.getaddrinfo

        def resolve(host, *args, **kwargs):
            if isinstance(host, str) and (host == HOST or host.endswith("." + HOST)):
                host = "127.0.0.1"
            return real(host, *args, **kwargs)

        mp.setattr(socket, "getaddrinfo", resolve)
        stack = Stack(ROOT, settings.load({k: v for k, v in env.items() if k != "ASTROHUB_STATE_DIR"},
                                          secrets_dir="/nonexistent"))
        wipe(stack)
        r = subprocess.run([sys.executable, "-m", "astrohub.cli", "up", "--no-build"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"astrohub up failed:\n{r.stdout}\n{r.stderr}"
        mp.setenv("REQUESTS_CA_BUNDLE", stack.ca_bundle())
        created = roster.submit(stack.settings.public_url, stack.secret_value("ops_token"),
                                roster.parse(f"username,groups\n{STUDENT},students\n"))
        yield stack, created["created"][0]["password"]
        wipe(stack)


def test_a_students_server_answers_on_its_own_host_and_reaches_the_data_service(sub_stack):
    stack, _ = sub_stack
    hub = stack.hub_client(timeout=60)
    hub.start(STUDENT)
    own = hub.server_url(STUDENT)
    assert urlparse(own).hostname == f"{STUDENT}.{HOST}"
    r = hub.server("GET", STUDENT, "/api/status")
    assert r.status_code == 200 and "started" in r.json(), r.text[:300]
    # The hub's host does not serve it: the proxy routes the server only under its own name.
    r = requests.get(f"{stack.settings.public_url}/user/{STUDENT}/api/status", allow_redirects=False, timeout=30,
                     headers={"Authorization": f"token {stack.secret_value('ops_token')}"})
    assert not (r.status_code == 200 and "started" in r.text), r.text[:300]
    # Through the proxy's host routes from inside: the datacentre and its data.
    text, _, _ = hub.execute(STUDENT, (
        "import kcdc\n"
        "r = kcdc.Client(progress=False).request('kascade', ['E'], cuts=[('E', '>', 16.5)], format='parquet')\n"
        "r.wait(timeout=180)\nprint(len(r.to_pandas()))"), timeout=240)
    assert int(text.strip().splitlines()[-1]) > 0


@pytest.mark.browser
def test_code_on_a_students_server_cannot_read_the_hub_with_the_browsers_session(sub_stack, tmp_path):
    stack, password = sub_stack
    public = stack.settings.public_url
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS,
                                    env=chromium_trusting(stack, tmp_path))
        page = browser.new_page()
        page.goto(f"{public}/hub/login")
        page.fill("#username_input", STUDENT)
        page.fill("#password_input", password)
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{STUDENT}/lab**", timeout=240_000)
        assert urlparse(page.url).hostname == f"{STUDENT}.{HOST}"
        # From the student's own origin: the browser does not let the page read the hub.
        assert page.evaluate(READ_HUB_PAGE, f"{public}/hub/token") == "refused"
        # From the hub's origin the same call is answered (the probe can tell the difference).
        page.goto(f"{public}/hub/home")
        assert page.evaluate(READ_HUB_PAGE, f"{public}/hub/token") == "read 200 with xsrf_token"
        browser.close()
