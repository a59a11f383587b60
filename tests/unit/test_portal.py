"""The portal's public pages: rendered from the settings and the dashboards' catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrohub import portal
from astrohub.settings import load
from dashboards import DASHBOARDS

NOTEBOOKS = Path(__file__).resolve().parents[2] / "src" / "dashboards" / "notebooks"


def pages(**env):
    return portal.render(load({f"ASTROHUB_{k.upper()}": v for k, v in env.items()}, secrets_dir="/nonexistent"))


def test_the_gallery_has_a_card_for_each_dashboard_with_its_question_level_and_time():
    text = pages()["dashboards.html"]
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(DASHBOARDS)
    for notebook, entry in DASHBOARDS.items():
        assert f'<a href="/services/dashboards/voila/render/{notebook}">{entry.title}</a>' in text.replace("&#39;", "'")
        assert entry.question in text and f"For: {entry.level}" in text and f"About {entry.minutes} minutes" in text
    assert '<a href="/portal/dashboards.html" aria-current="page">' in text


@pytest.mark.parametrize("authenticator, says", [
    ("native", "the account your teacher gave you"), ("oidc", "your KCDC or GRADLCI account"),
    ("kcdc-password", "your KCDC account")])
def test_the_home_page_says_how_to_log_in(authenticator, says):
    home = pages(authenticator=authenticator)["index.html"]
    assert f"Log in with {says}." in home and 'href="/hub/login"' in home
    assert '<html lang="en">' in home and '<a class="skip" href="#main">' in home


def test_real_kcdc_data_are_mentioned_only_where_they_are_forwarded():
    assert "kcdc-kascade" not in pages()["index.html"]
    assert "kcdc-kascade" in pages(kcdc_upstream_url="https://kcdc.example/")["index.html"]


def test_text_from_the_catalogue_is_escaped(monkeypatch):
    import dashboards

    monkeypatch.setitem(dashboards.DASHBOARDS, "x.ipynb", dashboards.Dashboard("<b>bold</b>", "a & b", "all", 1))
    text = pages()["dashboards.html"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "a &amp; b" in text and "<b>bold</b>" not in text


def test_written_pages_carry_their_config_keys(tmp_path):
    written = portal.write(load({}, secrets_dir="/nonexistent"), tmp_path)
    assert set(written) == {"portal_index_html", "portal_dashboards_html", "portal_portal_css"}
    assert written["portal_index_html"].read_text().lstrip().startswith("<!doctype html>")
