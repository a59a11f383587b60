"""The request database (SQLAlchemy; SQLite by default, PostgreSQL when configured).

Two tables:

* ``jobs``: one selection of one data shop in one format, and its result file.
  ``active_key`` holds the normalised request key while the job is Scheduled,
  Running or Finished; it is unique, so identical requests (even from several
  processes) share one job. It is cleared when the job fails or expires, so the
  next identical request starts a fresh job.
* ``requests``: what a user asked for (owner, the job it is served by). The
  request's state is the job's state, except Deleting while it is being removed.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from sqlalchemy import (BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, create_engine, event,
                        select)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

SCHEDULED, RUNNING, FINISHED, FAILED, DELETING, EXPIRED = (
    "Scheduled", "Running", "Finished", "Failed", "Deleting", "Expired")
STATES = (SCHEDULED, RUNNING, FINISHED, FAILED, DELETING, EXPIRED)
LIVE = (SCHEDULED, RUNNING)


def now() -> float:
    return time.time()


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), index=True)
    active_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    datashop: Mapped[str] = mapped_column(String(100))
    spec: Mapped[str] = mapped_column(Text)  # normalised request, JSON
    format: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=SCHEDULED, index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    rows_estimate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bytes_estimate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    filename: Mapped[str | None] = mapped_column(String(200), nullable=True)
    upstream_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests: Mapped[list["Request"]] = relationship(back_populates="job")


class Request(Base):
    __tablename__ = "requests"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    deleting: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    job: Mapped[Job] = relationship(back_populates="requests", lazy="joined")

    @property
    def state(self) -> str:
        return DELETING if self.deleting else self.job.state


def make_sessionmaker(url: str):
    kw: dict = {}
    if url.startswith("sqlite"):
        kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kw["pool_pre_ping"] = True
    engine = create_engine(url, **kw)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):  # WAL: readers do not block the worker's writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)


# The schema's history (Alembic revisions in migrations/versions): a release that
# changes a table adds a revision, and the service brings its database up to it at start.
MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_REVISION = "0001"


def migrate(engine) -> str:
    """Bring the database to the newest revision; return it.

    A database of the releases before migrations (0.1.0, 0.2.0: tables, no
    ``alembic_version``) has the first revision's schema: it is marked as such first."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if MigrationContext.configure(conn).get_current_revision() is None and inspect(conn).has_table("jobs"):
            command.stamp(cfg, FIRST_REVISION)
        command.upgrade(cfg, "head")
        return MigrationContext.configure(conn).get_current_revision()


__all__ = ["Base", "Job", "Request", "STATES", "LIVE", "make_sessionmaker", "migrate", "select", "now"]
