"""The standing alert rules after a real Assay DAG (assay_drift_checks on the demo platform's exports, whose
current data drifts by design) through dag.test(): the rules run after every task, the run's state is what the
drift verdict makes it, the rule notifies once through the real Slack and SMTP hooks and not again while the
drift stays."""

from __future__ import annotations

import pytest
from support.alert_sinks import connect_alert_sinks
from support.smtp_sink import body_text

from assay.alerts.standing import current_alerts
from assay.store import MetricsStore

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]


@pytest.fixture
def channels(monkeypatch, slack_sink, smtp_sink):
    monkeypatch.setenv("ASSAY_ALERT_EMAIL", "oncall@example.com")
    connect_alert_sinks(monkeypatch, slack_sink.url, smtp_sink.port)
    return slack_sink, smtp_sink


def states(dr):
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dr.get_task_instances()}


def test_rules_run_after_the_dag_without_changing_its_state(dags, data_env, channels):
    slack, smtp = channels
    dag = dags["assay_drift_checks"]

    first = dag.test()

    # the drift task failed (prediction drift, by design of the demo data) and so did the run, as before;
    # the rules ran after it, succeeded, and did not turn the run green
    assert first.state == "failed"
    assert states(first) == {"drift__fraud-transactions": "failed", "alert_rules": "success"}
    subjects = [m["Subject"] for _, m in smtp.messages]
    drift = [s for s in subjects if s.startswith("[Assay] FIRING drift_detected on fraud-transactions")]
    assert len(drift) == 1, subjects
    # the task's own failure alert went out too (its on_failure_callback), once
    assert sum(s.startswith("[Assay] FAIL") for s in subjects) == 1
    html = body_text(next(m for _, m in smtp.messages if m["Subject"] in drift))
    assert "prediction_drift:score" in html
    assert any("drift_detected" in r.json()["text"] for r in slack.requests)
    store = MetricsStore(data_env["metrics_url"])
    try:
        (alert,) = [a for a in current_alerts(store) if a.rule == "drift_detected"]
        assert alert.subject == "fraud-transactions" and alert.run_id == first.run_id

        before = len(smtp.messages)
        second = dag.test()  # the data still drifts: the run fails again, the rule stays firing, no repeat
        assert second.state == "failed" and states(second)["alert_rules"] == "success"
        new = [m["Subject"] for _, m in smtp.messages[before:]]
        assert not any("drift_detected" in s for s in new), new
        (row,) = store.latest_suite_runs("assay_drift_checks", second.run_id, kinds=["alert"])
        assert row.status == "FAIL" and row.summary["transition"] == "firing" and not row.summary["notified"]
    finally:
        store.dispose()
