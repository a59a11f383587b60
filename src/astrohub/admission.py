"""Starts served in order: at most K user servers start at once, the rest wait in line.

A server's start is mostly CPU (imports, loading extensions). With more starts
at once than cores they share the CPUs, and nobody is ready until everybody is.
Served in arrival order, the first students work while the others wait, and each
waiting student is told their place and an estimate.

Pure asyncio on the hub's event loop: nothing here blocks or does I/O.
"""

from __future__ import annotations

import asyncio
import heapq
import statistics
from collections import deque
from contextlib import asynccontextmanager
from typing import Hashable

from . import i18n


class Withdrawn(RuntimeError):
    """The start was called off (its server stopped) while it waited in line."""


class StartLine:
    """A first-come, first-served line in front of ``slots`` concurrent starts."""

    def __init__(self, slots: int, history: int = 20):
        self._check(slots)
        self.slots = slots
        self._waiting: list[Hashable] = []  # arrival order
        self._turns: dict[Hashable, asyncio.Future] = {}
        self._admitted: dict[Hashable, float] = {}  # key -> loop time its turn came
        # Durations of the last successful starts, from turn to ready: the estimate.
        self._durations: deque[float] = deque(maxlen=history)
        self._moved: asyncio.Future | None = None

    @staticmethod
    def _check(slots: int) -> None:
        if slots < 1:
            raise ValueError(f"a line of starts needs at least 1 slot, not {slots}")

    # -- what the waiting see ----------------------------------------------------
    def place(self, key: Hashable) -> int | None:
        """1 for the next in line; None when not waiting (its turn came, or not in line)."""
        try:
            return self._waiting.index(key) + 1
        except ValueError:
            return None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._admitted)

    def typical_start(self) -> float | None:
        """Median seconds of the recent starts, from turn to ready; None before the first."""
        return statistics.median(self._durations) if self._durations else None

    def estimate(self, key: Hashable) -> float | None:
        """Seconds until the waiting ``key``'s server is ready, if every start takes the typical time.

        Plays the line forward: each slot frees when its current start has had
        the typical duration (or now, if overdue), then takes the next in line.
        """
        place, typical = self.place(key), self.typical_start()
        if place is None or typical is None:
            return None
        now = asyncio.get_running_loop().time()
        free = sorted(max(0.0, typical - (now - since)) for since in self._admitted.values())
        free += [0.0] * max(0, self.slots - len(free))
        heapq.heapify(free)
        for _ in range(place - 1):
            heapq.heappush(free, heapq.heappop(free) + typical)
        return heapq.heappop(free) + typical

    async def moved(self) -> None:
        """Return at the next change of the line (someone joined, left or got their turn)."""
        if self._moved is None or self._moved.done():
            self._moved = asyncio.get_running_loop().create_future()
        # Shielded: one waiter giving up must not cancel the others' wake-up.
        await asyncio.shield(self._moved)

    # -- joining, leaving ------------------------------------------------------------
    @asynccontextmanager
    async def turn(self, key: Hashable):
        """Wait in line for a slot, hold it for the body, free it however the body ends.

        Cancelled while waiting (the hub interrupts a start that is stopped), the
        key leaves the line. A body that fails frees its slot and is not counted
        in the estimate.
        """
        if key in self._turns or key in self._admitted:
            raise RuntimeError(f"{key!r} is already in line or starting")
        loop = asyncio.get_running_loop()
        if self._waiting or len(self._admitted) >= self.slots:
            turn = self._turns[key] = loop.create_future()
            self._waiting.append(key)
            self._changed()
            try:
                await turn
            except BaseException:
                if key in self._admitted:  # the turn came just as the wait was cancelled
                    self._release(key, None)
                else:
                    self._leave(key)
                raise
        else:
            self._admitted[key] = loop.time()
            self._changed()
        done = False
        try:
            yield
            done = True
        finally:
            self._release(key, loop.time() - self._admitted[key] if done else None)

    def withdraw(self, key: Hashable) -> bool:
        """Take a waiting key out of the line (its server was stopped); its wait ends in Withdrawn."""
        turn = self._turns.get(key)
        if key not in self._waiting or turn is None:
            return False
        self._leave(key)
        turn.set_exception(Withdrawn("the server was stopped while it waited for its turn to start"))
        return True

    def resize(self, slots: int) -> None:
        """Change how many may start at once (nodes joined or left); more slots admit at once."""
        self._check(slots)
        self.slots = slots
        self._admit()

    # -- internals ----------------------------------------------------------------------
    def _leave(self, key: Hashable) -> None:
        if key in self._waiting:
            self._waiting.remove(key)
        self._turns.pop(key, None)
        self._changed()

    def _release(self, key: Hashable, duration: float | None) -> None:
        self._admitted.pop(key, None)
        if duration is not None:
            self._durations.append(duration)
        self._admit()
        self._changed()

    def _admit(self) -> None:
        now = asyncio.get_running_loop().time()
        while self._waiting and len(self._admitted) < self.slots:
            key = self._waiting.pop(0)
            turn = self._turns.pop(key)
            if turn.done():  # cancelled: its waiter is on the way out
                continue
            self._admitted[key] = now
            turn.set_result(None)
            self._changed()

    def _changed(self) -> None:
        if self._moved is not None and not self._moved.done():
            self._moved.set_result(None)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(place: int, estimate: float | None, lang: str = i18n.DEFAULT) -> str:
    """What a waiting student reads, in their language: '8th in line, about 30 s'."""
    # English says the place as an ordinal; German and Russian name it ("Platz 8", "место 8").
    values = {"place": ordinal(place) if lang == i18n.DEFAULT else str(place)}
    if estimate is None:
        text = i18n.gettext_(lang, "%(place)s in line to start")
    elif estimate < 90:
        # a rough duration, as a person says it
        text, values["seconds"] = i18n.gettext_(lang, "%(place)s in line, about %(seconds)s s"), max(5, 5 * round(estimate / 5))
    else:
        text, values["minutes"] = i18n.gettext_(lang, "%(place)s in line, about %(minutes)s min"), round(estimate / 60)
    return text % values


def your_turn(lang: str = i18n.DEFAULT) -> str:
    return i18n.gettext_(lang, "Your turn: starting your server")
