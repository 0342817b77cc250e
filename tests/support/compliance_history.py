"""What Assay recorded before a compliance audit: the passing per-commit run of the commit the platform
deployed, which the SOX change-management control looks for in the metrics DB (used by the operator and
end-to-end tests and by benchmarks/compliance.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assay.store import MetricsStore
from assay.store.records import RunKey, SuiteRunRecord


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
