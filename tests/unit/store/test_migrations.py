from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from assay.store.migrate import VERSION_TABLE, downgrade
from assay.store.models import Base

TABLES = {
    "assay_deletion",
    "assay_evidence",
    "assay_suite_run",
    "assay_test_case",
    "assay_check",
    "assay_metric",
    "assay_finding",
    "assay_baseline",
    "assay_watched_commit",
}


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


def test_upgrade_from_0001_keeps_every_row_and_its_children(metrics_url):
    """0002 widens columns; on SQLite batch mode copies the tables, and with foreign keys on, dropping the
    old assay_suite_run would cascade-delete every test case, check and metric."""
    from dataclasses import replace

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session
    from support.records import make_record

    from assay.store import CheckRecord, MetricsStore
    from assay.store.migrate import upgrade
    from assay.store.models import Baseline, Check, Metric, SuiteRun, TestCase

    store = MetricsStore(metrics_url, attempts=2, backoff_s=0.05)
    upgrade(store.engine, "0001")
    for i in range(3):  # written with the write path of 0001's columns (values that fit them)
        store.record_suite_run(make_record(run_id=f"old-{i}"))
    with Session(store.engine) as s, s.begin():
        first = s.scalars(select(SuiteRun).order_by(SuiteRun.id)).first()
        first_id = first.id
        s.add(
            Baseline(
                kind="model", subject="demo", suite_run_id=first_id, accepted_by="ana", accepted_at=first.started_at
            )
        )
    store.migrate()
    with Session(store.engine) as s:
        counts = [s.scalar(select(func.count()).select_from(m)) for m in (SuiteRun, TestCase, Check, Metric, Baseline)]
        assert counts == [3, 6, 3, 3, 1]
        assert s.scalar(select(Baseline.suite_run_id)) == first_id
    store.record_suite_run(
        replace(make_record(run_id="new"), checks=(CheckRecord("a", "PASS", comparator="|ratio-1|<="),))
    )
    (row,) = store.latest_suite_runs("assay_per_commit", "new")
    assert row.checks[0].comparator == "|ratio-1|<="
    if store.engine.dialect.name == "sqlite":  # foreign keys are back on after the migration
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()
