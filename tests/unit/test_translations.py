"""Every interface string in German and Russian, current, with its placeholders and the
glossary's terms (astrohub.translations); the check itself fails on what it must find."""

from __future__ import annotations

import copy

import pytest

from astrohub import i18n, translations


@pytest.fixture(scope="module")
def template():
    return translations.extract()


@pytest.fixture(scope="module")
def catalogues():
    return {lang: translations.read(lang) for lang in translations.TRANSLATED}


@pytest.mark.parametrize("lang", translations.TRANSLATED)
def test_every_string_is_translated_current_and_keeps_its_placeholders_and_terms(lang, template, catalogues):
    assert translations.problems(lang, catalogues[lang], template) == []


def test_the_sources_are_extracted_from_templates_python_and_the_dashboards_catalogue(template):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    assert {"Sign in", "Public dashboards", "KCDC account", "the account your teacher gave you",
            "Cosmic-ray energy spectrum", "Your server is starting up."} <= ids


def _without(catalog, msgid):
    changed = copy.deepcopy(catalog)
    changed.delete(msgid)
    return changed


def _with(catalog, msgid, string, fuzzy=False):
    changed = copy.deepcopy(catalog)
    entry = changed.get(msgid)
    entry.string = string
    if fuzzy:
        entry.flags.add("fuzzy")
    return changed


def test_the_check_fails_on_a_removed_translation(template, catalogues):
    found = translations.problems("de", _without(catalogues["de"], "Sign in"), template)
    assert found == ["de: 'Sign in': not in the catalogue (run `make translations`, then translate it)"]
    found = translations.problems("ru", _with(catalogues["ru"], "Sign in", ""), template)
    assert found == ["ru: 'Sign in': not translated"]


def test_the_check_fails_on_a_stale_translation_as_babel_marks_it(template, catalogues, tmp_path):
    """A changed source: `update` keeps the old translation beside the new msgid, fuzzy."""
    from babel.messages.catalog import Catalog

    changed = Catalog(domain=i18n.DOMAIN)
    for message in template:
        if message.id:
            changed.add("Sign in now" if message.id == "Sign in" else message.id, None, message.locations)
    catalog = copy.deepcopy(catalogues["de"])
    catalog.update(changed)
    assert catalog.get("Sign in now").fuzzy and catalog.get("Sign in now").string == "Anmelden"
    found = translations.problems("de", catalog, changed)
    assert found == ["de: 'Sign in now': fuzzy (its source changed): check the translation, then remove the fuzzy flag"]
    # ...and the hub does not show it
    assert "fuzzy" in catalog.get("Sign in now").flags


def test_the_check_fails_on_changed_placeholders_and_markup(template, catalogues):
    found = translations.problems("de", _with(catalogues["de"], "For: %(level)s", "Für: %(stufe)s"), template)
    assert found == ["de: 'For: %(level)s': placeholders differ: ['%(level)s'] vs ['%(stufe)s']"]
    msgid = next(m.id for m in template if isinstance(m.id, str) and m.id.startswith("No account? <a"))
    found = translations.problems("ru", _with(catalogues["ru"], msgid, "Нет учётной записи? Откройте панели."), template)
    assert found == [f"ru: {msgid!r}: markup differs: ['a', 'a', 'a', 'a'] vs []"]


def test_the_check_fails_where_a_glossary_term_is_translated_otherwise(template, catalogues):
    msgid = "Electrons against muons: protons and iron nuclei make different showers."
    wrong = "Elektronen gegen Muonen: Protonen und Eisenkerne erzeugen unterschiedliche Schauer."
    found = translations.problems("de", _with(catalogues["de"], msgid, wrong), template)
    assert found == [f"de: {msgid!r}: the glossary's 'muon' is 'Myon' here"]


def test_the_glossary_has_the_physics_terms_in_three_languages():
    terms = {t.en: t for t in translations.glossary()}
    for en in ("air shower", "primar", "muon", "knee", "energy spectrum", "data shop", "request", "masterclass",
               "zenith angle", "arrival direction", "Cherenkov light"):
        assert en in terms and all(terms[en].forms[lang][0] for lang in translations.TRANSLATED), en
    assert terms["air shower"].forms["ru"][0] == "широкий атмосферный ливень"
    assert terms["muon"].forms["de"][0] == "Myon"
    # a proper name stays, and its words are no terms: KCDC's "Data Centre" is no Datenzentrum
    assert terms["KASCADE Cosmic-ray Data Centre"].kept
    assert translations._terms_missed("de", "the KASCADE Cosmic-ray Data Centre", "das KASCADE Cosmic-ray Data Centre",
                                      list(terms.values())) == []


def test_a_fuzzy_translation_is_not_shown(tmp_path, monkeypatch):
    catalog = copy.deepcopy(translations.read("de"))
    catalog.get("Sign in").flags.add("fuzzy")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    translations.write("de", catalog)
    i18n.translations.cache_clear()
    try:
        assert i18n.gettext_("de", "Sign in") == "Sign in"
        assert i18n.gettext_("de", "Password:") == "Passwort:"
    finally:
        i18n.translations.cache_clear()
