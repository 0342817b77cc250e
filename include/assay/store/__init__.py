"""The metrics database: SQLAlchemy models, Alembic migrations and the repository API."""

from assay.store.records import (
    CheckRecord,
    DeletionRecord,
    EvidenceRecord,
    FindingRecord,
    MetricRecord,
    RunKey,
    SuiteRunRecord,
    TestCaseRecord,
)
from assay.store.repository import MetricsStore, RecordRejected, StoreUnavailable

__all__ = [
    "CheckRecord",
    "DeletionRecord",
    "EvidenceRecord",
    "FindingRecord",
    "MetricRecord",
    "MetricsStore",
    "RecordRejected",
    "RunKey",
    "StoreUnavailable",
    "SuiteRunRecord",
    "TestCaseRecord",
]
