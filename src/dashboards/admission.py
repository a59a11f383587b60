"""Who gets a dashboard kernel now, who waits in line, who is turned away.

Every page view runs a kernel (about 170 MB, a few CPU-seconds to start). Without a
bound, thirty visitors at once start thirty kernels on one CPU: none finishes within
Voila's timeouts and the memory limit's OOM killer ends the rest. Here:

- at most ``max_visitor_kernels`` kernels belong to visitors (the preheated pools come
  on top) and at most ``renders_at_once`` pages are being rendered at the same time;
- one browser (its visitor cookie) holds at most ``per_client`` kernels, all browsers
  behind one address at most ``per_address`` (a class behind a school router; a client
  that drops its cookie on every request is bounded by this one only);
- the others wait in arrival order, each with a ticket (a cookie); a ticket not asked
  about for ``ticket_seconds`` is dropped (the visitor left);
- when ``queue_length`` tickets wait, a new visitor is told to come back later.

Pure bookkeeping without tornado: the handlers in :mod:`dashboards.app` call it.
"""
from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class Holder:
    client: str
    address: str


@dataclass
class Waiting:
    holder: Holder
    seen: float


@dataclass(frozen=True)
class Decision:
    """``go`` (render now, then :meth:`Admission.rendered`), ``wait`` (at ``position``, 1 = next)
    or ``full`` (line full: come back later). ``own_limit``: waiting for one of its own pages to close."""
    action: str
    ticket: str = ""
    position: int = 0
    own_limit: bool = False


class Admission:
    def __init__(self, max_visitor_kernels: int, per_client: int = 3, per_address: int = 30,
                 queue_length: int = 200, renders_at_once: int = 2, ticket_seconds: float = 30.0,
                 clock=time.monotonic) -> None:
        if max_visitor_kernels < 1:
            raise ValueError("the dashboards need room for at least one visitor kernel beside the preheated ones")
        self.max_visitor_kernels = max_visitor_kernels
        self.per_client = per_client
        self.per_address = per_address
        self.queue_length = queue_length
        self.renders_at_once = renders_at_once
        self.ticket_seconds = ticket_seconds
        self.clock = clock
        self.kernels: dict[str, Holder] = {}  # visitor kernels by id
        self.rendering: dict[str, Holder] = {}  # admitted, page not finished yet
        self.rendering_kernel: dict[str, str] = {}  # ... and its kernel, once the page names it
        self.queue: OrderedDict[str, Waiting] = OrderedDict()

    # -- what is held
    def forget_gone(self, live_kernel_ids) -> None:
        """Drop kernels that were shut down (culled, closed, crashed)."""
        live = set(live_kernel_ids)
        for kernel_id in [k for k in self.kernels if k not in live]:
            del self.kernels[kernel_id]

    def _unassigned(self) -> list[Holder]:
        """Pages being rendered whose kernel is not known yet."""
        return [h for token, h in self.rendering.items() if token not in self.rendering_kernel]

    def held_by(self, holder: Holder) -> tuple[int, int]:
        held = [*self.kernels.values(), *self._unassigned()]
        return (sum(h.client == holder.client for h in held), sum(h.address == holder.address for h in held))

    def over_own_limit(self, holder: Holder) -> bool:
        by_client, by_address = self.held_by(holder)
        return by_client >= self.per_client or by_address >= self.per_address

    def free(self) -> int:
        return max(0, min(self.max_visitor_kernels - len(self.kernels) - len(self._unassigned()),
                          self.renders_at_once - len(self.rendering)))

    # -- the line
    def ask(self, ticket: str | None, holder: Holder) -> Decision:
        """A visitor asks for a page (again, with its ticket, or for the first time)."""
        now = self.clock()
        for t in [t for t, w in self.queue.items() if now - w.seen > self.ticket_seconds]:
            del self.queue[t]
        if ticket in self.queue:
            self.queue[ticket].seen = now
            self.queue[ticket].holder = holder
        own_limit = self.over_own_limit(holder)
        # Visitors ahead that could go now (those at their own limit let others pass).
        order = list(self.queue)
        before = order[:order.index(ticket)] if ticket in self.queue else order
        ahead = [t for t in before if not self.over_own_limit(self.queue[t].holder)]
        if not own_limit and len(ahead) < self.free():
            self.queue.pop(ticket, None)
            token = secrets.token_hex(8)
            self.rendering[token] = holder
            return Decision("go", ticket=token)
        if ticket not in self.queue:
            if len(self.queue) >= self.queue_length:
                return Decision("full")
            ticket = secrets.token_urlsafe(12)
            self.queue[ticket] = Waiting(holder, now)
        return Decision("wait", ticket=ticket, position=len(ahead) + 1, own_limit=own_limit)

    def kernel_known(self, token: str, kernel_id: str) -> None:
        """The page being rendered names its kernel: from now on it is the visitor's (the
        browser opens the kernel's websocket while the rest of the page still streams)."""
        holder = self.rendering.get(token)
        if holder is not None:
            self.rendering_kernel[token] = kernel_id
            self.kernels[kernel_id] = holder

    def rendered(self, token: str, kernel_id: str | None = None) -> None:
        """The page of an admitted visitor is finished (or failed: no kernel)."""
        holder = self.rendering.pop(token, None)
        self.rendering_kernel.pop(token, None)
        if holder is not None and kernel_id:
            self.kernels[kernel_id] = holder

    def owner(self, kernel_id: str) -> Holder | None:
        return self.kernels.get(kernel_id)

    def counts(self) -> dict:
        return {"visitor_kernels": len(self.kernels), "rendering": len(self.rendering), "waiting": len(self.queue)}
