"""The catalogue routes through the hub's proxy: JSON with search, JSON-LD for harvesters, the client."""
from __future__ import annotations

import pytest
import requests

import kcdc
from tests.support.hub import wait_until


def catalogue(stack, path="api/catalogue", **kw):
    """No token: a harvester's request."""
    return requests.get(stack.dc.url + path, timeout=30, **kw)


def test_the_catalogue_needs_no_token_and_lists_local_forwarded_shops_and_spectra(stack):
    def listed():
        r = catalogue(stack)
        assert r.status_code == 200, r.text
        ids = {e["id"] for e in r.json()["entries"]}
        return ids if "tunka-remote" in ids else None  # forwarded shops arrive with the upstream's list

    ids = wait_until(listed, timeout=30, what="forwarded shops in the catalogue")
    assert {"kascade-test", "kascade-arrays", "tunka-remote", "spectrum-kascade-grande"} <= ids
    assert catalogue(stack).headers["Content-Type"].startswith("application/json")


def test_search_by_experiment_quantity_and_description_word(stack):
    for q in ("KASCADE", "Nmu", "synthetic"):  # the test shops: "synthetic events for tests"
        r = catalogue(stack, params={"q": q})
        assert r.status_code == 200 and r.json()["query"] == q
        assert "kascade-test" in [e["id"] for e in r.json()["entries"]], q
    ranked = catalogue(stack, params={"q": "KASCADE-Grande spectrum"}).json()["entries"]
    assert ranked and ranked[0]["experiment"] == "KASCADE-Grande" and ranked[0]["score"] >= ranked[-1]["score"]
    bad = catalogue(stack, params={"q": "x" * 201})
    assert bad.status_code == 400 and "at most 200 characters" in bad.json()["message"]


def test_json_ld_for_harvesters(stack):
    for r in (catalogue(stack, "api/catalogue.jsonld"),
              catalogue(stack, headers={"Accept": "application/ld+json"})):
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/ld+json")
        doc = r.json()
        assert doc["@context"] == "https://schema.org/" and doc["@type"] == "DataCatalog"
        assert all(d["@type"] == "Dataset" for d in doc["dataset"])
    shop = requests.get(stack.dc.url + "api/datashops/kascade-test", headers=stack.headers("alice"), timeout=30).json()
    one = catalogue(stack, "api/catalogue/kascade-test.jsonld").json()
    assert one["@type"] == "Dataset" and one["identifier"].startswith("tag:astroparticle.online,2026:datashop/kascade-test/")
    assert [v["name"] for v in one["variableMeasured"]] == list(shop["columns"])
    assert one["distribution"][0]["contentUrl"].endswith("/services/datacentre/api/requests")
    entry = catalogue(stack, "api/catalogue/kascade-test").json()
    assert entry["identifier"] == one["identifier"] and entry["kind"] == "simulated"
    missing = catalogue(stack, "api/catalogue/no-such-set")
    assert missing.status_code == 404 and "api/catalogue?q=" in missing.json()["message"]


def test_client_search(stack, tmp_path, monkeypatch):
    monkeypatch.setenv("KCDC_URL", stack.dc.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", stack.tokens["alice"])
    monkeypatch.setenv("KCDC_CACHE_DIR", str(tmp_path / "cache"))
    client = kcdc.Client()
    hits = client.search("knee")
    assert hits and {"spectrum-kascade-qgsjet-i"} <= {e["id"] for e in hits}
    assert "kascade-test" in [e["id"] for e in client.search("kascade Ze")]
    assert client.search("no-such-word-xyz") == []
    with pytest.raises(kcdc.InvalidRequest, match="at most 200"):
        client.search("x" * 201)
