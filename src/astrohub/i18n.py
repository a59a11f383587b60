"""The languages of what a person reads: English (the source), German and Russian.

Interface strings are written once, in English, in the templates (``{% trans %}``,
``_()``) and the Python code (``_()``); ``locale/<lang>/LC_MESSAGES/astrohub.po``
holds their translations, extracted and updated with Babel (``make translations``,
``babel.cfg``). The catalogues are compiled here when first used, so only the ``.po``
files are kept. ``tests/unit/test_translations.py`` fails on a missing, fuzzy or
placeholder-changing translation and checks the glossary (``locale/glossary.csv``).

A person's language: an explicit choice (``?lang=de``, remembered by the edge in the
cookie ``astrohub_lang``), else the browser's first preference (``Accept-Language``)
among ours, else English.
"""

from __future__ import annotations

import gettext
import io
import re
from functools import lru_cache
from pathlib import Path

#: language code -> its own name, as the switch shows it
LANGUAGES = {"en": "English", "de": "Deutsch", "ru": "Русский"}
DEFAULT = "en"
COOKIE = "astrohub_lang"
#: the query parameter of an explicit choice (the edge then sets the cookie)
QUERY = "lang"
DOMAIN = "astrohub"
LOCALE_DIR = Path(__file__).parent / "locale"


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English: the source itself). Fuzzy entries are left
    out: a translation older than its source must not be shown as current."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalogue_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def mark(message: str) -> str:
    """Marks a string for extraction (keyword ``_`` in babel.cfg) where it is defined;
    it is translated where it is shown."""
    return message


def gettext_(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext_(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def supported(lang: str | None) -> str | None:
    """``lang`` (``de``, ``de-AT``, ``RU``) as one of ours, or None."""
    code = (lang or "").strip().lower().split("-")[0].split("_")[0]
    return code if code in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The browser's most preferred language among ours (q-values honoured)."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        try:
            q = float(match.group(1)) if match else 1.0
        except ValueError:
            continue
        code = supported(tag)
        if code and q > 0:
            ranked.append((-q, position, code))
    return min(ranked)[2] if ranked else None


def negotiate(query: str | None = None, cookie: str | None = None, accept_language: str | None = None) -> str:
    """The language of a request: the explicit choice, the remembered one, the browser's, English."""
    return supported(query) or supported(cookie) or from_accept_language(accept_language) or DEFAULT


def format_number(value: float, lang: str, digits: int | None = None) -> str:
    """A number for people: ``1,234.5`` in English, ``1.234,5`` in German, ``1 234,5`` in
    Russian. ``digits``: exactly that many after the decimal sign."""
    from babel.numbers import format_decimal

    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=lang)


def switch(lang: str) -> list[dict]:
    """The language switch: each language with its own name, the current one marked."""
    return [{"code": code, "name": name, "current": code == lang} for code, name in LANGUAGES.items()]


#: the Jinja extension ``install`` needs in the environment (``{% trans %}``)
JINJA_EXTENSION = "jinja2.ext.i18n"


def install(env, language_of) -> None:
    """Give a Jinja environment made with JINJA_EXTENSION ``_``/``gettext``/``ngettext``
    in the language ``language_of(context)`` names, and ``language()`` and ``number(value)``.

    Looked up per rendering, so one environment serves every language (the hub's
    renders each request in its visitor's)."""
    from jinja2 import pass_context

    @pass_context
    def _gettext(context, message):
        return gettext_(language_of(context), message)

    @pass_context
    def _ngettext(context, singular, plural, n):
        return ngettext_(language_of(context), singular, plural, n)

    @pass_context
    def _number(context, value, digits=None):
        return format_number(value, language_of(context), digits)

    # newstyle: placeholders are filled (and escaped) after translation, %(name)s in both.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.globals.update(language=pass_context(language_of), number=_number)
