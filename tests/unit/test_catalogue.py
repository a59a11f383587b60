"""The catalogue: one schema for the bundled data shops and the published spectra, its search and its JSON-LD.

The shops are the image's bundle (showersim's BUNDLE, same ids, experiments and seeds), at a
thousandth of the events so that the test takes a second.
"""
from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from datacentre import jsonld
from datacentre.catalogue import (DEFAULT_SPECTRA, KCDC_TERMS, Catalogue, Licence, search, shop_entry, spectrum_entries,
                                  words)
from datacentre.shops import ShopRegistry, shop_from_remote
from showersim.dataset import BUNDLE, build_bundle

LICENCE = Licence("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")
PREFIX = "/services/datacentre/"
TAG = re.compile(r"^tag:astroparticle\.online,2026:(datashop|spectrum)/[A-Za-z0-9_.-]+/[0-9a-f]{16}$")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("datashops")
    build_bundle(root, scale=0.001)
    return root


@pytest.fixture(scope="module")
def catalogue(root):
    return Catalogue(ShopRegistry(root), DEFAULT_SPECTRA, LICENCE, PREFIX)


@pytest.fixture(scope="module")
def shops(catalogue):
    return {e["id"]: e for e in catalogue.entries() if e["type"] == "datashop"}


def found(catalogue, query):
    return [e["id"] for e in catalogue.search(query)]


def test_every_bundled_shop_and_every_spectrum_series_is_an_entry_of_the_one_schema(catalogue):
    entries = catalogue.entries()
    assert {e["id"] for e in entries if e["type"] == "datashop"} == {b[0] for b in BUNDLE}
    series = {line.split(",")[0] for line in DEFAULT_SPECTRA.read_text().splitlines()[1:]}
    assert len([e for e in entries if e["type"] == "spectrum"]) == len(series)
    keys = set(entries[0])
    for e in entries:
        assert set(e) == keys, e["id"]
        assert e["title"] and e["experiment"] and e["description"] and e["citation"]
        assert e["kind"] in ("simulated", "measured")
        assert TAG.match(e["identifier"]) and e["identifier"].endswith("/" + e["version"])
        assert e["licence"] == {"name": LICENCE.name, "url": LICENCE.url}
        assert e["columns"] and all(c["name"] and c["description"] and "unit" in c for c in e["columns"])
        # simulated sets name generator and seed; measured ones the paper
        if e["kind"] == "simulated":
            assert e["generator"]["name"] == "showersim" and isinstance(e["generator"]["seed"], int)
        else:
            assert e["source"]["citation"] and e["generator"] is None


def test_search_finds_each_data_shop_by_experiment_by_quantity_and_by_a_word_of_its_description(catalogue, shops):
    for shop_id, e in shops.items():
        assert shop_id in found(catalogue, e["experiment"]), e["experiment"]
        assert shop_id in found(catalogue, e["experiment"].lower()), e["experiment"]
        for c in e["columns"]:
            assert shop_id in found(catalogue, c["name"]), (shop_id, c["name"])
            assert shop_id in found(catalogue, c["description"]), (shop_id, c["description"])
        for w in set(words(e["description"])):
            assert shop_id in found(catalogue, w), (shop_id, w)


def test_search_keeps_experiments_and_quantities_apart_and_ranks_what_a_set_is_first(catalogue):
    assert set(found(catalogue, "Xmax")) == {"tunka133", "tunka133-sim"}
    assert set(found(catalogue, "Nch")) == {"kascade-grande", "kascade-grande-sim"}
    assert found(catalogue, "KASCADE Nmu")[0] in ("kascade", "kascade-sim", "kascade-stations")
    assert not [i for i in found(catalogue, "Tunka-133") if "tunka" not in i]
    # the knee: first the KASCADE shops and the spectra that reach across it, then Grande
    # (efficient above 1e16 eV: its "second knee" only)
    knee = found(catalogue, "knee")
    assert {"kascade", "kascade-sim", "spectrum-kascade-qgsjet-i"} <= set(knee[:knee.index("kascade-grande")])
    assert found(catalogue, "second knee")[0] == "kascade"  # the phrase, ties by id
    assert found(catalogue, "simulated truth")  # words may come from different fields
    assert found(catalogue, "no-such-quantity-xyz") == []
    assert found(catalogue, "KaScAdE") == found(catalogue, "kascade")
    kascade = found(catalogue, "KASCADE")  # KASCADE's own sets before KASCADE-Grande's
    assert set(kascade[:4]) == {"kascade", "kascade-sim", "kascade-stations", "spectrum-kascade-qgsjet-i"}
    # a truth column: only the simulations with the true primary have it
    assert set(found(catalogue, "Nmu_true")) == {"kascade-sim", "kascade-stations", "kascade-grande-sim"}
    # the measured published series, not the simulated shops, for "measured KASCADE-Grande light"
    assert found(catalogue, "measured KASCADE-Grande light") == ["spectrum-kascade-grande-qgsjet-ii-04-light"]
    assert len(found(catalogue, "")) == len(catalogue.entries())


def test_bad_search_input_says_what_to_change(catalogue):
    with pytest.raises(ValueError, match="at most 200 characters"):
        catalogue.search("knee " * 100)
    with pytest.raises(ValueError, match="e.g. 'knee'"):
        search(catalogue.entries(), 42)


