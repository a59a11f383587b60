"""Which Python modules a running Jupyter server has imported, seen from outside.

Asking the server would load code into it; instead a `docker exec` into its
container, as the server's own user, searches the server process's memory
(/proc/<pid>/mem) for module names. A name is a good needle only if it exists in
memory once the module is imported and not before: a submodule's dotted name
(a package name alone also appears in code that merely tries to import it, and
in a server's list of disabled extensions).
"""

from __future__ import annotations

import subprocess

SCAN = r"""
import os, sys
command, needles = sys.argv[1].encode(), [n.encode() for n in sys.argv[2:]]
def argv(pid):
    return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
# The Python process running the server (not tini, not this scan).
servers = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()
           and b"python" in argv(p)[0] and any(a.endswith(command) for a in argv(p))]
if len(servers) != 1:
    sys.exit(f"expected one {command.decode()} process in this container, found {servers}")
server = servers[0]
found = set()
with open(f"/proc/{server}/maps") as maps, open(f"/proc/{server}/mem", "rb", 0) as mem:
    for line in maps:
        span, perms = line.split()[:2]
        if not perms.startswith("r"):
            continue
        start, end = (int(a, 16) for a in span.split("-"))
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, OverflowError, ValueError):  # [vvar], [vsyscall]: not readable
            continue
        found.update(n for n in needles if n in data)
print("\n".join(sorted(n.decode() for n in found)))
"""


def modules_in(container: str, names: list[str], command: str = "bin/jupyterhub-singleuser") -> set[str]:
    """Those of `names` in the memory of the container's server process, the one
    Python process with an argument ending in `command`."""
    result = subprocess.run(["docker", "exec", container, "python", "-c", SCAN, command, *names],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"scanning the server in {container[:12]} failed: {result.stderr.strip()}")
    return set(result.stdout.split())
