# nbgrader in every astrohub server: the course exchange is ngshare behind the
# hub-authenticated gate (see servicekit.nbgrader_exchange).
from servicekit.nbgrader_exchange import configure

configure(get_config())  # noqa: F821 (provided by traitlets when nbgrader loads this file)
