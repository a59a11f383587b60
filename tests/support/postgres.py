"""A throw-away PostgreSQL server on loopback (Debian's postgresql package), for tests.

    with PostgresProcess(tmp_path / "pg") as pg:
        url = pg.create_database("datacentre")   # postgresql+psycopg2://...

``available()`` says whether the binaries are there; as root, the server runs as the
``postgres`` system user (initdb refuses to run as root).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from .net import free_port


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return str(Path(found[-1]).parent)
    initdb = shutil.which("initdb")
    return str(Path(initdb).parent) if initdb else None


def available() -> bool:
    if _bindir() is None:
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
    return True


class PostgresProcess:
    def __init__(self, workdir: str | os.PathLike) -> None:
        self.workdir = Path(workdir)
        self._own_dir = False
        if os.geteuid() == 0:
            # the postgres user must reach its directory: pytest's tmp dirs are 0700 root
            self.workdir = Path(tempfile.mkdtemp(prefix="test-postgres-"))
            self._own_dir = True
        self.datadir = self.workdir / "data"
        self.port = free_port()
        self.bindir = _bindir()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        full = list(cmd)
        if os.geteuid() == 0:
            full = ["runuser", "-u", "postgres", "--"] + full
        return subprocess.run(full, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> "PostgresProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run(f"{self.bindir}/initdb", "-D", str(self.datadir), "--auth=trust", "-U", self.user,
                  "--no-sync", "-E", "UTF8")
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-w", "-l", str(self.workdir / "postgres.log"),
                  "-o", f"-p {self.port} -h 127.0.0.1 -k {self.workdir} -F", "start")
        return self

    def stop(self) -> None:
        if self.datadir.exists():
            try:
                self._run(f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop")
            except subprocess.CalledProcessError:
                pass
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        self._run(f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> "PostgresProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
