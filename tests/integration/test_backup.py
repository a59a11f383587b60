"""astrohub backup / restore with real Docker volumes, real restic and a live SQLite writer.

No stack is deployed: the volumes are made as the stack names them, filled, backed
up while a writer keeps changing a database, removed with the state folder (a
machine with nothing on it), and restored."""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from astrohub import backup, settings
from astrohub.deploy import Stack, docker

ROOT = Path(__file__).resolve().parents[2]


def digest_tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def bk_stack(tmp_path, monkeypatch):
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("Docker is not running: run `make setup`")
    name = f"bk-it-{secrets.token_hex(3)}"
    monkeypatch.setenv("ASTROHUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("ASTROHUB_BACKUP_PASSWORD", raising=False)
    s = Stack(ROOT, settings.load({"ASTROHUB_STACK_NAME": name}, secrets_dir="/nonexistent"))
    yield s
    for v in backup.stack_volumes(name) + [f"{name}x-home-bob"]:
        docker("volume", "rm", "-f", v, check=False)


def make_volume(name: str) -> Path:
    docker("volume", "create", name)
    return backup.volume_path(name)


def test_backup_while_writing_then_restore_on_empty_machine(bk_stack, tmp_path):
    hub = make_volume(f"{bk_stack.name}_hub-data")
    home = make_volume(f"{bk_stack.name}-home-ada")
    other = make_volume(f"{bk_stack.name}x-home-bob")  # another stack's: must not be taken
    (home / "masterclasses").mkdir()
    (home / "masterclasses" / "knee.ipynb").write_text('{"cells": []}')
    (home / "big.bin").write_bytes(os.urandom(3 << 20))
    os.chown(home / "big.bin", 1000, 1000)
    db = hub / "jupyterhub.sqlite"
    con = sqlite3.connect(db)
    con.execute("create table users (name text)")
    con.executemany("insert into users values (?)", [(f"u{i}",) for i in range(500)])
    con.commit()
    bk_stack.state_dir.mkdir(parents=True)
    (bk_stack.state_dir / "crypt_key").write_text("ab" * 32 + "\n")
    (bk_stack.state_dir / "admin_password").write_text("secret-pw\n")

    stop = threading.Event()

    def writer():  # the hub keeps writing while the backup runs
        w = sqlite3.connect(db, timeout=30)
        i = 0
        while not stop.is_set():
            w.execute("insert into users values (?)", (f"w{i}",))
            w.commit()
            i += 1
        w.close()

    t = threading.Thread(target=writer)
    t.start()
    repo = str(tmp_path / "repo")
    try:
        manifest = backup.backup(bk_stack, repo, progress=False)
    finally:
        stop.set()
        t.join()
    con.close()
    assert set(manifest["volumes"]) == {f"{bk_stack.name}_hub-data", f"{bk_stack.name}-home-ada"}
    assert f"{bk_stack.name}_hub-data/jupyterhub.sqlite" in manifest["databases"]
    assert set(manifest["state"]) == {"crypt_key", "admin_password"}
    assert backup.verify(bk_stack, repo)["created"] == manifest["created"]
    home_before = digest_tree(home)
    password = (bk_stack.state_dir / "backup_password").read_text().strip()

    # A machine with nothing on it: volumes and state folder gone.
    for v in (f"{bk_stack.name}_hub-data", f"{bk_stack.name}-home-ada"):
        docker("volume", "rm", v)
    for f in bk_stack.state_dir.iterdir():
        f.unlink()
    with pytest.raises(backup.BackupError, match="ASTROHUB_BACKUP_PASSWORD"):
        backup.restore(bk_stack, repo, progress=False)
    os.environ["ASTROHUB_BACKUP_PASSWORD"] = password
    try:
        backup.restore(bk_stack, repo, progress=False)
    finally:
        del os.environ["ASTROHUB_BACKUP_PASSWORD"]
    home_after = backup.volume_path(f"{bk_stack.name}-home-ada")
    assert digest_tree(home_after) == home_before
    assert (home_after / "big.bin").stat().st_uid == 1000
    restored = sqlite3.connect(backup.volume_path(f"{bk_stack.name}_hub-data") / "jupyterhub.sqlite")
    assert restored.execute("pragma integrity_check").fetchone() == ("ok",)
    assert restored.execute("select count(*) from users").fetchone()[0] >= 500
    restored.close()
    assert (bk_stack.state_dir / "crypt_key").read_text() == "ab" * 32 + "\n"
    assert digest_tree(other) == {}  # untouched and not restored into


def test_second_backup_of_unchanged_data_is_small_and_corruption_is_found(bk_stack, tmp_path):
    home = make_volume(f"{bk_stack.name}-home-ada")
    (home / "data.bin").write_bytes(os.urandom(8 << 20))
    repo = tmp_path / "repo"
    backup.backup(bk_stack, str(repo), progress=False)
    size1 = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
    backup.backup(bk_stack, str(repo), progress=False)
    size2 = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
    assert size1 > 8 << 20  # random data does not compress away
    assert size2 - size1 < 256 << 10  # deduplicated: only the new snapshot's metadata
    # One flipped byte in a data pack is found by --verify.
    pack = max((p for p in (repo / "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(raw))
    with pytest.raises(backup.BackupError, match="check"):
        backup.verify(bk_stack, str(repo))


def test_restore_refuses_a_repository_without_this_stack(bk_stack, tmp_path):
    home = make_volume(f"{bk_stack.name}-home-ada")
    (home / "f").write_text("x")
    repo = str(tmp_path / "repo")
    backup.backup(bk_stack, repo, progress=False)
    other = Stack(ROOT, settings.load({"ASTROHUB_STACK_NAME": bk_stack.name + "-other"}, secrets_dir="/nonexistent"))
    os.environ["ASTROHUB_BACKUP_PASSWORD_FILE"] = str(bk_stack.state_dir / "backup_password")
    try:
        with pytest.raises(backup.BackupError, match="no snapshot of stack"):
            backup.restore(other, repo, progress=False)
    finally:
        del os.environ["ASTROHUB_BACKUP_PASSWORD_FILE"]
