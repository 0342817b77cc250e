"""Alembic environment for the Assay metrics database (version table: assay_alembic_version).

Several workers may migrate the same database at once (every task migrates once before its first
write): on PostgreSQL a transaction-scoped advisory lock makes them take turns, and the one that waited
finds the schema already at head (``migrate.py`` does the same with a file lock for SQLite). SQLite's
batch mode copies a table and drops the old one; foreign keys are off meanwhile, or dropping
``assay_suite_run`` would cascade-delete every child row.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from assay.store.migrate import PG_MIGRATION_LOCK, VERSION_TABLE
from assay.store.models import Base

engine = context.config.attributes["engine"]
dialect = engine.dialect.name
with engine.connect() as connection:
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction
        connection.commit()
    try:
        with connection.begin():
            if dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                version_table=VERSION_TABLE,
                render_as_batch=dialect == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
