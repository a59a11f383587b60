"""Print the logs of real processes only when a test fails.

In a conftest.py::

    from tests.support.pytest_logs import pytest_runtest_makereport  # noqa: F401 (hook)
    from tests.support.pytest_logs import print_logs_if_failed

    @pytest.fixture(autouse=True)
    def _logs(request):
        yield
        print_logs_if_failed(request, lambda: [("hub", hub.log())])
"""
from __future__ import annotations

from typing import Callable, Iterable

import pytest


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (item.rep_setup / rep_call / rep_teardown)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    setup = getattr(request.node, "rep_setup", None)
    return bool((rep is not None and rep.failed) or (setup is not None and setup.failed))


def print_logs_if_failed(request, logs: Callable[[], Iterable[tuple[str, str]]], tail: int = 8000) -> None:
    """``logs()`` returns (name, text) pairs; printed (last ``tail`` characters) if the test failed."""
    if not failed(request):
        return
    for name, text in logs():
        print(f"\n===== {name} log (tail) =====\n{text[-tail:]}")
