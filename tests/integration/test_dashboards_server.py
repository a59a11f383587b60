"""The dashboards server (``python -m dashboards``) as a process: kernels of closed pages go.

Every page view owns a kernel; a visitor who closes the tab must not hold 150-250 MB
for the idle culler's fifteen minutes, while the preheated pool stays.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest
import requests
import websocket

from tests.support.net import free_port, wait_for_http

BASE = "/services/dashboards/"


def kernels_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in out.splitlines() if "ipykernel" in line}


def connection_of(kernel_pid: int) -> dict:
    """The connection file a kernel was started with (``-f <file>``)."""
    args = open(f"/proc/{kernel_pid}/cmdline", "rb").read().split(b"\0")
    return json.loads(open(args[args.index(b"-f") + 1], "rb").read())


@pytest.fixture
def dashboards_server(stack, tmp_path, request):
    token = tmp_path / "token"
    token.write_text(stack.dashboards_token)
    port = free_port()
    env = {**os.environ, "DASHBOARDS_PORT": str(port), "DASHBOARDS_POOL_SIZE": "1",
           "DASHBOARDS_CULL_CLOSED_SECONDS": "3", "KCDC_URL": stack.dc.url,
           # plain http here (the stack's edge is https): cookies must travel without TLS
           "DASHBOARDS_SECURE_COOKIES": "0",
           "DASHBOARDS_TOKEN_FILE": str(token), "DASHBOARDS_CACHE_DIR": str(tmp_path / "cache"),
           **getattr(request, "param", {})}
    log = open(tmp_path / "dashboards.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "dashboards"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}{BASE}", timeout=60, proc=proc, ok=(200,))
        yield proc, f"http://127.0.0.1:{port}{BASE}", tmp_path / "dashboards.log"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.5)


def kernel_id(page: requests.Response) -> str:
    return re.search(r'"kernelId": "([0-9a-f-]{36})"', page.text).group(1)


def open_kernel_websocket(session: requests.Session, url: str, kernel: str) -> websocket.WebSocket:
    """The page's kernel websocket, as the visitor's browser opens it (with its cookies)."""
    ws_url = url.replace("http://", "ws://") + f"api/kernels/{kernel}/channels"
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return websocket.create_connection(ws_url, timeout=30, cookie=cookie)


@pytest.mark.parametrize("dashboards_server", [{"DASHBOARDS_CULL_UNOPENED_SECONDS": "40"}], indirect=True)
def test_a_closed_page_loses_its_kernel_a_loading_one_keeps_it_and_the_pool_stays(dashboards_server):
    proc, url, log = dashboards_server
    # one preheated kernel per dashboard
    pool = wait_for("the pool", lambda: (lambda k: k if len(k) >= 5 else None)(kernels_of(proc.pid)), 120)
    # Unix sockets, not loopback ports another connection could take while a kernel starts.
    assert {connection_of(k)["transport"] for k in pool} == {"ipc"}
    # Two visits take pool kernels (the pools refill). The first page opens its websocket
    # and is closed; the second never opens it (still loading, a slow phone).
    closing, loading = requests.Session(), requests.Session()
    first = closing.get(url + "voila/render/spectrum.ipynb", timeout=120)
    second = loading.get(url + "voila/render/composition.ipynb", timeout=120)
    assert first.status_code == second.status_code == 200
    open_kernel_websocket(closing, url, kernel_id(first)).close()
    wait_for("the pools to refill", lambda: len(kernels_of(proc.pid)) >= 7, 180)
    after_visits = kernels_of(proc.pid)
    closed = wait_for("the closed page's kernel to stop", lambda: (after_visits - kernels_of(proc.pid)) or None, 60)
    assert len(closed) == 1 and closed <= pool  # the one handed to the first visitor ...
    time.sleep(8)  # ... and nothing else, even after more rounds of the culler: the loading page keeps its own
    assert len(kernels_of(proc.pid)) == len(after_visits) - 1, log.read_text()[-3000:]
    assert "its page was closed" in log.read_text()
    # The page that never loaded goes too, after its own, longer limit.
    wait_for("the never-opened page's kernel to stop", lambda: len(kernels_of(proc.pid)) == len(after_visits) - 2, 90)
    assert "never opened its websocket" in log.read_text()


# No pool: every visit starts its own kernel; room for one visitor and one in line.
ONE_KERNEL = {"DASHBOARDS_PREHEAT": "0", "DASHBOARDS_MAX_KERNELS": "1", "DASHBOARDS_QUEUE_LENGTH": "1"}


def xsrf(session: requests.Session) -> dict:
    """A matching _xsrf cookie and header: what any client can send (XSRF protects browsers, not kernels)."""
    token = secrets.token_hex(16)
    session.cookies.set("_xsrf", token)
    return {"X-XSRFToken": token}


@pytest.mark.parametrize("dashboards_server", [ONE_KERNEL], indirect=True)
def test_past_the_kernels_visitors_wait_in_line_and_past_the_line_they_come_back_later(dashboards_server):
    proc, url, log = dashboards_server
    alice, bob, carol = requests.Session(), requests.Session(), requests.Session()
    page = alice.get(url + "voila/render/spectrum.ipynb", timeout=120)
    assert page.status_code == 200 and '"kernelId"' in page.text
    waiting = bob.get(url + "voila/render/spectrum.ipynb?unit=GeV", timeout=30)
    assert waiting.status_code == 200
    assert waiting.headers["X-Dashboards-Position"] == "1"
    assert "you are <b>1st</b> in line" in waiting.text and "continues by itself" in waiting.text
    # the page asks again by itself, at the same URL (the query string kept)
    assert '<meta http-equiv="refresh" content="3">' in waiting.text
    turned_away = carol.get(url + "voila/render/spectrum.ipynb", timeout=30)
    assert turned_away.status_code == 503
    assert turned_away.headers["Retry-After"] == "60" and "try again in a minute" in turned_away.text
    # Alice closes her page (the page's own beforeunload call): the next in line renders.
    assert alice.post(url + f"voila/api/shutdown/{kernel_id(page)}", headers=xsrf(alice), timeout=30).status_code == 204
    rendered = bob.get(url + "voila/render/spectrum.ipynb?unit=GeV", timeout=120)
    assert rendered.status_code == 200 and '"kernelId"' in rendered.text


@pytest.mark.parametrize("dashboards_server", [{**ONE_KERNEL, "DASHBOARDS_MAX_KERNELS": "4",
                                                "DASHBOARDS_KERNELS_PER_CLIENT": "1"}], indirect=True)
def test_one_visitor_holds_one_page_here_and_waits_for_the_next(dashboards_server):
    proc, url, log = dashboards_server
    greedy = requests.Session()
    assert '"kernelId"' in greedy.get(url + "voila/render/spectrum.ipynb", timeout=120).text
    again = greedy.get(url + "voila/render/spectrum.ipynb", timeout=30)
    assert again.status_code == 200 and "Close one of them" in again.text
    # another visitor is not held up by it
    assert '"kernelId"' in requests.get(url + "voila/render/spectrum.ipynb", timeout=120).text


@pytest.mark.parametrize("dashboards_server", [{**ONE_KERNEL, "DASHBOARDS_MAX_KERNELS": "2"}], indirect=True)
def test_only_its_own_visitor_may_end_or_attach_to_a_kernel(dashboards_server):
    """Security 19.10: stock Voila shuts a kernel down for anyone who knows its id."""
    proc, url, log = dashboards_server
    owner, attacker = requests.Session(), requests.Session()
    page = owner.get(url + "voila/render/spectrum.ipynb", timeout=120)
    kernel = kernel_id(page)
    attacker.get(url, timeout=30)  # a visitor of its own, with its own cookie
    before = kernels_of(proc.pid)
    assert len(before) == 1
    for method, path in (("DELETE", f"api/kernels/{kernel}"), ("POST", f"voila/api/shutdown/{kernel}"),
                         ("GET", f"api/kernels/{kernel}"), ("POST", f"api/kernels/{kernel}/restart"),
                         ("POST", f"api/kernels/{kernel}/interrupt")):
        r = attacker.request(method, url + path, headers=xsrf(attacker), timeout=30)
        assert r.status_code in (403, 404, 405), f"{method} {path}: {r.status_code}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        open_kernel_websocket(attacker, url, kernel)
    assert refused.value.status_code == 403
    time.sleep(2)
    assert kernels_of(proc.pid) == before  # the kernel still runs
    # The owner's own page may: its websocket opens, its close ends the kernel.
    open_kernel_websocket(owner, url, kernel).close()
    assert owner.get(url + f"api/kernels/{kernel}", timeout=30).status_code == 200
    assert owner.delete(url + f"api/kernels/{kernel}", headers=xsrf(owner), timeout=30).status_code == 204
    wait_for("the owner's shutdown", lambda: not kernels_of(proc.pid), 30)
