"""The dashboards server (``python -m dashboards``) as a process: kernels of closed pages go.

Every page view owns a kernel; a visitor who closes the tab must not hold 150-250 MB
for the idle culler's fifteen minutes, while the preheated pool stays.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.support.net import free_port, wait_for_http

BASE = "/services/dashboards/"


def kernels_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in out.splitlines() if "ipykernel" in line}


@pytest.fixture
def dashboards_server(stack, tmp_path):
    token = tmp_path / "token"
    token.write_text(stack.dashboards_token)
    port = free_port()
    env = {**os.environ, "DASHBOARDS_PORT": str(port), "DASHBOARDS_POOL_SIZE": "1",
           "DASHBOARDS_CULL_CLOSED_SECONDS": "3", "KCDC_URL": stack.dc.url,
           "DASHBOARDS_TOKEN_FILE": str(token), "DASHBOARDS_CACHE_DIR": str(tmp_path / "cache")}
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


def test_the_kernel_of_a_closed_page_is_stopped_and_the_pool_stays(dashboards_server):
    proc, url, log = dashboards_server
    # one preheated kernel per dashboard
    pool = wait_for("the pool", lambda: (lambda k: k if len(k) >= 5 else None)(kernels_of(proc.pid)), 120)
    # A visit takes a pool kernel (the pool refills); the page is read and closed
    # without ever opening the kernel's websocket.
    r = requests.get(url + "voila/render/spectrum.ipynb", timeout=120)
    assert r.status_code == 200
    wait_for("the pool to refill", lambda: len(kernels_of(proc.pid)) >= 6, 120)
    after_visit = kernels_of(proc.pid)
    visitor = wait_for("the closed page's kernel to stop",
                       lambda: (after_visit - kernels_of(proc.pid)) or None, 60)
    assert len(visitor) == 1
    assert visitor <= pool  # the one handed to the visitor ...
    time.sleep(8)  # ... and nothing else, even after more rounds of the culler
    assert len(kernels_of(proc.pid)) == len(after_visit) - 1, log.read_text()[-3000:]
    assert "its page was closed" in log.read_text()
