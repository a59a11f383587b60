"""The size limit of a user's home, kept by the server where the volume cannot keep it.

Homes are named volumes of Docker's local driver, which has no size option on the
node's file system (ext4 or overlay2; only tmpfs mounts take a size). So the image
holds the limit itself (``ASTROHUB_HOME_LIMIT_BYTES``, from the ``home_limit`` setting):

- the start script makes it the hard file-size limit (RLIMIT_FSIZE): one file written
  past it fails with "File too large" in every program;
- the Jupyter server refuses saves and uploads while the home is over the limit, with
  a message that says how full it is and what to do (``HomeLimit.check``, a pre-save
  hook set in images/singleuser/jupyter_server_config.py).

Many files written from a kernel or a terminal can still grow the home past the limit;
the next save in JupyterLab then says so.
"""

from __future__ import annotations

import os
import re
import time

ENV = "ASTROHUB_HOME_LIMIT_BYTES"
# Seconds a measured size is reused: a save does not walk a big home each time.
CACHE_SECONDS = 10.0
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def size_bytes(size: str) -> int:
    """Bytes of a size as the settings write it (``512M``, ``5G``, ``0``)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*", size, re.IGNORECASE)
    if not m:
        raise ValueError(f"{size!r} is not a size such as 512M or 5G")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def disk_usage(root: str) -> int:
    """Bytes the files under ``root`` occupy on disk (allocated blocks, as ``du -x``
    counts): only on root's own device, so a course folder mounted inside the home
    (astrohub.topology.course_mounts) is not counted against its student."""
    total = 0
    device = os.stat(root).st_dev
    stack = [root]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue  # vanished or unreadable: not the student's to fill
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if st.st_dev != device:
                    continue  # a mount point: another volume's
                total += st.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return total


class HomeLimit:
    def __init__(self, root: str, limit: int):
        self.root = root
        self.limit = limit
        self._measured = (0.0, 0)

    def used(self, fresh: bool = False) -> int:
        at, size = self._measured
        if fresh or time.monotonic() - at > CACHE_SECONDS:
            size = disk_usage(self.root)
            self._measured = (time.monotonic(), size)
        return size

    def check(self, model: dict, path: str, **_) -> None:
        """Pre-save hook of the contents manager: refuse a save that the home has no room for."""
        from tornado.web import HTTPError

        content = model.get("content")
        incoming = len(content) if isinstance(content, str) else 0
        used = self.used()
        if used + incoming > self.limit:
            used = self.used(fresh=True)  # the student may just have made room
        if used + incoming > self.limit:
            raise HTTPError(
                507,
                f"Your home folder is full: {human(used)} used of {human(self.limit)} allowed, "
                f"so {path} was not saved. Delete files you no longer need (downloaded data, "
                "old outputs; a terminal's `du -sh ~/* ~/.[!.]*` shows what is big) and save again.",
            )


def configure(c, environ=None) -> None:
    """Set the pre-save hook on a Jupyter server's config when the spawner gave a limit
    (runs in the user's server; ``environ``: its environment unless given)."""
    limit = int((os.environ if environ is None else environ).get(ENV) or 0)
    if limit > 0:
        c.ContentsManager.pre_save_hook = HomeLimit(os.path.expanduser("~"), limit).check
