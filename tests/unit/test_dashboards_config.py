"""The dashboards' Voila configuration and their place in the hub configuration."""

import pytest
from traitlets.config import Config

from astrohub import settings
from astrohub.config import apply
from dashboards.app import voila_config


def test_public_voila_refuses_overrides_preheats_and_culls():
    c = voila_config()
    v = c.VoilaConfiguration
    assert (v.allow_template_override, v.allow_theme_override) == ("NO", "NO")
    assert v.preheat_kernel is True and v.default_pool_size == 1
    assert v.file_allowlist == []
    assert c.MappingKernelManager.cull_idle_timeout == 900 and c.MappingKernelManager.cull_connected is True
    assert c.Voila.base_url == c.Voila.server_url == "/services/dashboards/"
    assert c.IdentityProvider.secure_cookie is True


def test_stock_mode_has_no_pool():
    v = voila_config(preheat=False).VoilaConfiguration
    assert v.preheat_kernel is False and v.default_pool_size == 0


def test_a_base_url_without_slashes_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="start and end with '/'"):
        voila_config(base_url="/services/dashboards")


def test_the_hub_routes_the_dashboards_and_lets_them_read_data_only():
    s = settings.load({"ASTROHUB_DASHBOARDS_TOKEN": "d" * 64}, secrets_dir="/nonexistent")
    c = apply(s, Config())
    service = next(x for x in c.JupyterHub.services if x["name"] == "dashboards")
    assert service["url"] == "http://dashboards:8866" and service["api_token"] == "d" * 64
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "dashboards-reader")
    assert role["scopes"] == ["access:services!service=datacentre"] and role["services"] == ["dashboards"]


def test_cuts_are_widened_to_the_grid_so_slider_values_share_requests():
    from dashboards.data import grid_range

    assert grid_range(15.53, 17.98, 14.0, 18.0) == (15.52, 18.0)
    assert grid_range(14.0, 18.0, 14.0, 18.0) == (14.0, 18.0)
    # a sweep of a slider over 200 steps gives at most 51 x 51 distinct ranges
    lows = {grid_range(14.0 + i * 0.02, 18.0, 14.0, 18.0)[0] for i in range(200)}
    assert len(lows) <= 51


@pytest.fixture
def fresh_settings():
    """A kernel reads the dashboards' settings once; these tests change the environment."""
    from dashboards.settings import current

    current.cache_clear()
    yield
    current.cache_clear()


def test_the_cache_folder_drops_the_least_recently_used_first(tmp_path, monkeypatch, fresh_settings):
    import os

    from dashboards import data

    monkeypatch.setenv("DASHBOARDS_CACHE_DIR", str(tmp_path))
    for i, name in enumerate(("old", "used", "new")):
        (tmp_path / f"{name}.parquet").write_bytes(b"x" * 1000)
        os.utime(tmp_path / f"{name}.parquet", (1000 + i, 1000 + i))
    (tmp_path / ".new.parquet.1.tmp").write_bytes(b"x" * 1000)  # a write in progress
    data._used(tmp_path / "old.parquet")  # read just now
    data.trim_cache(limit=2000)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".new.parquet.1.tmp", "new.parquet", "old.parquet"]


def test_a_kernel_reads_its_settings_once(monkeypatch, fresh_settings):
    """The memory bound is asked for in the loop of every cache insert: no parse each time."""
    from dashboards import data

    monkeypatch.setenv("DASHBOARDS_MEMORY_CACHE_MB", "2")
    assert data.memory_bytes() == 2 * 2**20
    monkeypatch.setenv("DASHBOARDS_MEMORY_CACHE_MB", "3")
    assert data.memory_bytes() == 2 * 2**20 and data.settings() is data.settings()
