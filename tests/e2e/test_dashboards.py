"""The public dashboards in the stack: no login, real rendering, and what must be refused.

Screenshots (desktop, after a widget change, phone 390x844) go to
test-artifacts/dashboards/.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
import websocket
from playwright.sync_api import sync_playwright

from astrohub.deploy import docker
from dashboards import DASHBOARDS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboards"
PREFIX = "/services/dashboards/"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


def render_url(stack, notebook: str) -> str:
    return f"{stack.local_url}{PREFIX}voila/render/{notebook}"


@pytest.fixture(scope="module")
def dashboards_up(stack):
    """Wait until the dashboards answer through the proxy (their kernels preheat meanwhile)."""
    deadline = time.monotonic() + 240
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(stack.local_url + PREFIX, timeout=10, allow_redirects=False)
            if last.status_code == 200 and "data-explorer.ipynb" in last.text:
                return stack
        except requests.RequestException as e:
            last = e
        time.sleep(2)
    pytest.fail(f"the dashboards did not answer at {PREFIX} within 240 s: {last}")


@pytest.fixture(scope="module")
def browser(chromium_env):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, env=chromium_env)
        yield b
        b.close()


def test_the_landing_page_lists_every_dashboard_without_a_cookie(dashboards_up):
    r = requests.get(dashboards_up.local_url + PREFIX, timeout=30, allow_redirects=False)
    assert r.status_code == 200
    for notebook, (title, *_) in DASHBOARDS.items():
        assert f'{PREFIX}voila/render/{notebook}"' in r.text
        assert title.split("?")[0].split(":")[0] in r.text


@pytest.mark.parametrize("notebook", list(DASHBOARDS))
def test_each_dashboard_answers_without_a_cookie(dashboards_up, notebook):
    r = requests.get(render_url(dashboards_up, notebook), timeout=120, allow_redirects=False)
    assert r.status_code == 200, f"{notebook}: {r.status_code} {r.headers.get('location')}"
    assert '"kernelId"' in r.text
    # The page is rendered output, never the code: Voila strips the sources.
    assert "build()" not in r.text


def test_the_visitor_cookie_is_secure(dashboards_up):
    r = requests.get(render_url(dashboards_up, "spectrum.ipynb"), timeout=120)
    assert r.status_code == 200
    cookies = r.raw.headers.getlist("Set-Cookie")
    assert cookies  # Voila's anonymous visitor identity
    for cookie in cookies:
        assert "; Secure" in cookie and "HttpOnly" in cookie, cookie


def painted_pixels(frame) -> int:
    """Non-transparent pixels over the bokeh canvases of the plot's iframe (0 = nothing drawn)."""
    return frame.locator("canvas").first.evaluate("""() => {
        let n = 0;
        const walk = (root) => root.querySelectorAll('*').forEach(el => {
            if (el.shadowRoot) walk(el.shadowRoot);
            if (el.tagName === 'CANVAS' && el.width && el.height) {
                const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
                for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
            }
        });
        walk(document);
        return n;
    }""")


def wait_for_plot(page, timeout=120_000) -> str:
    """Wait until the plot's iframe has a drawn bokeh canvas; return the iframe's document."""
    frame = page.frame_locator("iframe.dash-plot")
    frame.locator("canvas").first.wait_for(state="attached", timeout=timeout)
    deadline = time.monotonic() + 30
    while painted_pixels(frame) < 500:
        assert time.monotonic() < deadline, "the bokeh canvas stayed blank"
        page.wait_for_timeout(250)
    return page.locator("iframe.dash-plot").get_attribute("srcdoc")


# One control per dashboard that changes what is plotted.
CHANGES = {
    "spectrum.ipynb": lambda page: page.locator(".widget-checkbox input").first.click(),
    "event-display.ipynb": lambda page: page.locator("select").first.select_option(label="e/gamma deposit (MeV)"),
    "composition.ipynb": lambda page: page.locator(".widget-checkbox input").first.click(),
    "arrival-directions.ipynb": lambda page: page.get_by_role("button", name="Azimuth").click(),
    "data-explorer.ipynb": lambda page: page.get_by_role("button", name="Histogram").click(),
}


