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
