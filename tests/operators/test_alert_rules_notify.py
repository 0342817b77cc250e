"""Standing alert rules notify on their own, whatever the verdict, and a failed run is notified once.

The per-commit gates run against a real metrics DB (SQLite and PostgreSQL) holding what the suites
recorded; alerts go through the real provider hooks to a real SMTP server (aiosmtpd) and a real HTTP
server standing in for the Slack webhook. The last test runs the gate task through Airflow's own task
runner (``dag.test()``), so the failure callback is called the way Airflow calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException
from support.alert_sinks import connect_alert_sinks
from support.context import TaskInstanceStub, make_context
from support.smtp_sink import body_text

from assay.store import MetricsStore
from assay.store.records import CheckRecord, MetricRecord, RunKey, SuiteRunRecord
from assay.store.repository import COVERAGE_METRIC, FILE_COVERAGE_METRIC
from assay_airflow.operators.gates import CommitGatesOperator

SHA = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0"
PREVIOUS_SHA = "0" * 40


@pytest.fixture
def alerting(tmp_path, monkeypatch, metrics_url, sinks):
    """A target whose gates tolerate a 20-point coverage drop while the alert rule fires at 5 points."""
    slack, smtp = sinks
    cfg = {
        "alerts": {
            "email_to": ["oncall@example.com"],
            "rules": {"test_failure_rate_max": 0.10, "coverage_drop_max_points": 5},
        },
        "targets": {
            "sample": {
                "repo": str(tmp_path / "unused"),
                "python": "worker",
                "source": "calc",
                "suites": {"unit": {"marker": "unit"}},
                "gates": {"coverage_min": 50, "coverage_drop_max": 20},
            }
        },
    }
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    connect_alert_sinks(monkeypatch, slack.url, smtp.port)
    store = MetricsStore(metrics_url)
    store.migrate()
    # the previous run on main measured 95% line coverage
    record_run(
        store, "manual__previous", PREVIOUS_SHA, coverage=95.0, failed=0, at=datetime.now(UTC) - timedelta(hours=1)
    )
    yield store
    store.dispose()


def record_run(store, run_id, sha, *, coverage, failed, at=None):
    """What resolve_commit and unit_tests record for one per-commit run."""
    at = at or datetime.now(UTC) - timedelta(seconds=5)
    ids = {"target": "sample", "commit_sha": sha, "branch": "main"}
    store.record_suite_run(
        SuiteRunRecord(
            key=RunKey("assay_per_commit", run_id, "resolve_commit"),
            kind="checkout",
            name="checkout",
            status="PASS",
            started_at=at,
            finished_at=at,
            message=f"checked out {sha}",
            **ids,
        )
    )
    counts = {"total": 10, "passed": 10 - failed, "failed": failed}
    store.record_suite_run(
        SuiteRunRecord(
            key=RunKey("assay_per_commit", run_id, "unit_tests"),
            kind="pytest",
            name="unit",
            status="FAIL" if failed else "PASS",
            started_at=at,
            finished_at=at + timedelta(seconds=1),
            message=f"{counts['passed']} passed, {failed} failed",
            summary={"counts": counts},
            metrics=(
                MetricRecord(COVERAGE_METRIC, coverage, "percent"),
                MetricRecord(FILE_COVERAGE_METRIC, coverage, "percent", {"file": "calc/__init__.py"}),
            ),
            checks=(CheckRecord("tests", "FAIL" if failed else "PASS"),),
            **ids,
        )
    )


def gates_context(run_id):
    ti = TaskInstanceStub(run_id=run_id)
    ti.xcoms[("resolve_commit", "return_value")] = {"target": "sample", "sha": SHA, "branch": "main"}
    return make_context("evaluate_gates", ti=ti)


def test_a_rule_that_fires_on_a_passing_run_is_recorded_and_left_to_the_standing_rules(alerting, sinks):
    """The gate records the fired rule as a check of severity alert; notifying it (once, while it stays
    firing) is the standing rules' job after the DAG run (tests/operators/test_standing_alert_rules.py)."""
    slack, smtp = sinks
    record_run(alerting, "manual__dropped", SHA, coverage=82.0, failed=0)  # 13 points below 95%

    out = CommitGatesOperator(task_id="evaluate_gates").execute(gates_context("manual__dropped"))

    assert out["verdict"] == "PASS" and out["alert_rules_fired"] == ["alert:coverage_drop"]
    (drop,) = [c for c in out["checks"] if c["name"] == "alert:coverage_drop"]
    assert drop["status"] == "FAIL" and drop["observed"] == 13.0 and drop["threshold"] == 5
    assert smtp.messages == [] and slack.requests == []


def test_a_passing_run_with_no_rule_fired_sends_nothing(alerting, sinks):
    slack, smtp = sinks
    record_run(alerting, "manual__steady", SHA, coverage=94.0, failed=0)
    out = CommitGatesOperator(task_id="evaluate_gates").execute(gates_context("manual__steady"))
    assert out["verdict"] == "PASS" and out["alert_rules_fired"] == []
    assert smtp.messages == [] and slack.requests == []


def test_a_failing_run_leaves_the_alert_to_the_failure_callback(alerting, sinks):
    slack, smtp = sinks
    record_run(alerting, "manual__broken", SHA, coverage=82.0, failed=3)  # 30% failure rate, 13-point drop
    with pytest.raises(AirflowFailException, match="per-commit verdict FAIL"):
        CommitGatesOperator(task_id="evaluate_gates").execute(gates_context("manual__broken"))
    assert smtp.messages == [] and slack.requests == []  # the failure callback alone will speak


