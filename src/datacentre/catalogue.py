"""The catalogue: every data shop and every published spectrum in one metadata schema, and search.

One entry per data set, whatever it is (a data shop of events, or a published spectrum
series); its fields:

``id``, ``type`` (``datashop`` | ``spectrum``), ``title``, ``experiment``, ``kind``
(``simulated`` | ``measured``), ``description``, ``generator`` (name, version, seed, command:
simulated sets) or ``null``, ``source`` (the paper: published spectra and forwarded shops)
or ``null``, ``citation``, ``columns`` (name, unit, description), ``keywords``, ``licence``
(name, url), ``version``, ``identifier``, ``size`` (events or points), ``api`` (where the
data are got).

The stable identifier is a tag URI (RFC 4151, needs no registry):
``tag:astroparticle.online,2026:<type>/<id>/<version>``. ``version`` changes only when the
data change (forwarded shops: the upstream's version): for a showersim shop a digest of generator, its version and the command with
seed and event count (the data are bit for bit reproducible from them, so regenerating the
bundle at an image build keeps the identifier); for other local shops the shop's own
version (metadata and part files); for a spectrum series a digest of its rows.

Search (:func:`search`): case-insensitive words, every word must match some field (a word
matches a token of the field that starts with it), ranked by where it matched.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .shops import DataShop

log = logging.getLogger("datacentre.catalogue")

#: RFC 4151 tagging entity: the project's domain and the year the scheme was chosen.
TAG_AUTHORITY = "astroparticle.online,2026"

#: The spectrum series this repository holds (the dashboards show them): the default of
#: the setting spectra_file.
DEFAULT_SPECTRA = Path(__file__).resolve().parents[1] / "dashboards" / "published_spectra.csv"

#: Features a cosmic-ray physicist searches for, with the lg(E/eV) they sit at: an entry
#: whose energy range covers one gets it as a keyword (the knee at ~4 PeV, KASCADE; the
#: heavy or second knee at ~80 PeV, KASCADE-Grande).
FEATURES = (("knee", 15.6), ("second knee", 16.9))

#: The columns of published_spectra.csv (the experiment and reference columns name the series).
SPECTRUM_COLUMNS = {
    "E_GeV": ("GeV", "primary energy"),
    "flux_per_GeV_m2_s_sr": ("GeV^-1 m^-2 s^-1 sr^-1", "differential flux dN/dE of the all-particle "
                             "(or named mass group's) spectrum"),
    "stat_low": ("GeV^-1 m^-2 s^-1 sr^-1", "statistical uncertainty of the flux, downwards"),
    "stat_high": ("GeV^-1 m^-2 s^-1 sr^-1", "statistical uncertainty of the flux, upwards"),
    "sys_low": ("GeV^-1 m^-2 s^-1 sr^-1", "systematic uncertainty of the flux, downwards"),
    "sys_high": ("GeV^-1 m^-2 s^-1 sr^-1", "systematic uncertainty of the flux, upwards"),
}

#: How much a match counts, by field: what a data set *is* before what its text mentions.
WEIGHTS = {"id": 6, "experiment": 6, "title": 4, "keywords": 4, "column": 4, "columns": 2, "description": 1}


@dataclass(frozen=True)
class Licence:
    name: str
    url: str


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def identifier(kind: str, entry_id: str, version: str) -> str:
    return f"tag:{TAG_AUTHORITY}:{kind}/{entry_id}/{version}"


def _keywords(experiment: str, kind: str, lg_e: tuple[float, float] | None, extra: Iterable[str] = ()) -> list[str]:
    words = [experiment, "cosmic rays", "extensive air showers", kind, *extra]
    if lg_e:
        words += [name for name, at in FEATURES if lg_e[0] <= at <= lg_e[1]]
    return list(dict.fromkeys(w for w in words if w))


def _shop_energy(shop: DataShop) -> tuple[float, float] | None:
    """lg(E/eV) range of a shop where it is fully efficient (below, the spectrum says nothing):
    from its model, else its E column's range (KCDC writes E as lg(E/eV))."""
    model = shop.meta.get("model")
    rng = model.get("energy_range_eV") if isinstance(model, dict) else None
    try:
        if rng:
            low = max(float(rng[0]), float(model.get("full_efficiency_above_eV") or 0))
            return math.log10(low), math.log10(float(rng[1]))
        col = shop.columns.get("E")
        if col and col.meta.get("min") is not None and "log10" in str(col.meta.get("unit", "")):
            return float(col.meta["min"]), float(col.meta["max"])
    except (TypeError, ValueError, IndexError):
        pass
    return None


