"""Render an alert (Slack text and e-mail HTML) with Jinja2 templates.

Two occasions: a run that failed (its verdict is FAIL or ERROR), and a standing alert rule that fired on a
run whose verdict did not fail. The content is the task summary's (:mod:`assay.summary`): each failed test
with the first line of its message and its ``file:line`` (then the rest of the message), each failed gate with
observed vs threshold, and the link to the run's detail page on the Assay page. Every text an alert carries is stripped of URL credentials
(``assay.redaction``), whatever its source (the metrics DB, an exception, the config).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from assay.redaction import redact, strip_url_credentials
from assay.status import Status
from assay.summary import FailedGate, FailedTestLine, message_rest

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _redact_fields(obj: object) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        object.__setattr__(obj, f.name, redact(getattr(obj, f.name)))


@dataclass(frozen=True)
class FailedTest:
    node_id: str
    suite: str
    message: str | None

    def __post_init__(self) -> None:
        _redact_fields(self)

    @property
    def line(self) -> FailedTestLine:
        return FailedTestLine.of(self.node_id, "failed", self.message, self.suite)

    @property
    def first_line(self) -> str:
        return self.line.first_line

    @property
    def location(self) -> str | None:
        return self.line.location

    @property
    def rest(self) -> str:
        """The message after its first line and its ``at file:line`` (the assertion's detail), if any."""
        return message_rest(self.message)


@dataclass(frozen=True)
class FailedCheck:
    name: str
    status: str
    message: str | None
    observed: float | None = None
    threshold: float | None = None
    comparator: str | None = None

    def __post_init__(self) -> None:
        _redact_fields(self)

    @property
    def line(self) -> str:
        """``FAIL name: observed 72.5, must be >= 80; the message`` (the summary's gate line)."""
        return FailedGate(self.name, self.status, self.observed, self.threshold, self.comparator, self.message).line()

    @property
    def figures(self) -> str:
        """``observed 72.5, must be >= 80`` (empty when the check has no numbers)."""
        return FailedGate(self.name, self.status, self.observed, self.threshold, self.comparator).figures()


@dataclass(frozen=True)
class FailedFinding:
    """A security or compliance finding of the failed run: which rule (control, CVE...), on which resource,
    why, and the evidence behind it (method, what was queried, the content's SHA-256)."""

    rule_id: str
    severity: str
    resource: str | None
    message: str | None
    evidence: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _redact_fields(self)


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
    findings: list[FailedFinding] = field(default_factory=list)
    #: the run's detail page on the Assay page (``{airflow_base_url}/assay/runs/{dag_id}/{run_id}``)
    detail_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("dag_id", "run_id", "target", "commit_sha", "branch", "verdict", "run_url", "detail_url"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, strip_url_credentials(value))

    @property
    def failed(self) -> bool:
        """The run failed (FAIL or ERROR); otherwise the alert is about fired rules only."""
        return self.verdict not in {s.value for s in Status if not s.is_failure}

    @property
    def subject(self) -> str:
        sha = (self.commit_sha or "?")[:12]
        where = f"{self.dag_id} on {self.target or 'unknown target'} @ {sha}"
        if self.failed:
            return f"[Assay] {self.verdict}: {where}"
        rules = ", ".join(r.name for r in self.fired_rules) or "alert rule"
        return f"[Assay] ALERT {rules} (verdict {self.verdict}): {where}"

    def slack_text(self) -> str:
        return strip_url_credentials(_env.get_template("alert.slack.txt").render(a=self))

    def email_html(self) -> str:
        return strip_url_credentials(_env.get_template("alert.email.html").render(a=self))