@pytest.mark.browser
@pytest.mark.parametrize("notebook", list(DASHBOARDS))
def test_each_dashboard_draws_and_redraws_in_a_browser(dashboards_up, browser, notebook):
    name = notebook.removesuffix(".ipynb")
    context = browser.new_context(viewport={"width": 1200, "height": 1000})  # no cookies
    page = context.new_page()
    page.goto(render_url(dashboards_up, notebook))
    before = wait_for_plot(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    CHANGES[notebook](page)
    deadline = time.monotonic() + 120
    while page.locator("iframe.dash-plot").get_attribute("srcdoc") == before:
        assert time.monotonic() < deadline, f"{notebook}: the plot was not redrawn after the widget change"
        page.wait_for_timeout(250)
    wait_for_plot(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}-changed.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = phone.new_page()
    page.goto(render_url(dashboards_up, notebook))
    wait_for_plot(page)
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 2
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    phone.close()


@pytest.mark.browser
def test_a_query_parameter_reaches_a_preheated_kernel(dashboards_up, browser):
    """The explorer reads ?shop= through voila's wait_for_request: only works when the kernel
    reaches Voila at VOILA_WS_BASE_URL."""
    page = browser.new_page()
    page.goto(render_url(dashboards_up, "data-explorer.ipynb") + "?shop=tunka133")
    def selected_shop():
        select = page.locator("select")
        return select.first.input_value() if select.count() else None

    deadline = time.monotonic() + 120
    while selected_shop() != "tunka133":
        assert time.monotonic() < deadline, "the explorer did not pick up ?shop=tunka133"
        page.wait_for_timeout(500)
    # The kascade plot stays on the page until the tunka133 one replaces it.
    deadline = time.monotonic() + 120
    while "tunka133" not in wait_for_plot(page):
        errors = page.locator(".dash-error")
        assert not errors.count(), f"the explorer said: {errors.first.inner_text()}"
        assert time.monotonic() < deadline, "the explorer did not plot tunka133"
        page.wait_for_timeout(500)
    page.close()


# --------------------------------------------------------------------- refusals

def page_through_the_line(url: str, session: requests.Session | None = None, params=None, timeout: float = 240):
    """GET a dashboard as a browser does: while the waiting page answers (right after other
    tests' pages closed, the dashboards are full until the culler ends their kernels), ask
    again with its ticket cookie, as its refresh does."""
    session = session or requests.Session()
    deadline = time.monotonic() + timeout
    while True:
        r = session.get(url, params=params, timeout=120)
        if "X-Dashboards-Position" not in r.headers or time.monotonic() > deadline:
            return r
        time.sleep(3)


def kernel_of_a_fresh_page(stack, notebook="spectrum.ipynb", session=None) -> str:
    r = page_through_the_line(render_url(stack, notebook), session)
    assert r.status_code == 200
    return re.search(r'"kernelId": "([0-9a-f-]{36})"', r.text).group(1)


def message(msg_type: str, content: dict, channel: str = "shell") -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "visitor", "session": uuid.uuid4().hex,
              "date": "2026-01-01T00:00:00Z", "version": "5.3"}
    return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                       "channel": channel, "buffers": []})


def replies(ws, seconds: float) -> list[dict]:
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            break
        if isinstance(raw, str):
            out.append(json.loads(raw))
    return out


def dashboards_container() -> str:
    ids = docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name").stdout.split()
    for cid in ids:
        name = docker("inspect", "-f", "{{index .Config.Labels \"com.docker.swarm.service.name\"}}", cid).stdout.strip()
        if name.endswith("_dashboards"):
            return cid
    raise AssertionError("no running container of the dashboards service")


