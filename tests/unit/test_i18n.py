"""A person's language (astrohub.i18n.negotiate) and numbers in it (format_number)."""

from __future__ import annotations

import pytest

from astrohub import i18n


@pytest.mark.parametrize("query, cookie, accept, lang", [
    (None, None, None, "en"),
    (None, None, "de-DE,de;q=0.9,en;q=0.8", "de"),
    (None, None, "fr-FR,fr;q=0.9,ru;q=0.8,de;q=0.7", "ru"),
    (None, None, "en;q=0.5, de;q=0.9", "de"),
    (None, None, "fr, ja", "en"),
    (None, None, "de;q=0, ru", "ru"),
    (None, None, "garbage;q=x, de", "de"),
    (None, "ru", "de", "ru"),
    (None, "xx", "de", "de"),
    ("de", "ru", "en", "de"),
    ("klingon", "ru", None, "ru"),
    (None, "RU", None, "ru"),
])
def test_the_choice_comes_before_the_cookie_before_the_browser_before_english(query, cookie, accept, lang):
    assert i18n.negotiate(query, cookie, accept) == lang


@pytest.mark.parametrize("value, digits, en, de, ru", [
    (0.5, None, "0.5", "0,5", "0,5"),
    (1234.5, 1, "1,234.5", "1.234,5", "1\xa0234,5"),
    (4, 2, "4.00", "4,00", "4,00"),
    (252, 0, "252", "252", "252"),
])
def test_numbers_for_people_have_the_decimal_comma_in_german_and_russian(value, digits, en, de, ru):
    assert [i18n.format_number(value, lang, digits) for lang in ("en", "de", "ru")] == [en, de, ru]


def test_english_is_the_source_and_the_others_come_from_their_catalogues():
    assert i18n.gettext_("en", "Sign in") == "Sign in"
    assert (i18n.gettext_("de", "Sign in"), i18n.gettext_("ru", "Sign in")) == ("Anmelden", "Войти")
    one, few, many = (i18n.ngettext_("ru", "About %(minutes)s minute", "About %(minutes)s minutes", n) for n in (1, 3, 5))
    assert (one, few, many) == ("Около %(minutes)s минуты", "Около %(minutes)s минут", "Около %(minutes)s минут")


def test_a_jinja_environment_renders_each_request_in_its_own_language():
    import jinja2

    env = jinja2.Environment(autoescape=True, extensions=[i18n.JINJA_EXTENSION])
    i18n.install(env, lambda context: context["lang"])
    page = env.from_string('<p lang="{{ language() }}">{{ _("Sign in") }} {% trans area=number(0.5) %}the array '
                           'extended to {{ area }} km², up to 1 EeV.{% endtrans %}</p>')
    assert page.render(lang="de") == '<p lang="de">Anmelden das auf 0,5 km² erweiterte Detektorfeld, bis 1 EeV.</p>'
    assert page.render(lang="en") == '<p lang="en">Sign in the array extended to 0.5 km², up to 1 EeV.</p>'
    # placeholders are escaped after translation
    assert env.from_string('{% trans shop=x %}Real KASCADE data from KCDC are available to logged-in students as '
                           'the data shop <code>{{ shop }}</code>.{% endtrans %}').render(lang="ru", x="<b>") == (
        "Настоящие данные KASCADE из KCDC доступны вошедшим учащимся как магазин данных <code>&lt;b&gt;</code>.")
