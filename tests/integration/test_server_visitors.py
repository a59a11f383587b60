"""A user's server writes down who else opened it (servicekit.visitors), on a real
Jupyter server: the owner's own requests leave no line, a visitor's first does."""
from __future__ import annotations

import time

import requests

from tests.support.jupyter_server import jupyter_server


def test_a_visitor_is_written_down_and_the_owner_is_not(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    extensions = {"servicekit.visitors": True, "jupyter_lsp": False, "voila.server_extension": False}
    # The server belongs to "sam"; the token logs in as jupyter_server's token user,
    # who is not sam: a visitor, as course staff would be.
    with jupyter_server(home, tmp_path / "server", extensions, env={"JUPYTERHUB_USER": "sam"}) as (url, auth, log):
        assert requests.get(f"{url}/api/contents", headers=auth, timeout=30).status_code == 200
        assert requests.get(f"{url}/api/contents", timeout=30).status_code == 403  # nobody: no visit
        time.sleep(0.5)
        lines = [line for line in log.read_text().splitlines() if "visitor:" in line]
    assert len(lines) == 1, lines
    assert "opened sam's server (GET /api/contents)" in lines[0]
