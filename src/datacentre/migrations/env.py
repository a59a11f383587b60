"""Alembic's entry point for the request database (run by datacentre.db.migrate).

No alembic.ini: the caller passes the connection in ``config.attributes``."""
from alembic import context

from datacentre.db import Base

connection = context.config.attributes["connection"]
# SQLite cannot alter columns in place: batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
