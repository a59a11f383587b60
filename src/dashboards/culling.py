"""Stop the kernels of closed dashboard pages within half a minute, never a loading page's.

Every Voila page view owns a kernel (150-250 MB). Jupyter's culler has one idle timeout
for all kernels; a tab left open on a phone should keep its kernel for a while
(``DASHBOARDS_CULL_IDLE_SECONDS``), but a closed tab's kernel should not hold memory
for fifteen minutes: thirty visitors clicking through five dashboards would fill the
service's memory limit and the kernel OOM killer would hit the visitors still there.

A page counts as closed only once its websocket went away. A page whose websocket never
opened is still loading (a phone on a slow line fetches several MB of JavaScript
first): its kernel stays for ``unopened_seconds`` (default five minutes), so a class
that waited in line is not cut off while its pages arrive. Preheated pool kernels
are never touched (they were never connected and Voila refills nothing when they go).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tornado.ioloop import PeriodicCallback


def pooled_kernel_ids(kernel_manager) -> set[str]:
    ids = set()
    for pool in getattr(kernel_manager, "_pools", {}).values():
        for item in pool:
            if item.done() and not item.exception():
                ids.add(item.result().get("kernel_id"))
    return ids


class ClosedPageCuller:
    def __init__(self, kernel_manager, closed_seconds: float, unopened_seconds: float = 300.0) -> None:
        self.kernel_manager = kernel_manager
        self.closed_seconds = closed_seconds
        self.unopened_seconds = max(unopened_seconds, closed_seconds)
        self.opened: set[str] = set()  # kernels whose page opened its websocket at least once
        self.served: dict[str, datetime] = {}  # when a kernel was handed to a visitor's page

    def page_opened(self, kernel_id: str) -> None:
        self.opened.add(kernel_id)

    def page_served(self, kernel_id: str) -> None:
        # A preheated kernel may have idled in its pool for long: its page's time starts now.
        self.served[kernel_id] = datetime.now(timezone.utc)

    async def cull(self) -> list[str]:
        """Shut down every kernel that is not pooled, has no websocket and waited long enough:
        ``closed_seconds`` after its page closed, ``unopened_seconds`` if it never opened."""
        km = self.kernel_manager
        now = datetime.now(timezone.utc)
        pooled = pooled_kernel_ids(km)
        live = set(km.list_kernel_ids())
        self.opened &= live
        self.served = {k: t for k, t in self.served.items() if k in live}
        # _kernel_connections: jupyter_server's own count of open websockets per kernel
        connections = getattr(km, "_kernel_connections", {})
        culled = []
        for kernel_id in live:
            if kernel_id in pooled or connections.get(kernel_id, 0):
                continue
            kernel = km.get_kernel(kernel_id)
            if getattr(kernel, "execution_state", None) == "busy":
                continue
            last = getattr(kernel, "last_activity", None)
            if last is not None and kernel_id in self.served:
                last = max(last, self.served[kernel_id])
            opened = kernel_id in self.opened
            limit = self.closed_seconds if opened else self.unopened_seconds
            if last is None or now - last < timedelta(seconds=limit):
                continue
            km.log.info("stopping kernel %s: %s %.0f s ago", kernel_id,
                        "its page was closed" if opened else "its page never opened its websocket, asked for",
                        (now - last).total_seconds())
            await km.shutdown_kernel(kernel_id)
            culled.append(kernel_id)
        return culled

    def start(self) -> PeriodicCallback:
        interval_ms = max(2.0, min(30.0, self.closed_seconds / 2)) * 1000

        async def tick():
            try:
                await self.cull()
            except Exception:  # a failed round must not stop the next one
                self.kernel_manager.log.exception("culling closed pages failed")

        callback = PeriodicCallback(tick, interval_ms)
        callback.start()
        return callback