@pytest.mark.slow
@pytest.mark.airflow_db
@pytest.mark.parametrize("metrics_url", ["sqlite"], indirect=True)
def test_through_airflow_a_failed_run_alerts_once_and_rules_notify_when_they_start_firing(
    alerting, sinks, metrics_url, airflow_db
):
    """A passing run whose coverage rule fires, then a failing run: the failure alert once (the gate's failure
    callback), each rule once when it starts firing (the standing rules after the run), no repeats."""
    from airflow.sdk import DAG, Param, task

    from assay_airflow.notifiers.run_alert import AssayAlertNotifier
    from assay_airflow.operators.alert_rules import standing_alert_rules

    slack, smtp = sinks

    @task(task_id="resolve_commit")
    def suites_ran(params=None, run_id=None):
        """Stands in for resolve_commit and the suites: records what they would, returns the commit."""
        store = MetricsStore(metrics_url)
        record_run(store, run_id, SHA, coverage=params["coverage"], failed=params["failed"])
        store.dispose()
        return {"target": "sample", "sha": SHA, "branch": "main"}

    with DAG(
        "assay_per_commit",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={"failed": Param(0, type="integer"), "coverage": Param(82.0, type="number")},
    ) as dag:
        suites_ran() >> CommitGatesOperator(
            task_id="evaluate_gates", on_failure_callback=AssayAlertNotifier(), retries=0
        )
        standing_alert_rules(dag, retries=0)

    passing = dag.test(run_conf={"failed": 0})
    assert passing.state == "success"
    assert [m["Subject"] for _, m in smtp.messages] == [
        "[Assay] FIRING coverage_drop on sample@main: observed 13 (alert when > 5)"
    ]
    assert len(slack.requests) == 1

    failing = dag.test(run_conf={"failed": 3, "coverage": 70.0})  # 30% failed, 12 points below the last run
    assert failing.state == "failed"
    subjects = [m["Subject"] for _, m in smtp.messages[1:]]
    # the failure alert, and the failure-rate rule that starts firing; coverage_drop still fires: no repeat
    assert subjects == [
        f"[Assay] FAIL: assay_per_commit on sample @ {SHA[:12]}",
        "[Assay] FIRING test_failure_rate on sample: observed 0.3 (alert when > 0.1)",
    ]
    assert len(slack.requests) == 3
    html = body_text(smtp.messages[1][1])
    assert "all_tests_pass" in html and "alert:test_failure_rate" in html and "alert:coverage_drop" in html
    # the failed task's XCom, through Airflow's own task runner: its result, its summary and its links
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id="assay_per_commit", run_id=failing.run_id)
        pushed = {x.key: XComModel.deserialize_value(x) for x in rows.filter_by(task_id="evaluate_gates")}
    assert pushed["return_value"]["status"] == "FAIL" and pushed["return_value"]["name"] == "per_commit_gates"
    assert pushed["assay_summary"]["verdict"] == "FAIL"
    assert {g["name"] for g in pushed["assay_summary"]["failed_gates"]} >= {"all_tests_pass"}
    from urllib.parse import quote

    page = f"http://127.0.0.1:8080/assay/runs/assay_per_commit/{quote(failing.run_id, safe='')}"
    assert pushed["_link_AssayRunLink"] == page
    assert pushed["_link_AssayReportLink"] == ""  # the gates name no report
    assert "/assay/runs/assay_per_commit/" in html  # the alert links the run's page


def test_the_gates_failure_rate_rule_leaves_flaky_tests_out(alerting, sinks):
    """t::wobbly flipped pass/fail over the last commits (flaky): its failure on this commit is not a regression
    for the failure-rate rule, while the gate all_tests_pass still fails on it."""
    from assay.store.records import TestCaseRecord

    def suite(run_id, sha, outcomes, at):
        alerting.record_suite_run(
            SuiteRunRecord(
                key=RunKey("assay_per_commit", run_id, "run_suite", 0),
                kind="pytest",
                name="unit",
                status="FAIL" if "failed" in outcomes.values() else "PASS",
                started_at=at,
                finished_at=at,
                target="sample",
                commit_sha=sha,
                branch="main",
                summary={
                    "counts": {
                        "total": len(outcomes),
                        "passed": sum(o == "passed" for o in outcomes.values()),
                        "failed": sum(o == "failed" for o in outcomes.values()),
                    }
                },
                test_cases=tuple(TestCaseRecord(n, o) for n, o in outcomes.items()),
                metrics=(MetricRecord(COVERAGE_METRIC, 95.0, "percent"),),
            )
        )

    t0 = datetime.now(UTC) - timedelta(days=3)
    steady = {f"t::ok{i}": "passed" for i in range(4)}
    for n, o in enumerate(["passed", "failed", "passed"]):
        suite(f"manual__h{n}", f"{n:040x}", {**steady, "t::wobbly": o}, t0 + timedelta(hours=n))
    record_run(alerting, "manual__now", SHA, coverage=95.0, failed=0)
    suite("manual__now", SHA, {**steady, "t::wobbly": "failed"}, datetime.now(UTC) - timedelta(seconds=1))

    with pytest.raises(AirflowFailException, match="all_tests_pass"):
        CommitGatesOperator(task_id="evaluate_gates").execute(gates_context("manual__now"))
    (gate,) = alerting.latest_suite_runs("assay_per_commit", "manual__now", kinds=["gate"])
    rate = next(c for c in gate.checks if c.name == "alert:test_failure_rate")
    # without the flaky test: 0 of 4 (plus record_run's 10 passing unit tests: 0 of 14)
    assert rate.status == "PASS" and rate.observed == 0.0 and "1 flaky test(s) left out" in rate.message
