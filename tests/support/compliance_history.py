"""What Assay recorded before a compliance audit: the passing per-commit run of the commit the platform
deployed, which the SOX change-management control looks for in the metrics DB, and the weekly test-data
retention step with what it deleted, which the GDPR storage-limitation control reads (used by the operator and
end-to-end tests and by benchmarks/compliance.py through :func:`record_history_an_audit_reads`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assay.store import MetricsStore
from assay.store.records import DeletionRecord, RunKey, SuiteRunRecord


def record_passing_per_commit_run(url: str, sha: str, *, days_ago: float = 1) -> None:
    """Record a PASS of the ``unit`` suite of ``assay_per_commit`` for ``sha`` that finished ``days_ago``."""
    store = MetricsStore(url)
    try:
        store.migrate()
        done = datetime.now(UTC) - timedelta(days=days_ago)
        store.record_suite_run(
            SuiteRunRecord(
                key=RunKey("assay_per_commit", f"commit__demo-platform__{sha}", "run_suite", 0),
                kind="pytest",
                name="unit",
                status="PASS",
                started_at=done - timedelta(minutes=2),
                finished_at=done,
                target="demo-platform",
                commit_sha=sha,
                message="75 passed",
            )
        )
    finally:
        store.dispose()


def record_test_data_retention(url: str, dataset: str = "customers", *, days_ago: float = 1) -> None:
    """Record a PASS of ``assay_test_data``'s retention step of ``dataset`` that finished ``days_ago`` and
    deleted one 31-day-old sample snapshot."""
    store = MetricsStore(url)
    try:
        store.migrate()
        done = datetime.now(UTC) - timedelta(days=days_ago)
        store.record_suite_run(
            SuiteRunRecord(
                key=RunKey("assay_test_data", f"scheduled__{done:%Y%m%d}", "retention", 0),
                kind="test_data",
                name=f"{dataset}:retention",
                status="PASS",
                started_at=done - timedelta(seconds=3),
                finished_at=done,
                dataset=dataset,
                message=f"{dataset}: deleted 1 snapshot(s) past 30 days, kept 3",
                deletions=(
                    DeletionRecord(
                        dataset=dataset,
                        item="sample/expired",
                        path=f"/test-data/{dataset}/sample/expired",
                        created_at=done - timedelta(days=31),
                        deleted_at=done,
                        reason="older than the dataset's retention_days=30",
                        bytes=1024,
                        rows=100,
                    ),
                ),
            )
        )
    finally:
        store.dispose()


def record_history_an_audit_reads(url: str, sha: str) -> None:
    """Both of the above: the deployed commit's passing per-commit run and the last test-data retention."""
    record_passing_per_commit_run(url, sha)
    record_test_data_retention(url)
