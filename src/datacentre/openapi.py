"""OpenAPI 3 description of the datacentre API (served at ``<prefix>api/openapi.json``).

Paths are relative to the service prefix (``/services/datacentre/`` in the stack);
``servers`` is filled in with the prefix when served.
"""
from __future__ import annotations

import copy

from .db import STATES

_ERR = {"$ref": "#/components/responses/Error"}


def _resp(desc: str, schema: dict | None = None, **extra) -> dict:
    r: dict = {"description": desc}
    if schema is not None:
        r["content"] = {"application/json": {"schema": schema}}
    r.update(extra)
    return r


_REQ_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "id of a data request (from POST api/requests)"}

SPEC: dict = {
    "openapi": "3.0.3",
    "info": {
        "title": "astroparticle.online datacentre: KCDC data-request API",
        "version": "1.0.0",
        "description": (
            "Select events from the open data shops (columns and cuts), follow the request's "
            "state and download the file (HDF5 events.h5, KCDC ASCII as .zip, ROOT, Parquet, CSV).\n\n"
            "Authentication: a JupyterHub API token in the header `Authorization: token <token>` "
            "(in a notebook: $JUPYTERHUB_API_TOKEN), or the hub's OAuth cookie in a browser. "
            "Every user sees only their own requests; holders of the admin scope "
            "(`custom:datacentre:admin`) and hub admins see all of them (`?all=1`).\n\n"
            "Errors are JSON `{error, message, ...}`; `message` says what to change."),
    },
    "servers": [{"url": "/services/datacentre/"}],
    "components": {
        "securitySchemes": {
            "hubToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                         "description": "`token <JupyterHub API token>`"},
            "hubCookie": {"type": "apiKey", "in": "cookie", "name": "jupyterhub-services",
                          "description": "set by the hub's OAuth login (browser)"},
        },
        "responses": {
            "Error": {"description": "error (4xx/5xx) with a message saying what to do",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string", "description": "machine-readable code, e.g. unknown_column, "
                          "malformed_cut, wrong_type, limit_exceeded, not_yours, expired"},
                "message": {"type": "string"},
                "limit": {"type": "string", "description": "name of the limit (limit_exceeded only)"},
                "limit_value": {"type": "integer"}}},
            "Cut": {"type": "object", "required": ["column", "op", "value"], "properties": {
                "column": {"type": "string"},
                "op": {"type": "string", "enum": ["==", "!=", "<", "<=", ">", ">=", "between", "in"]},
                "value": {"description": "a number (or boolean); [low, high] for between; a list for in",
                          "oneOf": [{"type": "number"}, {"type": "boolean"},
                                    {"type": "array", "items": {"type": "number"}}]}}},
            "NewRequest": {"type": "object", "required": ["datashop", "columns"], "properties": {
                "datashop": {"type": "string"},
                "columns": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "cuts": {"type": "array", "items": {"$ref": "#/components/schemas/Cut"}},
                "format": {"type": "string", "enum": ["hdf5", "ascii", "root", "parquet", "csv"],
                           "default": "hdf5"}}},
            "Request": {"type": "object", "properties": {
                "id": {"type": "string"}, "owner": {"type": "string"},
                "datashop": {"type": "string"},
                "columns": {"type": "array", "items": {"type": "string"}},
                "cuts": {"type": "array", "items": {"$ref": "#/components/schemas/Cut"}},
                "format": {"type": "string"},
                "state": {"type": "string", "enum": list(STATES)},
                "reason": {"type": "string", "nullable": True, "description": "why it Failed"},
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
                "rows": {"type": "integer", "nullable": True},
                "rows_estimate": {"type": "integer", "nullable": True},
                "size": {"type": "integer", "nullable": True, "description": "bytes of the file"},
                "filename": {"type": "string", "nullable": True},
                "created_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": "string", "format": "date-time", "nullable": True},
                "expires_at": {"type": "string", "format": "date-time", "nullable": True},
                "shared": {"type": "boolean", "description": "served by a job that other requests share"},
                "key": {"type": "string", "description": "hash of the normalised request"},
                "download_url": {"type": "string"}}},
            "CatalogueEntry": {"type": "object", "description": "a data shop or a published spectrum series, "
                               "described in the catalogue's one schema (datacentre/catalogue.py)", "properties": {
                "id": {"type": "string"}, "type": {"type": "string", "enum": ["datashop", "spectrum"]},
                "identifier": {"type": "string", "description": "stable: tag:astroparticle.online,2026:"
                               "<type>/<id>/<version>; changes only when the data change"},
                "version": {"type": "string"}, "title": {"type": "string"}, "experiment": {"type": "string"},
                "kind": {"type": "string", "enum": ["simulated", "measured"]},
                "datashop_kind": {"type": "string", "nullable": True, "description": "measured-like or simulation"},
                "description": {"type": "string"},
                "generator": {"type": "object", "nullable": True, "description": "name, version, seed, command"},
                "source": {"type": "object", "nullable": True, "description": "citation of the paper"},
                "citation": {"type": "string"},
                "columns": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "unit": {"type": "string"}, "description": {"type": "string"}}}},
                "keywords": {"type": "array", "items": {"type": "string"}},
                "licence": {"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
                "size": {"type": "object", "description": "events (data shop) or points (spectrum)"},
                "api": {"type": "object", "nullable": True, "description": "where a data shop's events are requested"},
                "score": {"type": "integer", "description": "search rank (higher first)"}}},
            "DataShop": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "experiment": {"type": "string"},
                "kind": {"type": "string"}, "description": {"type": "string"},
                "simulated": {"type": "boolean"}, "citation": {"type": "string"},
                "events": {"type": "integer"}, "upstream": {"type": "boolean"},
                "columns": {"type": "object", "additionalProperties": {"type": "object"}}}},
        },
    },
    "security": [{"hubToken": []}, {"hubCookie": []}],
    "paths": {
        "/api/": {"get": {
            "summary": "who am I, formats, states and the limits that apply to me",
            "responses": {"200": _resp("service information"), "401": _ERR}}},
        "/api/health": {"get": {
            "summary": "liveness (no authentication)", "security": [],
            "responses": {"200": _resp("ok")}}},
        "/api/openapi.json": {"get": {
            "summary": "this description (no authentication)", "security": [],
            "responses": {"200": _resp("OpenAPI 3 document")}}},
        "/api/catalogue": {"get": {
            "summary": "the catalogue: every data shop and published spectrum (no authentication)",
            "description": "`q`: words (case-insensitive), every one must match the experiment, title, "
                           "keywords, a column's name, unit or description, or the description; best first. "
                           "JSON-LD (a schema.org DataCatalog of Dataset) with `api/catalogue.jsonld` or "
                           "`Accept: application/ld+json`.",
            "security": [],
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
                            "description": "search words, e.g. knee, or KASCADE Nmu"}],
            "responses": {"200": {"description": "entries", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "query": {"type": "string"},
                    "entries": {"type": "array", "items": {"$ref": "#/components/schemas/CatalogueEntry"}}}}},
                "application/ld+json": {"schema": {"type": "object", "description": "schema.org DataCatalog"}}}},
                "400": _ERR}}},
        "/api/catalogue/{entry_id}": {"get": {
            "summary": "one catalogue entry (JSON; JSON-LD Dataset with the suffix .jsonld or "
                       "Accept: application/ld+json; no authentication)",
            "security": [],
            "parameters": [{"name": "entry_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "entry", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CatalogueEntry"}},
                "application/ld+json": {"schema": {"type": "object", "description": "schema.org Dataset"}}}},
                "404": _ERR}}},
        "/api/datashops": {"get": {
            "summary": "list the data shops",
            "responses": {"200": _resp("data shops", {"type": "object", "properties": {
                "datashops": {"type": "array", "items": {"$ref": "#/components/schemas/DataShop"}}}}),
                "401": _ERR}}},
        "/api/datashops/{datashop_id}": {"get": {
            "summary": "one data shop with its columns (unit, description, range, dtype)",
            "parameters": [{"name": "datashop_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _resp("data shop", {"$ref": "#/components/schemas/DataShop"}),
                          "404": _ERR, "401": _ERR}}},
        "/api/requests": {
            "get": {"summary": "list my requests (admins: ?all=1 for everybody's)",
                    "parameters": [{"name": "all", "in": "query", "schema": {"type": "boolean"}},
                                   {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}}],
                    "responses": {"200": _resp("requests", {"type": "object", "properties": {
                        "requests": {"type": "array", "items": {"$ref": "#/components/schemas/Request"}}}}),
                        "401": _ERR, "403": _ERR}},
            "post": {"summary": "submit a data request",
                     "description": "Identical requests (after normalisation) share one job and one file. "
                                    "Re-submitting a request you already have returns it (200).",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/NewRequest"}}}},
                     "responses": {
                         "201": _resp("created", {"$ref": "#/components/schemas/Request"}),
                         "200": _resp("you already have this request", {"$ref": "#/components/schemas/Request"}),
                         "400": _ERR, "401": _ERR, "404": _ERR,
                         "413": {"description": "too large: more rows or bytes than the limit",
                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                         "429": {"description": "too many requests Scheduled/Running at once",
                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
        "/api/requests/{request_id}": {
            "get": {"summary": "state, progress, size and expiry of one request",
                    "parameters": [_REQ_ID],
                    "responses": {"200": _resp("request", {"$ref": "#/components/schemas/Request"}),
                                  "403": _ERR, "404": _ERR, "401": _ERR}},
            "delete": {"summary": "remove a request (and its file unless another request shares it)",
                       "parameters": [_REQ_ID],
                       "responses": {"202": _resp("removal under way (state Deleting)",
                                                  {"$ref": "#/components/schemas/Request"}),
                                     "403": _ERR, "404": _ERR, "401": _ERR}}},
        "/api/requests/{request_id}/file": {"get": {
            "summary": "download the result (HTTP Range supported: resumable)",
            "parameters": [_REQ_ID, {"name": "Range", "in": "header", "schema": {"type": "string"},
                                     "description": "bytes=<start>-[<end>]"}],
            "responses": {"200": {"description": "the file", "content": {"application/octet-stream": {}}},
                          "206": {"description": "part of the file (Range)"},
                          "409": _ERR, "410": _ERR, "416": _ERR, "403": _ERR, "404": _ERR, "401": _ERR}},
            "head": {"summary": "size and type of the file", "parameters": [_REQ_ID],
                     "responses": {"200": {"description": "headers only"}, "409": _ERR, "410": _ERR}}},
    },
}


def spec_for(prefix: str) -> dict:
    doc = copy.deepcopy(SPEC)
    doc["servers"] = [{"url": prefix}]
    return doc
