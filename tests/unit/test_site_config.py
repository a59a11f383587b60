"""The escape hatch: jupyterhub_config.d/*.py, read by the hub after apply, last."""

import subprocess
import sys
from pathlib import Path

from astrohub.deploy import write_site_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_files_are_joined_in_name_order(tmp_path):
    (tmp_path / "jupyterhub_config.d").mkdir()
    (tmp_path / "jupyterhub_config.d" / "20-b.py").write_text("c.JupyterHub.log_level = 'DEBUG'\n")
    (tmp_path / "jupyterhub_config.d" / "10-a.py").write_text("c.JupyterHub.log_level = 'WARN'\n")
    (tmp_path / "jupyterhub_config.d" / "notes.md").write_text("not python")
    text = write_site_config(tmp_path, tmp_path).read_text()
    assert text.index("10-a.py") < text.index("20-b.py") and "not python" not in text
    assert "no jupyterhub_config.d" in write_site_config(ROOT / "tests", tmp_path).read_text()


def test_the_hub_reads_the_site_file_after_apply_and_it_wins(tmp_path):
    site = tmp_path / "site_config.py"
    site.write_text("c.JupyterHub.template_vars.update({'announcement': 'Masterclass on Friday'})\n"
                    "c.JupyterHub.last_activity_interval = 7\n")
    # In a process of its own: the hub's config file narrows JupyterHub's admin role in-process.
    script = (
        "import sys; from pathlib import Path\n"
        "from astrohub import config\n"
        f"config.SITE_CONFIG = Path({str(site)!r})\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        f"c = PyFileConfigLoader('jupyterhub_config.py', path={str(ROOT)!r}).load_config()\n"
        "print(c.JupyterHub.template_vars['announcement'], c.JupyterHub.last_activity_interval,"
        " c.JupyterHub.template_vars['site_name'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Masterclass", "on", "Friday", "7", "astroparticle.online"]
