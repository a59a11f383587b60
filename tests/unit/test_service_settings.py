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


def test_what_the_hub_tells_a_service_is_read_in_one_place():
    from servicekit.settings import HubService

    hub = HubService.from_environment({"JUPYTERHUB_API_URL": "http://hub:8081/hub/api", "JUPYTERHUB_SERVICE_NAME": "ngshare",
                                       "ASTROHUB_EXCHANGE_URL": "http://proxy:8000/services/ngshare"})
    assert (hub.api_url, hub.service_name, hub.exchange_url, hub.public_url) == (
        "http://hub:8081/hub/api", "ngshare", "http://proxy:8000/services/ngshare", "")
    assert hub.missing("api_url", "service_prefix", "service_url") == ["JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_SERVICE_URL"]


def test_the_datacentre_s_own_variables_win_over_what_the_hub_says(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:18123")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/dc/")
    monkeypatch.setenv("DATACENTRE_PORT", "9999")
    monkeypatch.setenv("DATACENTRE_PREFIX", "/dc/")
    s = DatacentreSettings.from_env()
    assert (s.ip, s.port, s.prefix) == ("127.0.0.1", 9999, "/dc/")
    assert DatacentreSettings.from_env(port=7).port == 7
