import importlib
import re

import pytest

from servicekit import nbgrader_on_first_use
from servicekit.server_roles import DEFAULT_ROLE, JUPYTEXT, NBGRADER_STUDENT, ROLES, server_extensions

FORMGRADER = "nbgrader.server_extensions.formgrader"
ON_FIRST_USE = "servicekit.nbgrader_on_first_use"


def test_students_keep_fetch_submit_and_validate_on_first_use_but_not_grading():
    extensions = server_extensions("student")
    assert extensions[FORMGRADER] is False
    assert extensions["nbgrader.server_extensions.course_list"] is False
    assert all(extensions[name] is False for name in NBGRADER_STUDENT)
    assert extensions[ON_FIRST_USE] is True


@pytest.mark.parametrize("role", ["teacher", "formgrader", ""])
def test_graders_load_nbgrader_at_start(role):
    extensions = server_extensions(role)
    assert not any(name in extensions for name in NBGRADER_STUDENT)
    assert ON_FIRST_USE not in extensions


def test_the_first_use_router_catches_every_url_of_nbgrader_student_extensions():
    # nbgrader's own route tables: a new URL in an nbgrader upgrade must not 404.
    pattern = re.compile(nbgrader_on_first_use.route_pattern("/user/lise/"))
    for name in NBGRADER_STUDENT:
        handlers = importlib.import_module(name + ".handlers").default_handlers
        for path, _ in handlers:
            example = re.sub(r"\(\?P<\w+>([\w|]+)\)", lambda m: m.group(1).split("|")[0], path)
            assert pattern.match("/user/lise" + example), (name, path)
    assert not pattern.match("/user/lise/api/contents")
    assert not pattern.match("/user/lise/assignmentsx")


@pytest.mark.parametrize("role", ["teacher", "formgrader", ""])
def test_graders_keep_the_formgrader(role):
    assert FORMGRADER not in server_extensions(role)


def test_no_role_is_a_teacher():
    assert DEFAULT_ROLE in ROLES
    assert server_extensions("") == server_extensions(DEFAULT_ROLE)


def test_unknown_role_names_the_choices():
    with pytest.raises(ValueError, match="ASTROHUB_SERVER_ROLE='pupil'.*student, teacher, formgrader"):
        server_extensions("pupil")


@pytest.mark.parametrize("role", ROLES)
def test_no_role_loads_what_nothing_here_uses(role):
    extensions = server_extensions(role)
    assert extensions["jupyter_lsp"] is False
    assert extensions["notebook_shim"] is False


def test_only_teachers_open_sources_as_notebooks():
    assert server_extensions("student")[JUPYTEXT] is False
    assert server_extensions("formgrader")[JUPYTEXT] is False
    assert JUPYTEXT not in server_extensions("teacher")