def shop_version(shop: DataShop) -> str:
    """What changes only when the data change (see the module docstring)."""
    m = shop.meta
    if m.get("generator") == "showersim" and m.get("generate_command"):
        return _digest([m["generator"], m.get("generator_version"), m["generate_command"]])
    own = shop.version.removeprefix("upstream:")
    # a forwarded shop's version is what its upstream says; one not of our form is hashed into it
    return own if re.fullmatch(r"[0-9a-f]{16}", own) else _digest([own, m])


#: Measured events forwarded from KCDC are under KCDC's terms, not this hub's licence choice.
KCDC_TERMS = Licence("KCDC terms of use", "https://kcdc.iap.kit.edu/")


def shop_licence(shop: DataShop, simulated: bool, default: Licence) -> Licence:
    """The licence a shop's description states, else the hub's (simulated) or KCDC's (measured)."""
    stated = shop.meta.get("licence")
    if isinstance(stated, dict) and stated.get("name"):
        return Licence(str(stated["name"]), str(stated.get("url", "")))
    return default if simulated else KCDC_TERMS


def shop_entry(shop: DataShop, licence: Licence, prefix: str) -> dict:
    m = shop.meta
    simulated = bool(m.get("simulated", not shop.upstream))
    kind = "simulated" if simulated else "measured"
    licence = shop_licence(shop, simulated, licence)
    version = shop_version(shop)
    experiment = str(m.get("experiment") or "")
    generator = None
    if m.get("generator"):
        generator = {"name": m["generator"], "version": m.get("generator_version"), "seed": m.get("seed"),
                     "command": m.get("generate_command")}
    citation = str(m.get("citation") or "")
    return {
        "id": shop.id, "type": "datashop", "identifier": identifier("datashop", shop.id, version),
        "version": version, "title": str(m.get("title") or shop.id), "experiment": experiment,
        "kind": kind, "datashop_kind": m.get("kind"), "description": str(m.get("description") or ""),
        "generator": generator,
        # a forwarded shop's events are the experiment's: its source is what the upstream cites
        "source": None if simulated else {"citation": citation or "KCDC, kcdc.iap.kit.edu"},
        "citation": citation,
        "columns": [{"name": c.name, "unit": str(c.meta.get("unit", "")),
                     "description": str(c.meta.get("description", ""))} for c in shop.columns.values()],
        "keywords": _keywords(experiment, kind, _shop_energy(shop), [m.get("kind", "")]),
        "licence": {"name": licence.name, "url": licence.url},
        "size": {"events": m.get("events")}, "upstream": shop.upstream,
        "api": {"datashop": f"{prefix}api/datashops/{shop.id}", "requests": f"{prefix}api/requests"},
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def spectrum_entries(path: Path, licence: Licence) -> list[dict]:
    """One entry per series (its ``experiment`` column) of a file in published_spectra.csv's layout."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"experiment", "reference", *SPECTRUM_COLUMNS} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{path} lacks the columns {', '.join(sorted(missing))}: use the layout of "
                         "published_spectra.csv (experiment, reference, E_GeV, flux_per_GeV_m2_s_sr, stat_*, sys_*)")
    series: dict[str, list[dict]] = {}
    for row in rows:
        series.setdefault(row["experiment"], []).append(row)
    out = []
    for name, points in series.items():
        experiment = name.split(" (")[0].strip()
        refs = list(dict.fromkeys(p["reference"] for p in points))
        energies = [float(p["E_GeV"]) for p in points]
        lg_e = (math.log10(min(energies)) + 9, math.log10(max(energies)) + 9)  # GeV -> lg(E/eV)
        version = _digest(points)
        entry_id = "spectrum-" + _slug(name)
        out.append({
            "id": entry_id, "type": "spectrum", "identifier": identifier("spectrum", entry_id, version),
            "version": version, "title": f"Published cosmic-ray energy spectrum: {name}",
            "experiment": experiment, "kind": "measured", "datashop_kind": None,
            "description": (f"The energy spectrum measured by {experiment} as published ({'; '.join(refs)}): "
                            f"{len(points)} points of the differential flux from {10 ** lg_e[0]:.3g} to "
                            f"{10 ** lg_e[1]:.3g} eV with statistical and systematic uncertainties."),
            "generator": None, "source": {"citation": "; ".join(refs)}, "citation": "; ".join(refs),
            "columns": [{"name": c, "unit": u, "description": d} for c, (u, d) in SPECTRUM_COLUMNS.items()],
            "keywords": _keywords(experiment, "measured", lg_e, ["energy spectrum", "published"]),
            "licence": {"name": licence.name, "url": licence.url},
            "size": {"points": len(points)}, "upstream": False, "api": None,
        })
    return out


class Catalogue:
    """The entries of the data shops (rescanned with the registry) and of the spectrum file."""

    def __init__(self, shops, spectra_file: Path | None, licence: Licence, prefix: str) -> None:
        self.shops = shops
        self.spectra_file = Path(spectra_file) if spectra_file else None
        self.licence = licence
        self.prefix = prefix
        self._spectra: tuple[float, list[dict]] | None = None

    def _spectrum_entries(self) -> list[dict]:
        if self.spectra_file is None:
            return []
        try:
            stamp = self.spectra_file.stat().st_mtime
            if self._spectra is None or self._spectra[0] != stamp:
                self._spectra = (stamp, spectrum_entries(self.spectra_file, self.licence))
        except (OSError, ValueError) as e:  # as a broken shop: the rest of the catalogue stays
            log.error("spectra left out of the catalogue: %s", e)
            return []
        return self._spectra[1]

    def entries(self) -> list[dict]:
        return [shop_entry(s, self.licence, self.prefix) for s in self.shops.all()] + self._spectrum_entries()

    def get(self, entry_id: str) -> dict | None:
        return next((e for e in self.entries() if e["id"] == entry_id), None)

    def search(self, query: str) -> list[dict]:
        return search(self.entries(), query)


_TOKEN = re.compile(r"[a-z0-9_]+")


def words(text: str) -> list[str]:
    return _TOKEN.findall(str(text).lower())


def _fields(entry: dict) -> dict[str, list[str]]:
    cols = entry.get("columns") or []
    return {
        "id": words(entry["id"]), "experiment": words(entry.get("experiment", "")),
        "title": words(entry.get("title", "")), "keywords": words(" ".join(entry.get("keywords") or [])),
        "column": [c["name"].lower() for c in cols],
        "columns": words(" ".join(f"{c.get('description', '')} {c.get('unit', '')}" for c in cols)),
        "description": words(entry.get("description", "")),
    }


def score(entry: dict, query_words: list[str]) -> int:
    """Sum over the words of the best field each matches (doubled where the words stand
    together, as in "second knee"); 0 if any word matches nowhere."""
    fields = _fields(entry)
    phrase = " ".join(query_words)
    total = sum(2 * WEIGHTS[name] for name, tokens in fields.items()
                if len(query_words) > 1 and f" {phrase} " in f" {' '.join(tokens)} ")
    # the query is the whole name or keyword: "KASCADE" ranks KASCADE before KASCADE-Grande,
    # "knee" a set with the knee before one with the "second knee" only
    wholes = [entry["id"], entry.get("experiment", ""), *(entry.get("keywords") or [])]
    if phrase in (" ".join(words(w)) for w in wholes):
        total += 2 * WEIGHTS["experiment"]
    for w in query_words:
        best = 0
        for name, tokens in fields.items():
            exact = w in tokens
            if exact or any(t.startswith(w) for t in tokens):
                best = max(best, WEIGHTS[name] * (2 if exact else 1))
        if not best:
            return 0
        total += best
    return total


MAX_QUERY = 200


class QueryError(ValueError):
    """A search the catalogue cannot run; the message says what to search for instead."""


def search(entries: list[dict], query: str) -> list[dict]:
    """Entries matching every word of ``query``, best first (ties: by id); each with its ``score``."""
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        raise QueryError(f"search for at most {MAX_QUERY} characters of text, e.g. 'knee' or 'KASCADE Nmu'")
    qw = words(query)
    if not qw:
        return [dict(e, score=0) for e in entries]
    found = [(score(e, qw), e) for e in entries]
    return [dict(e, score=s) for s, e in sorted((x for x in found if x[0]), key=lambda x: (-x[0], x[1]["id"]))]