def test_execute_request_over_the_kernel_websocket_is_refused(dashboards_up):
    stack = dashboards_up
    visitor = requests.Session()  # the page's own visitor: only it may open the kernel's websocket
    kernel = kernel_of_a_fresh_page(stack, session=visitor)
    ws_url = f"wss://127.0.0.1:{urlparse(stack.local_url).port}{PREFIX}api/kernels/{kernel}/channels"
    # Through the edge, trusting the stack's local CA (tests/e2e/conftest.py).
    ws = websocket.create_connection(ws_url, timeout=30, sslopt={"ca_certs": os.environ["SSL_CERT_FILE"]},
                                     cookie="; ".join(f"{k}={v}" for k, v in visitor.cookies.items()))
    try:
        # The channel itself works: an info request is answered ...
        ws.send(message("kernel_info_request", {}))
        assert any(m["msg_type"] == "kernel_info_reply" for m in replies(ws, 15))
        # ... code is not run: no reply, no result, no file.
        marker = f"/tmp/attack-{uuid.uuid4().hex}"
        code = f"open({marker!r}, 'w').write('x'); 6 * 7"
        ws.send(message("execute_request", {"code": code, "silent": False, "store_history": True,
                                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}))
        got = replies(ws, 10)
    finally:
        ws.close()
    assert not [m for m in got if m["msg_type"] in ("execute_reply", "execute_result", "execute_input", "stream")]
    assert docker("exec", dashboards_container(), "test", "-e", marker, check=False).returncode != 0


REFUSED = [
    "spectrum.ipynb",                                   # the notebook's source
    "voila/files/spectrum.ipynb",
    "voila/files/../app.py",
    "voila/render/../app.py",
    "voila/render/%2e%2e/app.py",
    "voila/render/..%2f..%2fdashboards%2fapp.py",
    "voila/static/../../dashboards/app.py",
    "static/../app.py",
    "bokehjs/static/../../../../dashboards/notebooks/spectrum.ipynb",
    "bokehjs/static/..%2f..%2f..%2f..%2fdashboards%2fnotebooks%2fspectrum.ipynb",
    "voila/templates/../../../dashboards/app.py",
    "voila/labextensions/../../../../etc/passwd",
    "voila/tree",
    "voila/api/contents",
    "voila/api/contents/spectrum.ipynb",
    "api/contents",
    "api/contents/spectrum.ipynb",
    "api/kernels",
    "api/sessions",
    "tree",
    "notebooks/spectrum.ipynb",
]


def raw_get(stack, path: str) -> tuple[int, bytes, list[str]]:
    """GET exactly this path (no client-side normalisation of '..'), following redirects
    the same way; returns the last status and body and the redirect targets."""
    port = urlparse(stack.local_url).port
    hops = []
    for _ in range(5):
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60,
                                           context=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]))
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            status, body, location = r.status, r.read(), r.getheader("Location")
        finally:
            conn.close()
        if status not in (301, 302, 303, 307, 308):
            return status, body, hops
        target = urlparse(location)
        assert target.netloc in ("", f"127.0.0.1:{port}"), f"{path} redirects off the site: {location}"
        path = target.path + (f"?{target.query}" if target.query else "")
        hops.append(path)
    raise AssertionError(f"redirect loop: {hops}")


@pytest.mark.parametrize("path", REFUSED)
def test_sources_and_files_outside_the_dashboards_are_refused(dashboards_up, path):
    # Voila's render handler sends a path that is not a notebook to its (dropped) file
    # handler: a redirect is fine as long as it stays in the dashboards and ends refused.
    status, body, hops = raw_get(dashboards_up, PREFIX + path)
    assert all(hop.startswith(PREFIX) for hop in hops), hops
    assert status in (400, 403, 404, 405), f"{path}: {status} after {hops}"
    for leak in (b'"cells"', b"nbformat", b"def build", b"root:x:0", b"import "):
        assert leak not in body, f"{path} leaked {leak!r}"


def test_template_and_theme_overrides_in_the_url_are_ignored(dashboards_up):
    url = render_url(dashboards_up, "composition.ipynb")
    r = page_through_the_line(url, params={"template": "classic", "theme": "dark"})
    assert r.status_code == 200
    assert '"jupyterLabTheme": "light"' in r.text
    assert "voila/templates/lab/" in r.text and "voila/templates/classic/" not in r.text


def test_the_service_runs_with_a_memory_limit_and_the_token_only_as_a_file(dashboards_up):
    service = f"{dashboards_up.name}_dashboards"
    limit = docker("service", "inspect", service, "--format",
                   "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}").stdout.strip()
    assert int(limit) == 4 * 1024**3  # the default ASTROHUB_DASHBOARDS_MEM_LIMIT
    env = docker("service", "inspect", service, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}").stdout
    token = dashboards_up.secret_value("dashboards_token")
    assert token and token not in env
    logs = docker("service", "logs", "--raw", service, check=False)
    assert token not in logs.stdout + logs.stderr
