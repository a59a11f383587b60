"""The environment is read in the settings loaders only (issue 13: one way to configure).

Handing the whole environment on to a subprocess (``dict(os.environ, ...)``) is not a
read; neither is writing what a library reads itself (ngshare's token)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
# Each with why it may read the environment.
LOADERS = {
    "astrohub/settings.py": "the hub's settings and the operator's variables",
    "servicekit/settings.py": "the services' settings and the hub's service variables",
    "servicekit/tokens.py": "the one secret reader",
    "servicekit/homequota.py": "the home limit the spawner gives a server (one variable)",
    "servicekit/nbgrader_exchange.py": "ngshare_exchange reads os.environ itself: it is shown a view with the token",
    "kcdc/environment.py": "the student client's variables",
    "dashboards/settings.py": "the dashboards' settings and Voila's per-kernel variables",
}
READ = re.compile(r"os\.environ(?!\s*\)|,)|os\.getenv|environ\.get\(")


def test_only_the_settings_loaders_read_the_environment():
    readers = {}
    for path in SRC.rglob("*.py"):
        name = str(path.relative_to(SRC))
        lines = [n for n, line in enumerate(path.read_text().splitlines(), 1)
                 if READ.search(line.split("#")[0]) and "dict(os.environ" not in line
                 and not re.search(r"os\.environ\[[^]]+\]\s*=", line)]
        if lines:
            readers[name] = lines
    assert set(readers) <= set(LOADERS), {k: v for k, v in readers.items() if k not in LOADERS}


def test_the_check_sees_a_read():
    assert READ.search('url = os.environ.get("KCDC_URL")')
    assert READ.search('x = os.getenv("A")') and READ.search('os.environ["A"]')
    assert not READ.search("env = dict(os.environ, A='1')")
