"""Render the alert for a failed run (Slack text and e-mail HTML) with Jinja2 templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class FailedTest:
    node_id: str
    suite: str
    message: str | None


@dataclass(frozen=True)
class FailedCheck:
    name: str
    status: str
    message: str | None


@dataclass(frozen=True)
class Alert:
    dag_id: str
    run_id: str
    target: str | None
    commit_sha: str | None
    branch: str | None
    verdict: str
    run_url: str
    failed_checks: list[FailedCheck] = field(default_factory=list)
    fired_rules: list[FailedCheck] = field(default_factory=list)
    failed_tests: list[FailedTest] = field(default_factory=list)
    failed_tests_total: int = 0

    @property
    def subject(self) -> str:
        sha = (self.commit_sha or "?")[:12]
        return f"[Assay] {self.verdict}: {self.dag_id} on {self.target or 'unknown target'} @ {sha}"

    def slack_text(self) -> str:
        return _env.get_template("alert.slack.txt").render(a=self)

    def email_html(self) -> str:
        return _env.get_template("alert.email.html").render(a=self)
