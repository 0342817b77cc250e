"""Point Assay's alert connections at real local sinks: ``assay_slack`` at an HTTP server standing in for the
Slack webhook (:class:`support.http_sink.HttpSink`) and ``assay_smtp`` at a real SMTP server
(:class:`support.smtp_sink.SmtpSink`), through ``AIRFLOW_CONN_*`` variables as a deployment would set them."""

from __future__ import annotations

import json


def connect_alert_sinks(monkeypatch, slack_url: str, smtp_port: int) -> None:
    """Set ``AIRFLOW_CONN_ASSAY_SLACK`` to ``slack_url`` (a webhook path is added) and ``AIRFLOW_CONN_ASSAY_SMTP``
    to the SMTP server on ``127.0.0.1:smtp_port`` (no TLS)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASSAY_SLACK",
        json.dumps({"conn_type": "slackwebhook", "password": f"{slack_url}/services/T0/B0/x"}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASSAY_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp_port,
                "extra": {"from_email": "assay@localhost", "disable_ssl": True, "disable_tls": True},
            }
        ),
    )
