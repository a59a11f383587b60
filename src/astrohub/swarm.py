"""What the operator's commands share about Docker and the Swarm: the ``docker`` command,
its error, a stack's state folder, and the node label the hub places servers by.

Only the standard library here: the hub's spawner and every operator command import it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .settings import operator_variable

#: the Swarm node label (``astrohub.node=<name>``) that ``astrohub nodes add`` sets and the
#: spawner's placement constraints read.
NODE_LABEL = "astrohub.node"


class DeployError(RuntimeError):
    pass


def state_dir(root: Path, name: str) -> Path:
    """The state folder of a stack: ``ASTROHUB_STATE_DIR`` or ``<checkout>/.astrohub``, then its name."""
    return Path(operator_variable("ASTROHUB_STATE_DIR") or root / ".astrohub") / name


def docker(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, input=input)
    if check and result.returncode != 0:
        raise DeployError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()}")
    return result
