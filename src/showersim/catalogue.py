"""The experiments showersim simulates, by name: KASCADE (the default), KASCADE-Grande, Tunka-133.

Kept apart from :mod:`showersim.experiment` (what every experiment shares), which the
experiment modules import: the catalogue imports them, so nothing imports in a circle.
"""

from __future__ import annotations

from .experiment import Experiment
from .grande import GRANDE
from .kascade import KASCADE
from .tunka import TUNKA

EXPERIMENTS: dict[str, Experiment] = {exp.name: exp for exp in (KASCADE, GRANDE, TUNKA)}


def get(name: str) -> Experiment:
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ValueError(f"unknown experiment {name!r}: use one of {', '.join(names())}") from None


def names() -> tuple[str, ...]:
    return tuple(EXPERIMENTS)
