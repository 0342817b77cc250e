"""every value the code writes fits its column

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00

On PostgreSQL a value longer than its VARCHAR is an error (SQLite never checked), and the load test's
server-timing check writes the comparator ``|ratio-1|<=`` (11 characters) into ``String(10)``.
Vocabulary columns get room (comparator 40, severity 20); names built from configuration (check and
metric names carry column names, patterns and probe titles; suite names carry experiment and suite
names; a model validation's dataset is a path or a factory call) become unbounded or wider.

Widening is a catalogue change on PostgreSQL. On SQLite batch mode copies each table, with foreign
keys off while it does (``migrations/env.py``) so dropping the old table cascades nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> [(column, type before, type after, nullable)]
CHANGES = {
    "assay_suite_run": [
        ("name", sa.String(length=200), sa.String(length=500), False),
        ("dataset", sa.String(length=200), sa.Text(), True),
    ],
    "assay_check": [
        ("name", sa.String(length=200), sa.Text(), False),
        ("comparator", sa.String(length=10), sa.String(length=40), True),
        ("severity", sa.String(length=10), sa.String(length=20), False),
    ],
    "assay_metric": [
        ("name", sa.String(length=200), sa.Text(), False),
    ],
}


def upgrade() -> None:
    for table, columns in CHANGES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, after, nullable in columns:
                batch_op.alter_column(name, existing_type=before, type_=after, existing_nullable=nullable)


def downgrade() -> None:
    """Back to 0001's lengths; PostgreSQL refuses it while a longer value is stored."""
    for table, columns in reversed(CHANGES.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, after, nullable in columns:
                batch_op.alter_column(name, existing_type=after, type_=before, existing_nullable=nullable)
