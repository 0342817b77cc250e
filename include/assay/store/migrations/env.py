"""Alembic environment for the Assay metrics database (version table: assay_alembic_version)."""

from __future__ import annotations

from alembic import context

from assay.store.migrate import VERSION_TABLE
from assay.store.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
