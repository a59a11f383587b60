# The hub's configuration: everything comes from the settings (environment
# variables and docker secrets, see docs/configuration.md); the logic lives in
# astrohub.config.apply, which the tests call on a bare Config.
from astrohub import config, settings

config.apply(settings.load(), c)  # noqa: F821 (c is provided by JupyterHub)
