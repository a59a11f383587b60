"""Catalogue entries as schema.org ``Dataset`` JSON-LD, for harvesters (Google Dataset Search, ...).

The catalogue (:mod:`datacentre.catalogue`) is the one schema; this module only maps it:
columns become ``variableMeasured`` (``PropertyValue`` with ``unitText``), the generator
or the paper ``isBasedOn`` / ``citation``, the request API the ``distribution``.
"""
from __future__ import annotations

CONTEXT = "https://schema.org/"
#: Who publishes the catalogue (the hub's site); a setting would be needed only for a second site.
PUBLISHER = {"@type": "Organization", "name": "astroparticle.online", "url": "https://astroparticle.online/"}


def dataset(entry: dict, base_url: str = "") -> dict:
    """One entry as a schema.org Dataset; ``base_url`` (scheme and host) makes the API links absolute."""
    gen = entry.get("generator")
    if gen:
        creator = {"@type": "Organization", "name": f"astroparticle.online ({gen['name']} {gen.get('version') or ''})".replace(" )", ")")}
        based_on = {"@type": "SoftwareApplication", "name": gen["name"], "softwareVersion": gen.get("version"),
                    "description": f"seed {gen.get('seed')}; {gen.get('command') or ''}".rstrip("; ")}
    else:
        creator = {"@type": "Organization", "name": f"{entry['experiment']} Collaboration"}
        based_on = {"@type": "ScholarlyArticle", "name": (entry.get("source") or {}).get("citation", "")}
    doc = {
        "@context": CONTEXT, "@type": "Dataset",
        "@id": entry["identifier"], "identifier": entry["identifier"],
        "name": entry["title"], "description": entry["description"] or entry["title"],
        "version": entry["version"],
        "license": entry["licence"]["url"],
        "creator": creator, "publisher": PUBLISHER,
        "keywords": entry.get("keywords") or [],
        "isAccessibleForFree": True,
        "isBasedOn": based_on,
        "citation": entry.get("citation") or based_on.get("name", ""),
        "measurementTechnique": "simulation" if entry["kind"] == "simulated" else "measurement",
        "variableMeasured": [{"@type": "PropertyValue", "name": c["name"], "unitText": c["unit"],
                              "description": c["description"]} for c in entry.get("columns") or []],
    }
    api = entry.get("api")
    if api:
        doc["distribution"] = [{
            "@type": "DataDownload", "name": "KCDC data-request API (choose columns and cuts)",
            "contentUrl": base_url + api["requests"],
            "encodingFormat": ["application/x-hdf5", "application/zip", "application/x-root",
                               "application/vnd.apache.parquet", "text/csv"],
            "description": f"POST a request for the data shop {entry['id']} (see {base_url + api['datashop']})"}]
    return doc


def catalogue(entries: list[dict], base_url: str = "", url: str = "") -> dict:
    """All entries as one schema.org DataCatalog."""
    return {"@context": CONTEXT, "@type": "DataCatalog", "name": "astroparticle.online open data catalogue",
            "url": url, "publisher": PUBLISHER,
            "dataset": [{k: v for k, v in dataset(e, base_url).items() if k != "@context"} for e in entries]}
