# nbgrader in a course's formgrader: the exchange as in every server, and
# autograding kernels only in the sandbox (servicekit.grading_sandbox).
from servicekit.grading_sandbox import configure_autograde
from servicekit.nbgrader_exchange import configure

configure(get_config())  # noqa: F821 (provided by traitlets when nbgrader loads this file)
configure_autograde(get_config())  # noqa: F821
