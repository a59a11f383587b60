"""Run the masterclass notebooks against a real datacentre behind a real hub.

Shared by tests/integration/test_masterclasses.py and benchmarks/masterclasses.py:

    with MasterclassStack(tmp) as ms:           # bundle, datacentre, hub, one student
        nb, seconds = ms.run(path_to_notebook)  # executed in a fresh kernel, cwd = its folder

The notebooks are built from the library's MyST sources (``servicekit.lessons``) once per
process, as the user image builds them: ``built_library()`` gives the student and the
teacher folders. The data root is the real showersim bundle (``build_bundle``), generated once into
``ASTROHUB_BUNDLE_CACHE`` (default ``~/.cache/astrohub/bundle-<seed>``) and reused.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .datacentre import DatacentreProcess
from .hub import HubProcess

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "masterclasses"
STUDENT = "ada"
#: the masterclasses on the lesson template (level, duration, goals, checked "your turn"
#: cells with solutions): all but 00-welcome
LESSONS = (
    "01-anatomy-of-a-shower",
    "02-where-do-cosmic-rays-come-from",
    "03-the-atmosphere-as-absorber",
    "04-lateral-distribution-and-age",
    "05-energy-from-ne-and-nmu",
    "06-the-knee",
    "07-light-or-heavy",
    "08-machine-learning-the-primary",
    "09-searching-for-pev-gamma-rays",
    "10-comparing-experiments",
    "11-python-primer",
    "12-machine-learning-the-energy",
)

_built: tuple[Path, Path] | None = None


def built_library() -> tuple[Path, Path]:
    """(students, teachers): the library built from its sources into a temporary folder."""
    global _built
    if _built is None:
        import atexit
        import shutil
        import tempfile

        from servicekit.lessons import build

        tmp = Path(tempfile.mkdtemp(prefix="astrohub-lessons-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        build(LIBRARY, tmp / "students", tmp / "teachers")
        _built = tmp / "students", tmp / "teachers"
    return _built


def masterclass_notebooks(version: str = "students") -> list[Path]:
    """The built masterclasses NN-name/*.ipynb with NN >= 01 (00-welcome has no data step)."""
    folder = built_library()[0 if version == "students" else 1]
    return sorted(p for p in folder.glob("[0-9][0-9]-*/*.ipynb") if not p.parent.name.startswith("00-"))


def bundle_root() -> Path:
    """The real data bundle, generated once (about 10-20 s) and cached between runs."""
    from showersim.dataset import BUNDLE, BUNDLE_SEED, build_bundle

    root = Path(os.environ.get("ASTROHUB_BUNDLE_CACHE") or Path.home() / ".cache" / "astrohub" / f"bundle-{BUNDLE_SEED}")
    stamp = root / ".complete"
    if not stamp.exists() or any(not (root / b[0] / "datashop.json").exists() for b in BUNDLE):
        root.mkdir(parents=True, exist_ok=True)
        for child in root.iterdir():  # a half-written bundle from an interrupted run
            if child.is_dir():
                import shutil

                shutil.rmtree(child)
        build_bundle(root)
        stamp.write_text("ok\n")
    return root


def printed_lines(nb) -> list[str]:
    """Every line the notebook's cells printed (stream outputs)."""
    return [line for cell in nb.cells for out in cell.get("outputs", []) if out.get("output_type") == "stream"
            for line in out.get("text", "").splitlines()]


def passed_checks(nb) -> tuple[list[str], list[str]]:
    """(passed, failed) result-check lines printed by kcdc.masterclass.check."""
    from kcdc.masterclass import FAILED, PASSED

    lines = printed_lines(nb)
    return [x for x in lines if x.startswith(PASSED)], [x for x in lines if x.startswith(FAILED)]


def cell_seconds(nb) -> list[tuple[float, str]]:
    """(seconds, first source line) per executed cell, from nbclient's timing metadata."""
    from datetime import datetime

    out = []
    for cell in nb.cells:
        t = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            dt = (datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
                  - datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
            out.append((dt, cell.source.splitlines()[0] if cell.source else ""))
    return out


def slowest_cell(nb) -> tuple[float, str]:
    return max(cell_seconds(nb), default=(0.0, ""))


class MasterclassStack:
    """A hub with the datacentre serving the real bundle, and one student's token."""

    def __init__(self, workdir: str | os.PathLike, data_root: str | os.PathLike | None = None) -> None:
        self.workdir = Path(workdir)
        self.data_root = Path(data_root) if data_root else bundle_root()
        self.dc = DatacentreProcess(self.workdir / "datacentre", data_root=self.data_root)
        self.hub = HubProcess(self.workdir / "hub", services=[self.dc.service_entry()], roles=[
            {"name": "user", "scopes": ["self", "access:services!service=datacentre"]}])
        self.env: dict[str, str] = {}

    def __enter__(self) -> "MasterclassStack":
        try:
            self.dc.start(self.hub)
            self.hub.start()
            self.hub.create_user(STUDENT)
            # what the spawner gives a notebook: the server token, the data service's URL
            self.env = {"JUPYTERHUB_API_TOKEN": self.hub.create_token(STUDENT), "KCDC_URL": self.dc.url,
                        "KCDC_CACHE_DIR": str(self.workdir / "kcdc-cache"), "JUPYTERHUB_USER": STUDENT}
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.dc.stop()
        self.hub.stop()

    def logs(self) -> list[tuple[str, str]]:
        return [("JupyterHub", self.hub.log()), ("datacentre", self.dc.log())]

    def run(self, notebook: Path, timeout: int = 120, after: str | None = None, edit=None):
        """Execute a notebook top to bottom in a fresh kernel; return (notebook, seconds).
        ``after``: code run as one more cell at the end (e.g. to read the kernel's peak memory);
        ``edit``: a function that changes the notebook before it runs (a student's answers)."""
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.read(notebook, as_version=4)
        if edit:
            edit(nb)
        if after:
            nb.cells.append(nbformat.v4.new_code_cell(after))
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)  # the kernel inherits the environment of its launcher
        try:
            t0 = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(notebook.parent)}}).execute()
            return nb, time.perf_counter() - t0
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
