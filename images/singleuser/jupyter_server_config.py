# System-wide server configuration of the user image (/etc/jupyter); configuration
# in the home is never read (start-singleuser).
import os

from servicekit.homequota import configure
from servicekit.server_roles import ROLE_VARIABLE, server_extensions

c = get_config()  # noqa: F821 (provided by traitlets when the server loads this file)
# Server extensions by role (servicekit.server_roles): a config file's entries win
# over the jupyter_server_config.d files that enable every installed extension.
c.ServerApp.jpserver_extensions.update(server_extensions(os.environ.get(ROLE_VARIABLE, "")))
# JupyterLab's extension manager lists what is installed and installs nothing: the
# server's environment is the image's, not writable by its user (and PyPI's manager
# sets up an HTTPS client at every start).
c.LabApp.extension_manager = "readonly"
# The home's size limit (servicekit.homequota).
configure(c)
