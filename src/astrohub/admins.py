"""The admins' initial passwords (native login), made by the operator, never by a signup.

The first admin's password is the generated secret ``admin_password``; each further
admin's is derived from the generated secret ``admin_key``, so the hub (which
creates the accounts at start, astrohub.auth) and `astrohub up` (which keeps them
in the state folder) agree without passing passwords around.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def admin_password(admin_key: str, username: str) -> str:
    """The initial password of an admin after the first: one admin's tells nothing of another's."""
    digest = hmac.new(admin_key.encode(), f"admin-password:{username}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def admin_accounts(admin_users, first_password: str, admin_key: str) -> dict[str, str]:
    """{admin: initial password}: the first admin's from its secret, the others' derived."""
    names = list(admin_users)
    accounts = {names[0]: first_password} if names and first_password else {}
    if admin_key:
        accounts.update({name: admin_password(admin_key, name) for name in names[1:]})
    return accounts
