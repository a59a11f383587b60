"""The dashboards' data access while the datacentre is not there yet (stack start, restart).

Preheated kernels run every dashboard as soon as the dashboards server starts, which in
the stack is before the datacentre listens: they must wait for it, not keep an error
page for their first visitor.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
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
    monkeypatch.setattr(data, "_memory", OrderedDict())
    data.settings.cache_clear()  # a kernel reads its settings once: these changed
    yield data
    data.settings.cache_clear()
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


def test_hundreds_of_slider_values_leave_the_dashboards_working_for_the_next_visitor(stack, dashboards_data,
                                                                                      monkeypatch, tmp_path):
    """Security 19.6: every free slider value used to be a new data request of the shared
    service account, never removed: the account's stored-bytes limit (2 MB here) filled and
    every later visitor got 429; the cache folder grew without bound."""
    from dashboards import explorer

    monkeypatch.setenv("DASHBOARDS_CACHE_MB", "0.3")
    dashboards_data.settings.cache_clear()
    cache = tmp_path / "cache"
    sizes = []
    posts_before = stack.dc.log().count("POST /services/datacentre/api/requests")
    for i in range(300):  # one visitor sweeps both ends of the energy cut
        low = 14.0 + (i % 150) * 0.0133
        fig, note = explorer.draw("kascade-test", "Heat map", "Ne", "Nmu", "E", (low, low + 1.9 + (i // 150) * 0.07))
        assert fig is not None, note
        # the exact cut the visitor chose, not the grid's
        assert f"{low:g} <= E" in note
        sizes.append(sum(p.stat().st_size for p in cache.iterdir() if p.is_file()))
    assert max(sizes) <= 0.3 * 2**20 + 100_000  # the bound, plus the one file written last

    # Many distinct requests (the grid shares some, not all: a real sweep) ...
    log = stack.dc.log()
    posts = log.count("POST /services/datacentre/api/requests") - posts_before
    assert posts >= 50, posts
    # ... and nothing of them is left on the datacentre for the service account ...
    assert [r for r in stack.dc.db_rows("requests") if r["owner"].endswith("dashboards")] == []
    # ... and the next visitor (a fresh kernel) gets a selection nobody asked for before.
    monkeypatch.setattr(dashboards_data, "_memory", OrderedDict())
    df = dashboards_data.selection("kascade-test", ["E", "Age"], cuts=[("E", "between", [15.0, 15.5])])
    assert len(df) > 0 and df["E"].between(15.0, 15.5).all()


def test_the_explorer_search_asks_the_catalogue(stack, dashboards_data):
    from dashboards import explorer

    assert explorer.matching_shops("synthetic KASCADE", ["kascade-test", "kascade-arrays", "gone"]) == \
        ["kascade-arrays", "kascade-test"]  # both match alike: by id
    assert explorer.matching_shops("Xmax", ["kascade-test"]) == []