def test_the_identifier_changes_with_the_data_and_only_then(tmp_path, root, shops):
    shutil.copytree(root / "kascade", tmp_path / "kascade")
    for f in (tmp_path / "kascade").iterdir():  # as a rebuilt image has them: same data, new file times
        os.utime(f, (1e9, 1e9))
    registry = ShopRegistry(tmp_path)
    copy = Catalogue(registry, None, LICENCE, PREFIX)
    assert registry.get("kascade").version != ShopRegistry(root).get("kascade").version
    assert copy.get("kascade")["identifier"] == shops["kascade"]["identifier"]
    from showersim.dataset import generate_dataset

    generate_dataset(tmp_path, events=2999, seed=2026, dataset_id="kascade")  # other data
    assert copy.get("kascade")["identifier"] != shops["kascade"]["identifier"]
    assert copy.get("spectrum-kascade-grande") is None  # spectra_file None: no spectra


def test_spectrum_series_carry_their_paper_and_a_bad_file_is_named(tmp_path):
    entries = {e["id"]: e for e in spectrum_entries(DEFAULT_SPECTRA, LICENCE)}
    grande = entries["spectrum-kascade-grande"]
    assert "Apel et al., Astropart. Phys. 36 (2012) 183" in grande["citation"]
    assert grande["experiment"] == "KASCADE-Grande" and grande["size"]["points"] == 19
    assert {c["name"] for c in grande["columns"]} >= {"E_GeV", "flux_per_GeV_m2_s_sr"}
    bad = tmp_path / "s.csv"
    bad.write_text("experiment,E_GeV\nX,1\n")
    with pytest.raises(ValueError, match="lacks the columns .*flux_per_GeV_m2_s_sr.*published_spectra.csv"):
        spectrum_entries(bad, LICENCE)
    assert Catalogue(ShopRegistry(tmp_path), bad, LICENCE, PREFIX).entries() == []  # logged, not a failure
    from datacentre.config import Settings
    from servicekit.settings import SettingsError

    with pytest.raises(SettingsError, match="DATACENTRE_SPECTRA_FILE='/no/such.csv': no such file"):
        Settings(spectra_file="/no/such.csv")


def test_json_ld_is_a_schema_org_dataset_with_every_column(catalogue):
    doc = json.loads(json.dumps(jsonld.catalogue(catalogue.entries(), "https://hub.example", "https://hub.example/c")))
    assert doc["@context"] == "https://schema.org/" and doc["@type"] == "DataCatalog"
    for entry, ds in zip(catalogue.entries(), doc["dataset"]):
        assert ds["@type"] == "Dataset" and ds["identifier"] == entry["identifier"] == ds["@id"]
        for key in ("name", "description", "version", "license", "creator", "publisher", "keywords",
                    "isBasedOn", "citation", "variableMeasured"):
            assert ds[key], (entry["id"], key)
        assert [v["name"] for v in ds["variableMeasured"]] == [c["name"] for c in entry["columns"]]
        assert all(v["@type"] == "PropertyValue" and "unitText" in v for v in ds["variableMeasured"])
        if entry["type"] == "datashop":
            assert ds["distribution"][0]["contentUrl"] == "https://hub.example" + PREFIX + "api/requests"
            assert ds["isBasedOn"]["@type"] == "SoftwareApplication"
        else:
            assert ds["isBasedOn"]["@type"] == "ScholarlyArticle"
    one = jsonld.dataset(catalogue.get("kascade"))
    assert one["@context"] == "https://schema.org/" and one["@type"] == "Dataset"
    assert {"E": "log10(E/eV)", "Ze": "deg"}.items() <= {v["name"]: v["unitText"] for v in one["variableMeasured"]}.items()


def test_the_kcdc_portal_client_says_it_offers_no_search():
    import kcdc
    from kcdc.portal import PortalClient

    with pytest.raises(kcdc.KCDCError, match="KCDC portal offers no catalogue search"):
        PortalClient.search(object.__new__(PortalClient), "knee")


def test_the_data_explorer_offers_the_shops_the_catalogue_finds(catalogue, monkeypatch):
    from dashboards import explorer

    monkeypatch.setattr(explorer.data, "search", catalogue.search)
    shops = [b[0] for b in BUNDLE]
    assert explorer.matching_shops("Xmax", shops) == ["tunka133", "tunka133-sim"]
    assert explorer.matching_shops("knee", ["kascade", "kascade-grande"]) == ["kascade", "kascade-grande"]
    assert explorer.matching_shops("no-such-word-xyz", shops) == []


def test_measured_events_forwarded_from_kcdc_are_measured_under_kcdcs_terms():
    model = {"id": "kcdc-kascade", "title": "KCDC DataShop (kascade)", "experiment": "KASCADE",
             "columns": {"E": {"kind": "float", "unit": "log10(E/eV)", "description": "reconstructed energy"}}}
    e = shop_entry(shop_from_remote(model), LICENCE, PREFIX)
    assert e["kind"] == "measured" and e["generator"] is None and e["source"]["citation"]
    assert e["licence"] == {"name": KCDC_TERMS.name, "url": KCDC_TERMS.url}
    assert TAG.match(e["identifier"])
    stated = shop_entry(shop_from_remote(dict(model, licence={"name": "CC0-1.0", "url": "u"})), LICENCE, PREFIX)
    assert stated["licence"] == {"name": "CC0-1.0", "url": "u"}
