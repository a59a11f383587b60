"""The portal's public pages: rendered from the settings and the dashboards' catalogue, in each language."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrohub import i18n, portal
from astrohub.settings import load
from dashboards import DASHBOARDS

NOTEBOOKS = Path(__file__).resolve().parents[2] / "src" / "dashboards" / "notebooks"


def pages(**env):
    return portal.render(load({f"ASTROHUB_{k.upper()}": v for k, v in env.items()}, secrets_dir="/nonexistent"))


def test_the_gallery_has_a_card_for_each_dashboard_with_its_question_level_and_time():
    text = pages()["en/dashboards.html"]
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(DASHBOARDS)
    for notebook, entry in DASHBOARDS.items():
        assert f'<a href="/services/dashboards/voila/render/{notebook}">{entry.title}</a>' in text.replace("&#39;", "'")
        assert entry.question in text and f"For: {entry.level}" in text and f"About {entry.minutes} minutes" in text
    assert '<a href="/portal/dashboards.html" aria-current="page">' in text


@pytest.mark.parametrize("authenticator, says", [
    ("native", "the account your teacher gave you"), ("oidc", "your KCDC or GRADLCI account"),
    ("kcdc-password", "your KCDC account")])
def test_the_home_page_says_how_to_log_in(authenticator, says):
    home = pages(authenticator=authenticator)["en/index.html"]
    assert f"Log in with {says}." in home and 'href="/hub/login"' in home
    assert '<html lang="en">' in home and '<a class="skip" href="#main">' in home


def test_real_kcdc_data_are_mentioned_only_where_they_are_forwarded():
    assert "kcdc-kascade" not in pages()["en/index.html"]
    assert all("<code>kcdc-kascade</code>" in pages(kcdc_upstream_url="https://kcdc.example/")[f"{lang}/index.html"]
               for lang in i18n.LANGUAGES)


def test_text_from_the_catalogue_is_escaped(monkeypatch):
    import dashboards

    monkeypatch.setitem(dashboards.DASHBOARDS, "x.ipynb", dashboards.Dashboard("<b>bold</b>", "a & b", "all", 1))
    text = pages()["en/dashboards.html"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "a &amp; b" in text and "<b>bold</b>" not in text


def test_written_pages_carry_their_config_keys(tmp_path):
    written = portal.write(load({}, secrets_dir="/nonexistent"), tmp_path)
    assert set(written) == {f"portal_{lang}_{page}_html" for lang in i18n.LANGUAGES for page in ("index", "dashboards")} | {
        "portal_portal_css"}
    assert written["portal_ru_index_html"].read_text(encoding="utf-8").lstrip().startswith("<!doctype html>")
    assert "Космические лучи" in (tmp_path / "ru" / "index.html").read_text(encoding="utf-8")


#: what a page in each language says where the English one says the first
SAYS = {
    "index.html": [("Cosmic rays, with real detectors' data", "Kosmische Strahlung mit den Daten echter Detektoren",
                    "Космические лучи: данные настоящих детекторов"),
                   ("Open a dashboard", "Dashboard öffnen", "Открыть интерактивную панель"),
                   ("For whom", "Für wen", "Для кого")],
    "dashboards.html": [("Public dashboards", "Öffentliche Dashboards", "Общедоступные интерактивные панели"),
                        ("Cosmic-ray energy spectrum", "Energiespektrum der kosmischen Strahlung",
                         "Энергетический спектр космических лучей"),
                        ("About 10 minutes", "Etwa 10 Minuten", "Около 10 минут")],
}


@pytest.mark.parametrize("page", SAYS)
def test_each_page_is_in_each_language_with_its_title_controls_and_switch(page):
    rendered = pages()
    for column, lang in enumerate(("en", "de", "ru")):
        text = rendered[f"{lang}/{page}"].replace("&#39;", "'")
        assert f'<html lang="{lang}">' in text
        for says in SAYS[page]:
            assert says[column] in text
        # the switch: every language in its own name, the current one marked, each remembered by the edge
        for code, name in i18n.LANGUAGES.items():
            current = ' aria-current="true"' if code == lang else ""
            assert f'<a id="lang-{code}" href="/portal/{code}/{page}" hreflang="{code}" lang="{code}"{current}>{name}</a>' in text


def test_no_english_of_the_catalogue_is_left_in_the_german_and_russian_pages():
    """Every source string the pages show is replaced (the site's and experiments' names stay)."""
    import re

    from astrohub import translations

    english = {m.id if isinstance(m.id, str) else m.id[1] for m in translations.extract() if m.id}
    # fragments of the source without placeholders, long enough to be a sentence of their own
    fragments = {part.strip() for text in english for part in re.split(r"%\(\w+\)s|<[^>]+>", text)}
    fragments = {f for f in fragments if len(f) > 12}
    rendered = pages(kcdc_upstream_url="https://kcdc.example/")
    for lang in ("de", "ru"):
        for page in SAYS:
            text = rendered[f"{lang}/{page}"].replace("&#39;", "'")
            left = sorted(f for f in fragments if f in text)
            assert not left, (lang, page, left)


def test_numbers_follow_the_language():
    rendered = pages()
    assert "0.5 km²" in rendered["en/index.html"]
    assert "0,5 km²" in rendered["de/index.html"] and "0,5 км²" in rendered["ru/index.html"]
