"""The one way a service container reads its settings.

A service declares its settings once, as a dataclass whose fields carry a default and
a meaning (:func:`setting`); :func:`from_environment` fills it from the variables
``<PREFIX><FIELD>`` (upper case), and :func:`reference_rows` gives the rows of the
configuration reference that ``astrohub settings-doc`` writes. The kind of a value
follows from its default (a whole number, a number, yes/no, a path, text) unless the
field names its own parser. A wrong value, or a variable of the prefix that is no
setting (a typo), stops the service with the variable's name and what it allows.

What the hub tells a service about its place (``JUPYTERHUB_*``) is no setting of ours:
:class:`HubService` reads it, in one place too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .tokens import secret


class SettingsError(ValueError):
    def __init__(self, service: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{service}: settings not accepted (fix the variables and start again):\n"
                         + "\n".join(f"  - {p}" for p in problems))


def setting(default: Any, help: str, *, parse: Callable[[str], Any] | None = None, kind: str = "",
            secret: bool = False) -> Any:
    """A settings field. ``secret``: also read from the file ``<VARIABLE>_FILE`` names."""
    meta = {"help": help, "parse": parse, "kind": kind, "secret": secret}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("use 1/true/yes or 0/false/no")


def choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"use one of {', '.join(options)}")
        return raw

    parse.options = options  # what check_choices looks for
    return parse


def check_choices(settings, prefix: str, service: str) -> None:
    """The choices of ``settings`` made in code (``cls(**values)``) checked as
    :func:`from_environment` checks their variables, with the same message."""
    problems = []
    for f in dataclasses.fields(settings):
        parse = f.metadata.get("parse")
        if getattr(parse, "options", None) is None:
            continue
        value = getattr(settings, f.name)
        try:
            parse(value)
        except ValueError as e:
            problems.append(_problem(prefix + f.name.upper(), value, e))
    if problems:
        raise SettingsError(service, problems)


def _problem(name: str, raw: Any, e: ValueError) -> str:
    return f"{name}={raw!r}: {e}"


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("use a whole number") from None


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("use a number") from None


def _parser(f: dataclasses.Field) -> tuple[Callable[[str], Any], str]:
    if f.metadata.get("parse"):
        return f.metadata["parse"], f.metadata.get("kind") or "text"
    default = f.default
    if isinstance(default, bool):
        return flag, "yes/no (1/0)"
    if isinstance(default, int):
        return _whole, "whole number"
    if isinstance(default, float):
        return _number, "number"
    if isinstance(default, Path):
        return Path, "path"
    return str, "text"


def from_environment(cls, prefix: str, service: str, environ: Mapping[str, str] | None = None, *,
                     allowed: tuple[str, ...] = (), overrides: Mapping[str, Any] | None = None,
                     defaults: Mapping[str, Any] | None = None):
    """``cls`` filled from ``<prefix><FIELD>`` variables; ``overrides`` (field -> value) win;
    ``defaults`` (field -> value) stand in for a variable that is not set (what the hub
    says, say). ``allowed``: other variables of the prefix that the service reads elsewhere."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    defaults = dict(defaults or {})
    fields = [f for f in dataclasses.fields(cls) if "help" in f.metadata]
    names = {prefix + f.name.upper(): f for f in fields}
    problems = [f"{name} is not a setting of the {service}; its settings: {', '.join(sorted(names))}"
                for name in sorted(environ)
                if name.startswith(prefix) and name not in names and name not in allowed
                and not (name.endswith("_FILE") and name.removesuffix("_FILE") in names)]
    values = {}
    for name, f in names.items():
        if f.name in overrides:
            continue
        raw = secret(name, environ=environ) if f.metadata.get("secret") else environ.get(name)
        if raw is None or raw == "":
            if f.name in defaults:
                values[f.name] = defaults[f.name]
            continue
        parse, _ = _parser(f)
        try:
            values[f.name] = parse(raw)
        except ValueError as e:
            problems.append(_problem(name, raw, e))
    if problems:
        raise SettingsError(service, problems)
    return cls(**values, **overrides)


def reference_rows(cls, prefix: str) -> list[tuple[str, str, str, str]]:
    """(variable, kind, default, meaning) of each setting, for the configuration reference."""
    rows = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append((prefix + f.name.upper(), _parser(f)[1], "" if default is None else str(default), f.metadata["help"]))
    return rows


def _hub(variable: str) -> Any:
    return dataclasses.field(default="", metadata={"variable": variable})


@dataclass(frozen=True)
class HubService:
    """What the hub tells a service (or a user's server) it starts, in its environment:
    JupyterHub's interface, not settings (nothing to check; empty when no hub started us).
    The token is :func:`servicekit.tokens.hub_token`."""

    api_url: str = _hub("JUPYTERHUB_API_URL")  # the hub's REST API
    user: str = _hub("JUPYTERHUB_USER")  # the owner of the server the hub started
    service_name: str = _hub("JUPYTERHUB_SERVICE_NAME")
    service_prefix: str = _hub("JUPYTERHUB_SERVICE_PREFIX")  # the proxy's route to the service
    service_url: str = _hub("JUPYTERHUB_SERVICE_URL")  # where the service listens
    public_url: str = _hub("JUPYTERHUB_PUBLIC_URL")  # the hub's public URL (https: cookies are Secure)
    oauth_access_scopes: str = _hub("JUPYTERHUB_OAUTH_ACCESS_SCOPES")  # JSON: scopes a caller's token needs
    # astrohub's spawner adds the nbgrader exchange to user servers and formgraders
    exchange_url: str = _hub("ASTROHUB_EXCHANGE_URL")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HubService:
        environ = os.environ if environ is None else environ
        return cls(**{f.name: environ.get(f.metadata["variable"]) or "" for f in dataclasses.fields(cls)})

    def missing(self, *names: str) -> list[str]:
        """The variables of these fields that the hub did not set."""
        return [f.metadata["variable"] for f in dataclasses.fields(self) if f.name in names and not getattr(self, f.name)]
