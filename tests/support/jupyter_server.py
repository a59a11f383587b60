"""A real Jupyter server on loopback with chosen server extensions and a token, its
log kept in a file (shown by the caller when a test fails)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from .net import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def jupyter_server(root: Path, workdir: Path, extensions: dict[str, bool], env: dict | None = None,
                   token: str = "jupyter-server-test-token"):
    """Yields (url, auth headers, log path) of a server serving ``root``."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": extensions}}))
    port = free_port()
    environ = dict(os.environ, JUPYTER_CONFIG_DIR=str(workdir), JUPYTER_TOKEN=token,
                   JUPYTER_RUNTIME_DIR=str(workdir / "runtime"), JUPYTER_DATA_DIR=str(workdir / "data"),
                   PYTHONPATH=f"{ROOT / 'src'}:{os.environ.get('PYTHONPATH', '')}", **(env or {}))
    log_path = workdir / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1",
                                 "--no-browser", "--allow-root", f"--ServerApp.root_dir={root}"],
                                cwd=root, env=environ, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if requests.get(f"{url}/api", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)
            yield url, {"Authorization": f"token {token}"}, log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)
