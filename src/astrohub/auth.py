"""Authenticators of the hub.

The embedded default is NativeAuthenticator (accounts kept in the hub's database),
with the first admin created at first start from a docker secret, so a fresh
deployment can be used without any identity provider. The OpenID Connect
providers live in astrohub.oidc.
"""

from __future__ import annotations

import json
import secrets

import bcrypt
from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.orm import UserInfo
from tornado import web
from traitlets import Dict, Unicode

from . import roster
from .oidc import Course, course_groups

ACCOUNTS_SCOPE = "custom:astrohub:accounts"


class AstroNativeAuthenticator(NativeAuthenticator):
    first_admin = Unicode("", config=True, help="Username of the admin created at first start.")
    first_admin_password = Unicode("", config=True, help="That admin's initial password.")
    courses = Dict(config=True, help="{course: [teacher group, student group or '']}, from the courses setting.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensure_account(self.first_admin, self.first_admin_password)

    def ensure_account(self, username: str, password: str, email: str = "") -> bool:
        """Create an authorised account unless it exists; True if created.

        Bypasses the signup form's checks on purpose: the admin and roster
        accounts are made by an operator, with generated passwords.
        """
        if not username or not password:
            return False
        username = self.normalize_username(username)
        if UserInfo.find(self.db, username) is not None:
            return False
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
        self.db.add(UserInfo(username=username, password=hashed, is_authorized=True, email=email or None))
        self.db.commit()
        self.log.info("Created account %s", username)
        return True

    def course_groups(self, groups) -> set[str]:
        course_list = [Course(name, t, s or None) for name, (t, s) in self.courses.items()]
        return course_groups(groups, course_list)

    def get_handlers(self, app):
        handlers = [(path, LoginHandler if handler is NativeLoginHandler else handler)
                    for path, handler in super().get_handlers(app)]
        return handlers + [(r"/api/astrohub/accounts", AccountsHandler)]


class _NoTimer:
    def timer(self, name):
        return self

    def start(self):
        return self

    def stop(self, send=True):
        pass


class LoginHandler(NativeLoginHandler):
    # nativeauthenticator 1.3.0 times logins with `self.statsd`, which JupyterHub 6
    # removed: without this every native login fails with a server error.
    statsd = _NoTimer()


class AccountsHandler(APIHandler):
    """POST /hub/api/astrohub/accounts: the roster import (see astrohub.roster).

    The hub's REST API cannot set NativeAuthenticator passwords, so this route
    does, for tokens with the scope custom:astrohub:accounts only.
    """

    async def post(self):
        # needs_scope cannot name a custom scope at import time: check here
        if not self.current_user or ACCOUNTS_SCOPE not in self.parsed_scopes:
            raise web.HTTPError(403, f"this needs the scope {ACCOUNTS_SCOPE}")
        try:
            body = json.loads(self.request.body or b"{}")
            entries = roster.check_request(body.get("accounts"))
        except (ValueError, AttributeError) as e:
            problems = getattr(e, "problems", ["the body must be JSON: {\"accounts\": [...]}"])
            self.set_status(400)
            self.finish({"status": 400, "message": "nothing was created", "problems": problems})
            return
        auth: AstroNativeAuthenticator = self.authenticator
        created, existing = [], []
        for entry in entries:
            password = secrets.token_urlsafe(9)
            user = self.user_from_username(entry.username)
            groups = set(entry.groups) | auth.course_groups(entry.groups)
            for name in sorted(groups):
                group = orm.Group.find(self.db, name)
                if group is None:
                    group = orm.Group(name=name)
                    self.db.add(group)
                if user.orm_user not in group.users:
                    group.users.append(user.orm_user)
            record = {"username": entry.username, "groups": sorted(groups)}
            if auth.ensure_account(entry.username, password, entry.email):
                created.append({**record, "password": password})
            else:
                existing.append(record)
        self.db.commit()
        self.log.info("Roster import by %s: %d accounts created, %d existed",
                      self.current_user.name, len(created), len(existing))
        self.finish({"created": created, "existing": existing})
