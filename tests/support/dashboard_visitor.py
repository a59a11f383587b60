"""One anonymous visitor of a public dashboard, as a browser behaves, without a browser.

It asks for the page; on a waiting page it asks again after the page's own refresh
time (what the meta refresh does, the same URL); once the page is rendered it opens the
kernel's websocket with its cookies and gets the kernel's info (what the widgets
manager does first), holds the page a while, and closes it: through the page's own
shutdown call (a tab closed in a browser) or by dropping the websocket (a phone that
went away). Used by the e2e test and the load benchmark.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlparse

import requests
import websocket

PREFIX = "/services/dashboards/"
REFRESH = re.compile(r'<meta http-equiv="refresh" content="(\d+)">')
KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')


@dataclass
class Visit:
    statuses: list[int] = field(default_factory=list)
    waited: int = 0  # waiting pages seen
    kernel: str | None = None
    html_seconds: float | None = None  # first request to the rendered page, waiting included
    error: str | None = None

    @property
    def outcome(self) -> str:
        return "failed" if self.error else "waited" if self.waited else "served"


def _kernel_info(ws, timeout: float = 60) -> bool:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": "kernel_info_request", "username": "visitor",
              "session": uuid.uuid4().hex, "date": "2026-01-01T00:00:00Z", "version": "5.3"}
    ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": {},
                        "channel": "shell", "buffers": []}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = ws.recv()
        if isinstance(raw, str) and json.loads(raw).get("msg_type") == "kernel_info_reply":
            return True
    return False


def visit(site: str, notebook: str, *, deadline: float, ca_file: str | None = None, hold: float = 0.0,
          close_by_unload: bool = True, query: str = "") -> Visit:
    """``site``: https://host:port of the edge. Returns what happened; never raises."""
    v = Visit()
    session = requests.Session()
    # Per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own verify.
    verify = ca_file or True
    url = f"{site}{PREFIX}voila/render/{notebook}" + (f"?{query}" if query else "")
    t0 = time.monotonic()
    try:
        while True:
            r = session.get(url, timeout=300, verify=verify)  # a page being rendered on a loaded machine takes its time
            v.statuses.append(r.status_code)
            if r.status_code != 200:
                v.error = f"status {r.status_code}"
                return v
            found = KERNEL_ID.search(r.text)
            if found:
                v.kernel = found.group(1)
                v.html_seconds = time.monotonic() - t0
                break
            refresh = REFRESH.search(r.text)
            if not refresh:
                v.error = "neither a dashboard nor a waiting page: " + r.text[:200]
                return v
            v.waited += 1
            if time.monotonic() > deadline:
                v.error = f"still waiting after {v.waited} waiting pages"
                return v
            time.sleep(int(refresh.group(1)))
        parts = urlparse(site)
        ws = websocket.create_connection(
            f"wss://{parts.netloc}{PREFIX}api/kernels/{v.kernel}/channels", timeout=60,
            cookie="; ".join(f"{k}={c}" for k, c in session.cookies.items()),
            sslopt={"ca_certs": ca_file} if ca_file else {})
        try:
            if not _kernel_info(ws):
                v.error = "the kernel did not answer on its websocket"
            time.sleep(hold)
        finally:
            ws.close()
        if close_by_unload:
            token = uuid.uuid4().hex  # the page's XSRF pair
            session.cookies.set("_xsrf", token)
            r = session.post(f"{site}{PREFIX}voila/api/shutdown/{v.kernel}", headers={"X-XSRFToken": token},
                             timeout=60, verify=verify)
            v.statuses.append(r.status_code)
    except Exception as e:  # noqa: BLE001 - a visitor's failure is a figure, not a crash
        v.error = f"{type(e).__name__}: {e}"
    return v
