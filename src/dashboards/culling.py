"""Stop the kernels of closed dashboard pages within half a minute.

Every Voila page view owns a kernel (150-250 MB). Jupyter's culler has one idle timeout
for all kernels; a tab left open on a phone should keep its kernel for a while
(``DASHBOARDS_CULL_IDLE_SECONDS``), but a closed tab's kernel should not hold memory
for fifteen minutes: thirty visitors clicking through five dashboards would fill the
service's memory limit and the kernel OOM killer would hit the visitors still there.
Preheated pool kernels are never touched (they were never connected and Voila
refills nothing when they go).
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


async def cull_closed(kernel_manager, closed_seconds: float) -> list[str]:
    """Shut down every kernel that is not pooled, has no websocket and was idle this long."""
    now = datetime.now(timezone.utc)
    pooled = pooled_kernel_ids(kernel_manager)
    # _kernel_connections: jupyter_server's own count of open websockets per kernel
    connections = getattr(kernel_manager, "_kernel_connections", {})
    culled = []
    for kernel_id in list(kernel_manager.list_kernel_ids()):
        if kernel_id in pooled or connections.get(kernel_id, 0):
            continue
        kernel = kernel_manager.get_kernel(kernel_id)
        if getattr(kernel, "execution_state", None) == "busy":
            continue
        last = getattr(kernel, "last_activity", None)
        if last is None or now - last < timedelta(seconds=closed_seconds):
            continue
        kernel_manager.log.info("stopping kernel %s: its page was closed %.0f s ago", kernel_id, (now - last).total_seconds())
        await kernel_manager.shutdown_kernel(kernel_id)
        culled.append(kernel_id)
    return culled


def start_culling_closed(kernel_manager, closed_seconds: float) -> PeriodicCallback:
    interval_ms = max(5.0, min(30.0, closed_seconds / 2)) * 1000

    async def tick():
        try:
            await cull_closed(kernel_manager, closed_seconds)
        except Exception:  # a failed round must not stop the next one
            kernel_manager.log.exception("culling closed pages failed")

    callback = PeriodicCallback(tick, interval_ms)
    callback.start()
    return callback
