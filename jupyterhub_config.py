# The hub's configuration: everything comes from the settings (environment
# variables and docker secrets, see docs/configuration.md); the logic lives in
# astrohub.config.apply, which the tests call on a bare Config.
from astrohub import adminrole, config, settings

hub_settings = settings.load()
if not hub_settings.admin_server_access:
    adminrole.restrict_admin_role()  # JupyterHub's own admin role, narrowed in this process
config.apply(hub_settings, c)  # noqa: F821 (c is provided by JupyterHub)
# Last: the operator's own traitlets for what no setting says (jupyterhub_config.d/).
if config.SITE_CONFIG.exists():
    load_subconfig(str(config.SITE_CONFIG))  # noqa: F821 (provided by traitlets)
