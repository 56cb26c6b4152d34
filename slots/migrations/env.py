"""Alembic environment: runs on the connection slots.db.upgrade hands over (no alembic.ini, no URL here)."""

from alembic import context

from slots.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
