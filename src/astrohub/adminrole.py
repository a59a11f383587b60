"""Hub admins who manage users' servers but do not open them (issue 19 item 4).

A user's server runs code its user controls in the hub's origin: an admin who opens
it hands the admin's session to that code. JupyterHub 6's admin role holds
``access:servers`` and refuses a changed admin role in ``load_roles`` ("Cannot
override admin role"), yet takes the admin role's scopes from
``jupyterhub.roles.get_default_roles`` at every start (and writes them to its
database). So the hub's configuration file narrows that function's admin role,
whoever is admin (``admin_users``, a provider's admin groups, the admin page).
Admins keep everything else: users, servers (start, stop), groups, tokens, the
admin page, services. ``admin_server_access`` (a setting) leaves the role as it is.
"""

from __future__ import annotations

# ``shares`` holds ``access:servers`` as a subscope: both go.
REMOVED = {"access:servers", "shares"}


def restrict_admin_role() -> None:
    """Drop ``access:servers`` (and ``shares``) from JupyterHub's admin role in this process (the hub's)."""
    from jupyterhub import roles

    if getattr(roles.get_default_roles, "astrohub_restricted", False):
        return
    original = roles.get_default_roles

    def get_default_roles():
        default = original()
        for role in default:
            if role["name"] == "admin":
                role["scopes"] = [s for s in role["scopes"] if s not in REMOVED]
                role["description"] += "; opens no user's server"
        return default

    get_default_roles.astrohub_restricted = True
    roles.get_default_roles = get_default_roles
