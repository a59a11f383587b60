"""Walk an OpenID Connect login the way a browser does, with requests.

hub login button -> provider authorize -> provider login form -> callback -> hub.
Every step is recorded so tests can replay or tamper with one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import requests


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action, self._in_form = a.get("action", ""), True
        elif tag == "input" and self._in_form and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def parse_form(html: str) -> tuple[str, dict]:
    f = _Form()
    f.feed(html)
    if f.action is None:
        raise AssertionError(f"no form in page:\n{html[:800]}")
    return f.action, f.fields


@dataclass
class Login:
    session: requests.Session
    callback_url: str | None = None  # the provider's redirect to the hub, with code and state
    response: requests.Response | None = None  # the hub's answer to the callback
    form_page: requests.Response | None = None  # the provider's answer to the password
    visited: list[str] = field(default_factory=list)

    @property
    def code(self) -> str | None:
        return parse_qs(urlparse(self.callback_url).query).get("code", [None])[0] if self.callback_url else None


def _follow(s: requests.Session, r: requests.Response, stop, visited: list[str], limit: int = 15):
    """Follow redirects until the next one's target satisfies ``stop``; return (response, target)."""
    for _ in range(limit):
        if r.status_code not in (301, 302, 303, 307, 308):
            return r, None
        target = urljoin(r.url, r.headers["Location"])
        if stop(target):
            return r, target
        visited.append(target)
        r = s.get(target, allow_redirects=False, timeout=30)
    raise AssertionError(f"too many redirects: {visited[-5:]}")


def login(hub_url: str, key: str, username: str, password: str, *, complete: bool = True,
          session: requests.Session | None = None) -> Login:
    """Log in through provider ``key``; with complete=False stop before the callback."""
    s = session or requests.Session()
    result = Login(s)
    callback_prefix = f"{hub_url}hub/{key}/oauth_callback"
    is_callback = lambda url: url.startswith(callback_prefix)  # noqa: E731
    r = s.get(f"{hub_url}hub/{key}/oauth_login", allow_redirects=False, timeout=30)
    r, target = _follow(s, r, is_callback, result.visited)
    assert target is None and r.status_code == 200, f"expected the provider's login form, got {r.status_code} {r.url}"
    action, fields = parse_form(r.text)
    fields.update(username=username, password=password)
    r = s.post(urljoin(r.url, action), data=fields, allow_redirects=False, timeout=30)
    r, target = _follow(s, r, is_callback, result.visited)
    result.form_page = r
    result.callback_url = target
    if target and complete:
        result.response = s.get(target, allow_redirects=False, timeout=60)
    return result
