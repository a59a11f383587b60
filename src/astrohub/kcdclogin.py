"""Log in to the hub with a KCDC password (KCDC's portal is a Django site with its own
accounts and no OpenID Connect).

:class:`KCDCPasswordAuthenticator` checks the username and password through the portal's
own login (:mod:`kcdc.portal`: CSRF form login) and keeps only the portal's session, never
the password, in the encrypted auth state. The user's server gets that session as
``KCDC_SESSION`` (plus ``KCDC_USERNAME`` and ``KCDC_PORTAL_URL``), so that
``kcdc.Client(portal=True)`` there reaches KCDC as that user without a second login. When
the portal no longer accepts the session (it expired, the user logged out at KCDC), the
hub's refresh says so and the user logs in again. Hub user names carry the prefix
``kcdc-`` as with the OpenID Connect login (astrohub.oidc), so both give the same name.
"""
from __future__ import annotations

import asyncio

from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import Unicode

PREFIX = "kcdc-"


class KCDCPasswordAuthenticator(Authenticator):
    portal_url = Unicode("", config=True, help="The KCDC portal, e.g. https://kcdc.iap.kit.edu/")

    def _client(self, **kw):
        from kcdc.portal import PortalClient

        return PortalClient(self.portal_url, cache_dir=False, progress=False, timeout=20, **kw)

    async def authenticate(self, handler, data):
        import kcdc

        username = (data or {}).get("username", "").strip()
        password = (data or {}).get("password", "")
        if not username or not password:
            return None
        client = self._client(username=username, password=password)
        try:
            await asyncio.get_running_loop().run_in_executor(None, client.login)
        except kcdc.AuthenticationError:
            self.log.info("KCDC refused the login of %s", username)
            return None  # the login page says: invalid username or password
        except kcdc.KCDCError:
            raise web.HTTPError(503, "The KCDC portal cannot be reached right now, so your KCDC password cannot "
                                "be checked. Try again in a few minutes.") from None
        session = client.session.cookies.get("sessionid")
        # only the portal's session is kept (encrypted); the password is dropped with the client
        return {"name": PREFIX + username.lower(),
                "auth_state": {"kcdc_username": username, "kcdc_session": session}}

    def _session_alive(self, state: dict) -> bool:
        """True if the portal still accepts the session (the review page answers without a
        redirect to the login)."""
        import kcdc

        client = self._client(username=state.get("kcdc_username", ""), session=state.get("kcdc_session"))
        try:
            client._review()
        except kcdc.AuthenticationError:
            return False
        except kcdc.KCDCError:
            return True  # the portal is down: keep the user logged in, the session may still be good
        return True

    async def refresh_user(self, user, handler=None):
        state = await user.get_auth_state()
        if not state or not state.get("kcdc_session"):
            return True  # not a KCDC-password login
        alive = await asyncio.get_running_loop().run_in_executor(None, self._session_alive, state)
        if not alive:
            self.log.info("the KCDC session of %s expired: asking for a new login", user.name)
        return alive

    async def pre_spawn_start(self, user, spawner):
        state = await user.get_auth_state()
        if state and state.get("kcdc_session"):
            spawner.environment["KCDC_SESSION"] = state["kcdc_session"]
            spawner.environment["KCDC_USERNAME"] = state["kcdc_username"]
            spawner.environment["KCDC_PORTAL_URL"] = self.portal_url
