"""compliance evidence: what each check collected, linked to its finding

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 05:00:00

One row per piece of evidence a compliance check collected for one resource of one control: method
(sql / http / file / computed), source (the query text, the API call, the file path), when it was
collected and until when it is kept, the SHA-256 of its canonical JSON content, and the content itself.
``finding_id`` links the evidence to the finding it supports (NULL for the evidence of a passing
resource); both cascade with their suite run, so a retried write replaces them with the run's other
children. A new table only: no existing row is touched on either database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assay_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("suite_run_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("check_id", sa.String(length=200), nullable=False),
        sa.Column("control_id", sa.String(length=200), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["suite_run_id"], ["assay_suite_run.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["finding_id"], ["assay_finding.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assay_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assay_evidence_suite_run_id"), ["suite_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assay_evidence_finding_id"), ["finding_id"], unique=False)
        batch_op.create_index("ix_assay_evidence_control", ["control_id", "collected_at"], unique=False)
        batch_op.create_index("ix_assay_evidence_sha256", ["sha256"], unique=False)
        batch_op.create_index("ix_assay_evidence_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("assay_evidence")
