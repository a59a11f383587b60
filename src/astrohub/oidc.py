"""Login with a KCDC or GRADLCI account: OpenID Connect providers, groups, tokens.

Each provider is an oauthenticator ``GenericOAuthenticator`` (subclass
:class:`ProviderAuthenticator`), combined on one login page by
``jupyterhub-multiauthenticator`` (subclass :class:`AstroMultiAuthenticator`).

Usernames: every provider's usernames carry its key as a prefix (``kcdc-ada``,
``gradlci-ada``), so the same name at two providers gives two hub users.

Groups: the provider's groups claim is copied to hub groups at every login
(``manage_groups``), plus the course groups nbgrader knows: a teacher of course C
(a member of the teacher group named in the ``courses`` setting) also gets
``formgrade-C`` and ``nbgrader-C``, a student of C gets ``nbgrader-C``.
Roles follow from groups (:func:`course_roles`).

Tokens: ``auth_state`` (encrypted with the crypt key) keeps the provider's
access and refresh tokens. An access token that expires within
``refresh_margin`` seconds is renewed with the refresh token before a server
starts and whenever the hub checks (``auth_refresh_age``). The user's own
server gets the access token as ``<KEY>_ACCESS_TOKEN`` (``KCDC_ACCESS_TOKEN``)
so notebooks can call the upstream KCDC API as that user; the hub's own data
service keeps using ``JUPYTERHUB_API_TOKEN``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from inspect import isawaitable
from typing import Mapping

from multiauthenticator import MultiAuthenticator
from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from tornado.httpclient import HTTPClientError
from traitlets import Dict, Integer, Unicode

from .courses import Course, course_groups
from .settings import Settings

PROVIDERS = ("kcdc", "gradlci")

_COURSE_GROUP = re.compile(r"^(formgrade|nbgrader)-")


# -- providers ------------------------------------------------------------------

@dataclass(frozen=True)
class Provider:
    key: str
    display_name: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    username_claim: str
    groups_claim: str
    allowed_groups: tuple[str, ...]
    admin_groups: tuple[str, ...]

    @property
    def token_env(self) -> str:
        return f"{self.key.upper()}_ACCESS_TOKEN"


def providers(settings: Settings) -> list[Provider]:
    """The providers that are configured (authorize URL and client id set)."""
    out = []
    for key in PROVIDERS:
        get = lambda name: settings[f"{key}_{name}"]  # noqa: E731
        if not (get("authorize_url") and get("client_id")):
            continue
        out.append(Provider(
            key=key, display_name=get("display_name"), authorize_url=get("authorize_url"),
            token_url=get("token_url"), userinfo_url=get("userinfo_url"),
            client_id=get("client_id"), client_secret=get("client_secret") or "",
            scopes=tuple(get("scopes")), username_claim=get("username_claim"),
            groups_claim=get("groups_claim"), allowed_groups=tuple(get("allowed_groups")),
            admin_groups=tuple(get("admin_groups")),
        ))
    return out


def missing_provider_settings(settings: Settings) -> list[str]:
    """What an `oidc` deployment still lacks, one line each, saying what to set."""
    problems = []
    configured = providers(settings)
    if not configured:
        problems.append("ASTROHUB_AUTHENTICATOR=oidc needs at least one provider: set "
                        "ASTROHUB_KCDC_AUTHORIZE_URL and ASTROHUB_KCDC_CLIENT_ID (or the GRADLCI ones)")
    for p in configured:
        for name in ("token_url", "userinfo_url"):
            if not getattr(p, name):
                problems.append(f"ASTROHUB_{p.key.upper()}_{name.upper()} is empty: set the provider's endpoint")
        if not p.client_secret:
            problems.append(f"the {p.key} client secret is missing: create the docker secret "
                            f"astrohub_{p.key}_client_secret (or set ASTROHUB_{p.key.upper()}_CLIENT_SECRET_FILE)")
    return problems


def authenticator_entries(settings: Settings, course_list: list[Course]) -> list[dict]:
    """MultiAuthenticator entries, one per configured provider."""
    entries = []
    teacher_and_student_groups = set()
    for c in course_list:
        teacher_and_student_groups.add(c.teacher_group)
        if c.student_group:
            teacher_and_student_groups.add(c.student_group)
    for p in providers(settings):
        allowed = sorted(set(p.allowed_groups) | teacher_and_student_groups | set(p.admin_groups))
        entries.append({
            "authenticator_class": "astrohub.oidc.ProviderAuthenticator",
            "url_prefix": f"/{p.key}",
            "config": {
                # given here too: the group settings below are checked against it
                # before the hub's config reaches the instance
                "manage_groups": True,
                "enable_auth_state": True,
                # only the groups decide (a test harness or a default may say otherwise)
                "allow_all": False,
                "prefix": f"{p.key}-",
                "login_service": p.display_name,
                "token_env": p.token_env,
                "authorize_url": p.authorize_url,
                "token_url": p.token_url,
                "userdata_url": p.userinfo_url,
                "client_id": p.client_id,
                "client_secret": p.client_secret,
                "scope": list(p.scopes),
                "username_claim": p.username_claim,
                "auth_state_groups_key": f"oauth_user.{p.groups_claim}",
                "allowed_groups": set(allowed),
                "admin_groups": set(p.admin_groups),
                "oauth_callback_url": f"{settings.public_url}/hub/{p.key}/oauth_callback",
                "courses": {c.name: [c.teacher_group, c.student_group or ""] for c in course_list},
                "custom_403_message": (
                    f"Your {p.display_name} is in none of the groups that may use astroparticle.online "
                    f"({', '.join(allowed)}). Ask your teacher or the hub's administrators to add "
                    f"you to your course's group at {p.key.upper()}, then log in again."
                ),
            },
        })
    return entries


# -- the authenticators -------------------------------------------------------

class ProviderAuthenticator(GenericOAuthenticator):
    """One OpenID Connect provider: course groups, early token refresh, token to server."""

    # read by multiauthenticator's wrapper as the username prefix
    prefix = Unicode("", config=True, help="Prefix of this provider's usernames, e.g. kcdc-.")
    token_env = Unicode("", config=True, help="Environment variable that carries the access token to the user's server.")
    courses = Dict(config=True, help="{course: [teacher group, student group or '']}")
    refresh_margin = Integer(120, config=True, help="Renew an access token this many seconds before it expires.")

    def _course_list(self) -> list[Course]:
        return [Course(name, t, s or None) for name, (t, s) in self.courses.items()]

    async def get_user_groups(self, auth_state: dict):
        groups = await super().get_user_groups(auth_state)
        # Only the provider decides course groups: a provider group that merely
        # looks like one (formgrade-x) is dropped rather than trusted.
        groups = {g for g in groups if not _COURSE_GROUP.match(g)}
        return groups | course_groups(groups, self._course_list())

    def build_auth_state_dict(self, token_info, user_info):
        state = super().build_auth_state_dict(token_info, user_info)
        expires_in = token_info.get("expires_in")
        # absolute expiry: decides when to renew without asking the provider
        state["expires_at"] = time.time() + float(expires_in) if expires_in else None
        return state

    def _expires_soon(self, auth_state: Mapping) -> bool:
        expires_at = auth_state.get("expires_at")
        return bool(expires_at) and expires_at - time.time() < self.refresh_margin

    async def refresh_user(self, user, handler=None, **kwargs):
        auth_state = await user.get_auth_state()
        if auth_state and auth_state.get("refresh_token") and self._expires_soon(auth_state):
            # the stock refresh only renews after the old token was refused;
            # renew ahead of expiry so a starting server never gets a dying token
            self.log.info("Renewing the %s access token of %s before it expires", self.key, user.name)
            params = self.build_refresh_token_request_params(auth_state["refresh_token"])
            try:
                token_info = await self.get_token_info(handler, params)
            except Exception as e:
                self.log.info("Renewing the token of %s failed (%s); a new login is needed",
                              user.name, type(e).__name__)
                return False
            token_info.setdefault("refresh_token", auth_state["refresh_token"])
            model = await self._token_to_auth_model(token_info)
            model["name"] = user.name
            return model
        model = await super().refresh_user(user, handler, **kwargs)
        if isinstance(model, dict):
            model["name"] = user.name
        return model

    async def get_token_info(self, handler, params):
        try:
            return await super().get_token_info(handler, params)
        except HTTPClientError as e:
            if e.code is None or not 400 <= e.code < 500:
                raise
            # a replayed, expired or foreign code, or a refused refresh token:
            # a clear answer to the user instead of a server error
            raise web.HTTPError(403, f"Your {self.login_service} did not confirm this login "
                                "(the link was used already, has expired or did not start here). "
                                "Please log in again.") from None

    @property
    def key(self) -> str:
        return self.prefix.rstrip("-")

    def pre_spawn_start(self, user, spawner):
        return self._pass_token(user, spawner)

    async def _pass_token(self, user, spawner):
        auth_state = await user.get_auth_state()
        if not auth_state or not self.token_env:
            return
        token = auth_state["access_token"]
        if hasattr(spawner, "secret_files"):
            # The Swarm spawner: a docker secret of this user's service, so the token
            # is not in the service's environment (`docker service inspect` shows that).
            name = self.token_env.lower()
            spawner.secret_files = {**spawner.secret_files, name: token}
            spawner.environment = {**spawner.environment, f"{self.token_env}_FILE": f"/run/secrets/{name}"}
            return
        # a new dict: the spawner's environment must never be shared between users
        spawner.environment = {**spawner.environment, self.token_env: token}


class AstroMultiAuthenticator(MultiAuthenticator):
    """The providers on one page; hub-wide calls go to the user's own provider."""

    def _provider_of(self, username: str):
        for a in self._authenticators:
            if username.startswith(a.username_prefix):
                return a
        return None

    async def refresh_user(self, user, handler=None, **kwargs):
        provider = self._provider_of(user.name)
        if provider is None:  # e.g. a user made through the API: nothing to refresh
            return True
        result = provider.refresh_user(user, handler, **kwargs)
        return (await result) if isawaitable(result) else result

    async def pre_spawn_start(self, user, spawner):
        provider = self._provider_of(user.name)
        if provider is not None:
            await provider.pre_spawn_start(user, spawner)

    def get_handlers(self, app):
        from . import opsapi

        return super().get_handlers(app) + opsapi.HANDLERS

    def get_custom_html(self, base_url):
        # our login.html draws the buttons from template variables instead
        return ""
