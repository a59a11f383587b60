from servicekit.visitors import REPEAT_SECONDS, VisitorLog


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_owner_is_no_visitor_and_a_visitor_is_logged_once_then_every_repeat():
    clock = Clock()
    log = VisitorLog("sam", clock)
    assert not log.visit("sam") and not log.visit(None) and not log.visit("")
    assert log.visit("tina")
    clock.now += 5
    assert not log.visit("tina"), "one line per visit, not per API call"
    assert log.visit("admin"), "each visitor has their own line"
    clock.now += REPEAT_SECONDS
    assert log.visit("tina"), "a long visit shows again"


def test_a_server_without_a_known_owner_logs_nobody():
    assert not VisitorLog("").visit("tina")
