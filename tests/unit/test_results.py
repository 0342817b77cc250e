"""The one result model (assay.results): what it derives, what it says, and what the store makes of it on a
real SQLite and PostgreSQL metrics DB."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, selectinload

from assay.errors import ConfigError, TargetError
from assay.results import Result, error_result, json_safe, suite_run_record
from assay.status import Status, worst
from assay.store import MetricsStore, RunKey, SuiteRunRecord
from assay.store.models import SuiteRun
from assay.store.records import CheckRecord, FindingRecord, MetricRecord, TestCaseRecord

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
KEY = RunKey("assay_security_scan", "manual__rt", "scan__api", 2, 3)


def full_result(**changes) -> Result:
    """A result that uses every part of the model, as a new engine (a security scan) would return it."""
    fields = dict(
        name="trivy:api-image",
        kind="security",
        status=Status.FAIL,
        message="1 critical CVE in the image",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=12.5),
        checks=[
            CheckRecord("cve.critical", Status.FAIL, 1.0, 0.0, "<=", message="CVE-2026-0001 in openssl"),
            CheckRecord("image.signed", Status.PASS, message="cosign verified"),
            CheckRecord("sbom.present", Status.SKIP, message="no SBOM requested"),
        ],
        metrics=[MetricRecord("cve.count", 7.0, "count", {"severity": "critical+high"})],
        findings=[
            FindingRecord(
                "trivy",
                "CVE-2026-0001",
                "CRITICAL",
                resource="openssl 3.0.1",
                title="buffer overflow",
                evidence={"fixed_in": "3.0.2", "url": "https://user:hunter2@mirror.example/advisory"},
            )
        ],
        test_cases=[TestCaseRecord("scan::image", "failed", 12.0, "1 critical CVE")],
        summary={"image": "api:1.4", "scanner": {"name": "trivy", "db_age_h": 3.5}, "layers": (1, 2)},
    )
    return Result(**(fields | changes))


def test_a_result_without_a_message_gets_one_from_its_checks():
    silent = full_result(message="  ")
    assert silent.message == (
        "cve.critical FAIL: CVE-2026-0001 in openssl; 2/3 checks passed"  # the reason first; SKIP is not failing
    )
    nothing = Result(name="n", kind="k", status="ERROR", message="", started_at=T0, finished_at=T0)
    assert nothing.status is Status.ERROR and nothing.message == "ERROR: no check was evaluated"


def test_describe_dict_has_one_shape_and_the_detail_under_summary():
    data = json.loads(json.dumps(full_result().describe_dict(), allow_nan=False))
    assert data == {
        "name": "trivy:api-image",
        "kind": "security",
        "status": "FAIL",
        "message": "1 critical CVE in the image",
        "started_at": T0.isoformat(),
        "finished_at": (T0 + timedelta(seconds=12.5)).isoformat(),
        "duration_s": 12.5,
        "check_counts": {"evaluated": 2, "successful": 1, "unsuccessful": 1},
        "records": {"checks": 3, "metrics": 1, "findings": 1, "test_cases": 1},
        "summary": {"image": "api:1.4", "scanner": {"name": "trivy", "db_age_h": 3.5}, "layers": [1, 2]},
    }


def test_the_summary_is_json_safe_whatever_the_engine_put_in_it():
    np = pytest.importorskip("numpy")
    result = full_result(summary={"nan": float("nan"), "inf": np.float64("inf"), "n": np.int64(3), "at": T0})
    assert result.summary == {"nan": None, "inf": None, "n": 3, "at": T0.isoformat()}
    assert type(result.summary["n"]) is int
    assert json_safe({"s": Status.WARN, "set": {1}}) == {"s": "WARN", "set": [1]}


@dataclass(kw_only=True)
class Scan(Result):
    """An engine's own result: status and summary derived from its fields."""

    kind: str = "security"
    cves: list[str] = field(default_factory=list)
    status: Status = field(init=False)
    summary: dict = field(init=False)

    def derive(self) -> None:
        self.status = worst(c.status for c in self.checks)
        self.summary = {"cves": list(self.cves), "checks_seen": len(self.checks)}


