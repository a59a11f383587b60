"""Which Jupyter server extensions a user server loads, by the role it serves.

Every extension a server loads is imported and set up before the server
answers: with 30 students starting at once on two cores, each unused one is
paid 30 times. The spawner sets ASTROHUB_SERVER_ROLE per user (student or
teacher), the course formgrader service sets ``formgrader``; the image's
/etc/jupyter/jupyter_server_config.py turns the rest off, and turns on what a
role loads in their place.
"""

from __future__ import annotations

ROLE_VARIABLE = "ASTROHUB_SERVER_ROLE"

# Off for every role, they only cost start time: jupyter_lsp serves language
# servers, and the images install none; notebook_shim carries the classic
# notebook's configuration (NotebookApp.*, nbserver_extensions, nbconfig) over to
# the server, and nothing here is configured that way any more (JupyterLab 4 and
# Notebook 7 read ServerApp's; it copies every trait of the server: 0.05 CPU-s).
_UNUSED = ("jupyter_lsp", "notebook_shim")

# nbgrader's student extensions (fetch and submit; validate): students load them at
# their first use (servicekit.nbgrader_on_first_use), not at start.
NBGRADER_STUDENT = ("nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.validate_assignment")

# Jupytext's contents manager opens the masterclasses' MyST sources as notebooks:
# teachers edit those; students get built notebooks only (servicekit.lessons).
JUPYTEXT = "jupyterlab_jupytext"

# What each role leaves out. Students keep nbgrader's student extensions (on first
# use); grading and the course list are the teachers'. Voila's in-server preview is
# not used by the masterclasses (the public dashboards are their own service), so
# students do without it. Teachers load nbgrader at start anyway: its formgrader
# imports all of nbgrader.
_OFF = {
    "student": _UNUSED + NBGRADER_STUDENT + (
        "nbgrader.server_extensions.formgrader",
        "nbgrader.server_extensions.course_list",
        "voila.server_extension",
        JUPYTEXT,
    ),
    "teacher": _UNUSED,
    "formgrader": _UNUSED + ("voila.server_extension", JUPYTEXT),
}
# What each role loads in place of what it leaves out.
_ON = {"student": ("servicekit.nbgrader_on_first_use", "servicekit.visitors"),
       # who else opens a teacher's server (admins) is logged too
       "teacher": ("servicekit.visitors",),
       # the course's deadlines page (extensions, the grades CSV) and the publishing of
       # its masterclasses beside nbgrader's formgrader
       "formgrader": ("servicekit.deadlines", "servicekit.publish")}
ROLES = tuple(_OFF)
# A server started without the variable (by hand, or by an older hub) loads what a teacher's does.
DEFAULT_ROLE = "teacher"


def server_extensions(role: str) -> dict[str, bool]:
    """ServerApp.jpserver_extensions entries that turn off what `role` does not use
    and turn on what it loads in its place."""
    role = role or DEFAULT_ROLE
    if role not in _OFF:
        raise ValueError(f"{ROLE_VARIABLE}={role!r} is not a server role: use one of {', '.join(ROLES)}")
    return {name: False for name in _OFF[role]} | {name: True for name in _ON.get(role, ())}
