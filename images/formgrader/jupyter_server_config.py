# The formgrader's server: its hub client gets the service token as configuration,
# read from the secret file, not from the environment that its kernels (a
# teacher's, and through them anything they run) would inherit.
from servicekit.nbgrader_exchange import api_token

c = get_config()  # noqa: F821 (provided by traitlets when the server loads this file)
c.HubOAuth.api_token = api_token() or ""
