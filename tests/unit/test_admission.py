"""The line of starts (astrohub.admission): order, cancellation, release, estimates."""

import asyncio

import pytest

from astrohub.admission import StartLine, Withdrawn, describe, ordinal


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def starter(line, key, log, release: asyncio.Event, fail=False):
    """One start: waits its turn, notes it, holds the slot until told to finish."""
    async with line.turn(key):
        log.append(key)
        await release.wait()
        if fail:
            raise RuntimeError(f"start of {key} failed")


def test_at_most_slots_start_and_the_rest_get_their_turn_in_arrival_order():
    async def main():
        line, log, go = StartLine(2), [], {k: asyncio.Event() for k in "abcdef"}
        tasks = {}
        for key in "abcdef":
            tasks[key] = asyncio.create_task(starter(line, key, log, go[key]))
            await settle()
        assert log == ["a", "b"] and line.running == 2
        assert [line.place(k) for k in "abcdef"] == [None, None, 1, 2, 3, 4]
        # The second finishes first: the next in line (c) gets its turn, not a later one.
        go["b"].set()
        await settle()
        assert log == ["a", "b", "c"]
        for key in "acdef":
            go[key].set()
        await asyncio.gather(*tasks.values())
        assert log == list("abcdef") and line.running == 0 and line.waiting == 0

    run(main())


def test_a_start_cancelled_while_waiting_leaves_the_line_and_keeps_no_slot():
    async def main():
        line, log, go = StartLine(1), [], {k: asyncio.Event() for k in "abc"}
        tasks = {k: asyncio.create_task(starter(line, k, log, go[k])) for k in "abc"}
        await settle()
        tasks["b"].cancel()  # the hub interrupts a pending start when its server is stopped
        await settle()
        assert line.place("b") is None and line.place("c") == 1
        go["a"].set()
        go["c"].set()
        await asyncio.gather(tasks["a"], tasks["c"])
        assert log == ["a", "c"]
        with pytest.raises(asyncio.CancelledError):
            await tasks["b"]

    run(main())


def test_a_start_cancelled_after_its_turn_came_frees_its_slot():
    async def main():
        line, log, go = StartLine(1), [], {k: asyncio.Event() for k in "ab"}
        a = asyncio.create_task(starter(line, "a", log, go["a"]))
        b = asyncio.create_task(starter(line, "b", log, go["b"]))
        await settle()
        a.cancel()  # stopped while starting
        await settle()
        assert log == ["a", "b"] and line.running == 1
        go["b"].set()
        await b
        assert line.running == 0

    run(main())


def test_a_failed_start_frees_its_slot_and_does_not_count_in_the_estimate():
    async def main():
        line, log, go = StartLine(1), [], {k: asyncio.Event() for k in "ab"}
        a = asyncio.create_task(starter(line, "a", log, go["a"], fail=True))
        b = asyncio.create_task(starter(line, "b", log, go["b"]))
        await settle()
        go["a"].set()
        with pytest.raises(RuntimeError, match="start of a failed"):
            await a
        await settle()
        assert log == ["a", "b"]
        assert line.typical_start() is None
        go["b"].set()
        await b
        assert line.typical_start() is not None

    run(main())


def test_a_stopped_waiting_server_is_withdrawn_from_the_line():
    async def main():
        line, log, go = StartLine(1), [], {k: asyncio.Event() for k in "abc"}
        tasks = {k: asyncio.create_task(starter(line, k, log, go[k])) for k in "abc"}
        await settle()
        assert line.withdraw("b") is True
        assert line.withdraw("a") is False  # starting, not waiting: the stop itself ends it
        with pytest.raises(Withdrawn):
            await tasks["b"]
        assert line.place("c") == 1
        go["a"].set()
        go["c"].set()
        await asyncio.gather(tasks["a"], tasks["c"])
        assert log == ["a", "c"]

    run(main())


def test_one_key_cannot_queue_twice():
    async def main():
        line, go = StartLine(1), asyncio.Event()
        first = asyncio.create_task(starter(line, "a", [], go))
        await settle()
        with pytest.raises(RuntimeError, match="already"):
            async with line.turn("a"):
                pass
        go.set()
        await first

    run(main())


