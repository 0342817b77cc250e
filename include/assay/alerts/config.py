"""Alerting config: where alerts go, the standing alert rules, and the commit status posted on the git host.
Plain pydantic models (unknown keys forbidden), composed by ``assay.config``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertRulesConfig(_Strict):
    """The standing alert rules (:mod:`assay.alerts.rules`)."""

    test_failure_rate_max: float = Field(0.10, ge=0, le=1)
    coverage_drop_max_points: float = Field(5.0, ge=0, le=100)


class AlertsConfig(_Strict):
    slack_conn_id: str | None = "assay_slack"
    smtp_conn_id: str | None = "assay_smtp"
    email_to: list[str] = Field(default_factory=list)
    max_failed_tests: int = Field(10, ge=0)
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)


class CommitStatusConfig(_Strict):
    """Post the verdict as a commit status on the git host (GitHub or GitLab REST API).

    ``conn_id`` is the git host's connection: host = API URL (e.g. ``https://api.github.com``), password =
    token (read by the Airflow layer's commit-status hook).
    """

    provider: Literal["github", "gitlab"]
    conn_id: str
    repository: str  # "owner/name" on GitHub, project id or "group/name" on GitLab
    context: str = "assay/per-commit"
