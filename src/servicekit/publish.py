"""Publish a course's masterclasses to its students without an image rebuild.

The course's formgrader holds the library's MyST sources in ``~/masterclasses/sources``
(copied there at its start from its image, a teacher's edits kept: servicekit.library)
and the teacher versions, with solutions, in ``~/masterclasses/teachers``: only the
formgrader's image has those, so they reach teachers and no student.

Publishing builds the student versions of the sources (servicekit.lessons) into a new
folder of the course's library volume (``/srv/library``, see astrohub.topology) and
then points ``current`` at it, one rename: a student's server that starts meanwhile
copies either the old or the new version, never half of one. A source that does not
build stops the publishing with the build's message and leaves the published version
as it was. The user servers of the course's students mount the volume read-only and
copy ``current`` into ``~/masterclasses/<course>`` at every start (start-singleuser,
with servicekit.library: untouched copies follow, edited ones stay).

A server extension of the formgrader (servicekit.server_roles): the page
``<formgrader>/masterclasses``; ``python -m servicekit.publish SOURCES LIBRARY`` does the
same from a terminal.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .lessons import LessonError, build, sources

CURRENT = "current"
TEMPLATE = Path(__file__).with_name("templates") / "publish.html"
# Where the formgrader mounts the course's library volume, and its own copies.
LIBRARY = Path("/srv/library")
SOURCES = Path("masterclasses") / "sources"   # under the formgrader's home
# Where a student's server mounts the libraries of its courses (astrohub.spawner), one
# folder per course; start-singleuser reads it from $ASTROHUB_PUBLISHED.
PUBLISHED = "/opt/astrohub/published"


def published(library: Path) -> Path | None:
    """The folder students get now, or None before the first publishing."""
    link = library / CURRENT
    return link.resolve() if link.is_symlink() else None


def publish(source_root: Path, library: Path, keep: int = 2) -> Path:
    """Build the student versions of ``source_root`` into ``library`` and make them current.

    Returns the new version's folder. Keeps the ``keep`` newest versions (a server that is
    copying the previous one finishes it)."""
    if not sources(source_root):
        raise LessonError(f"no masterclass sources (NN-name/NN-name.md) in {source_root}")
    library.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    version = library / f"v{stamp}"
    # The teacher versions the build also writes go to a scratch folder, never into the
    # students' volume.
    with tempfile.TemporaryDirectory(prefix="astrohub-teachers-") as teachers:
        try:
            build(source_root, version, Path(teachers) / "out")
        except Exception as e:
            shutil.rmtree(version, ignore_errors=True)
            # jupytext's and nbformat's errors too: the teacher gets the message, not a 500
            raise e if isinstance(e, LessonError) else LessonError(f"{type(e).__name__}: {e}") from e
    link = library / f".{CURRENT}-{stamp}"
    link.symlink_to(version.name)  # relative: the students' mount has another path
    os.replace(link, library / CURRENT)
    for old in sorted(p for p in library.glob("v*") if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return version


def page_rows(source_root: Path, library: Path) -> dict:
    """What the page shows: the sources, and what the students have now."""
    current = published(library)
    names = sorted(p.name for p in current.glob("[0-9][0-9]-*") if p.is_dir()) if current else []
    when = datetime.strptime(current.name[1:], "%Y%m%dT%H%M%S%fZ") if current else None
    return {"sources": [p.parent.name for p in sources(source_root)] if source_root.is_dir() else [],
            "published": names, "published_at": when}


def _handlers(serverapp):
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.utils import url_path_join
    from tornado import web

    root = Path(serverapp.root_dir)

    class Page(JupyterHandler):
        def render_page(self, notice: str = "", error: str = "") -> str:
            import jinja2

            template = jinja2.Template(TEMPLATE.read_text(), autoescape=True)
            return template.render(**page_rows(root / SOURCES, LIBRARY), notice=notice, error=error,
                                   sources_path=SOURCES.as_posix(), xsrf=self.xsrf_form_html(),
                                   action=url_path_join(self.base_url, "masterclasses"))

        @web.authenticated
        def get(self):
            self.finish(self.render_page())

        @web.authenticated
        def post(self):
            try:
                version = publish(root / SOURCES, LIBRARY)
            except LessonError as e:
                # Nothing changed for the students; the teacher reads what to mend.
                self.set_status(400)
                return self.finish(self.render_page(error=f"Nothing was published: {e}. Mend the source "
                                                          "and publish again; students keep the version they have."))
            self.log.info("publish: %s published the masterclasses (%s)", self.current_user.username, version.name)
            self.finish(self.render_page(notice="Published: students get this version at their server's next start; "
                                                "their own edits are kept."))

    return [(url_path_join(serverapp.web_app.settings["base_url"], "masterclasses"), Page)]


def _jupyter_server_extension_points():
    return [{"module": "servicekit.publish"}]


def _load_jupyter_server_extension(serverapp):
    serverapp.web_app.add_handlers(".*$", _handlers(serverapp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.publish", description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path, nargs="?", default=Path.home() / SOURCES)
    parser.add_argument("library", type=Path, nargs="?", default=LIBRARY)
    args = parser.parse_args(argv)
    try:
        version = publish(args.sources, args.library)
    except LessonError as e:
        print(f"publish: nothing was published: {e}", file=sys.stderr)
        return 1
    print(f"publish: {version.name} is what the students get at their next start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
