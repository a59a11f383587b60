"""The translators' workflow: extract the English strings, update the catalogues, check them.

``python -m astrohub.translations update`` (``make translations``) extracts every string
that babel.cfg names from the sources and updates ``locale/<lang>/LC_MESSAGES/astrohub.po``
of each language (new strings arrive empty; a changed one keeps its old translation
marked fuzzy, which the hub does not show). ``check`` (and tests/unit/test_translations.py)
fails on a string without translation, a fuzzy one, a translation whose placeholders or
markup differ from its source, and on a glossary term translated otherwise than agreed.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import i18n

PROJECT = "astroparticle.online"
ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "babel.cfg"
#: marker functions besides Babel's defaults (_, gettext, ngettext, ...): the message's argument
KEYWORDS = {"mark": None, "gettext_": (2,)}
GLOSSARY = i18n.LOCALE_DIR / "glossary.csv"
TRANSLATED = tuple(lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT)
# %(name)s and %s (Jinja's newstyle gettext, Python), {name} (str.format)
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]|\{\w*\}")
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


def extract():
    """A fresh template catalogue of every marked string in the sources."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with MAPPING.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(MAPPING))
    template = Catalog(domain=i18n.DOMAIN, project=PROJECT, fuzzy=False)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, **KEYWORDS},
                             strip_comment_tags=True)
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read(lang: str):
    from babel.messages.pofile import read_po

    with i18n.catalogue_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=i18n.DOMAIN)


def write(lang: str, catalog) -> None:
    from babel.messages.pofile import write_po

    path = i18n.catalogue_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, ignore_obsolete=True, include_lineno=False, sort_output=True)


def update(langs=TRANSLATED) -> None:
    """Bring each catalogue up to the sources (a new language starts empty)."""
    from babel.messages.catalog import Catalog

    template = extract()
    for lang in langs:
        catalog = read(lang) if i18n.catalogue_path(lang).exists() else Catalog(
            locale=lang, domain=i18n.DOMAIN, project=PROJECT, fuzzy=False,
            header_comment=f"# {lang}: the interface of {PROJECT} (src/astrohub/translations.py explains the workflow).")
        catalog.update(template)
        write(lang, catalog)


@dataclass(frozen=True)
class Term:
    en: str
    #: per language: accepted forms, the first the dictionary form (inflected stems follow)
    forms: dict[str, tuple[str, ...]]

    @property
    def kept(self) -> bool:
        """A proper name, the same in every language."""
        return all(forms == (self.en,) for forms in self.forms.values())


def glossary() -> list[Term]:
    """The agreed physics terms (locale/glossary.csv: en, de, ru; forms separated by |)."""
    with GLOSSARY.open(newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if not row["en"].startswith("#")]
    return [Term(row["en"], {lang: tuple(row[lang].split("|")) for lang in TRANSLATED}) for row in rows]


def _term_pattern(en: str) -> re.Pattern:
    """``cosmic ray`` matches "Cosmic rays" and "cosmic-ray" (a word's start, any case)."""
    return re.compile(r"\b" + r"[ -]".join(map(re.escape, en.split())), re.IGNORECASE)


def _texts(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _same(pattern: re.Pattern, a: str, b: str) -> bool:
    return sorted(pattern.findall(a)) == sorted(pattern.findall(b))


def _terms_missed(lang: str, english: str, translated: str, terms: list[Term]) -> list[Term]:
    """The glossary's terms in ``english`` whose agreed form ``translated`` lacks.
    A proper name must stay; its words are then no terms (Data Centre in KCDC's name)."""
    translated = translated.lower()
    missed = []
    for term in sorted(terms, key=lambda t: not t.kept):
        pattern = _term_pattern(term.en)
        if pattern.search(english) and not any(form.lower() in translated for form in term.forms[lang]):
            missed.append(term)
        if term.kept:
            english = pattern.sub(" ", english)
    return missed


def problems(lang: str, catalog=None, template=None, terms=None) -> list[str]:
    """What is wrong with the catalogue of ``lang``, one line each (empty: all is well)."""
    catalog = read(lang) if catalog is None else catalog
    template = extract() if template is None else template
    terms = glossary() if terms is None else terms
    out = []
    for source in template:
        if not source.id:
            continue
        key = source.id[0] if isinstance(source.id, tuple) else source.id
        entry = catalog.get(source.id, context=source.context)
        where = f"{lang}: {key!r}"
        if entry is None:
            out.append(f"{where}: not in the catalogue (run `make translations`, then translate it)")
            continue
        strings = _texts(entry.string)
        if not all(strings):
            out.append(f"{where}: not translated")
            continue
        if entry.fuzzy:
            out.append(f"{where}: fuzzy (its source changed): check the translation, then remove the fuzzy flag")
        sources = _texts(source.id)
        english = " ".join(sources)
        for text in strings:
            # a plural form may follow the singular or the plural source
            if not any(_same(_PLACEHOLDER, s, text) for s in sources):
                out.append(f"{where}: placeholders differ: {_PLACEHOLDER.findall(key)} vs {_PLACEHOLDER.findall(text)}")
            if not any(_same(_TAG, s, text) for s in sources):
                out.append(f"{where}: markup differs: {_TAG.findall(key)} vs {_TAG.findall(text)}")
        out += [f"{where}: the glossary's {term.en!r} is {term.forms[lang][0]!r} here"
                for term in _terms_missed(lang, english, " ".join(strings), terms)]
    return out


def main(argv=None) -> int:
    command = (argv if argv is not None else sys.argv[1:] or ["check"])[0]
    if command == "update":
        update()
    found = [line for lang in TRANSLATED for line in problems(lang)]
    print("\n".join(found) or f"translations complete: {', '.join(TRANSLATED)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
