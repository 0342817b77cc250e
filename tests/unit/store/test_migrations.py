from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from assay.store.migrate import VERSION_TABLE, downgrade
from assay.store.models import Base

TABLES = {"assay_suite_run", "assay_test_case", "assay_check", "assay_metric", "assay_finding", "assay_baseline",
          "assay_watched_commit"}


def test_migrations_create_exactly_the_models(store):
    names = set(inspect(store.engine).get_table_names())
    assert TABLES | {VERSION_TABLE} == names
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_migrate_is_idempotent_and_downgrade_removes_everything(store):
    store.migrate()
    downgrade(store.engine, "base")
    assert set(inspect(store.engine).get_table_names()) <= {VERSION_TABLE}
    store.migrate()
    assert TABLES <= set(inspect(store.engine).get_table_names())
