"""The request database's schema history (Alembic, datacentre/migrations)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from datacentre import db


@pytest.fixture
def engine(tmp_path):
    return create_engine(f"sqlite:///{tmp_path / 'requests.sqlite'}")


def test_a_new_database_is_made_by_the_migrations_and_matches_the_models(engine):
    assert db.migrate(engine) is not None
    with engine.connect() as conn:
        # A model changed without a migration shows up here: add a revision.
        assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []


def test_a_database_of_a_release_before_migrations_keeps_its_requests(engine):
    db.Base.metadata.create_all(engine)  # what 0.1.0 and 0.2.0 did at start
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO jobs (id, key, datashop, spec, format, state, progress, attempts, cancel, "
                          "created_at) VALUES ('j1', 'k', 'kascade', '{}', 'parquet', 'Finished', 1, 0, 0, 1)"))
        conn.execute(text("INSERT INTO requests (id, owner, job_id, deleting, created_at) "
                          "VALUES ('r1', 'ada', 'j1', 0, 1)"))
    head = db.migrate(engine)
    assert head == db.migrate(engine)  # a second start changes nothing
    Session = db.make_sessionmaker(str(engine.url))
    with Session() as s:
        assert s.get(db.Request, "r1").job.state == "Finished"
    assert "alembic_version" in inspect(engine).get_table_names()
