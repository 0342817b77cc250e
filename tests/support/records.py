"""Record builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assay.store import CheckRecord, MetricRecord, RunKey, SuiteRunRecord, TestCaseRecord
from assay.store.repository import COVERAGE_METRIC

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_record(
    run_id="r1", try_number=1, name="unit", status="FAIL", coverage=91.0, branch="main", at=T0, sha="a" * 40
):
    return SuiteRunRecord(
        key=RunKey("assay_per_commit", run_id, "unit_tests", -1, try_number),
        kind="pytest",
        name=name,
        status=status,
        started_at=at,
        finished_at=at + timedelta(seconds=5),
        target="demo",
        commit_sha=sha,
        branch=branch,
        message="1 failed",
        summary={"counts": {"passed": 1, "failed": 1, "total": 2}},
        test_cases=(TestCaseRecord("t::ok", "passed", 0.1), TestCaseRecord("t::bad", "failed", 0.2, "boom")),
        checks=(CheckRecord("c", "PASS", 1.0, 0.0, ">="),),
        metrics=(MetricRecord(COVERAGE_METRIC, coverage, "percent"),),
    )
