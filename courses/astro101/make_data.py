"""Make the small data files shipped with the astro101 assignments (reproducible).

    python courses/astro101/make_data.py

They are cut from showersim data sets (simulated KASCADE events in the KCDC
layout; every set says it is simulated) with fixed seeds, so the hidden tests'
reference values never change. In class the same selections can be requested
from the data centre with ``kcdc.Client()``; the files make the assignments work
offline and keep the exchange uploads small (< 0.5 MB each).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
SHOWERSIM = [sys.executable, "-m", "showersim.cli"]

# (assignment, data-set id, showersim arguments, columns kept, file)
FILES = [
    ("01-energy", "astro101-energy", ["--events", "5000", "--seed", "101"],
     ["Ev", "Ze", "Ne", "Nmu"], "kascade_sample.parquet"),
    ("02-knee", "astro101-knee", ["--events", "30000", "--seed", "101", "--emin", "1e15"],
     ["E"], "kascade_spectrum.parquet"),
    ("03-composition", "astro101-composition",
     ["--events", "10000", "--seed", "103", "--kind", "simulation", "--emin", "1e15", "--emax", "1e16"],
     ["Ev", "E_true", "primary", "Ze", "Ne", "Nmu"], "kascade_simulation.parquet"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for assignment, ident, args, columns, name in FILES:
            subprocess.run([*SHOWERSIM, "generate", "--experiment", "kascade", "--out", tmp, "--id", ident, *args],
                           check=True, capture_output=True)
            shop = json.loads((Path(tmp) / ident / "datashop.json").read_text())
            frame = pd.concat(pd.read_parquet(p, columns=columns) for p in sorted((Path(tmp) / ident).glob("part-*.parquet")))
            frame.to_parquet(SOURCE / assignment / name, index=False)
            meta = {k: shop[k] for k in ("title", "simulated", "generator", "generator_version", "seed", "events", "generate_command") if k in shop}
            meta["exposure"] = shop["exposure"]
            (SOURCE / assignment / name.replace(".parquet", ".json")).write_text(json.dumps(meta, indent=1) + "\n")
            print(f"{assignment}/{name}: {len(frame)} events")


if __name__ == "__main__":
    main()
