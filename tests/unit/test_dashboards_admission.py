"""The line in front of the dashboards' kernels (dashboards.admission), and the limits' settings."""

import pytest

from astrohub import settings
from dashboards.admission import Admission, Holder
from dashboards.app import voila_config


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def visitor(n: int, address: str | None = None) -> Holder:
    return Holder(f"visitor-{n}", address or f"10.0.0.{n}")


def test_visitors_beyond_the_kernels_wait_in_arrival_order_and_go_when_a_kernel_goes():
    a = Admission(max_visitor_kernels=2, renders_at_once=2, queue_length=10)
    first, second = a.ask(None, visitor(1)), a.ask(None, visitor(2))
    assert (first.action, second.action) == ("go", "go")
    a.rendered(first.ticket, "k1")
    a.rendered(second.ticket, "k2")
    third, fourth = a.ask(None, visitor(3)), a.ask(None, visitor(4))
    assert (third.action, third.position) == ("wait", 1)
    assert (fourth.action, fourth.position) == ("wait", 2)
    # The fourth asks again first: still behind the third.
    assert a.ask(fourth.ticket, visitor(4)).position == 2
    a.forget_gone(["k2"])  # k1's page was closed
    assert a.ask(fourth.ticket, visitor(4)).action == "wait"
    assert a.ask(third.ticket, visitor(3)).action == "go"


def test_renders_at_once_bound_the_kernel_starts_not_the_kernels():
    a = Admission(max_visitor_kernels=10, renders_at_once=1)
    first = a.ask(None, visitor(1))
    assert first.action == "go"
    assert a.ask(None, visitor(2)).action == "wait"  # the first page is still rendering
    a.rendered(first.ticket, "k1")
    assert a.ask(None, visitor(3)).action == "wait"  # visitor 2 is in line before 3
    assert a.counts() == {"visitor_kernels": 1, "rendering": 0, "waiting": 2}


def test_a_full_line_turns_new_visitors_away_but_keeps_those_in_it():
    a = Admission(max_visitor_kernels=1, queue_length=1)
    a.rendered(a.ask(None, visitor(1)).ticket, "k1")
    waiting = a.ask(None, visitor(2))
    assert waiting.action == "wait"
    assert a.ask(None, visitor(3)).action == "full"
    assert a.ask(waiting.ticket, visitor(2)).action == "wait"


def test_a_ticket_not_asked_about_any_more_leaves_the_line():
    clock = Clock()
    a = Admission(max_visitor_kernels=1, queue_length=1, ticket_seconds=30, clock=clock)
    a.rendered(a.ask(None, visitor(1)).ticket, "k1")
    assert a.ask(None, visitor(2)).action == "wait"
    clock.now = 31  # visitor 2 closed the waiting page
    assert a.ask(None, visitor(3)).action == "wait"


def test_one_client_holds_at_most_its_share_and_lets_others_pass():
    a = Admission(max_visitor_kernels=10, per_client=2, renders_at_once=10)
    greedy = visitor(1)
    for k in ("k1", "k2"):
        d = a.ask(None, greedy)
        assert d.action == "go"
        a.rendered(d.ticket, k)
    third = a.ask(None, greedy)
    assert third.action == "wait" and third.own_limit
    # Others are not held up by the greedy client's place in line.
    assert a.ask(None, visitor(2)).action == "go"
    a.forget_gone(["k2"])
    assert a.ask(third.ticket, greedy).action == "go"


def test_one_address_holds_at_most_a_class():
    a = Admission(max_visitor_kernels=10, per_client=3, per_address=2, renders_at_once=10)
    for n in (1, 2):
        d = a.ask(None, visitor(n, "192.0.2.7"))
        a.rendered(d.ticket, f"k{n}")
    d = a.ask(None, visitor(3, "192.0.2.7"))
    assert d.action == "wait" and d.own_limit
    assert a.ask(None, visitor(4, "192.0.2.8")).action == "go"


def test_only_kernels_handed_to_a_visitor_have_an_owner():
    a = Admission(max_visitor_kernels=2)
    d = a.ask(None, visitor(1))
    a.rendered(d.ticket, "k1")
    assert a.owner("k1").client == "visitor-1"
    assert a.owner("pool-kernel") is None
    failed = a.ask(None, visitor(2))
    a.rendered(failed.ticket, None)  # the render failed: it holds nothing
    assert a.counts()["rendering"] == 0 and a.owner("k2") is None


def test_the_service_config_leaves_visitors_what_the_pools_do_not_take():
    c = voila_config(max_kernels=22, pool_size=2)
    assert c.DashboardsVoila.max_visitor_kernels == 22 - 5 * 2
    with pytest.raises(ValueError, match="DASHBOARDS_MAX_KERNELS=5 leaves no kernel"):
        voila_config(max_kernels=5, pool_size=1)


def test_the_kernel_bound_follows_the_memory_limit_unless_set():
    s = settings.load({}, secrets_dir="/nonexistent")
    assert settings.dashboards_max_kernels(s) == (4096 - 300) // 170 == 22
    s = settings.load({"ASTROHUB_DASHBOARDS_MEM_LIMIT": "8G"}, secrets_dir="/nonexistent")
    assert settings.dashboards_max_kernels(s) == (8192 - 300) // 170
    s = settings.load({"ASTROHUB_DASHBOARDS_MAX_KERNELS": "12"}, secrets_dir="/nonexistent")
    assert settings.dashboards_max_kernels(s) == 12


def test_a_kernel_bound_below_the_pools_is_refused_with_the_fix():
    with pytest.raises(settings.SettingsError, match="larger than 5 x ASTROHUB_DASHBOARDS_POOL_SIZE = 10"):
        settings.load({"ASTROHUB_DASHBOARDS_MAX_KERNELS": "8", "ASTROHUB_DASHBOARDS_POOL_SIZE": "2"},
                      secrets_dir="/nonexistent")


def test_a_kernel_is_its_visitors_as_soon_as_the_page_names_it_and_counts_once():
    a = Admission(max_visitor_kernels=2, renders_at_once=2)
    d = a.ask(None, visitor(1))
    a.kernel_known(d.ticket, "k1")  # the page is still streaming; the browser opens the websocket now
    assert a.owner("k1").client == "visitor-1"
    assert a.held_by(visitor(1)) == (1, 1)
    assert a.ask(None, visitor(2)).action == "go"  # one kernel held, one render: room for one more
    a.rendered(d.ticket, "k1")
    assert a.counts()["visitor_kernels"] == 1 and a.owner("k1").client == "visitor-1"


def test_a_pool_kernel_handed_out_late_gets_its_full_loading_time():
    import asyncio
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    from dashboards.culling import ClosedPageCuller

    long_ago = datetime.now(timezone.utc) - timedelta(seconds=1000)  # idled in its pool
    kernel = SimpleNamespace(execution_state="idle", last_activity=long_ago)
    shut = []

    async def shutdown_kernel(kernel_id):
        shut.append(kernel_id)

    km = SimpleNamespace(list_kernel_ids=lambda: ["k1"], get_kernel=lambda k: kernel, _kernel_connections={},
                         shutdown_kernel=shutdown_kernel, log=SimpleNamespace(info=lambda *a: None))
    culler = ClosedPageCuller(km, closed_seconds=30, unopened_seconds=300)
    culler.page_served("k1")
    assert asyncio.run(culler.cull()) == [] and not shut
    culler.served["k1"] = long_ago
    assert asyncio.run(culler.cull()) == ["k1"]
