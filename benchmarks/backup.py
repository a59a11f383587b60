"""Backup and restore figures: N homes of M MB each (default 30 x 50 MB).

    .venv/bin/python benchmarks/backup.py [--homes 30] [--mb 50]

Makes the homes as Docker volumes of a bench stack (``bench-backup-home-u<i>``, random
content: nothing compresses or deduplicates that should not), then prints: the first
backup (time, MB/s, repository size), a second backup with nothing changed (time, what
the repository grew by), a third after one home changed 1 MB, `--verify` (reads every
byte back), and a restore onto empty volumes. The floor: copying the same files with
`cp -a` into a plain folder, measured in the same run. Everything is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from astrohub import backup, settings  # noqa: E402
from astrohub.deploy import Stack, docker  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STACK = "bench-backup"


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--homes", type=int, default=30)
    ap.add_argument("--mb", type=int, default=50)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="astrohub-bench-backup-", dir="/var/tmp"))
    os.environ["ASTROHUB_STATE_DIR"] = str(work / "state")
    stack = Stack(ROOT, settings.load({"ASTROHUB_STACK_NAME": STACK}, secrets_dir="/nonexistent"))
    names = [f"{STACK}-home-u{i}" for i in range(args.homes)]
    try:
        for name in names:
            docker("volume", "create", name)
            home = backup.volume_path(name)
            for j in range(max(1, args.mb // 10)):
                (home / f"work-{j}.bin").write_bytes(os.urandom(min(args.mb, 10) << 20))
        total = args.homes * args.mb
        (work / "copy").mkdir()
        floor = timed(lambda: [subprocess.run(["cp", "-a", str(backup.volume_path(n)), str(work / "copy" / n)],
                                              check=True) for n in names])
        repo = work / "repo"
        first = timed(lambda: backup.backup(stack, str(repo), progress=False))
        size1 = size_mb(repo)
        second = timed(lambda: backup.backup(stack, str(repo), progress=False))
        size2 = size_mb(repo)
        (backup.volume_path(names[0]) / "work-0.bin").write_bytes(os.urandom(1 << 20))
        third = timed(lambda: backup.backup(stack, str(repo), progress=False))
        size3 = size_mb(repo)
        verify = timed(lambda: backup.verify(stack, str(repo)))
        for name in names:
            docker("volume", "rm", name)
        restore = timed(lambda: backup.restore(stack, str(repo), progress=False))
        print(f"{args.homes} homes x {args.mb} MB = {total} MB (random content)")
        print(f"floor (cp -a to a folder):       {floor:6.1f} s  {total / floor:6.0f} MB/s")
        print(f"first backup:                    {first:6.1f} s  {total / first:6.0f} MB/s  repository {size1:.0f} MB"
              f"  ({first / floor:.1f}x the floor)")
        print(f"second backup, nothing changed:  {second:6.1f} s  repository grew {size2 - size1:.2f} MB")
        print(f"third backup, 1 MB changed:      {third:6.1f} s  repository grew {size3 - size2:.2f} MB")
        print(f"verify (read every byte back):   {verify:6.1f} s")
        print(f"restore onto empty volumes:      {restore:6.1f} s  {total / restore:6.0f} MB/s")
    finally:
        for name in names:
            docker("volume", "rm", "-f", name, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
