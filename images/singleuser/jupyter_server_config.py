# System-wide server configuration of the user image (/etc/jupyter): the home's size
# limit (astrohub.homequota). Configuration in the home is never read (start-singleuser).
from astrohub.homequota import configure

configure(get_config())  # noqa: F821
