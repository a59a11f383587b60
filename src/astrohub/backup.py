"""Backup and restore of a stack: everything a term of work lives in.

    astrohub backup DEST            a snapshot while the hub runs
    astrohub backup --verify DEST   read every byte of the repository back and check it
    astrohub restore SRC            everything back, on a machine with nothing on it

The engine is restic (Debian's ``restic``): it deduplicates (a second backup of
unchanged homes stores almost nothing), encrypts (a copy on a school's file server
or a USB disk reveals nothing without the password), checks every blob against its
SHA-256 (``restic check --read-data``), and an interrupted backup is resumed by
running it again (the data already sent is not sent twice). Borg would do as well;
restic needs no server side and no lock file on the source.

What one snapshot holds:
- every volume of the stack (``<stack>_*``: hub database, data requests and their
  files, the edge's local CA, the exchange, the course volumes; ``<stack>-home-*``:
  the users' homes), read from the Docker volumes' folders on this node;
- a consistent copy of every SQLite database found in them, made with SQLite's
  online backup while the services keep running (the live files may be mid-write;
  restore puts the consistent copy in their place);
- the state folder ``.astrohub/<stack>/`` (the generated secrets: cookie secret,
  crypt key of the auth state, tokens, admin password), from which the next
  ``astrohub up`` re-creates the docker secrets;
- ``manifest.json``: stack, release, volumes, and the SHA-256 of every database copy
  and state file, so a restore can prove it brought back what was saved.

The repository's password is not in the backup (it would be useless there): it is
``ASTROHUB_BACKUP_PASSWORD`` (or ``..._FILE``), else generated at the first backup
into the state folder; keep a copy of it away from this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets as pysecrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from .deploy import DeployError, Stack, docker
from .settings import VERSION, operator_variable

SQLITE_MAGIC = b"SQLite format 3\x00"
MANIFEST = "manifest.json"
# Where `astrohub upgrade` backs up when not told: Debian's place for local backups
# (copy it off the machine: a lost disk takes it along).
DEFAULT_REPOSITORY = "/var/backups/astrohub/{stack}"


class BackupError(DeployError):
    pass


def stack_volumes(stack: str) -> list[str]:
    """The volumes of a stack: its own (``<stack>_...``) and its users' homes.

    Exact prefixes, so that the stack ``astrohub`` never takes ``astrohub-e2e``'s."""
    names = docker("volume", "ls", "-q").stdout.split()
    return sorted(v for v in names if v.startswith(f"{stack}_") or v.startswith(f"{stack}-home-"))


def volume_path(name: str) -> Path:
    path = docker("volume", "inspect", "--format", "{{.Mountpoint}}", name).stdout.strip()
    if not path:
        raise BackupError(f"volume {name} has no folder on this node (driver without a mountpoint?)")
    return Path(path)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def copy_database(live: Path, copy: Path) -> None:
    """A consistent copy of a live SQLite database (its writers keep running)."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    # Read-only URI: the backup never creates or changes anything in the volume.
    src = sqlite3.connect(f"file:{live}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    shutil.copystat(live, copy)


class Repository:
    """A restic repository: a folder (or any location restic knows) and its password."""

    def __init__(self, location: str, password_file: Path):
        self.location = location
        self.password_file = password_file

    def restic(self, *args: str, capture: bool = True, check: bool = True) -> subprocess.CompletedProcess:
        if not shutil.which("restic"):
            raise BackupError("restic is not installed: run `make setup` (it installs Debian's restic)")
        env = dict(os.environ, RESTIC_REPOSITORY=self.location, RESTIC_PASSWORD_FILE=str(self.password_file))
        # Without capture restic draws its own progress bar on the operator's terminal.
        result = subprocess.run(["restic", *args], env=env, text=True,
                                capture_output=capture, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            why = (result.stderr or result.stdout or "").strip()[-2000:] if capture else "see above"
            raise BackupError(f"restic {args[0]} failed ({why})")
        return result

    def exists(self) -> bool:
        return self.restic("cat", "config", check=False).returncode == 0

    def init(self) -> None:
        self.restic("init")


def password_file(stack: Stack, create: bool) -> Path:
    """The repository password: ASTROHUB_BACKUP_PASSWORD(_FILE), else the state folder's."""
    given = operator_variable("ASTROHUB_BACKUP_PASSWORD_FILE")
    if given:
        if not Path(given).is_file():
            raise BackupError(f"ASTROHUB_BACKUP_PASSWORD_FILE={given} is not a file")
        return Path(given)
    kept = stack.state_dir / "backup_password"
    value = operator_variable("ASTROHUB_BACKUP_PASSWORD")
    if value:
        # Written with mode 0600 so restic reads it from a file, never from argv.
        fd, tmp = tempfile.mkstemp(prefix="astrohub-backup-pw-")
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return Path(tmp)
    if kept.exists():
        return kept
    if not create:
        raise BackupError("no backup password: set ASTROHUB_BACKUP_PASSWORD (or ..._FILE) to the password "
                          f"printed by the first backup (it is not in {kept})")
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    kept.write_text(pysecrets.token_urlsafe(24) + "\n")
    os.chmod(kept, 0o600)
    print(f"new backup repository password in {kept}: keep a copy away from this machine, "
          "a restore elsewhere needs it (ASTROHUB_BACKUP_PASSWORD)", flush=True)
    return kept