def test_derived_fields_follow_replace_and_added_checks():
    scan = Scan(name="scan", message="ok", started_at=T0, finished_at=T0, checks=[CheckRecord("a", "PASS")])
    assert scan.status is Status.PASS and scan.summary == {"cves": [], "checks_seen": 1}
    copy = replace(scan, cves=["CVE-1"])
    assert copy.summary["cves"] == ["CVE-1"] and scan.summary["cves"] == []
    scan.add_checks([CheckRecord("baseline", "WARN", message="3 more CVEs than the baseline")])
    assert scan.status is Status.WARN and scan.summary["checks_seen"] == 2
    plain = full_result(status=Status.PASS, checks=[])
    plain.add_checks([CheckRecord("late", "ERROR", message="baseline not read")])
    assert plain.status is Status.ERROR and plain.check("late").message == "baseline not read"


def test_an_error_becomes_an_error_result_with_its_reason():
    result = error_result(
        TargetError("registry unreachable", retryable=True), kind="security", name="scan", started_at=T0
    )
    assert (result.status, result.message) == (Status.ERROR, "registry unreachable")
    assert result.summary == {"error": "TargetError", "retryable": True}
    quiet = error_result(ConfigError(""), kind="k", name="n", started_at=T0, summary={"params": {"a": 1}})
    assert quiet.message == "ConfigError" and quiet.summary == {
        "params": {"a": 1},
        "error": "ConfigError",
        "retryable": False,
    }


def utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_back(url: str, run_id: str) -> SuiteRun:
    store = MetricsStore(url)
    with Session(store.engine) as s:
        row = (
            s.query(SuiteRun)
            .options(
                selectinload(SuiteRun.test_cases),
                selectinload(SuiteRun.checks),
                selectinload(SuiteRun.metrics),
                selectinload(SuiteRun.findings),
            )
            .filter_by(run_id=run_id)
            .one()
        )
        s.expunge_all()
    store.dispose()
    return row


def test_the_store_round_trips_a_result(metrics_url):
    result = full_result()
    record = suite_run_record(
        result,
        KEY,
        target="api",
        commit_sha="c" * 40,
        branch="main",
        model_version="v9",
        dataset="images",
    )
    assert SuiteRunRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record  # the outbox's way
    store = MetricsStore(metrics_url)
    store.ensure_schema()
    store.record_suite_run(record)
    store.record_suite_run(record)  # a retried write changes nothing
    store.dispose()

    row = read_back(metrics_url, KEY.run_id)
    assert (row.dag_id, row.run_id, row.task_id, row.map_index, row.try_number) == tuple(vars(KEY).values())
    assert (row.kind, row.name, row.status, row.message) == (result.kind, result.name, "FAIL", result.message)
    assert (row.target, row.commit_sha, row.branch, row.model_version, row.dataset) == (
        "api",
        "c" * 40,
        "main",
        "v9",
        "images",
    )
    assert (utc(row.started_at), utc(row.finished_at)) == (result.started_at, result.finished_at)
    assert row.summary == result.summary
    assert sorted(
        (c.name, c.status, c.observed, c.threshold, c.comparator, c.severity, c.message) for c in row.checks
    ) == sorted((c.name, c.status, c.observed, c.threshold, c.comparator, c.severity, c.message) for c in result.checks)
    assert [(m.name, m.value, m.unit, m.labels) for m in row.metrics] == [
        (m.name, m.value, m.unit, m.labels) for m in result.metrics
    ]
    assert [(t.node_id, t.outcome, t.duration_s, t.message) for t in row.test_cases] == [
        ("scan::image", "failed", 12.0, "1 critical CVE")
    ]
    (finding,) = row.findings
    assert (finding.source, finding.rule_id, finding.severity, finding.resource, finding.title) == (
        "trivy",
        "CVE-2026-0001",
        "CRITICAL",
        "openssl 3.0.1",
        "buffer overflow",
    )
    assert finding.evidence["fixed_in"] == "3.0.2" and "hunter2" not in json.dumps(finding.evidence)


def test_the_record_start_can_be_the_tasks_own():
    early = T0 - timedelta(seconds=30)
    record = suite_run_record(full_result(), KEY, started_at=early)
    assert (record.started_at, record.finished_at) == (early, T0 + timedelta(seconds=12.5))
    assert suite_run_record(full_result(), KEY).started_at == T0
