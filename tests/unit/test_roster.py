"""The roster's checks: every problem at once, each with the line and the fix."""
import pytest

from astrohub.roster import RosterError, check_request, format_result, parse


def test_a_good_roster():
    entries = parse("\ufeffusername,groups,email\nada,students;students-astro101,ada@example.org\n\nemmy,teachers-astro101,\n")
    assert [(e.username, e.groups, e.email) for e in entries] == [
        ("ada", ["students", "students-astro101"], "ada@example.org"), ("emmy", ["teachers-astro101"], "")]


def test_only_the_username_column_is_required():
    assert parse("username\nada\n")[0].groups == []


@pytest.mark.parametrize("text,message", [
    ("", "line 1: the roster is empty"),
    ("name,groups\nada,students\n", "line 1: the header is 'name,groups'"),
    ("username,groups\n", "no accounts"),
    ("username,groups\nada,students,extra\n", "line 2: 3 fields but the header has 2"),
    ("username,groups\nAda,students\n", "line 2: username 'Ada' is not allowed"),
    ("username,groups\nada,Students!\n", "line 2: group 'Students!' is not allowed"),
    ("username,email\nada,ada.example.org\n", "line 2: email 'ada.example.org'"),
    ("username\nada\nbob\nada\n", "line 4: username 'ada' is already on line 2"),
])
def test_a_bad_roster_names_the_line_and_the_fix(text, message):
    with pytest.raises(RosterError) as e:
        parse(text)
    assert any(message in p for p in e.value.problems), e.value.problems


def test_all_problems_are_reported_together():
    with pytest.raises(RosterError) as e:
        parse("username,groups\nA B,x\nok,y/z\n")
    assert [p.split(":")[0] for p in e.value.problems] == ["line 2", "line 3"]


def test_the_endpoint_check_refuses_odd_bodies():
    for body in (None, [], [{"username": 3}], [{"username": "ada", "groups": "students"}]):
        with pytest.raises(RosterError):
            check_request(body)


def test_the_passwords_are_printed_with_the_names():
    text = format_result({"created": [{"username": "ada", "password": "pw-1", "groups": ["students"]}],
                          "existing": [{"username": "emmy", "groups": []}]})
    assert "ada" in text and "pw-1" in text and "1 account(s) created, 1 existed" in text
