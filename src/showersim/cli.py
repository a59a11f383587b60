"""``showersim`` command line: generate, export, bundle.

Bad arguments end with one line on stderr saying what to change, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse would print the usage block)
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        v = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{v} is negative: give 0 or more")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer seed") from None
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"seed {v} out of range: use 0 <= seed < 2**63")
    return v


def _parser() -> argparse.ArgumentParser:
    from .version import __version__

    p = _Parser(prog="showersim", description="Parametric KASCADE, KASCADE-Grande and Tunka-133 air-shower simulation in the KCDC layout "
                "(all data it writes are SIMULATED).")
    p.add_argument("--version", action="version", version=f"showersim {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("generate", help="generate one data set into OUT/<id>/")
    g.add_argument("--experiment", required=True, help="kascade, kascade-grande or tunka133")
    g.add_argument("--events", required=True, type=_positive_int, help="number of recorded events")
    g.add_argument("--seed", required=True, type=_seed)
    g.add_argument("--out", required=True, type=Path, help="data root; the set goes to OUT/<id>/")
    g.add_argument("--kind", default="measured-like", help="measured-like (default) or simulation")
    g.add_argument("--stations", action="store_true", help="add per-station EDeposit/MDeposit/Arrival")
    g.add_argument("--id", dest="dataset_id", default=None, help="data-set id (directory name)")
    g.add_argument("--zenith-max", type=float, default=None,
                   help="maximum zenith angle in degrees (default: KASCADE and Grande 40, Tunka-133 45)")
    g.add_argument("--emin", type=float, default=None,
                   help="minimum primary energy in eV (default: KASCADE 1e14, Grande 5e15, Tunka-133 3.2e15)")
    g.add_argument("--emax", type=float, default=None,
                   help="maximum primary energy in eV (default: KASCADE 1e18, Grande 2e18, Tunka-133 3.2e18)")
    g.add_argument("--rows-per-part", type=_positive_int, default=None)
    g.add_argument("--quiet", action="store_true")

    e = sub.add_parser("export", help="export a data set to a KCDC file format")
    e.add_argument("--format", required=True, help="hdf5, ascii, root, parquet or csv")
    e.add_argument("--in", dest="inp", required=True, type=Path, help="data-set directory DIR/<id>")
    e.add_argument("--out", required=True, type=Path, help="output file (ASCII: a directory)")
    e.add_argument("--columns", default=None, help="comma-separated columns to export (default: all)")

    b = sub.add_parser("bundle", help="write the default bundle (KASCADE, KASCADE-Grande and Tunka-133 data shops)")
    b.add_argument("--out", required=True, type=Path, help="DATA_ROOT")
    b.add_argument("--seed", type=_seed, default=None)
    b.add_argument("--scale", type=float, default=1.0, help="fraction of the default event counts (0-1]")
    b.add_argument("--quiet", action="store_true")
    return p


def _generate(a) -> int:
    from .dataset import generate_dataset
    from .generator import EXPERIMENTS, KINDS

    if a.experiment.lower() not in EXPERIMENTS:
        raise UsageError(f"unknown experiment '{a.experiment}': use --experiment {' or '.join(EXPERIMENTS)}")
    if a.kind not in KINDS:
        raise UsageError(f"unknown kind '{a.kind}': use --kind {' or '.join(KINDS)}")
    if a.zenith_max is not None and not 0 < a.zenith_max <= 60:
        raise UsageError(f"--zenith-max {a.zenith_max:g} out of range: use a value in (0, 60]")
    from .catalogue import get

    lo, hi = get(a.experiment.lower()).energy_limits_ev
    emin, emax = get(a.experiment.lower()).default_energy_ev
    emin, emax = a.emin if a.emin is not None else emin, a.emax if a.emax is not None else emax
    if not lo <= emin < emax <= hi:
        raise UsageError(f"energy range {emin:g}-{emax:g} eV invalid for --experiment {a.experiment.lower()}: "
                         f"use {lo:g} <= --emin < --emax <= {hi:g}")
    t = time.monotonic()
    path = generate_dataset(a.out, events=a.events, seed=a.seed, experiment=a.experiment.lower(), kind=a.kind,
                            stations=a.stations, dataset_id=a.dataset_id, zenith_max_deg=a.zenith_max,
                            emin_ev=a.emin, emax_ev=a.emax, rows_per_part=a.rows_per_part or None,
                            progress=not a.quiet)
    if not a.quiet:
        print(f"wrote {path} ({a.events} events, {time.monotonic() - t:.1f} s)")
    return 0


def _export(a) -> int:
    from kcdc import formats

    if a.format not in formats.FORMATS:
        raise UsageError(f"unknown format '{a.format}': use --format {', '.join(formats.FORMATS)}")
    meta_file = a.inp / "datashop.json"
    if not meta_file.is_file():
        raise UsageError(f"{a.inp} is not a data set (no datashop.json): give --in DATA_ROOT/<id>")
    meta = json.loads(meta_file.read_text())
    cols = [c.strip() for c in a.columns.split(",")] if a.columns else None
    if cols:
        unknown = [c for c in cols if c not in meta.get("columns", {})]
        if unknown:
            raise UsageError(f"unknown column(s) {', '.join(unknown)}: choose from {', '.join(meta['columns'])}")
    fmt = formats.FORMATS[a.format]
    df = formats.read_parquet(a.inp, columns=cols)
    if not fmt.arrays:
        arr = [c for c in df.columns if c in formats.ARRAY_COLUMNS]
        if arr:
            raise UsageError(f"{a.format} cannot hold per-station arrays ({', '.join(arr)}): use --format hdf5 or "
                             "root, or --columns without them")
    parent = a.out.parent if a.format != "ascii" else a.out
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {parent} ({exc.strerror}): choose a writable --out") from None
    md = {k: v for k, v in meta.items() if k != "stations"}
    if a.format in ("hdf5", "root", "parquet", "ascii", "csv"):
        fmt.writer(df, a.out, metadata=md)
    print(f"wrote {a.out} ({len(df)} events, {a.format})")
    return 0


def _bundle(a) -> int:
    from .dataset import BUNDLE_SEED, build_bundle

    if not 0 < a.scale <= 1:
        raise UsageError(f"--scale {a.scale:g} out of range: use a value in (0, 1]")
    t = time.monotonic()
    paths = build_bundle(a.out, seed=BUNDLE_SEED if a.seed is None else a.seed, scale=a.scale,
                         progress=not a.quiet)
    print(f"bundle written to {a.out}: {', '.join(p.name for p in paths)} in {time.monotonic() - t:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        a = parser.parse_args(argv)
        if a.command is None:
            raise UsageError("no command given: use 'showersim generate', 'showersim export' or 'showersim bundle'")
        return {"generate": _generate, "export": _export, "bundle": _bundle}[a.command](a)
    except UsageError as exc:
        print(f"showersim: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, PermissionError, FileExistsError, NotADirectoryError, FileNotFoundError) as exc:
        print(f"showersim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"showersim: error: {exc.strerror or exc} ({exc.filename or ''}): check the --out/--in paths",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("showersim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
