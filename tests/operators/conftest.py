"""Fixtures shared by the operator tests."""

from __future__ import annotations

import pytest
from support.http_sink import HttpSink
from support.smtp_sink import SmtpSink


@pytest.fixture
def sinks():
    """A real HTTP server standing in for the Slack webhook and a real SMTP server, closed after the test."""
    slack, smtp = HttpSink(), SmtpSink()
    yield slack, smtp
    slack.close()
    smtp.close()
