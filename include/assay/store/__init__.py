"""The metrics database: SQLAlchemy models, Alembic migrations and the repository API."""

from assay.store.records import CheckRecord, MetricRecord, RunKey, SuiteRunRecord, TestCaseRecord
from assay.store.repository import MetricsStore, RecordRejected, StoreUnavailable

__all__ = [
    "CheckRecord",
    "MetricRecord",
    "MetricsStore",
    "RecordRejected",
    "RunKey",
    "StoreUnavailable",
    "SuiteRunRecord",
    "TestCaseRecord",
]