def backup(stack: Stack, dest: str, progress: bool = True) -> dict:
    """One snapshot of the running stack into the repository at ``dest``; returns the manifest."""
    repo = Repository(dest, password_file(stack, create=True))
    if not repo.exists():
        repo.init()
    volumes = stack_volumes(stack.name)
    if not volumes and not stack.state_dir.exists():
        raise BackupError(f"stack {stack.name} has no volumes and no state folder here: nothing to back up")
    # A fixed staging path: restic then finds the previous snapshot of the same paths
    # and skips reading unchanged files again.
    staging = Path(f"/var/tmp/astrohub-backup-{stack.name}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700, parents=True)
    try:
        manifest = {"stack": stack.name, "release": VERSION, "image_tag": stack.settings.image_tag,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "volumes": {}, "databases": {}, "state": {}}
        for name in volumes:
            path = volume_path(name)
            files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
            manifest["volumes"][name] = {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
            for live in files:
                if is_sqlite(live):
                    rel = f"{name}/{live.relative_to(path)}"
                    copy = staging / "databases" / rel
                    copy_database(live, copy)
                    manifest["databases"][rel] = sha256(copy)
        if stack.state_dir.exists():
            for f in sorted(stack.state_dir.iterdir()):
                if f.is_file() and f.name != "backup_password":
                    manifest["state"][f.name] = sha256(f)
            shutil.copytree(stack.state_dir, staging / "state", ignore=shutil.ignore_patterns("backup_password"))
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        # One snapshot: the volumes as they are, the database copies, the state, the manifest.
        paths = [str(volume_path(v)) for v in volumes]
        repo.restic("backup", "--tag", f"astrohub-{stack.name}", "--host", "astrohub",
                    "--exclude", "*.sqlite-journal", *paths, str(staging),
                    capture=not progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _snapshot(repo: Repository, stack: str, wanted: str | None = None) -> dict:
    """The latest snapshot of the stack, or the one whose id starts with ``wanted``."""
    snaps = json.loads(repo.restic("snapshots", "--json", "--tag", f"astrohub-{stack}").stdout or "[]")
    if not snaps:
        raise BackupError(f"the repository {repo.location} has no snapshot of stack {stack}")
    if wanted:
        found = [s for s in snaps if s["id"].startswith(wanted)]
        if not found:
            ids = ", ".join(s["short_id"] for s in snaps)
            raise BackupError(f"no snapshot {wanted} of stack {stack} in {repo.location} (there are: {ids})")
        return found[0]
    return max(snaps, key=lambda s: s["time"])


def latest_snapshot(stack: Stack, location: str) -> str:
    """The short id of the newest snapshot of the stack (what `restore --snapshot` takes)."""
    return _snapshot(Repository(location, password_file(stack, create=False)), stack.name)["short_id"]


def _staging_path(snapshot: dict) -> str:
    """The staging folder's path inside a snapshot (the path that holds manifest.json)."""
    for p in snapshot["paths"]:
        if Path(p).name.startswith("astrohub-backup-"):
            return p
    raise BackupError(f"snapshot {snapshot['short_id']} is not an astrohub backup (no manifest folder)")


def verify(stack: Stack, dest: str) -> dict:
    """Read every byte back (restic checks each blob's SHA-256), then the manifest."""
    repo = Repository(dest, password_file(stack, create=False))
    repo.restic("check", "--read-data")
    snap = _snapshot(repo, stack.name)
    staging = _staging_path(snap)
    manifest = json.loads(repo.restic("dump", snap["id"], f"{staging}/{MANIFEST}").stdout)
    listed = {json.loads(line).get("path") for line in
              repo.restic("ls", "--json", snap["id"]).stdout.splitlines() if line.startswith("{")}
    missing = [rel for rel in manifest["databases"] if f"{staging}/databases/{rel}" not in listed]
    missing += [f for f in manifest["state"] if f"{staging}/state/{f}" not in listed]
    if missing:
        raise BackupError(f"snapshot {snap['short_id']} lacks what its manifest lists: {', '.join(missing[:5])}")
    return manifest


def restore(stack: Stack, src: str, progress: bool = True, snapshot: str | None = None,
            skip_homes: bool = False) -> dict:
    """Bring volumes and state back before the stack is deployed (``astrohub up`` after).

    Each restored volume is made exactly what was saved. ``skip_homes`` leaves the
    users' homes as they are: a rollback after an upgrade needs the databases back,
    while homes were never touched by the upgrade and hold the students' newer work."""
    if docker("stack", "ps", stack.name, check=False).returncode == 0:
        raise BackupError(f"stack {stack.name} is running: `astrohub down` first (restore replaces its volumes)")
    repo = Repository(src, password_file(stack, create=False))
    snap = _snapshot(repo, stack.name, snapshot)
    staging = _staging_path(snap)
    with tempfile.TemporaryDirectory(prefix="astrohub-restore-", dir="/var/tmp") as tmp:
        target = Path(tmp)
        repo.restic("restore", snap["id"], "--target", str(target), capture=not progress)
        saved = target / staging.lstrip("/")
        manifest = json.loads((saved / MANIFEST).read_text())
        volume_dirs = {Path(p).parent.name: target / p.lstrip("/") for p in snap["paths"] if p != staging}
        chosen = [n for n in manifest["volumes"] if not (skip_homes and n.startswith(f"{stack.name}-home-"))]
        for name in chosen:
            if name not in volume_dirs:
                raise BackupError(f"snapshot {snap['short_id']} lacks the folder of volume {name}")
            docker("volume", "create", name)
            dest = volume_path(name)
            # The volume becomes what was saved: files made after the snapshot go.
            for child in dest.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            # The volume's own folder (mode, owner) is restored along with its content.
            subprocess.run(["cp", "-a", "--", f"{volume_dirs[name]}/.", str(dest)], check=True)
        for rel, digest in manifest["databases"].items():
            name, _, inner = rel.partition("/")
            if name not in chosen:
                continue
            copy = saved / "databases" / rel
            if sha256(copy) != digest:
                raise BackupError(f"the copy of database {rel} does not match its manifest")
            live = volume_path(name) / inner
            stat = live.stat() if live.exists() else copy.stat()
            shutil.copyfile(copy, live)
            os.chown(live, stat.st_uid, stat.st_gid)
            # A journal or WAL of the file-level copy belongs to the other version.
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{live}{suffix}").unlink(missing_ok=True)
        if manifest["state"]:
            stack.state_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(stack.state_dir, 0o700)
            for fname, digest in manifest["state"].items():
                src_file = saved / "state" / fname
                if sha256(src_file) != digest:
                    raise BackupError(f"state file {fname} does not match its manifest")
                shutil.copy2(src_file, stack.state_dir / fname)
    return manifest


def forget(stack: Stack, dest: str, daily: int, weekly: int, monthly: int) -> None:
    """Retention: keep so many daily, weekly and monthly snapshots, drop the rest's data."""
    repo = Repository(dest, password_file(stack, create=False))
    repo.restic("forget", "--tag", f"astrohub-{stack.name}", "--keep-daily", str(daily),
                "--keep-weekly", str(weekly), "--keep-monthly", str(monthly), "--prune")
