"""Alembic environment: runs on the connection kgys hands in (see kgys.migrate)."""

from __future__ import annotations

from alembic import context

from kgys.migrate import include_object
from kgys.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `kgys db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
