"""What a failure alert says, through the real provider hooks to a real SMTP server (aiosmtpd) and a real
HTTP server standing in for the Slack webhook, from a real metrics DB: each failed test with the first line
of its message, its file:line and the detail beyond 300 characters; each failed gate with observed vs
threshold; the run's page. And the channels: one not configured is INFO once, a configured one that fails is
ERROR."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from support.alert_sinks import connect_alert_sinks
from support.context import TaskInstanceStub
from support.http_sink import HttpSink
from support.smtp_sink import body_text

from assay.engines.per_commit.reportlog import parse_report_log
from assay.store import MetricsStore
from assay.store.records import CheckRecord, RunKey, SuiteRunRecord, TestCaseRecord
from assay_airflow.notifiers import run_alert
from assay_airflow.notifiers.run_alert import AssayAlertNotifier

SHA = "b" * 40
OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "pytest_outputs"
LONG_DETAIL = "\n".join(f"E   - expected line {i}: " + "value " * 8 for i in range(12))  # ~800 characters


def write_config(tmp_path, monkeypatch, metrics_url):
    cfg = {
        "airflow_base_url": "http://airflow.example:8080",
        "alerts": {"email_to": ["oncall@example.com"]},
        "targets": {"sample": {"repo": str(tmp_path / "unused"), "suites": {"unit": {"marker": "unit"}}}},
    }
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)


def record_failed_run(metrics_url, run_id):
    """A per-commit run whose unit suite failed (real pytest report data, plus a long assertion) and whose
    gates failed on figures."""
    store = MetricsStore(metrics_url)
    store.migrate()
    at = datetime.now(UTC) - timedelta(seconds=5)
    ids = {"target": "sample", "commit_sha": SHA, "branch": "main"}
    report = parse_report_log(OUTPUTS / "sample_reportlog.jsonl", root="/checkout")
    long = TestCaseRecord(
        "tests/test_calc.py::test_table_matches",
        "failed",
        0.2,
        f"AssertionError: the table differs from the golden one\n{LONG_DETAIL}\n  at /checkout/tests/test_calc.py:41",
    )
    store.record_suite_run(
        SuiteRunRecord(
            key=RunKey("assay_per_commit", run_id, "unit_tests"),
            kind="pytest",
            name="unit",
            status="FAIL",
            started_at=at,
            finished_at=at + timedelta(seconds=1),
            message=report.summary(),
            test_cases=(*report.cases, long),
            **ids,
        )
    )
    store.record_suite_run(
        SuiteRunRecord(
            key=RunKey("assay_per_commit", run_id, "evaluate_gates"),
            kind="gates",
            name="per_commit_gates",
            status="FAIL",
            started_at=at + timedelta(seconds=2),
            finished_at=at + timedelta(seconds=2),
            message="all_tests_pass FAIL: 3 failed or errored test(s)",
            checks=(
                CheckRecord("all_tests_pass", "FAIL", 3.0, 0.0, "<=", message="3 failed or errored test(s)"),
                CheckRecord("coverage_min", "FAIL", 72.5, 80.0, ">=", message="line coverage 72.50%, minimum 80%"),
                CheckRecord("coverage_drop", "PASS", 0.0, 5.0, "<="),
            ),
            **ids,
        )
    )
    store.dispose()


def notify(run_id):
    ti = TaskInstanceStub(run_id=run_id, task_id="evaluate_gates")
    AssayAlertNotifier().notify({"ti": ti, "exception": RuntimeError("per-commit verdict FAIL")})


def test_the_alert_names_failed_tests_with_file_line_and_detail_and_gates_with_figures(
    tmp_path, monkeypatch, metrics_url, sinks
):
    slack, smtp = sinks
    write_config(tmp_path, monkeypatch, metrics_url)
    connect_alert_sinks(monkeypatch, slack.url, smtp.port)
    record_failed_run(metrics_url, "manual__content")
    notify("manual__content")

    ((_, msg),) = smtp.messages
    (req,) = slack.requests
    text, html = req.json()["text"], body_text(msg)
    page = "http://airflow.example:8080/assay/runs/assay_per_commit/manual__content"
    for rendered in (text, html):
        assert "tests/test_calc.py::test_wrong_on_purpose" in rendered
        assert "tests/test_calc.py:24" in rendered and "AssertionError: two and two make four" in rendered
        assert "tests/test_calc.py::test_uses_broken_fixture" in rendered and "tests/test_calc.py:29" in rendered
        assert "RuntimeError: fixture exploded" in rendered
        # the assertion's detail, well beyond the 300 characters the alert used to keep
        assert "expected line 11: " in rendered and "tests/test_calc.py:41" in rendered
        assert "observed 72.5, must be &gt;= 80" in rendered or "observed 72.5, must be >= 80" in rendered
        assert "observed 3, must be &lt;= 0" in rendered or "observed 3, must be <= 0" in rendered
        assert page in rendered
        assert "coverage_drop" not in rendered  # a passing gate is not news
    assert f"<{page}|Open the run on the Assay page>" in text
    assert "(3 of 3)" in text


def test_channels_not_configured_are_info_once_not_errors(tmp_path, monkeypatch, metrics_url, caplog, capfd):
    """The embedded default: no Slack and no SMTP connection. Two failures log no ERROR and say it once."""
    write_config(tmp_path, monkeypatch, metrics_url)
    monkeypatch.delenv("AIRFLOW_CONN_ASSAY_SLACK", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ASSAY_SMTP", raising=False)
    monkeypatch.setattr(run_alert, "_UNCONFIGURED_TOLD", set())
    record_failed_run(metrics_url, "manual__quiet")
    caplog.set_level(logging.INFO)
    notify("manual__quiet")
    notify("manual__quiet")
    text = caplog.text + capfd.readouterr().out
    assert "isn't defined" not in text and "failed:" not in text
    assert text.count("alerts: Slack not configured") == 1 and text.count("alerts: e-mail not configured") == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    lines = [ln for ln in text.splitlines() if "not configured" in ln]
    assert all("[error" not in ln.lower() for ln in lines), lines


def test_a_configured_channel_that_fails_is_an_error(tmp_path, monkeypatch, metrics_url, caplog, capfd):
    broken = HttpSink(status=500, reply=b"no")
    write_config(tmp_path, monkeypatch, metrics_url)
    connect_alert_sinks(monkeypatch, broken.url, 9)  # nothing listens on port 9
    record_failed_run(metrics_url, "manual__broken")
    caplog.set_level(logging.INFO)
    notify("manual__broken")
    broken.close()
    text = caplog.text + capfd.readouterr().out
    assert broken.requests, "Slack was really tried"
    errors = [ln for ln in text.splitlines() if "alert through" in ln and "failed" in ln]
    assert any("Slack alert through 'assay_slack' failed" in ln for ln in errors)
    assert any("e-mail alert through 'assay_smtp' failed" in ln for ln in errors)
    assert all("error" in ln.lower() for ln in errors)
    assert "not configured" not in text
