"""Copy the masterclass library into a student's home without losing their edits.

Runs in the user's container at every start (images/singleuser/start-singleuser).
A manifest in the target folder remembers the checksum of each template as last
copied. For each template file:
- missing in the home: copied;
- unchanged by the student: replaced when the template changed;
- edited by the student: kept; a changed template arrives beside it as
  ``<name>.updated<suffix>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

MANIFEST = ".library.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def updated_name(path: Path) -> Path:
    return path.with_name(f"{path.stem}.updated{path.suffix}")


def sync(templates: Path, target: Path) -> dict[str, list[str]]:
    """Bring ``target`` up to date with ``templates``; return what was done per file."""
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (FileNotFoundError, ValueError):
        manifest = {}
    report: dict[str, list[str]] = {"copied": [], "updated": [], "beside": [], "kept": []}
    for src in sorted(p for p in templates.rglob("*") if p.is_file()):
        rel = src.relative_to(templates).as_posix()
        if "/." in "/" + rel or "__pycache__" in rel:
            continue
        dst = target / rel
        new = _digest(src)
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            report["copied"].append(rel)
        else:
            mine = _digest(dst)
            if mine == new:
                pass
            elif mine == manifest.get(rel):
                shutil.copy2(src, dst)
                report["updated"].append(rel)
            elif new != manifest.get(rel):
                shutil.copy2(src, updated_name(dst))
                report["beside"].append(rel)
            else:
                report["kept"].append(rel)
        manifest[rel] = new
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    tmp.replace(manifest_path)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="astrohub-library", description=__doc__.splitlines()[0])
    parser.add_argument("templates", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    if not args.templates.is_dir():
        print(f"astrohub-library: no template folder {args.templates}; nothing copied", file=sys.stderr)
        return 0
    try:
        report = sync(args.templates, args.target)
    except OSError as e:
        # Never block the server start: a full disk must not lock a student out.
        print(f"astrohub-library: could not update {args.target}: {e}", file=sys.stderr)
        return 0
    print("masterclass library: " + ", ".join(f"{len(v)} {k}" for k, v in report.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
