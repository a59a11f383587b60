import pytest

from servicekit.late_penalty import DAY, penalty


def test_a_day_begun_counts_as_a_day():
    assert penalty("percent-per-day", 5.0, 60, percent_per_day=10) == pytest.approx(0.5)
    assert penalty("percent-per-day", 5.0, DAY, percent_per_day=10) == pytest.approx(0.5)
    assert penalty("percent-per-day", 5.0, DAY + 1, percent_per_day=10) == pytest.approx(1.0)


def test_never_more_than_the_score_and_nothing_on_time():
    assert penalty("percent-per-day", 5.0, 30 * DAY, percent_per_day=10) == 5.0
    assert penalty("percent-per-day", 5.0, 0, percent_per_day=10) == 0.0
    assert penalty("zero", 5.0, 0) == 0.0
    assert penalty("percent-per-day", 0.0, DAY, percent_per_day=10) == 0.0


def test_the_grace_period_is_on_time_and_then_counts_from_the_deadline_plus_grace():
    assert penalty("percent-per-day", 4.0, 10 * 60, percent_per_day=25, grace_minutes=15) == 0.0
    assert penalty("percent-per-day", 4.0, 20 * 60, percent_per_day=25, grace_minutes=15) == pytest.approx(1.0)


def test_zero_takes_everything_and_none_nothing():
    assert penalty("zero", 5.0, 1) == 5.0
    assert penalty("none", 5.0, 10 * DAY) == 0.0


def test_an_unknown_rule_names_the_rules():
    with pytest.raises(ValueError, match="none, zero, percent-per-day"):
        penalty("half", 5.0, DAY)
