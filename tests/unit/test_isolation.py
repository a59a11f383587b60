"""Isolation of user servers in the hub's configuration (issue 19 items 4, 5, 8),
and the home's size limit as the server keeps it (servicekit.homequota)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.web import HTTPError
from traitlets.config import Config

from astrohub import adminrole
from servicekit import homequota
from astrohub.config import apply
from astrohub.settings import SettingsError, load


def configured(**env):
    environ = {f"ASTROHUB_{k.upper()}": v for k, v in env.items()}
    return apply(load(environ, secrets_dir="/nonexistent"), Config())


def test_admins_manage_servers_but_do_not_open_them():
    # The hub's own role machinery, in a fresh process (the change is process-wide).
    code = ("from astrohub.adminrole import restrict_admin_role; restrict_admin_role(); restrict_admin_role();"
            "from jupyterhub import roles; import json;"
            "from jupyterhub.scopes import expand_scopes;"
            "print(json.dumps(sorted(expand_scopes([r for r in roles.get_default_roles() if r['name'] == 'admin'][0]['scopes']))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(adminrole.__file__).parents[1])}).stdout
    scopes = json.loads(out)
    # Not even through a scope that holds it (``shares`` does).
    assert not [s for s in scopes if s.startswith("access:servers")]
    assert {"admin:users", "admin:servers", "admin-ui", "access:services", "tokens", "start:servers"} <= set(scopes)


def test_user_servers_go_out_only_through_the_egress_proxy():
    env = configured().AstroSwarmSpawner.environment
    assert env["HTTPS_PROXY"] == env["https_proxy"] == env["HTTP_PROXY"] == "http://egress:3128"
    # The hub and the proxy's public routes are on the servers' own network.
    assert {"hub", "proxy"} <= set(env["NO_PROXY"].split(","))


def test_without_user_internet_no_proxy_is_offered():
    env = configured(user_internet="false").AstroSwarmSpawner.environment
    assert not {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} & set(env)


def test_pids_and_home_limits_reach_the_spawner():
    c = configured(pids_limit="300", home_limit="2G")
    assert c.AstroSwarmSpawner.pids_limit == 300
    assert c.AstroSwarmSpawner.environment[homequota.ENV] == str(2 * 1024**3)
    assert homequota.ENV not in configured(home_limit="0").AstroSwarmSpawner.environment


def test_a_wrong_limit_says_what_to_write():
    with pytest.raises(SettingsError, match="ASTROHUB_PIDS_LIMIT.*whole number"):
        configured(pids_limit="many")
    with pytest.raises(SettingsError, match="ASTROHUB_HOME_LIMIT.*512M or 2G"):
        configured(home_limit="5 gigabytes")


def test_sizes_read_as_the_settings_write_them():
    assert homequota.size_bytes("512M") == 512 * 1024**2
    assert homequota.size_bytes("1.5G") == int(1.5 * 1024**3)
    assert homequota.size_bytes("0") == 0


def test_disk_usage_counts_allocated_blocks_not_sparse_sizes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.bin").write_bytes(os.urandom(256 * 1024))
    with open(tmp_path / "sparse.bin", "wb") as f:
        f.truncate(1024**3)  # 1 GB long, nothing allocated
    used = homequota.disk_usage(str(tmp_path))
    assert 256 * 1024 <= used < 1024**2


def test_disk_usage_leaves_out_a_volume_mounted_inside_the_home(tmp_path):
    # A course folder is mounted inside the students' homes: the teacher's files in it
    # must not fill the student's quota. A tmpfs stands in for the volume's own device.
    (tmp_path / "mine.bin").write_bytes(os.urandom(64 * 1024))
    folder = tmp_path / "courses" / "astro101"
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], check=True)
    try:
        (folder / "reading.bin").write_bytes(os.urandom(4 * 1024**2))
        used = homequota.disk_usage(str(tmp_path))
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    assert 64 * 1024 <= used < 1024**2


def test_a_save_into_a_full_home_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "big.bin").write_bytes(os.urandom(300 * 1024))
    limit = homequota.HomeLimit(str(tmp_path), 256 * 1024)
    with pytest.raises(HTTPError) as refused:
        limit.check(model={"type": "file", "content": "x"}, path="notes.txt")
    assert refused.value.status_code == 507
    assert "home folder is full" in refused.value.log_message and "notes.txt" in refused.value.log_message


def test_a_save_that_fits_passes(tmp_path):
    limit = homequota.HomeLimit(str(tmp_path), 1024**2)
    limit.check(model={"type": "file", "content": "x" * 1000}, path="notes.txt")
    with pytest.raises(HTTPError):
        limit.check(model={"type": "file", "content": "x" * 2 * 1024**2}, path="huge.txt")


def test_the_server_config_sets_the_hook_only_with_a_limit():
    c = Config()
    homequota.configure(c, {})
    assert "pre_save_hook" not in c.ContentsManager
    homequota.configure(c, {homequota.ENV: "1000"})
    assert c.ContentsManager.pre_save_hook.__self__.limit == 1000
