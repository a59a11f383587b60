"""The settings schema: validation with messages that say what to change."""

import pytest

from astrohub import settings
from astrohub.settings import SettingsError, load


def test_defaults_load_without_any_environment():
    s = load({}, secrets_dir="/nonexistent")
    assert s.authenticator == "native"
    assert s.mem_limit == "2G"
    assert s.admin_users == ("admin",)
    assert s.image == f"astrohub/singleuser:{settings.VERSION}"


def test_values_are_parsed_and_normalised():
    s = load({"ASTROHUB_MEM_LIMIT": "512m", "ASTROHUB_CPU_LIMIT": "0.5",
              "ASTROHUB_ADMIN_USERS": "ada, grace ,", "ASTROHUB_ALLOW_SIGNUP": "no"}, secrets_dir="/nonexistent")
    assert s.mem_limit == "512M"
    assert s.cpu_limit == 0.5
    assert s.admin_users == ("ada", "grace")
    assert s.allow_signup is False


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        ("ASTROHUB_AUTHENTICATOR", "ldap", "use one of: native, oidc"),
        ("ASTROHUB_LOG_LEVEL", "loud", "use one of: DEBUG, INFO, WARNING, ERROR"),
        ("ASTROHUB_MEM_LIMIT", "2 gigs", "use a size such as 512M or 2G"),
        ("ASTROHUB_CPU_LIMIT", "-1", "greater than 0"),
        ("ASTROHUB_HTTP_PORT", "eighty", "whole number"),
        ("ASTROHUB_START_TIMEOUT", "3", "at least 10"),
        ("ASTROHUB_PUBLIC_URL", "hub.example.org", "http:// or https://"),
        ("ASTROHUB_STACK_NAME", "My Stack", "lower-case"),
        ("ASTROHUB_ALLOW_SIGNUP", "perhaps", "1/true/yes or 0/false/no"),
    ],
)
def test_a_wrong_value_names_the_variable_and_what_is_allowed(variable, value, expected):
    with pytest.raises(SettingsError) as err:
        load({variable: value}, secrets_dir="/nonexistent")
    message = str(err.value)
    assert variable in message
    assert expected in message


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as err:
        load({"ASTROHUB_MEM_LIMIT": "x", "ASTROHUB_CPU_LIMIT": "y"}, secrets_dir="/nonexistent")
    assert len(err.value.problems) == 2


def test_an_unknown_variable_is_refused_so_typos_do_not_pass_silently():
    with pytest.raises(SettingsError, match="ASTROHUB_MEM_LIMT is not a setting"):
        load({"ASTROHUB_MEM_LIMT": "1G"}, secrets_dir="/nonexistent")


def test_secrets_come_from_docker_secret_files_and_never_show_in_repr(tmp_path):
    (tmp_path / "astrohub_cookie_secret").write_text("ab" * 32 + "\n")
    other = tmp_path / "elsewhere"
    other.write_text("s3cret-ops")
    s = load({"ASTROHUB_OPS_TOKEN_FILE": str(other)}, secrets_dir=tmp_path)
    assert s.cookie_secret == "ab" * 32
    assert s.ops_token == "s3cret-ops"
    assert "s3cret-ops" not in repr(s) and "abab" not in repr(s)


def test_a_bad_secret_value_is_reported_without_showing_it(tmp_path):
    with pytest.raises(SettingsError) as err:
        load({"ASTROHUB_ADMIN_PASSWORD": "hunter2", "ASTROHUB_HTTP_PORT": "x"}, secrets_dir=tmp_path)
    assert "hunter2" not in str(err.value)


def test_the_configuration_reference_is_generated_from_the_schema_and_up_to_date():
    from pathlib import Path

    doc = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert doc.read_text() == settings.reference_markdown(), "run `astrohub settings-doc` and commit docs/configuration.md"
    for s in settings.SCHEMA:
        assert f"`{s.env}`" in doc.read_text()


def test_the_hubs_settings_file_written_from_the_defaults_loads_back(tmp_path, monkeypatch):
    """`astrohub up` writes every non-secret setting, empty ones too, into the hub's
    env file; the hub must accept what the deploy wrote (an empty URL once stopped it)."""
    from pathlib import Path

    from astrohub.deploy import Stack

    monkeypatch.setenv("ASTROHUB_STATE_DIR", str(tmp_path))
    stack = Stack(Path("."), load({}, secrets_dir="/nonexistent"))
    stack.state_dir.mkdir(parents=True)
    env = dict(line.split("=", 1) for line in stack.write_env_file().read_text().splitlines() if line)
    assert load(env, secrets_dir="/nonexistent").kcdc_portal_url == ""
