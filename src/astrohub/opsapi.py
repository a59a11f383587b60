"""The ops service's way to plain users, and not to admins' powers.

POST /hub/api/astrohub/users/<name> creates a hub user without `admin:users`:
JupyterHub's own user creation needs that scope, which includes `admin:auth_state`
(every user's provider tokens). The ops service (`astrohub health`, the tests, the
benchmarks) only makes plain users, so it gets this route's custom scope instead;
admins are made by the operator (astrohub.admins).

POST /hub/api/users/<name>/tokens (JupyterHub's own route, answered here first) refuses
a token for an admin to anyone but that admin or another admin: with the `tokens`
scope the ops service could otherwise mint an admin's token, and read auth state with it.
"""

from __future__ import annotations

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.apihandlers.users import UserTokenListAPIHandler
from jupyterhub.user import User
from jupyterhub.utils import maybe_future
from tornado import web

CREATE_USERS_SCOPE = "custom:astrohub:create-users"
SCOPES = {CREATE_USERS_SCOPE: {"description": "create plain (non-admin) hub users"}}


class CreateUserHandler(APIHandler):
    async def post(self, user_name):
        # needs_scope cannot name a custom scope at import time: check here
        if not self.current_user or CREATE_USERS_SCOPE not in self.parsed_scopes:
            raise web.HTTPError(403, f"this needs the scope {CREATE_USERS_SCOPE}")
        name = self.authenticator.normalize_username(user_name)
        if not self.authenticator.validate_username(name):
            raise web.HTTPError(400, f"{user_name!r} is not a valid user name")
        if name in self.authenticator.admin_users:
            raise web.HTTPError(403, f"{name} is an admin name: admins are made by the operator, not through this route")
        if self.find_user(name) is not None:
            raise web.HTTPError(409, f"user {name} already exists")
        user = self.user_from_username(name)
        self.db.commit()
        try:
            await maybe_future(self.authenticator.add_user(user))
        except Exception:
            self.log.error("Failed to create user %s", name, exc_info=True)
            self.users.delete(user)
            raise web.HTTPError(400, f"failed to create user {name}")
        self.log.info("User %s created by %s", name, self.current_user.name)
        self.set_status(201)
        self.finish(self.user_model(user))


class UserTokensHandler(UserTokenListAPIHandler):
    async def post(self, user_name):
        owner, requester = self.find_user(user_name), self.current_user
        if owner is not None and owner.admin and requester is not None:
            is_owner = isinstance(requester, User) and requester.name == owner.name
            if not is_owner and not getattr(requester, "admin", False):
                raise web.HTTPError(403, f"{owner.name} is an admin: only they or another admin can make their tokens")
        return await super().post(user_name)


HANDLERS = [(r"/api/astrohub/users/([^/]+)", CreateUserHandler),
            (r"/api/users/([^/]+)/tokens", UserTokensHandler)]
