"""Authenticators of the hub.

The embedded default is NativeAuthenticator (accounts kept in the hub's database),
with the first admin created at first start from a docker secret, so a fresh
deployment can be used without any identity provider.
"""

from __future__ import annotations

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from traitlets import Unicode


class AstroNativeAuthenticator(NativeAuthenticator):
    first_admin = Unicode("", config=True, help="Username of the admin created at first start.")
    first_admin_password = Unicode("", config=True, help="That admin's initial password.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensure_account(self.first_admin, self.first_admin_password)

    def ensure_account(self, username: str, password: str) -> bool:
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
        self.db.add(UserInfo(username=username, password=hashed, is_authorized=True))
        self.db.commit()
        self.log.info("Created account %s", username)
        return True
