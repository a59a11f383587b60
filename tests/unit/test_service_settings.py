"""The services beside the hub read their settings one way (servicekit.settings)."""

import pytest

from dashboards.app import voila_config
from dashboards.settings import load as dashboards_settings
from datacentre.config import Settings as DatacentreSettings
from servicekit.exchange_gate import GateSettings
from servicekit.settings import SettingsError, from_environment


def test_values_are_parsed_by_the_kind_of_their_default():
    s = dashboards_settings({"DASHBOARDS_PORT": "9000", "DASHBOARDS_PREHEAT": "no", "DASHBOARDS_CACHE_MB": "0.5"})
    assert (s.port, s.preheat, s.cache_mb) == (9000, False, 0.5)
    assert voila_config(s).Voila.port == 9000 and voila_config(s).VoilaConfiguration.default_pool_size == 0


def test_every_wrong_value_and_every_unknown_variable_is_named_with_what_it_allows():
    with pytest.raises(SettingsError) as e:
        dashboards_settings({"DASHBOARDS_PORT": "eighty", "DASHBOARDS_PREHEAT": "maybe", "DASHBOARDS_POOLSIZE": "2",
                             "DASHBOARDS_BOKEH_RESOURCES": "cdn"})
    problems = "\n".join(e.value.problems)
    assert "DASHBOARDS_PORT='eighty': use a whole number" in problems
    assert "DASHBOARDS_PREHEAT='maybe': use 1/true/yes or 0/false/no" in problems
    assert "DASHBOARDS_POOLSIZE is not a setting of the dashboards" in problems and "DASHBOARDS_POOL_SIZE" in problems
    assert "DASHBOARDS_BOKEH_RESOURCES='cdn': use one of server, inline" in problems
    assert len(e.value.problems) == 4


def test_a_secret_setting_comes_from_its_file(tmp_path):
    token = tmp_path / "upstream_token"
    token.write_text("t0ken\n")
    s = from_environment(DatacentreSettings, "DATACENTRE_", "datacentre",
                         {"DATACENTRE_UPSTREAM_TOKEN_FILE": str(token), "DATACENTRE_UPSTREAM_URL": "http://kcdc/"})
    assert s.upstream_token == "t0ken" and s.upstream_url == "http://kcdc/"


def test_the_datacentre_takes_its_address_from_the_service_url(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:18123")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/dc/")
    monkeypatch.setenv("DATACENTRE_MAX_ROWS", "12")
    s = DatacentreSettings.from_env()
    assert (s.ip, s.port, s.prefix, s.max_rows) == ("127.0.0.1", 18123, "/services/dc/", 12)
    monkeypatch.setenv("DATACENTRE_WORKERS", "two")
    with pytest.raises(SettingsError, match="DATACENTRE_WORKERS='two': use a whole number"):
        DatacentreSettings.from_env()


def test_the_exchange_gate_reads_its_limits():
    s = from_environment(GateSettings, "EXCHANGE_", "exchange gate",
                         {"EXCHANGE_COURSES": "astro101,astro201", "EXCHANGE_MAX_UPLOAD_MB": "5"})
    assert s.courses == "astro101,astro201" and s.max_upload_mb == 5.0 and s.course_quota_mb == 0.0


def test_settings_made_in_code_pass_the_same_choices_with_the_same_message():
    with pytest.raises(SettingsError) as e:
        DatacentreSettings(upstream_kind="ftp")
    assert e.value.problems == ["DATACENTRE_UPSTREAM_KIND='ftp': use one of api, portal"]
    with pytest.raises(SettingsError, match="DATACENTRE_UPSTREAM_KIND='ftp': use one of api, portal"):
        from_environment(DatacentreSettings, "DATACENTRE_", "datacentre", {"DATACENTRE_UPSTREAM_KIND": "ftp"})
