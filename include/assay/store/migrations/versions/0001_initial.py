"""initial metrics schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:24:48.656292
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assay_suite_run",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("dataset", sa.String(length=200), nullable=True),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "try_number",
            "name",
            name="uq_assay_suite_run_key",
        ),
    )
    with op.batch_alter_table("assay_suite_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assay_suite_run_dag_run", ["dag_id", "run_id"], unique=False
        )
        batch_op.create_index(
            "ix_assay_suite_run_target_kind",
            ["target", "kind", "name", "finished_at"],
            unique=False,
        )

    op.create_table(
        "assay_watched_commit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triggered_run_id", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target", "sha", name="uq_assay_watched_commit"),
    )
    op.create_table(
        "assay_baseline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("accepted_by", sa.String(length=200), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["suite_run_id"],
            ["assay_suite_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "assay_check",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("observed", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("comparator", sa.String(length=10), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["suite_run_id"], ["assay_suite_run.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assay_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assay_check_suite_run_id"), ["suite_run_id"], unique=False
        )

    op.create_table(
        "assay_finding",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("rule_id", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("resource", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["suite_run_id"], ["assay_suite_run.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assay_finding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assay_finding_suite_run_id"), ["suite_run_id"], unique=False
        )

    op.create_table(
        "assay_metric",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["suite_run_id"], ["assay_suite_run.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assay_metric", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assay_metric_suite_run_id"), ["suite_run_id"], unique=False
        )

    op.create_table(
        "assay_test_case",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["suite_run_id"], ["assay_suite_run.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assay_test_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assay_test_case_suite_run_id"),
            ["suite_run_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("assay_test_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assay_test_case_suite_run_id"))

    op.drop_table("assay_test_case")
    with op.batch_alter_table("assay_metric", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assay_metric_suite_run_id"))

    op.drop_table("assay_metric")
    with op.batch_alter_table("assay_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assay_finding_suite_run_id"))

    op.drop_table("assay_finding")
    with op.batch_alter_table("assay_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assay_check_suite_run_id"))

    op.drop_table("assay_check")
    op.drop_table("assay_baseline")
    op.drop_table("assay_watched_commit")
    with op.batch_alter_table("assay_suite_run", schema=None) as batch_op:
        batch_op.drop_index("ix_assay_suite_run_target_kind")
        batch_op.drop_index("ix_assay_suite_run_dag_run")

    op.drop_table("assay_suite_run")
