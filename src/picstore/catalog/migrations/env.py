"""Alembic environment: runs on the connection picstore hands over (see catalog/engine.py)."""

from __future__ import annotations

from alembic import context

from picstore.catalog.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
