"""Small networking helpers for tests that start real servers on loopback."""
from __future__ import annotations

import socket
import subprocess
import time

import requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0, proc=None, ok=(200, 302, 401, 403, 404)) -> None:
    """Poll ``url`` until it answers with one of ``ok`` statuses.

    If ``proc`` (a Popen) exits meanwhile, fail at once instead of waiting."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} while waiting for {url}")
        try:
            r = requests.get(url, timeout=2, allow_redirects=False)
            if r.status_code in ok:
                return
            last = r.status_code
        except requests.RequestException as e:  # not up yet
            last = e
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s (last: {last})")


def swarm_gateway() -> str:
    """This machine's address on Docker's gateway bridge: where a stack's services (on a
    network with a gateway) reach a server that a test runs on the host."""
    out = subprocess.run(["docker", "network", "inspect", "docker_gwbridge", "--format",
                          "{{range .IPAM.Config}}{{.Gateway}} {{end}}"], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]
