"""kcdc.masterclass.answer: the check of a "your turn" cell says "not answered yet" for the
scaffold's placeholder, gives the hint (never the expected value) on a wrong answer and
PASSED only on a right one; check() waits for an unanswered value instead of failing."""
from __future__ import annotations

import pytest

from kcdc import masterclass as mc

HINT = "the disc moves at 0.3 m per ns"


@pytest.mark.parametrize("placeholder", [..., None])
def test_the_untouched_scaffold_is_not_answered_yet(capsys, placeholder):
    assert mc.answer("delay", placeholder, 166.8, tolerance=2, hint=HINT) is None
    out = capsys.readouterr().out
    assert mc.NOT_ANSWERED in out and mc.ANSWER_PASSED not in out and HINT not in out


@pytest.mark.parametrize("value", [100.0, 333.6, float("nan"), "166.8 ns", [166.8, 1]])
def test_a_wrong_answer_gets_the_hint_and_never_the_solution(capsys, value):
    assert mc.answer("delay", value, 166.8, tolerance=2, hint=HINT) is False
    out = capsys.readouterr().out
    assert HINT in out and mc.ANSWER_WRONG in out
    assert mc.ANSWER_PASSED not in out and "166.8" not in out.replace(str(value), "")


@pytest.mark.parametrize("value, expected", [(166.0, 166.8), (15.6, (15.5, 15.7)), (15.45, (15.5, 15.7))])
def test_a_right_answer_passes(capsys, value, expected):
    assert mc.answer("knee", value, expected, tolerance=0.05 if isinstance(expected, tuple) else 2, hint=HINT)
    out = capsys.readouterr().out
    assert out.startswith(f"{mc.ANSWER_PASSED}: knee") and HINT not in out


def test_the_result_check_waits_for_an_unanswered_value(capsys):
    assert mc.check("knee", ..., (15.57, 15.6), tolerance=0.1, source="x") is None
    assert mc.check("knee", 15.5, (15.57, 15.6), tolerance=..., source="x") is None
    out = capsys.readouterr().out
    assert mc.NOT_ANSWERED in out and mc.PASSED not in out and mc.FAILED not in out
    assert mc.check("knee", 17.0, (15.57, 15.6), tolerance=0.1, source="x") is False
    assert mc.FAILED in capsys.readouterr().out


def test_a_closure_test_never_calls_its_reference_published(capsys):
    assert mc.check("attenuation length (closure test)", 182.0, 183.0, tolerance=5, source="the simulation's input",
                    against="simulation")
    out = capsys.readouterr().out
    assert "simulation:  183" in out and "published" not in out
    assert mc.check("knee", 15.58, (15.57, 15.6), tolerance=0.1, source="KASCADE")
    assert "published:   15.57 .. 15.6" in capsys.readouterr().out
