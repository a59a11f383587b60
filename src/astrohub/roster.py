"""`astrohub users import ROSTER.csv`: a class's accounts from a CSV roster.

The roster (UTF-8 CSV, one header line)::

    username,groups,email
    ada,students;students-astro101,ada@example.org
    emmy,teachers-astro101,

``username`` is required; ``groups`` (separated by ``;`` or spaces) and
``email`` may be left out. The whole file is checked first: any bad line stops
the import with ``line N: ... what to change`` and nothing is created.

Why an endpoint of our own: the hub's REST API creates users and groups but
cannot set a NativeAuthenticator password (that lives in the authenticator's
own table). The native authenticator therefore adds one API route,
``POST /hub/api/astrohub/accounts`` (:class:`astrohub.auth.AccountsHandler`),
open only to tokens with the scope ``custom:astrohub:accounts`` (the ops
service has it). It checks the roster again, then creates the accounts with
generated passwords, their hub users and groups (and the course groups that
follow from the ``courses`` setting), and answers the passwords once. They are
printed once here and stored nowhere else; students change them at
``/hub/change-password``.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

ENDPOINT = "/hub/api/astrohub/accounts"
COLUMNS = ("username", "groups", "email")
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")
GROUP = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RosterError(ValueError):
    """The roster is not valid; ``problems`` has one line per fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Entry:
    username: str
    groups: list[str] = field(default_factory=list)
    email: str = ""

    def as_json(self) -> dict:
        return {"username": self.username, "groups": self.groups, "email": self.email}


def _check_entry(where: str, username: str, groups: list[str], email: str) -> list[str]:
    problems = []
    if not username:
        problems.append(f"{where}: the username is empty; fill it in or delete the line")
    elif not USERNAME.match(username):
        hint = username.lower().replace(" ", ".")
        problems.append(f"{where}: username {username!r} is not allowed; use 1-32 lower-case letters, "
                        f"digits, '.', '_' or '-', starting with a letter (e.g. {hint!r})")
    for g in groups:
        if not GROUP.match(g):
            problems.append(f"{where}: group {g!r} is not allowed; use lower-case letters, digits, "
                            "'.', '_' or '-' (separate groups with ';')")
    if email and not EMAIL.match(email):
        problems.append(f"{where}: email {email!r} does not look like name@example.org; correct it or leave it empty")
    return problems


def parse(text: str) -> list[Entry]:
    """Check the whole roster; return its entries or raise RosterError listing every problem."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    while rows and not any(cell.strip() for cell in rows[0]):
        rows.pop(0)
    if not rows:
        raise RosterError(["line 1: the roster is empty; the first line must be the header username,groups,email"])
    header = [h.strip().lower() for h in rows[0]]
    problems = []
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or "username" not in header or len(set(header)) != len(header):
        raise RosterError([f"line 1: the header is {','.join(header)!r}; use the columns username (required), "
                           "groups and email, each once, e.g. username,groups,email"])
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are fine
        where = f"line {number}"
        if len(row) != len(header):
            problems.append(f"{where}: {len(row)} fields but the header has {len(header)}; "
                            "a comma inside a value must be quoted, missing values left empty (ada,,)")
            continue
        cells = dict(zip(header, (cell.strip() for cell in row)))
        username = cells["username"]
        groups = [g for g in re.split(r"[;\s]+", cells.get("groups", "")) if g]
        email = cells.get("email", "")
        problems += _check_entry(where, username, groups, email)
        if username in seen:
            problems.append(f"{where}: username {username!r} is already on line {seen[username]}; list each person once")
        seen.setdefault(username, number)
        entries.append(Entry(username, groups, email))
    if not entries and not problems:
        problems.append("the roster has a header but no accounts; add one line per student")
    if problems:
        raise RosterError(problems)
    return entries


def check_request(accounts: object) -> list[Entry]:
    """The endpoint's check of a request body (the same rules as the CSV)."""
    if not isinstance(accounts, list) or not accounts:
        raise RosterError(["'accounts' must be a non-empty list of {username, groups, email}"])
    problems, entries, seen = [], [], set()
    for i, a in enumerate(accounts, start=1):
        where = f"account {i}"
        if not isinstance(a, dict) or not isinstance(a.get("username"), str) \
                or not isinstance(a.get("groups", []), list) \
                or not all(isinstance(g, str) for g in a.get("groups", [])):
            problems.append(f"{where}: give username (text), groups (list of text) and email (text)")
            continue
        entry = Entry(a["username"], list(a.get("groups", [])), a.get("email") or "")
        problems += _check_entry(where, entry.username, entry.groups, entry.email)
        if entry.username in seen:
            problems.append(f"{where}: username {entry.username!r} appears twice")
        seen.add(entry.username)
        entries.append(entry)
    if problems:
        raise RosterError(problems)
    return entries


