"""The standing alert rules task against a real metrics DB (SQLite and PostgreSQL) and real sinks (an SMTP server,
an HTTP server standing in for the Slack webhook), through the provider hooks: a rule notifies once when it
starts firing, not while it stays firing, once when it resolves; a retry of the task does not notify again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from support.alert_sinks import connect_alert_sinks
from support.context import TaskInstanceStub, make_context
from support.smtp_sink import body_text

from assay.alerts.standing import current_alerts
from assay.store import CheckRecord, MetricsStore, RunKey, SuiteRunRecord
from assay_airflow.operators.alert_rules import StandingAlertRulesOperator

DAG_ID = "assay_weekly_compliance"


@pytest.fixture
def env(tmp_path, monkeypatch, metrics_url, sinks):
    slack, smtp = sinks
    path = tmp_path / "assay.yaml"
    path.write_text(
        yaml.safe_dump({"alerts": {"email_to": ["oncall@example.com"]}, "targets": {"t": {"repo": str(tmp_path)}}})
    )
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    connect_alert_sinks(monkeypatch, slack.url, smtp.port)
    store = MetricsStore(metrics_url)
    store.migrate()
    yield store
    store.dispose()


def audit(store, run_id, violated: int, at):
    check = CheckRecord(
        "alert:compliance_violation",
        "FAIL" if violated else "PASS",
        float(violated),
        0.0,
        "<=",
        "alert",
        "violated: gdpr-art-17: erasure left 3 rows" if violated else "no control violated",
    )
    store.record_suite_run(
        SuiteRunRecord(
            key=RunKey(DAG_ID, run_id, "audit__gdpr"),
            kind="compliance",
            name="gdpr",
            status="FAIL" if violated else "PASS",
            started_at=at,
            finished_at=at + timedelta(seconds=1),
            target="demo-platform",
            checks=(check,),
        )
    )


def evaluate(run_id, try_number=1):
    ti = TaskInstanceStub(dag_id=DAG_ID, run_id=run_id, try_number=try_number)
    return StandingAlertRulesOperator(task_id="alert_rules").execute(make_context("alert_rules", ti=ti))


def test_fire_stay_firing_resolve_with_real_channels(env, sinks):
    slack, smtp = sinks
    t0 = datetime.now(UTC) - timedelta(days=30)

    audit(env, "scheduled__w1", 0, t0)
    assert evaluate("scheduled__w1") == {"evaluated": 1, "fired": [], "resolved": [], "firing": []}
    assert smtp.messages == [] and slack.requests == []

    audit(env, "scheduled__w2", 1, t0 + timedelta(days=7))
    assert evaluate("scheduled__w2")["fired"] == ["compliance_violation:gdpr"]
    ((rcpts, msg),) = smtp.messages
    assert rcpts == ["oncall@example.com"]
    assert msg["Subject"] == "[Assay] FIRING compliance_violation on gdpr: observed 1 (alert when > 0)"
    assert "gdpr-art-17: erasure left 3 rows" in body_text(msg)
    (req,) = slack.requests
    text = req.json()["text"]
    assert "compliance_violation" in text and "Observed *1*" in text and "scheduled__w2" in text
    (alert,) = current_alerts(env)
    assert (alert.rule, alert.subject, alert.firing) == ("compliance_violation", "gdpr", True)

    # the task retried in the same run: same transition, already notified
    assert evaluate("scheduled__w2", try_number=2)["fired"] == ["compliance_violation:gdpr"]
    assert len(smtp.messages) == 1 and len(slack.requests) == 1

    # next week still violated: no repeat
    audit(env, "scheduled__w3", 1, t0 + timedelta(days=14))
    assert evaluate("scheduled__w3")["firing"] == ["compliance_violation:gdpr"]
    assert len(smtp.messages) == 1 and len(slack.requests) == 1

    # fixed: one resolution
    audit(env, "scheduled__w4", 0, t0 + timedelta(days=21))
    assert evaluate("scheduled__w4")["resolved"] == ["compliance_violation:gdpr"]
    assert len(smtp.messages) == 2 and len(slack.requests) == 2
    resolved = smtp.messages[1][1]
    assert resolved["Subject"] == "[Assay] RESOLVED compliance_violation on gdpr: observed 0 (alert when > 0)"
    assert "no longer fires" in body_text(resolved) and "Firing since" in body_text(resolved)
    assert current_alerts(env) == []

    # and stays quiet while it passes
    audit(env, "scheduled__w5", 0, t0 + timedelta(days=28))
    assert evaluate("scheduled__w5")["resolved"] == []
    assert len(smtp.messages) == 2 and len(slack.requests) == 2

    # the state is in assay_suite_run: one alert row per evaluation, FAIL while firing
    rows = env.latest_suite_runs(DAG_ID, "scheduled__w3", kinds=["alert"])
    ((row,),) = [rows]
    assert row.name == "compliance_violation:gdpr" and row.status == "FAIL"
    assert row.summary["transition"] == "firing" and not row.summary["notified"]
    (check,) = row.checks
    assert (check.name, check.observed, check.threshold, check.severity) == (
        "alert:compliance_violation",
        1.0,
        0.0,
        "alert",
    )


def test_a_run_with_nothing_a_rule_reads_records_nothing(env, sinks):
    slack, smtp = sinks
    assert evaluate("manual__empty") == {"evaluated": 0, "fired": [], "resolved": [], "firing": []}
    assert env.latest_suite_runs(DAG_ID, "manual__empty") == []
    assert smtp.messages == [] and slack.requests == []