def test_more_slots_admit_the_waiting_at_once():
    async def main():
        line, log, go = StartLine(1), [], asyncio.Event()
        tasks = [asyncio.create_task(starter(line, k, log, go)) for k in "abc"]
        await settle()
        line.resize(3)
        await settle()
        assert log == ["a", "b", "c"]
        go.set()
        await asyncio.gather(*tasks)

    run(main())


def test_the_estimate_plays_the_line_forward_with_the_typical_start():
    async def main():
        line = StartLine(2)
        line._durations.extend([10.0, 10.0, 10.0])
        go = asyncio.Event()
        tasks = [asyncio.create_task(starter(line, k, [], go)) for k in range(7)]
        await settle()
        # Two starting (just begun, 10 s left each); places 1-2 start at 10 s, 3-4 at 20 s, 5 at 30 s.
        assert [round(line.estimate(k)) for k in range(2, 7)] == [20, 20, 30, 30, 40]
        assert line.estimate(0) is None  # starting, not waiting
        go.set()
        await asyncio.gather(*tasks)

    run(main())


def test_waiters_are_woken_when_the_line_moves():
    async def main():
        line, go = StartLine(1), asyncio.Event()
        a = asyncio.create_task(starter(line, "a", [], go))
        b = asyncio.create_task(starter(line, "b", [], go))
        await settle()
        woken = asyncio.create_task(line.moved())
        await settle()
        assert not woken.done()
        go.set()
        await asyncio.wait_for(woken, 1)
        await asyncio.gather(a, b)

    run(main())


def test_the_message_a_waiting_student_reads():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th"]
    assert describe(8, 31) == "8th in line, about 30 s"
    assert describe(1, 2) == "1st in line, about 5 s"
    assert describe(40, 200) == "40th in line, about 3 min"
    assert describe(3, None) == "3rd in line to start"


def test_the_message_is_in_the_language_of_the_request_that_asked_for_the_start():
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    from astrohub.admission import your_turn
    from astrohub.hublanguage import handler_language

    assert describe(8, 31, "de") == "Platz 8 in der Warteschlange, noch etwa 30 s"
    assert describe(40, 200, "ru") == "Место в очереди: 40, ждать около 3 мин"
    assert describe(3, None, "ru") == "Место в очереди: 3"
    assert your_turn("de") == "Sie sind an der Reihe: Ihr Server wird gestartet"

    class Handler:  # what JupyterHub keeps as spawner.handler while the start runs
        request = HTTPServerRequest(start_line=RequestStartLine("POST", "/hub/api/users/a/server", "HTTP/1.1"),
                                    headers=HTTPHeaders({"Host": "hub", "Cookie": "astrohub_lang=ru",
                                                         "Accept-Language": "de"}))

    assert handler_language(Handler()) == "ru"
    assert handler_language(None) == "en"


def test_the_spawn_pending_page_reads_the_line_in_the_students_language():
    """AstroSwarmSpawner.progress up to the turn: the messages of the line, then 'your turn'."""
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    from astrohub.spawner import AstroSwarmSpawner

    class Line:
        def place(self, key):
            return 2

        def estimate(self, key):
            return 31

        async def moved(self):
            waiting.turn_came.set()

    class Waiting:  # the parts of a spawner that progress() reads while it waits
        turn_came = asyncio.Event()
        handler = type("Handler", (), {"request": HTTPServerRequest(
            start_line=RequestStartLine("GET", "/hub/spawn/alice", "HTTP/1.1"),
            headers=HTTPHeaders({"Host": "hub", "Accept-Language": "de-DE,de"}))})()

        async def start_line(self):
            return Line()

    waiting = Waiting()

    async def main():
        events = []
        async for event in AstroSwarmSpawner.progress(waiting):
            events.append(event["message"])
            if len(events) == 2:
                return events

    assert run(main()) == ["Platz 2 in der Warteschlange, noch etwa 30 s",
                           "Sie sind an der Reihe: Ihr Server wird gestartet"]
