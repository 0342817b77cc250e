"""A small, fully known set of results for the Assay page's tests: per-commit pytest runs of three commits (the
newest with one failing test, retried once), nightly load tests with an SLO and a baseline, a drift run, two
security scans (the older one superseded), a compliance audit, and two alert rules (one firing, one resolved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assay.store import CheckRecord, MetricRecord, RunKey, SuiteRunRecord, TestCaseRecord
from assay.store.records import FindingRecord

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TARGET = "demo"
FAILED_NODE = "tests/test_api.py::test_predict_rejects_bad_payload"
FAILED_MESSAGE = "AssertionError: expected 422, got 500"
SHAS = ("a" * 40, "b" * 40, "c" * 40)
NEWEST_PER_COMMIT_RUN = "manual__c"
COVERAGE = (81.5, 83.0, 79.25)
PERF_RUN = "scheduled__nightly_2"
ALERT_RULE, ALERT_SUBJECT = "test_failure_rate", "demo"
REPORT_PATH = "/opt/assay/work/assay_nightly_performance/scheduled__nightly_2/load_test/report.html"


def _pytest_run(i: int, sha: str, *, try_number: int = 1, failing: bool = False, at: datetime) -> SuiteRunRecord:
    cases = [TestCaseRecord(f"tests/test_api.py::test_ok_{n}", "passed", 0.01 * (n + 1)) for n in range(8)]
    cases.append(TestCaseRecord("tests/test_api.py::test_slow", "skipped", 0.0, "needs GPU"))
    cases.append(
        TestCaseRecord(FAILED_NODE, "failed" if failing else "passed", 0.5, FAILED_MESSAGE if failing else None)
    )
    return SuiteRunRecord(
        key=RunKey("assay_per_commit", f"manual__{sha[0]}", "run_suite", 0, try_number),
        kind="pytest",
        name="unit",
        status="FAIL" if failing else "PASS",
        started_at=at,
        finished_at=at + timedelta(seconds=30),
        target=TARGET,
        commit_sha=sha,
        branch="main",
        message="FAIL: 8 passed, 1 failed, 1 skipped" if failing else "PASS: 9 passed, 1 skipped",
        summary={"junit_report": f"/work/{sha[:7]}/junit.xml", "html": f"/work/{sha[:7]}/pytest.html"},
        test_cases=tuple(cases),
        metrics=(MetricRecord("coverage.line_percent", COVERAGE[i], "percent"),),
        checks=(CheckRecord("coverage.line_percent", "PASS", COVERAGE[i], 75.0, ">="),),
    )


def _load_test(run_id: str, at: datetime, p50: float, p95: float, rps: float) -> SuiteRunRecord:
    agg = {"endpoint": "Aggregated", "method": "ALL"}
    return SuiteRunRecord(
        key=RunKey("assay_nightly_performance", run_id, "load_test", -1, 1),
        kind="performance",
        name="load_test",
        status="PASS" if p95 <= 250 else "FAIL",
        started_at=at,
        finished_at=at + timedelta(minutes=5),
        target=TARGET,
        message=f"p95 {p95} ms",
        summary={"report_path": REPORT_PATH},
        metrics=(
            MetricRecord("load.latency_p50_ms", p50, "ms", agg),
            MetricRecord("load.latency_p95_ms", p95, "ms", agg),
            MetricRecord("load.throughput_steady_rps", rps, "req/s", agg),
            MetricRecord("load.latency_p95_ms", p95 * 2, "ms", {"endpoint": "/predict", "method": "POST"}),
        ),
        checks=(CheckRecord("load.p95_ms[Aggregated]", "PASS" if p95 <= 250 else "FAIL", p95, 250.0, "<="),),
    )


def records() -> list[SuiteRunRecord]:
    out: list[SuiteRunRecord] = []
    for i, sha in enumerate(SHAS):
        at = NOW - timedelta(days=3 - i)
        if i == 2:  # the newest commit: the failing test failed on try 1 and on the retry
            out.append(_pytest_run(i, sha, try_number=1, failing=True, at=at))
            out.append(_pytest_run(i, sha, try_number=2, failing=True, at=at + timedelta(minutes=2)))
        else:
            out.append(_pytest_run(i, sha, at=at))
    out.append(_load_test("scheduled__nightly_0", NOW - timedelta(days=3), 40.0, 180.0, 95.0))
    out.append(_load_test("scheduled__nightly_1", NOW - timedelta(days=2), 42.0, 190.0, 97.0))
    out.append(_load_test(PERF_RUN, NOW - timedelta(days=1), 55.0, 270.0, 80.0))
    out.append(
        SuiteRunRecord(
            key=RunKey("assay_drift_checks", "scheduled__d1", "drift", -1, 1),
            kind="drift",
            name="drift",
            status="FAIL",
            started_at=NOW - timedelta(hours=6),
            finished_at=NOW - timedelta(hours=6) + timedelta(seconds=20),
            target=TARGET,
            dataset="transactions",
            message="dataset drift: 4 of 6 columns drifted",
            checks=(
                CheckRecord("dataset_drift", "FAIL", 0.667, 0.5, "<"),
                CheckRecord("amount:psi", "FAIL", 0.41, 0.2, "<"),
                CheckRecord("merchant_risk:psi", "FAIL", 0.33, 0.2, "<"),
                CheckRecord("age:ks", "PASS", 0.3, 0.05, ">="),
            ),
            metrics=(MetricRecord("drift_share", 0.667, "ratio"),),
        )
    )
    for n, (run_id, days_ago) in enumerate((("scheduled__s0", 10), ("scheduled__s1", 1))):
        at = NOW - timedelta(days=days_ago)
        findings = [
            FindingRecord(
                "trivy",
                "CVE-2026-0001",
                "critical",
                "requests 2.0",
                "old requests",
                {},
                "f1",
                "open",
                NOW - timedelta(days=40),
            ),
            FindingRecord(
                "trivy",
                "CVE-2026-0002",
                "high",
                "jinja2 2.0",
                "sandbox escape",
                {},
                "f2",
                "open",
                NOW - timedelta(days=3),
            ),
            FindingRecord(
                "trivy",
                "CVE-2026-0003",
                "medium",
                "pyyaml",
                "accepted",
                {},
                "f3",
                "suppressed",
                NOW - timedelta(days=50),
            ),
        ]
        if n == 0:
            findings.append(
                FindingRecord("trivy", "CVE-2020-9999", "critical", "old", "fixed since", {}, "f9", "open", at)
            )
        out.append(
            SuiteRunRecord(
                key=RunKey("assay_security_scan", run_id, "scan_trivy", -1, 1),
                kind="security",
                name="trivy",
                status="FAIL",
                started_at=at,
                finished_at=at + timedelta(minutes=1),
                target=TARGET,
                message="2 open findings",
                findings=tuple(findings),
            )
        )
    out.append(
        SuiteRunRecord(
            key=RunKey("assay_weekly_compliance", "scheduled__c1", "audit", -1, 1),
            kind="compliance",
            name="gdpr",
            status="FAIL",
            started_at=NOW - timedelta(days=2),
            finished_at=NOW - timedelta(days=2) + timedelta(minutes=1),
            target=TARGET,
            message="score 75.0",
            summary={"report": "/work/compliance/gdpr.html"},
            metrics=(MetricRecord("compliance.score", 75.0, "percent", {"framework": "gdpr"}),),
            findings=(FindingRecord("compliance", "GDPR-Art30", "high", "users_db", "no record of processing"),),
        )
    )
    for rule, status, hours in (
        (f"{ALERT_RULE}:{ALERT_SUBJECT}", "PASS", 30),
        (f"{ALERT_RULE}:{ALERT_SUBJECT}", "FAIL", 2),
        ("critical_vulnerabilities:demo", "FAIL", 20),
        ("critical_vulnerabilities:demo", "PASS", 1),
    ):
        at = NOW - timedelta(hours=hours)
        out.append(
            SuiteRunRecord(
                key=RunKey("assay_alerts", f"alert_{hours}", "evaluate", -1, 1),
                kind="alert",
                name=rule,
                status=status,
                started_at=at,
                finished_at=at,
                target=TARGET,
                message=f"{rule} {'firing' if status == 'FAIL' else 'resolved'}: failure rate 10.0% > 10%",
                checks=(CheckRecord(rule.split(":")[0], status, 10.0, 10.0, ">", severity="alert"),),
            )
        )
    return out


def seed(store) -> None:
    """Write the records and accept the second nightly run as the performance baseline."""
    for rec in records():
        store.record_suite_run(rec)
    store.accept_baseline(kind="performance", subject=TARGET, run_id="scheduled__nightly_1", accepted_by="tester")
