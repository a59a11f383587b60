"""Authenticators of the hub.

The embedded default is NativeAuthenticator (accounts kept in the hub's database),
with every admin's account created at start by the operator's secrets, so a fresh
deployment can be used without any identity provider. Admin names cannot be signed
up, the signup page answers alike for taken and free names, and failed logins are
throttled. The OpenID Connect providers live in astrohub.oidc.
"""

from __future__ import annotations

import json
import secrets

import bcrypt
from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.handlers import SignUpHandler as NativeSignUpHandler
from nativeauthenticator.orm import UserInfo
from tornado import web
from traitlets import Dict, Unicode

from . import opsapi, roster
from .admins import admin_accounts
from .courses import Course, course_groups

ACCOUNTS_SCOPE = "custom:astrohub:accounts"
# Checked against a password for a name without an account, so that a login's
# time does not tell whether the name exists.
_NO_ACCOUNT_HASH = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt())


class AstroNativeAuthenticator(NativeAuthenticator):
    first_admin = Unicode("", config=True, help="Username of the admin created at first start.")
    first_admin_password = Unicode("", config=True, help="That admin's initial password.")
    admin_key = Unicode("", config=True, help="Secret the further admins' initial passwords are derived from (admin_password()).")
    courses = Dict(config=True, help="{course: [teacher group, student group or '']}, from the courses setting.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ordered = [self.first_admin] + sorted(set(self.admin_users) - {self.first_admin}) if self.first_admin else []
        for name, password in admin_accounts(ordered, self.first_admin_password, self.admin_key).items():
            self.ensure_account(name, password)

    def is_admin_name(self, username: str) -> bool:
        return self.normalize_username(username) in {self.normalize_username(n) for n in self.admin_users}

    def create_user(self, username, password, **kwargs):
        # NativeAuthenticator pre-approves a signup under an admin's name: the
        # operator makes admin accounts (above), a signup never does.
        if self.is_admin_name(username):
            return None
        return super().create_user(username, password, **kwargs)

    async def authenticate(self, handler, data):
        if self.get_user(data.get("username", "")) is None:
            bcrypt.checkpw(data.get("password", "").encode(), _NO_ACCOUNT_HASH)
            return None
        return await super().authenticate(handler, data)

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
        ours = {NativeLoginHandler: LoginHandler, NativeSignUpHandler: SignUpHandler}
        handlers = [(path, ours.get(handler, handler)) for path, handler in super().get_handlers(app)]
        return handlers + [(r"/api/astrohub/accounts", AccountsHandler)] + opsapi.HANDLERS


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


class SignUpHandler(NativeSignUpHandler):
    """The signup form, answering alike whether a name is taken or free.

    NativeAuthenticator's own form says "already in use", so anyone can list the
    accounts; here a taken name gets the same answer (and the same bcrypt work) as
    a new one, and only the admin sees signups to authorise. Admin names are
    refused outright. reCAPTCHA and 2FA are not configured by astrohub.
    """

    SENT = ("alert-info", "Your request has been sent to the administrators: you can log in once one of them authorises it.")

    async def post(self):
        auth: AstroNativeAuthenticator = self.authenticator
        if not auth.enable_signup:
            raise web.HTTPError(404)
        username = self.get_body_argument("username", "", strip=False)
        password = self.get_body_argument("signup_password", "", strip=False)
        confirmation = self.get_body_argument("signup_password_confirmation", "", strip=False)
        email = self.get_body_argument("email", "", strip=False)
        if auth.is_admin_name(username):
            alert, message = "alert-danger", (f"The name {username!r} is reserved for an administrator and cannot be "
                                              "signed up: choose another name.")
        elif password != confirmation:
            alert, message = "alert-danger", "The password and its confirmation differ: type the same password twice."
        elif not auth.validate_username(auth.normalize_username(username)):
            alert, message = "alert-danger", "That name is not allowed: choose one without spaces, commas or slashes."
        elif not auth.is_password_strong(password):
            alert, message = "alert-danger", (f"That password is too short or too common: use at least "
                                              f"{auth.minimum_password_length} characters that are not a well-known password.")
        else:
            if auth.user_exists(username):
                bcrypt.hashpw(password.encode(), bcrypt.gensalt())  # the time a new account takes
            else:
                auth.create_user(username, password, email=email or None)
            alert, message = self.SENT
        html = await self.render_template(
            "signup.html", ask_email=auth.ask_email_on_signup, result_message=message, alert=alert,
            two_factor_auth=False, two_factor_auth_user=False, two_factor_auth_value="",
            recaptcha_key=None, tos=auth.tos)
        self.finish(html)


class AccountsHandler(APIHandler):
    """POST /hub/api/astrohub/accounts: the roster import (see astrohub.roster).

    The hub's REST API cannot set NativeAuthenticator passwords, so this route
    does, for tokens with the scope custom:astrohub:accounts only.
    """

    async def post(self):
        # needs_scope cannot name a custom scope at import time: check here
        if not self.current_user or ACCOUNTS_SCOPE not in self.parsed_scopes:
            raise web.HTTPError(403, f"this needs the scope {ACCOUNTS_SCOPE}")
        auth: AstroNativeAuthenticator = self.authenticator
        try:
            body = json.loads(self.request.body or b"{}")
            entries = roster.check_request(body.get("accounts"))
            admins = [f"account {i}: {e.username!r} is an admin name: admins are made by the operator, not by a roster"
                      for i, e in enumerate(entries, 1) if auth.is_admin_name(e.username)]
            if admins:
                raise roster.RosterError(admins)
        except (ValueError, AttributeError) as e:
            problems = getattr(e, "problems", ["the body must be JSON: {\"accounts\": [...]}"])
            self.set_status(400)
            self.finish({"status": 400, "message": "nothing was created", "problems": problems})
            return
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
