"""The standing alert rules, per kind of result, evaluated from rows seeded in a real metrics DB (SQLite and
PostgreSQL), and their state: fired → firing (no notification) → resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assay.alerts.config import AlertRulesConfig
from assay.alerts.standing import (
    RuleAlert,
    alert_record,
    current_alerts,
    evaluate_standing_rules,
    plan_transitions,
)
from assay.store import CheckRecord, MetricRecord, RunKey, SuiteRunRecord, TestCaseRecord

T0 = datetime(2026, 11, 1, tzinfo=UTC)
RULES = AlertRulesConfig()


def rec(run_id, task, kind, name, status, *, at=T0, **fields):
    return SuiteRunRecord(
        key=RunKey("assay_any", run_id, task),
        kind=kind,
        name=name,
        status=status,
        started_at=at,
        finished_at=at + timedelta(seconds=1),
        **fields,
    )


def evaluate(store, run_id, flaky=None):
    rows = store.latest_suite_runs("assay_any", run_id)
    return {(e.rule, e.subject): e for e in evaluate_standing_rules(rows, RULES, flaky=flaky)}


def pytest_run(store, run_id, outcomes, target="demo", name="unit"):
    store.record_suite_run(
        rec(
            run_id,
            f"suite_{name}",
            "pytest",
            name,
            "FAIL" if "failed" in outcomes else "PASS",
            target=target,
            commit_sha="a" * 40,
            branch="main",
            test_cases=tuple(TestCaseRecord(f"t::{i}", o, 0.1) for i, o in enumerate(outcomes)),
        )
    )


def test_test_failure_rate_counts_executed_tests_and_leaves_flaky_ones_out(store):
    # 2 failed + 1 error of 10 executed (2 skipped, 1 xfailed not executed): 30 %
    pytest_run(store, "r1", ["passed"] * 7 + ["failed", "failed", "error", "skipped", "skipped", "xfailed"])
    e = evaluate(store, "r1")[("test_failure_rate", "demo")]
    assert e.firing and e.observed == 0.3 and e.threshold == 0.1
    assert "3/10 executed tests failed" in e.message
    # t::7 and t::8 are flaky: 1 failure of 8 executed, 12.5 %, still above 10 %
    e = evaluate(store, "r1", flaky={"demo": {("unit", "t::7"), ("unit", "t::8")}})[("test_failure_rate", "demo")]
    assert e.firing and e.observed == 0.125 and "2 flaky test(s) left out" in e.message
    # all three failures flaky: 0 of 7
    flaky = {"demo": {("unit", "t::7"), ("unit", "t::8"), ("unit", "t::9")}}
    e = evaluate(store, "r1", flaky=flaky)[("test_failure_rate", "demo")]
    assert not e.firing and e.observed == 0.0
    # exactly 10 % does not fire (> threshold)
    pytest_run(store, "r2", ["passed"] * 9 + ["failed"])
    assert not evaluate(store, "r2")[("test_failure_rate", "demo")].firing


def test_coverage_drop_reads_the_gates_alert_check(store):
    for run_id, status, drop in (("r1", "FAIL", 7.5), ("r2", "PASS", 1.0)):
        store.record_suite_run(
            rec(
                run_id,
                "evaluate_gates",
                "gate",
                "per_commit_gates",
                "PASS",
                target="demo",
                branch="main",
                checks=(CheckRecord("alert:coverage_drop", status, drop, 5.0, "<=", "alert", "coverage 80% vs 87.5%"),),
            )
        )
    e = evaluate(store, "r1")[("coverage_drop", "demo@main")]
    assert e.firing and (e.observed, e.threshold) == (7.5, 5.0)
    assert not evaluate(store, "r2")[("coverage_drop", "demo@main")].firing
    # no previous run (SKIP): nothing evaluated
    store.record_suite_run(
        rec(
            "r3",
            "evaluate_gates",
            "gate",
            "per_commit_gates",
            "PASS",
            target="demo",
            branch="main",
            checks=(CheckRecord("alert:coverage_drop", "SKIP", None, 5.0, "<=", "alert", "no earlier coverage"),),
        )
    )
    assert evaluate(store, "r3") == {}


def posture(open_critical, status="PASS"):
    return (MetricRecord("security.posture.open", float(open_critical), "count", {"severity": "CRITICAL"}),)


def test_critical_vulnerabilities_from_the_posture_else_the_scanners(store):
    store.record_suite_run(
        rec("r1", "posture", "security_posture", "posture", "FAIL", target="demo", metrics=posture(2))
    )
    e = evaluate(store, "r1")[("critical_vulnerabilities", "demo")]
    assert e.firing and e.observed == 2 and e.threshold == 0
    store.record_suite_run(
        rec("r2", "posture", "security_posture", "posture", "PASS", target="demo", metrics=posture(0))
    )
    assert not evaluate(store, "r2")[("critical_vulnerabilities", "demo")].firing
    # no posture: the scanners that completed; an ERROR scanner alone says nothing
    crit = (MetricRecord("security.findings_open", 1.0, "count", {"severity": "CRITICAL"}),)
    store.record_suite_run(rec("r3", "scan", "security", "trivy_fs", "FAIL", target="demo", metrics=crit))
    assert evaluate(store, "r3")[("critical_vulnerabilities", "demo")].firing
    store.record_suite_run(rec("r4", "scan", "security", "trivy_fs", "ERROR", target="demo", metrics=crit))
    assert evaluate(store, "r4") == {}


def test_any_compliance_violation(store):
    violated = CheckRecord("alert:compliance_violation", "FAIL", 2.0, 0.0, "<=", "alert", "violated: gdpr-17; gdpr-30")
    clean = CheckRecord("alert:compliance_violation", "PASS", 0.0, 0.0, "<=", "alert", "no control violated")
    store.record_suite_run(rec("r1", "audit__gdpr", "compliance", "gdpr", "FAIL", checks=(violated,)))
    store.record_suite_run(rec("r1", "audit__sox", "compliance", "sox", "PASS", checks=(clean,)))
    found = evaluate(store, "r1")
    assert found[("compliance_violation", "gdpr")].firing and found[("compliance_violation", "gdpr")].observed == 2
    assert "gdpr-17" in found[("compliance_violation", "gdpr")].message
    assert not found[("compliance_violation", "sox")].firing
    # an audit that could not run (ERROR, no rule check) is unknown
    store.record_suite_run(rec("r2", "audit__gdpr", "compliance", "gdpr", "ERROR"))
    assert evaluate(store, "r2") == {}


def test_drift_detected_per_dataset(store):
    drifted = (
        CheckRecord("dataset_drift", "PASS", 0.33, 0.5, "<", "error"),
        CheckRecord("prediction_drift:score:wasserstein", "FAIL", 0.4, 0.1, "<", "error"),
        CheckRecord("drift:amount:wasserstein", "FAIL", 0.3, 0.1, "<", "warning"),  # informing only
    )
    store.record_suite_run(
        rec(
            "r1", "drift__a", "drift", "data_drift", "FAIL", dataset="fraud", checks=drifted, message="prediction drift"
        )
    )
    store.record_suite_run(rec("r1", "drift__b", "drift", "data_drift", "PASS", dataset="calm", message="no drift"))
    store.record_suite_run(rec("r1", "drift__c", "drift", "data_drift", "ERROR", dataset="broken"))
    found = evaluate(store, "r1")
    fraud = found[("drift_detected", "fraud")]
    assert fraud.firing and fraud.observed == 1 and "prediction_drift:score:wasserstein" in fraud.message
    assert not found[("drift_detected", "calm")].firing
    assert ("drift_detected", "broken") not in found


def test_p95_regression_against_the_baseline(store):
    checks = (
        CheckRecord("load.regression_p95[POST /predict]", "FAIL", 0.4, 0.25, "<=", "error", "p95 40% worse"),
        CheckRecord("load.regression_p95[GET /health]", "PASS", -0.1, 0.1, "<=", "error", "better"),
        CheckRecord("load.regression_throughput", "FAIL", 0.5, 0.25, "<=", "error", "throughput"),
    )
    store.record_suite_run(
        rec("r1", "load_test__demo", "performance", "load_test", "FAIL", target="demo", checks=checks)
    )
    e = evaluate(store, "r1")[("p95_regression", "demo")]
    assert e.firing and (e.observed, e.threshold) == (0.4, 0.25) and "POST /predict" in e.message
    no_baseline = (CheckRecord("load.regression_p95", "SKIP", message="no accepted baseline yet"),)
    store.record_suite_run(
        rec("r2", "load_test__demo", "performance", "load_test", "PASS", target="demo", checks=no_baseline)
    )
    assert evaluate(store, "r2") == {}


def test_state_fired_then_firing_then_resolved_and_retries_do_not_repeat(store):
    def round_(run_id, failed, at, try_number=1):
        pytest_run(store, run_id, ["passed"] * 8 + ["failed"] * failed + ["passed"] * (2 - failed))
        evals = list(evaluate(store, run_id).values())
        ts = plan_transitions(store, evals, dag_id="assay_any", run_id=run_id)
        for t in ts:
            store.record_suite_run(
                alert_record(t, RunKey("assay_any", run_id, "alert_rules", -1, try_number), notified=t.notifies, at=at)
            )
        return [(t.evaluation.name, t.kind, t.notifies) for t in ts]

    assert round_("n1", 0, T0) == [("test_failure_rate:demo", "ok", False)]
    assert round_("n2", 2, T0 + timedelta(days=1)) == [("test_failure_rate:demo", "fired", True)]
    assert [a.subject for a in current_alerts(store)] == ["demo"]
    (firing,) = current_alerts(store)
    assert firing.rule == "test_failure_rate" and firing.observed == 0.2 and firing.since is not None
    # a retry of the same run: the same transition, already notified
    assert round_("n2", 2, T0 + timedelta(days=1, minutes=5), try_number=2) == [
        ("test_failure_rate:demo", "fired", False)
    ]
    assert round_("n3", 2, T0 + timedelta(days=2)) == [("test_failure_rate:demo", "firing", False)]
    assert current_alerts(store)[0].since == firing.since  # still the time it started firing
    assert round_("n4", 0, T0 + timedelta(days=3)) == [("test_failure_rate:demo", "resolved", True)]
    assert current_alerts(store) == []
    (state,) = current_alerts(store, firing_only=False)
    assert not state.firing and state.run_id == "n4"


def test_the_message_names_rule_subject_observed_and_threshold(store):
    pytest_run(store, "r1", ["passed"] * 8 + ["failed"] * 2)
    (t,) = plan_transitions(store, list(evaluate(store, "r1").values()), dag_id="assay_any", run_id="r1")
    alert = RuleAlert.of(t, dag_id="assay_any", run_id="r1", run_url="http://user:pw@airflow/dags/assay_any/runs/r1")
    assert alert.subject == "[Assay] FIRING test_failure_rate on demo: observed 0.2 (alert when > 0.1)"
    text, html = alert.slack_text(), alert.email_html()
    assert "2/10 executed tests failed" in text and "user:pw" not in text + html
    assert "<b>0.2</b>" in html and "started firing" in html


@pytest.mark.parametrize("kind", ["gate", "alert"])
def test_alert_rows_are_never_inputs(store, kind):
    """The rules' own records (kind alert) never feed a rule."""
    store.record_suite_run(rec("r1", "alert_rules", "alert", "test_failure_rate:demo", "FAIL", target="demo"))
    assert evaluate(store, "r1") == {}
