"""`astrohub health`: prove a live hub works, the way a student uses it.

As a temporary user: log in (a token), start a server, find the masterclass
library, run a small notebook in the user's kernel, get data from the data
service, stop the server, remove the user and their home. Each step is printed
with its time; the first failure ends the run (and is cleaned up after).
"""

from __future__ import annotations

import secrets
import time
from typing import Callable

from .hubapi import HubClient

# Runs inside the user's kernel: executes a notebook of the library with nbclient
# (a kernel of its own) and reads a few events through the data service.
NOTEBOOK_CODE = """
import nbformat, nbclient
nb = nbformat.read("masterclasses/00-welcome/welcome.ipynb", as_version=4)
nbclient.NotebookClient(nb, timeout=120, resources={"metadata": {"path": "masterclasses/00-welcome"}}).execute()
print(sum(1 for c in nb.cells if c.cell_type == "code" and c.outputs), "cells ran")
"""
DATA_CODE = """
import kcdc
r = kcdc.Client(progress=False).request("kascade", ["E", "Ze"], cuts=[("E", ">", 17.0)], format="parquet")
r.wait(timeout=120)
print(len(r.to_pandas()), "events")
"""


class Step:
    def __init__(self, report: Callable[[str], None]):
        self.report = report
        self.failed = False

    def __call__(self, label: str, action: Callable[[], object]) -> object:
        if self.failed:
            return None
        t0 = time.monotonic()
        try:
            result = action()
        except Exception as e:  # every failure is reported, never raised
            self.failed = True
            self.report(f"FAIL {label} ({time.monotonic() - t0:.1f} s): {type(e).__name__}: {e}")
            return None
        detail = f": {result}" if isinstance(result, str) and result else ""
        self.report(f"ok   {label} ({time.monotonic() - t0:.1f} s){detail}")
        return result


def check(hub: HubClient, remove_home: Callable[[str], None] | None = None,
          report: Callable[[str], None] = print) -> bool:
    # No "-" in the name: Docker names escape it, and the home volume must be found.
    user = f"health{secrets.token_hex(3)}"
    step = Step(report)
    step("hub API answers", lambda: "JupyterHub " + hub.api("GET", "/").json()["version"])
    step(f"create user {user}", lambda: hub.create_user(user) and "")
    step("start a server", lambda: f"ready in {hub.start(user):.1f} s")
    step("masterclass library present", lambda: _library(hub, user))
    step("run a notebook in the user's kernel", lambda: _last_line(hub.execute(user, NOTEBOOK_CODE, timeout=240)[0]))
    step("get data through the data service", lambda: _last_line(hub.execute(user, DATA_CODE, timeout=240)[0]))
    ok = not step.failed
    # Clean up whatever happened above.
    cleanup = Step(report)
    cleanup("stop the server", lambda: hub.stop(user) or "")
    cleanup(f"remove user {user}", lambda: hub.delete_user(user) or "")
    if remove_home:
        cleanup("remove the home volume", lambda: remove_home(user) or "")
    ok = ok and not cleanup.failed
    report("healthy" if ok else "NOT healthy")
    return ok


def _last_line(output: str) -> str:
    """The code's own answer, without the kernel's warnings before it."""
    return output.strip().splitlines()[-1] if output.strip() else ""


def _library(hub: HubClient, user: str) -> str:
    r = hub.server("GET", user, "/api/contents/masterclasses")
    r.raise_for_status()
    names = sorted(item["name"] for item in r.json()["content"] if item["type"] == "directory")
    if not names:
        raise RuntimeError("~/masterclasses is empty")
    return f"{len(names)} masterclasses"
