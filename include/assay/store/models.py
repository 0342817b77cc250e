"""SQLAlchemy 2 models of the metrics database (DESIGN.md: one schema for every kind of test).

Every table is prefixed ``assay_``; the schema is created and changed only by the Alembic migrations
in ``migrations/`` (``tests/unit/store/test_migrations.py`` checks the two agree). Vocabulary columns
(status, comparator, severity, unit, kind) are bounded ``String(n)`` and the store checks every bounded
value before it writes, on SQLite too, so a value PostgreSQL would refuse is refused everywhere; names
built from configuration (check and metric names) are ``Text``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class SuiteRun(Base):
    """One execution of one suite (or gate evaluation) by one task try."""

    __tablename__ = "assay_suite_run"
    __table_args__ = (
        UniqueConstraint(
            "dag_id", "run_id", "task_id", "map_index", "try_number", "name", name="uq_assay_suite_run_key"
        ),
        Index("ix_assay_suite_run_target_kind", "target", "kind", "name", "finished_at"),
        Index("ix_assay_suite_run_dag_run", "dag_id", "run_id"),
        # the Assay page (revision 0006): windows and "newest per group" of one kind; the last verdict of
        # each (target, DAG) from the index alone, then the newest run by a backward read
        Index("ix_assay_suite_run_kind_finished", "kind", "finished_at"),
        Index("ix_assay_suite_run_verdict", "target", "dag_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(500))
    target: Mapped[str | None] = mapped_column(String(200))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(255))
    model_version: Mapped[str | None] = mapped_column(String(200))
    dataset: Mapped[str | None] = mapped_column(Text)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    task_id: Mapped[str] = mapped_column(String(250))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    try_number: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10))
    message: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    test_cases: Mapped[list[TestCase]] = relationship(back_populates="suite_run", cascade="all, delete-orphan")
    checks: Mapped[list[Check]] = relationship(back_populates="suite_run", cascade="all, delete-orphan")
    metrics: Mapped[list[Metric]] = relationship(back_populates="suite_run", cascade="all, delete-orphan")
    findings: Mapped[list[Finding]] = relationship(back_populates="suite_run", cascade="all, delete-orphan")
    evidence: Mapped[list[Evidence]] = relationship(back_populates="suite_run", cascade="all, delete-orphan")
    deletions: Mapped[list[Deletion]] = relationship(back_populates="suite_run", cascade="all, delete-orphan")


class TestCase(Base):
    __test__ = False
    __tablename__ = "assay_test_case"
    # one test's history (revision 0006); a hash index on PostgreSQL: a node id can exceed a B-tree entry's
    # 2704 bytes
    __table_args__ = (Index("ix_assay_test_case_node_id", "node_id", postgresql_using="hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)

    suite_run: Mapped[SuiteRun] = relationship(back_populates="test_cases")


class Check(Base):
    """A gate or expectation evaluated: what was observed against which threshold."""

    __tablename__ = "assay_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    observed: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    comparator: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20), default="error")
    message: Mapped[str | None] = mapped_column(Text)

    suite_run: Mapped[SuiteRun] = relationship(back_populates="checks")


class Metric(Base):
    __tablename__ = "assay_metric"
    # a run's metrics by name (revision 0006): coverage, pooled load-test figures, the compliance score
    __table_args__ = (Index("ix_assay_metric_run_name", "suite_run_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    suite_run: Mapped[SuiteRun] = relationship(back_populates="metrics")


class Finding(Base):
    """A security or compliance finding (used by the scan and audit DAGs)."""

    __tablename__ = "assay_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    rule_id: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))
    resource: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # security findings (revision 0004): stable id across scans, lifecycle state, when first seen
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str | None] = mapped_column(String(20))
    first_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    suite_run: Mapped[SuiteRun] = relationship(back_populates="findings")
    # the assay_evidence rows that support this finding (its JSON ``evidence`` lists their sha256s)
    evidence_rows: Mapped[list[Evidence]] = relationship(back_populates="finding")


class Evidence(Base):
    """What a compliance check collected: by which method from which source (the query text, the API call),
    when, until when it is kept, and the SHA-256 of the content; linked to the finding it supports (none for
    the evidence of a passing resource) and to the control and check it was collected for."""

    __tablename__ = "assay_evidence"
    __table_args__ = (
        Index("ix_assay_evidence_control", "control_id", "collected_at"),
        Index("ix_assay_evidence_sha256", "sha256"),
        Index("ix_assay_evidence_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("assay_finding.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[str] = mapped_column(String(200))
    control_id: Mapped[str] = mapped_column(String(200))
    resource: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[Any] = mapped_column(JSON, nullable=True)

    suite_run: Mapped[SuiteRun] = relationship(back_populates="evidence")
    finding: Mapped[Finding | None] = relationship(back_populates="evidence_rows")


class Deletion(Base):
    """What a retention step deleted (revision 0005): a dataset's snapshot, when it was made and deleted,
    why, and its size; the compliance audit's retention control reads these."""

    __tablename__ = "assay_deletion"
    __table_args__ = (Index("ix_assay_deletion_dataset", "dataset", "deleted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id", ondelete="CASCADE"), index=True)
    dataset: Mapped[str] = mapped_column(String(200))
    item: Mapped[str] = mapped_column(String(400))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))

    suite_run: Mapped[SuiteRun] = relationship(back_populates="deletions")


class Baseline(Base):
    """The accepted reference for regressions: what, which run, who accepted it and when."""

    __tablename__ = "assay_baseline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    suite_run_id: Mapped[int] = mapped_column(ForeignKey("assay_suite_run.id"))
    accepted_by: Mapped[str] = mapped_column(String(200))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class WatchedCommit(Base):
    """A branch head the commit watcher has seen and handed to ``assay_per_commit`` (once per sha)."""

    __tablename__ = "assay_watched_commit"
    __table_args__ = (UniqueConstraint("target", "sha", name="uq_assay_watched_commit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(200))
    branch: Mapped[str] = mapped_column(String(255))
    sha: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    triggered_run_id: Mapped[str] = mapped_column(String(250))
