"""The metrics database: SQLAlchemy models, Alembic migrations and the repository API."""

from assay.store.records import (
    CheckRecord,
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
