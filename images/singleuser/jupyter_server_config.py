# Server extensions by role (astrohub.server_roles): a config file's entries win
# over the jupyter_server_config.d files that enable every installed extension.
import os

from astrohub.server_roles import ROLE_VARIABLE, disabled_extensions

c = get_config()  # noqa: F821 (provided by traitlets when the server loads this file)
c.ServerApp.jpserver_extensions.update(disabled_extensions(os.environ.get(ROLE_VARIABLE, "")))
