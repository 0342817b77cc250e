"""dashboard indexes: what the Assay page's queries read by

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00

Four indexes, no table or row touched (``assay.store.models`` declares the same ones):

* ``assay_suite_run (kind, finished_at)``: the overview's time windows over every target and "newest run of
  each group" of one kind (pytest runs of the last commits, nightly load tests, drift, security, compliance, alerts);
* ``assay_suite_run (target, dag_id, finished_at)``: the last verdict of each DAG per target: its pairs read
  from the index alone, then the newest run of each pair by one backward index read;
* ``assay_metric (suite_run_id, name)``: one metric of many runs (line coverage, the pooled load-test
  figures, the compliance score) without reading every other metric of those runs (a per-commit run records
  one coverage row per file, a load test one row per endpoint);
* ``assay_test_case (node_id)``: one test's history across commits; a hash index on PostgreSQL, since a
  parametrised node id can be longer than a B-tree entry may be (2704 bytes), which would make its suite run
  unwritable.

``benchmarks/dashboard.py`` shows the plans on a year of a busy platform's results.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assay_suite_run_kind_finished", "assay_suite_run", ["kind", "finished_at"])
    op.create_index("ix_assay_suite_run_verdict", "assay_suite_run", ["target", "dag_id", "finished_at"])
    op.create_index("ix_assay_metric_run_name", "assay_metric", ["suite_run_id", "name"])
    op.create_index("ix_assay_test_case_node_id", "assay_test_case", ["node_id"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_assay_test_case_node_id", table_name="assay_test_case")
    op.drop_index("ix_assay_metric_run_name", table_name="assay_metric")
    op.drop_index("ix_assay_suite_run_verdict", table_name="assay_suite_run")
    op.drop_index("ix_assay_suite_run_kind_finished", table_name="assay_suite_run")
