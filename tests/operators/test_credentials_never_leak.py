"""A URL's credentials never appear where Assay formats text: the task log, the exception, the alerts
(Slack and e-mail), XCom, the commit status, the metrics DB.

The end-to-end case runs the real ResolveCommitOperator through Airflow's task runner (``dag.test()``)
on a target whose repository URL carries a token, against a git server that is down; its failure
callback sends the alerts to a real SMTP server and a real HTTP server.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from datetime import datetime

import pytest
import yaml
from sqlalchemy import text
from support.alert_sinks import connect_alert_sinks
from support.context import make_context
from support.http_sink import HttpSink
from support.smtp_sink import SmtpSink, body_text

from assay.alerts.commit_status import post_commit_status
from assay.redaction import RedactingFilter, install_log_redaction, url_credentials
from assay.status import Status
from assay.store import MetricsStore
from assay_airflow.operators.base import AssayOperator

TOKEN = "ghp_Zq9sEcReTtOkEn0042"
LEAK = f"https://alice:{TOKEN}@git.example.com/acme/repo.git"


def test_url_credentials_finds_the_password_or_the_lone_token():
    assert url_credentials(f"clone {LEAK} and https://{TOKEN}x@h/r and ssh://git@h:22/r") == [TOKEN, f"{TOKEN}x", "git"]
    assert url_credentials("mail ops@example.com") == []


def test_the_logging_filter_cleans_message_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction.filter")
    logger.addHandler(handler)
    try:
        logger.warning("cannot clone %s", LEAK)
        try:
            raise RuntimeError(f"git said: {LEAK}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out and out.count("https://***@git.example.com/acme/repo.git") == 2


def test_assay_loggers_clean_their_records_whatever_the_handler():
    install_log_redaction()
    install_log_redaction()  # idempotent
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    for name in ("assay.store.outbox", "assay_airflow.x", "other.lib"):
        logger = logging.getLogger(name)
        handler = Keep()
        logger.addHandler(handler)
        try:
            logger.warning("repo %s", LEAK)
        finally:
            logger.removeHandler(handler)
    assert [TOKEN in r for r in records] == [False, False, True]  # only Assay's own loggers are rewritten


def test_an_assay_error_never_carries_credentials_so_no_traceback_shows_them():
    import traceback

    from assay.errors import TargetError

    try:
        try:
            raise TargetError(f"cannot clone target repository {LEAK!r}", retryable=False)
        except TargetError as exc:
            raise RuntimeError("while preparing the commit") from exc
    except RuntimeError as outer:
        shown = "".join(traceback.format_exception(outer))
    assert TOKEN not in shown and "cannot clone target repository 'https://***@git.example.com" in shown


def test_records_made_by_logging_itself_still_work_after_installing():
    install_log_redaction()
    record = logging.makeLogRecord({"msg": "x %s", "args": (LEAK,)})  # the factory is called with no name
    assert record.getMessage() == f"x {LEAK}"


def test_the_commit_status_description_and_link_carry_no_credentials():
    sink = HttpSink(status=201, reply=b"{}")
    try:
        post_commit_status(
            provider="github",
            api_url=sink.url,
            token="t",
            repository="acme/x",
            sha="a" * 40,
            verdict=Status.ERROR,
            description=f"Assay ERROR: checkout: cannot clone {LEAK}",
            target_url=f"https://bob:{TOKEN}@airflow.example.com/dags/x",
            context="assay",
        )
    finally:
        sink.close()
    (req,) = sink.requests
    assert TOKEN not in req.body.decode() and "https://***@git.example.com" in req.json()["description"]


def test_what_an_operator_returns_to_xcom_is_stripped():
    class Leaky(AssayOperator):
        def execute(self, context):
            return {"message": f"cannot clone {LEAK}", "nested": [LEAK, 3], "n": 1}

    out = Leaky(task_id="leaky").execute(make_context("leaky"))
    assert out == {
        "message": "cannot clone https://***@git.example.com/acme/repo.git",
        "nested": ["https://***@git.example.com/acme/repo.git", 3],
        "n": 1,
    }


@pytest.mark.slow
@pytest.mark.airflow_db
def test_a_target_url_with_a_token_leaks_nowhere_through_airflow(
    tmp_path, monkeypatch, sqlite_url, airflow_db, capfd, caplog
):
    from airflow.sdk import DAG

    from assay_airflow.notifiers.run_alert import AssayAlertNotifier
    from assay_airflow.operators.per_commit import ResolveCommitOperator

    with socket.socket() as s:  # a port nothing listens on: the git server is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = f"http://alice:{TOKEN}@127.0.0.1:{port}/acme/repo.git"
    cfg = {
        "alerts": {"email_to": ["oncall@example.com"]},
        "targets": {"private": {"repo": repo, "python": "worker", "suites": {"unit": {}}}},
    }
    (tmp_path / "assay.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(tmp_path / "assay.yaml"))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", sqlite_url)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    slack, smtp = HttpSink(), SmtpSink()
    connect_alert_sinks(monkeypatch, slack.url, smtp.port)
    caplog.set_level(logging.INFO)
    with DAG(
        "assay_per_commit",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={"target": "private", "sha": None, "branch": "main"},
    ) as dag:
        ResolveCommitOperator(task_id="resolve_commit", retries=0, on_failure_callback=AssayAlertNotifier())
    try:
        dr = dag.test(run_conf={"target": "private", "branch": "main"})
    finally:
        slack.close()
        smtp.close()

    assert dr.state == "failed"
    logs = caplog.text + "".join(capfd.readouterr())
    assert "cannot clone target repository" in logs  # the failure was logged ...
    assert TOKEN not in logs  # ... without the token
    (req,) = slack.requests
    assert "cannot clone target repository 'http://***@127.0.0.1" in req.json()["text"]
    ((_, msg),) = smtp.messages
    assert TOKEN not in msg.as_string() and "http://***@127.0.0.1" in body_text(msg)
    store = MetricsStore(sqlite_url)
    with store.engine.connect() as conn:
        stored = json.dumps([list(map(str, row)) for row in conn.execute(text("SELECT * FROM assay_suite_run"))])
    store.dispose()
    assert "cannot clone" in stored and TOKEN not in stored
