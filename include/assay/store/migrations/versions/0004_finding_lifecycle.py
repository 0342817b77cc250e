"""finding lifecycle: fingerprint, state and first-seen time of security findings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:00:00

A security finding keeps a stable ``fingerprint`` across scans of a target (tool, rule, location, package and
version; never the line), its ``state`` in this scan (new / existing / suppressed) and when it was first
seen, so "new", "existing" and "fixed" are queries over recorded scans. Three nullable columns and an index
on ``assay_finding``: every existing row stays as it is (compliance findings leave them empty).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assay_finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_assay_finding_fingerprint"), ["fingerprint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assay_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assay_finding_fingerprint"))
        batch_op.drop_column("first_seen_at")
        batch_op.drop_column("state")
        batch_op.drop_column("fingerprint")
