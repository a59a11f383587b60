import pytest

from servicekit.server_roles import DEFAULT_ROLE, ROLES, disabled_extensions

FORMGRADER = "nbgrader.server_extensions.formgrader"


def test_students_keep_fetch_submit_and_validate_but_not_grading():
    off = disabled_extensions("student")
    assert off[FORMGRADER] is False
    assert off["nbgrader.server_extensions.course_list"] is False
    assert "nbgrader.server_extensions.assignment_list" not in off
    assert "nbgrader.server_extensions.validate_assignment" not in off


@pytest.mark.parametrize("role", ["teacher", "formgrader", ""])
def test_graders_keep_the_formgrader(role):
    assert FORMGRADER not in disabled_extensions(role)


def test_no_role_is_a_teacher():
    assert DEFAULT_ROLE in ROLES
    assert disabled_extensions("") == disabled_extensions(DEFAULT_ROLE)


def test_unknown_role_names_the_choices():
    with pytest.raises(ValueError, match="ASTROHUB_SERVER_ROLE='pupil'.*student, teacher, formgrader"):
        disabled_extensions("pupil")
