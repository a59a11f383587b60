"""The dashboards' data access while the datacentre is not there yet (stack start, restart).

Preheated kernels run every dashboard as soon as the dashboards server starts, which in
the stack is before the datacentre listens: they must wait for it, not keep an error
page for their first visitor.
"""
from __future__ import annotations

import threading
import time

import pytest

from dashboards import data


@pytest.fixture
def dashboards_data(stack, tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text(stack.dashboards_token)
    monkeypatch.setenv("KCDC_URL", stack.dc.url)
    monkeypatch.setenv("DASHBOARDS_TOKEN_FILE", str(token))
    monkeypatch.setenv("DASHBOARDS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_client", None)
    monkeypatch.setattr(data, "_memory", {})
    yield data
    if stack.dc.proc is None or stack.dc.proc.poll() is not None:
        stack.dc.start()


def test_a_selection_waits_for_a_datacentre_that_is_starting(stack, dashboards_data):
    stack.dc.kill()
    restart = threading.Timer(3.0, stack.dc.start)
    restart.start()
    t0 = time.monotonic()
    df = dashboards_data.selection("kascade-test", ["E", "Ev"], cuts=[("E", ">", 17.0)])
    waited = time.monotonic() - t0
    restart.join()
    assert waited >= 3.0  # it really was down when asked
    assert len(df) > 0 and (df["E"] > 17.0).all()
    assert df["Ev"].is_unique


def test_a_datacentre_that_stays_away_gives_a_clear_error(stack, dashboards_data):
    from kcdc import ServiceUnavailable

    stack.dc.kill()
    with pytest.raises(ServiceUnavailable, match="(?i)try again in a minute"):
        dashboards_data.patiently(lambda: dashboards_data.client().datashops(), patience=2.0)
