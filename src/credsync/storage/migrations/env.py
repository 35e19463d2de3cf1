"""Alembic environment: always runs on the connection credsync hands it."""

from __future__ import annotations

from alembic import context

from credsync.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - credsync always passes its own connection
    raise RuntimeError("run migrations through `credsync db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
