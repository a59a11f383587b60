"""The handlers of a visit: the page through the line (:mod:`dashboards.admission`), and
the kernel routes only for the visitor whose page owns the kernel.

Stock Voila lets anyone who knows a kernel's id (it is in the page, in logs, in a shared
screenshot) shut it down (``DELETE /api/kernels/<id>``, ``POST /voila/api/shutdown/<id>``),
read its state, or attach to its websocket and watch or drive its widgets. Here only the
visitor identity (Voila's anonymous visitor cookie) that the page was rendered for may;
everyone else, and everyone for a preheated kernel nobody was given yet, gets 403.
"""
from __future__ import annotations

import html
import re

import tornado.web
from jupyter_server.services.kernels.handlers import KernelHandler
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from . import DASHBOARDS
from .admission import Holder

TICKET_COOKIE = "dashboards-ticket"
KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')
#: a waiting page asks again after this many seconds (keeps its ticket alive, see Admission.ticket_seconds)
REFRESH_SECONDS = 3
RETRY_AFTER_SECONDS = 60


def client_address(request) -> str:
    """The visitor's address: the last X-Forwarded-For entry, which the edge (caddy) writes
    from the connection it accepted (it drops what a client sent); the proxy adds none.
    Without the header (a direct connection), the peer's address."""
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    return forwarded[-1] if forwarded else request.remote_ip


def _page(title: str, body: str, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{meta}
<title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 1rem; line-height: 1.5; }}</style>
</head><body>{body}</body></html>"""


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_page(position: int, own_limit: bool) -> str:
    if own_limit:
        text = ("<p>You already have as many dashboards open as one visitor may "
                "(or your network, e.g. a school's, holds as many as it may). "
                "Close one of them and this page continues by itself.</p>")
    else:
        text = (f"<p>The dashboards are busy: you are <b>{ordinal(position)}</b> in line. "
                "This page continues by itself as soon as a dashboard is free; keep it open.</p>")
    return _page("Waiting for a dashboard", f"<h1>Waiting for a dashboard</h1>{text}", refresh=REFRESH_SECONDS)


def too_busy_page() -> str:
    return _page("Too busy", "<h1>The dashboards are too busy</h1><p>Too many visitors are waiting right now. "
                 "Please try again in a minute.</p>")


class AdmittedVoilaHandler(TornadoVoilaHandler):
    """A dashboard page: rendered now, a waiting page that asks again, or 503."""

    @tornado.web.authenticated
    async def get(self, path=None):
        if path not in DASHBOARDS:
            # Not a dashboard (a source, a file, `..`): refused before the line, nobody
            # waits for a 404.
            raise tornado.web.HTTPError(404)
        admission = self.settings["dashboards_admission"]
        admission.forget_gone(self.kernel_manager.list_kernel_ids())
        holder = Holder(self.current_user.username, client_address(self.request))
        decision = admission.ask(self.get_cookie(TICKET_COOKIE), holder)
        cookie_path = self.base_url
        if decision.action == "full":
            self.set_status(503)
            self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
            self.set_header("Cache-Control", "no-store")
            self.finish(too_busy_page())
            return
        if decision.action == "wait":
            self.set_cookie(TICKET_COOKIE, decision.ticket, path=cookie_path, httponly=True, samesite="Lax",
                            secure=self.settings.get("dashboards_secure_cookies", True))
            self.set_header("Cache-Control", "no-store")
            self.set_header("X-Dashboards-Position", str(decision.position))
            self.finish(waiting_page(decision.position, decision.own_limit))
            return
        if self.get_cookie(TICKET_COOKIE):
            self.clear_cookie(TICKET_COOKIE, path=cookie_path, httponly=True, samesite="Lax",
                              secure=self.settings.get("dashboards_secure_cookies", True))
        kernel_id = None
        try:
            async for snippet in self.get_generator(path=path):
                if kernel_id is None:
                    found = KERNEL_ID.search(snippet)
                    if found:
                        kernel_id = found.group(1)
                        admission.kernel_known(decision.ticket, kernel_id)
                        self.settings["dashboards_culler"].page_served(kernel_id)
                self.write(snippet)
                self.flush()
        finally:
            admission.rendered(decision.ticket, kernel_id)


class OwnKernelOnly:
    """Mixin: the kernel routes answer only the visitor the kernel's page was rendered for."""

    def check_owner(self, kernel_id: str) -> None:
        owner = self.settings["dashboards_admission"].owner(kernel_id)
        if owner is None or self.current_user is None or owner.client != self.current_user.username:
            raise tornado.web.HTTPError(403, "not your dashboard's kernel")


class OwnKernelHandler(OwnKernelOnly, KernelHandler):
    async def get(self, kernel_id):
        self.check_owner(kernel_id)
        await super().get(kernel_id)

    async def delete(self, kernel_id):
        self.check_owner(kernel_id)
        await super().delete(kernel_id)


class OwnShutdownHandler(OwnKernelOnly, VoilaShutdownKernelHandler):
    """The page's own ``beforeunload`` shutdown: a closed tab frees its kernel at once."""

    async def post(self, kernel_id):
        self.check_owner(kernel_id)
        await super().post(kernel_id)


class OwnKernelWebsocket(OwnKernelOnly, VoilaKernelWebsocketHandler):
    async def get(self, kernel_id, *args, **kwargs):
        self.check_owner(kernel_id)
        await super().get(kernel_id, *args, **kwargs)

    async def open(self, kernel_id, *args, **kwargs):
        self.settings["dashboards_culler"].page_opened(kernel_id)
        await super().open(kernel_id, *args, **kwargs)