def submit(hub_url: str, token: str, entries: list[Entry], timeout: float = 60) -> dict:
    """Create the accounts through the hub; the answer holds the one-time passwords."""
    r = requests.post(hub_url.rstrip("/") + ENDPOINT, json={"accounts": [e.as_json() for e in entries]},
                      headers={"Authorization": f"token {token}"}, timeout=timeout)
    if r.status_code == 404:
        raise RosterError([f"the hub at {hub_url} has no roster endpoint: the roster import needs the "
                           "native login (ASTROHUB_AUTHENTICATOR=native); with OpenID Connect the "
                           "providers' groups decide who is in a class"])
    if r.status_code == 403:
        raise RosterError(["the hub refused the token: use the ops token (scope custom:astrohub:accounts)"])
    if r.status_code == 400:
        try:
            problems = r.json().get("problems") or [r.json().get("message", r.text)]
        except ValueError:
            problems = [r.text]
        raise RosterError(problems)
    if r.status_code != 200:
        raise RosterError([f"the hub answered {r.status_code}: {r.text[:300]}"])
    return r.json()


def format_result(result: dict) -> str:
    created, existing = result.get("created", []), result.get("existing", [])
    lines = []
    if created:
        width = max(len(a["username"]) for a in created)
        lines.append(f"{'username'.ljust(width)}  one-time password  groups")
        for a in created:
            lines.append(f"{a['username'].ljust(width)}  {a['password'].ljust(17)}  {' '.join(a['groups'])}")
        lines.append("")
    lines.append(f"{len(created)} account(s) created, {len(existing)} existed already "
                 "(their passwords were not changed; their groups were added).")
    if created:
        lines.append("The passwords are shown this once: hand them out now. "
                     "Students change theirs at /hub/change-password.")
    return "\n".join(lines)


def cmd_import(args) -> int:
    from .deploy import operator_stack
    from . import settings as settings_mod

    try:
        entries = parse(Path(args.roster).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"astrohub users import: {args.roster} does not exist", file=sys.stderr)
        return 2
    except (RosterError, UnicodeDecodeError) as e:
        print(f"{args.roster}: nothing was created:\n{e}", file=sys.stderr)
        return 2
    try:
        url, token = args.hub_url, settings_mod.load(secrets_dir="/nonexistent").ops_token
        if not (url and token):  # what `astrohub up` of this checkout recorded
            stack = operator_stack()
            url, token = url or stack.local_url, token or stack.secret_value("ops_token")
        if not token:
            print("astrohub users import: no ops token: set ASTROHUB_OPS_TOKEN or run from the "
                  "checkout whose `astrohub up` started the hub", file=sys.stderr)
            return 2
        result = submit(url, token, entries)
    except RosterError as e:
        print(f"astrohub users import: nothing was created:\n{e}", file=sys.stderr)
        return 1
    except requests.RequestException as e:
        print(f"astrohub users import: the hub did not answer ({type(e).__name__}); is it up?", file=sys.stderr)
        return 1
    print(format_result(result))
    return 0


def add_parser(sub) -> None:
    """`astrohub users import ROSTER.csv` (registered by astrohub.cli)."""
    users = sub.add_parser("users", help="accounts of the native login").add_subparsers(dest="users_command", required=True)
    imp = users.add_parser("import", help="create a class's accounts and groups from a CSV roster, print one-time passwords")
    imp.add_argument("roster", help="CSV with the header username,groups,email")
    imp.add_argument("--hub-url", help="the hub's address (default: this checkout's stack)")
    imp.set_defaults(func=cmd_import)
