"""deletions: what a retention step deleted, when and why

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 10:00:00

One row per thing Assay deleted because its retention ran out (a test-data snapshot): the dataset, the item
and its path, when it was made and when deleted, the reason (which retention), its size, rows and SHA-256.
Cascades with its suite run like the other children. A new table only: no existing row is touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assay_deletion",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("item", sa.String(length=400), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["suite_run_id"], ["assay_suite_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assay_deletion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assay_deletion_suite_run_id"), ["suite_run_id"], unique=False)
        batch_op.create_index("ix_assay_deletion_dataset", ["dataset", "deleted_at"], unique=False)


def downgrade() -> None:
    op.drop_table("assay_deletion")
