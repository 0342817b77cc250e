"""The standing alert rules, evaluated after every Assay DAG run from what the run recorded, with state.

Rules (one evaluation per subject the run has a result for; a subject the run did not measure keeps its
state):

=========================  ==================  ==============================================================
rule                       subject             fires when (observed vs threshold)
=========================  ==================  ==============================================================
``test_failure_rate``      target              failed + errored over executed tests > ``test_failure_rate_max``
                                               (skipped / xfailed not executed; flaky tests left out entirely)
``coverage_drop``          target@branch       the per-commit gate's ``alert:coverage_drop`` check FAILed
                                               (points lost against the previous run > ``coverage_drop_max_points``)
``critical_vulnerabilities`` target            open CRITICAL security findings > 0 (the posture, else the scanners)
``compliance_violation``   framework           violated controls > 0 (the audit's ``alert:compliance_violation``)
``drift_detected``         dataset             the drift check FAILed: failed deciding drift checks > 0
``p95_regression``         target              a ``load.regression_p95`` check FAILed against the baseline
                                               (relative p95 worsening > the regression ``fail_margin``)
=========================  ==================  ==============================================================

A result that could not be measured (ERROR, SKIP, no baseline) evaluates nothing: an unknown is neither a
firing nor a resolution.

State lives in the metrics DB without a table of its own: every evaluation is a suite run of kind ``alert``
named ``<rule>:<subject>``, status FAIL (firing) or PASS (not firing), one ``alert:<rule>`` check with
observed vs threshold, and ``summary`` = rule, subject, transition (``fired`` / ``firing`` / ``resolved`` /
``ok``), whether it was notified. The newest such row of a name is the rule's current state
(:func:`current_alerts`). Only ``fired`` and ``resolved`` notify: no repeats while a rule stays firing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.alerts.config import AlertRulesConfig
from assay.redaction import redact, strip_url_credentials
from assay.status import Status
from assay.store.models import SuiteRun
from assay.store.records import CheckRecord, RunKey, SuiteRunRecord

ALERT_KIND = "alert"
TEST_FAILURE_RATE = "test_failure_rate"
COVERAGE_DROP = "coverage_drop"
CRITICAL_VULNERABILITIES = "critical_vulnerabilities"
COMPLIANCE_VIOLATION = "compliance_violation"
DRIFT_DETECTED = "drift_detected"
P95_REGRESSION = "p95_regression"
RULES = (
    TEST_FAILURE_RATE,
    COVERAGE_DROP,
    CRITICAL_VULNERABILITIES,
    COMPLIANCE_VIOLATION,
    DRIFT_DETECTED,
    P95_REGRESSION,
)

NOT_EXECUTED = frozenset({"skipped", "xfailed"})
FAILED = frozenset({"failed", "error"})
MEASURED = frozenset({Status.PASS.value, Status.WARN.value, Status.FAIL.value})


@dataclass(frozen=True)
class RuleEvaluation:
    """One rule on one subject in one DAG run."""

    rule: str
    subject: str
    firing: bool
    message: str
    observed: float | None
    threshold: float | None
    comparator: str = ">"
    #: ids of what was measured, recorded on the alert's suite run (the page links them)
    target: str | None = None
    dataset: str | None = None
    commit_sha: str | None = None
    branch: str | None = None

    @property
    def name(self) -> str:
        return f"{self.rule}:{self.subject}"[:500]


def _ev(
    rule: str, subject: str, firing: bool, message: str, observed, threshold, comparator=">", **ids
) -> RuleEvaluation:
    return RuleEvaluation(
        rule,
        subject,
        bool(firing),
        message,
        None if observed is None else float(observed),
        None if threshold is None else float(threshold),
        comparator,
        **ids,
    )


def _ids(row: Any) -> dict[str, Any]:
    return {"target": row.target, "commit_sha": row.commit_sha, "branch": row.branch}


def evaluate_standing_rules(
    rows: Sequence[Any],
    rules: AlertRulesConfig,
    *,
    flaky: Mapping[str, set[tuple[str, str]]] | None = None,
) -> list[RuleEvaluation]:
    """Evaluate every standing rule on the suite runs one DAG run recorded (``SuiteRun`` rows, newest try of
    each, with checks, metrics and test cases loaded). ``flaky``: per target, the (suite, node id) of its flaky
    tests (:func:`assay.alerts.flaky.flaky_node_ids`), left out of the failure rate."""
    flaky = flaky or {}
    rows = [r for r in rows if r.kind != ALERT_KIND]
    out: list[RuleEvaluation] = []
    out += _failure_rate(rows, rules.test_failure_rate_max, flaky)
    out += _coverage_drop(rows)
    out += _critical_vulnerabilities(rows)
    out += _compliance(rows)
    out += _drift(rows)
    out += _p95(rows)
    return out


def _failure_rate(rows, threshold: float, flaky) -> list[RuleEvaluation]:
    per_target: dict[str, list[Any]] = {}
    for r in rows:
        if r.kind == "pytest" and r.target and (r.test_cases or (r.summary or {}).get("counts")):
            per_target.setdefault(r.target, []).append(r)
    out = []
    for target, runs in sorted(per_target.items()):
        skip = flaky.get(target, set())
        executed = bad = left_out = 0
        for r in runs:
            if not r.test_cases:  # a suite that recorded counts only (no test cases): nothing to leave out
                c = r.summary["counts"]
                executed += c.get("total", 0) - c.get("skipped", 0) - c.get("xfailed", 0)
                bad += c.get("failed", 0) + c.get("error", 0)
            for t in r.test_cases:
                if (r.name, t.node_id) in skip:
                    left_out += 1
                    continue
                if t.outcome in NOT_EXECUTED:
                    continue
                executed += 1
                bad += t.outcome in FAILED
        if not executed:
            continue
        rate = bad / executed
        note = f"; {left_out} flaky test(s) left out" if left_out else ""
        out.append(
            _ev(
                TEST_FAILURE_RATE,
                target,
                rate > threshold,
                f"{bad}/{executed} executed tests failed ({rate:.1%}, alert above {threshold:.0%}){note}",
                round(rate, 4),
                threshold,
                **_ids(runs[0]),
            )
        )
    return out


def _coverage_drop(rows) -> list[RuleEvaluation]:
    out = []
    for r in rows:
        if r.kind != "gate" or not r.target:
            continue
        c = next((c for c in r.checks if c.name == "alert:coverage_drop"), None)
        if c is None or c.status not in MEASURED:
            continue
        subject = f"{r.target}@{r.branch}" if r.branch else r.target
        msg = f"coverage dropped {_fmt(c.observed)} points (alert above {_fmt(c.threshold)}): {c.message}"
        out.append(_ev(COVERAGE_DROP, subject, c.status == "FAIL", msg, c.observed, c.threshold, **_ids(r)))
    return out


def _critical_count(row, metric: str) -> float | None:
    return next(
        (m.value for m in row.metrics if m.name == metric and (m.labels or {}).get("severity") == "CRITICAL"), None
    )


def _critical_vulnerabilities(rows) -> list[RuleEvaluation]:
    out = []
    posture = {r.target: r for r in rows if r.kind == "security_posture" and r.target}
    scans: dict[str, list[Any]] = {}
    for r in rows:
        if r.kind == "security" and r.target and r.status in MEASURED:
            scans.setdefault(r.target, []).append(r)
    for target in sorted(set(posture) | set(scans)):
        p = posture.get(target)
        observed = _critical_count(p, "security.posture.open") if p is not None else None
        where = "security posture"
        if observed is None or (p is not None and p.status == Status.ERROR.value and not observed):
            counts = [
                v
                for v in (_critical_count(r, "security.findings_open") for r in scans.get(target, []))
                if v is not None
            ]
            if not counts:
                continue  # nothing was measured: unknown, not clean
            observed, where = max(counts), "scanners"
        row = p if p is not None else scans[target][0]
        out.append(
            _ev(
                CRITICAL_VULNERABILITIES,
                target,
                observed > 0,
                f"{observed:g} open CRITICAL finding(s) ({where}; alert above 0)",
                observed,
                0,
                **_ids(row),
            )
        )
    return out


def _compliance(rows) -> list[RuleEvaluation]:
    out = []
    for r in rows:
        if r.kind != "compliance":
            continue
        c = next((c for c in r.checks if c.name == "alert:compliance_violation"), None)
        if c is None or c.status not in MEASURED:
            continue
        out.append(_ev(COMPLIANCE_VIOLATION, r.name, c.status == "FAIL", c.message or "", c.observed, 0, **_ids(r)))
    return out


def _drift(rows) -> list[RuleEvaluation]:
    out = []
    for r in rows:
        if r.kind != "drift" or r.name != "data_drift" or not r.dataset or r.status not in MEASURED:
            continue
        failed = [c.name for c in r.checks if c.status == "FAIL" and c.severity == "error"]
        out.append(
            _ev(
                DRIFT_DETECTED,
                r.dataset,
                r.status == "FAIL",
                f"{len(failed)} drift check(s) failed"
                + (f" ({', '.join(failed[:5])}{', …' if len(failed) > 5 else ''})" if failed else "")
                + f": {r.message or ''}",
                len(failed),
                0,
                dataset=r.dataset,
            )
        )
    return out


def _p95(rows) -> list[RuleEvaluation]:
    out = []
    for r in rows:
        if r.kind != "performance" or r.name != "load_test" or not r.target:
            continue
        checks = [c for c in r.checks if c.name.startswith("load.regression_p95") and c.status in MEASURED]
        if not checks:
            continue  # no baseline, or the run produced no p95: nothing to judge
        worst = max(checks, key=lambda c: (c.status == "FAIL", c.observed if c.observed is not None else -1e9))
        failing = [c for c in checks if c.status == "FAIL"]
        out.append(
            _ev(
                P95_REGRESSION,
                r.target,
                bool(failing),
                (f"{len(failing)} endpoint(s) regressed: " if failing else "no p95 regression: ")
                + f"{worst.name}: {worst.message or ''}",
                worst.observed,
                worst.threshold,
                **_ids(r),
            )
        )
    return out


# -- state ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    evaluation: RuleEvaluation
    #: fired (starts firing), firing (still), resolved (stops), ok (still not firing)
    kind: str
    already_notified: bool = False
    #: when the rule started firing (for a resolution: how long it fired)
    since: datetime | None = None

    @property
    def notifies(self) -> bool:
        return self.kind in ("fired", "resolved") and not self.already_notified


def transition(evaluation: RuleEvaluation, previous_firing: bool) -> str:
    if evaluation.firing:
        return "firing" if previous_firing else "fired"
    return "resolved" if previous_firing else "ok"


def _aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def plan_transitions(
    store: Any, evaluations: Sequence[RuleEvaluation], *, dag_id: str, run_id: str, now: datetime | None = None
) -> list[Transition]:
    """Each evaluation against its rule's state before this DAG run (the newest ``alert`` row of its name from
    another run). A retry of this run computes the same transitions, and one already notified by an earlier
    try of this run (its row says ``notified``) is not notified again."""
    names = sorted({e.name for e in evaluations})
    rows = _alert_rows(store, names)
    out = []
    for e in evaluations:
        mine = [r for r in rows.get(e.name, []) if (r.dag_id, r.run_id) == (dag_id, run_id)]
        before = [r for r in rows.get(e.name, []) if (r.dag_id, r.run_id) != (dag_id, run_id)]
        prev = before[0] if before else None
        prev_firing = prev is not None and prev.status == Status.FAIL.value
        kind = transition(e, prev_firing)
        notified = any((r.summary or {}).get("notified") and (r.summary or {}).get("transition") == kind for r in mine)
        since = None
        if kind in ("firing", "resolved") and prev is not None:
            since = _aware(datetime.fromisoformat(prev.summary["since"])) if (prev.summary or {}).get("since") else None
        if kind == "fired":  # an earlier try of this run already started it: keep its time
            earlier = [r.summary["since"] for r in mine if (r.summary or {}).get("since")]
            since = _aware(datetime.fromisoformat(min(earlier))) if earlier else (now or datetime.now(UTC))
        out.append(Transition(e, kind, notified, since))
    return out


def _alert_rows(store: Any, names: Sequence[str]) -> dict[str, list[SuiteRun]]:
    """Alert rows of ``names``, newest first per name."""

    def read() -> dict[str, list[SuiteRun]]:
        out: dict[str, list[SuiteRun]] = {}
        with Session(store.engine, expire_on_commit=False) as s:
            for i in range(0, len(names), 200):
                q = (
                    select(SuiteRun)
                    .where(SuiteRun.kind == ALERT_KIND, SuiteRun.name.in_(names[i : i + 200]))
                    .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                )
                for r in s.scalars(q):
                    out.setdefault(r.name, []).append(r)
        return out

    return store.read("alert_rows", read) if names else {}


def alert_record(t: Transition, key: RunKey, *, notified: bool, at: datetime | None = None) -> SuiteRunRecord:
    """The alert suite run recording ``t`` (its state after this DAG run)."""
    at = at or datetime.now(UTC)
    e = t.evaluation
    status = Status.FAIL if e.firing else Status.PASS
    return SuiteRunRecord(
        key=key,
        kind=ALERT_KIND,
        name=e.name,
        status=status,
        started_at=at,
        finished_at=at,
        target=e.target,
        dataset=e.dataset,
        commit_sha=e.commit_sha,
        branch=e.branch,
        message=f"{t.kind}: {e.message}",
        summary={
            "rule": e.rule,
            "subject": e.subject,
            "transition": t.kind,
            "firing": e.firing,
            "notified": notified,
            "since": t.since.isoformat() if (t.since and e.firing) else None,
            "observed": e.observed,
            "threshold": e.threshold,
            "comparator": e.comparator,
        },
        checks=(
            CheckRecord(
                f"alert:{e.rule}",
                status,
                observed=e.observed,
                threshold=e.threshold,
                comparator=e.comparator,
                severity="alert",
                message=e.message,
            ),
        ),
    )


@dataclass(frozen=True)
class AlertState:
    """The current state of one (rule, subject): its newest evaluation."""

    rule: str
    subject: str
    firing: bool
    since: datetime | None
    observed: float | None
    threshold: float | None
    message: str
    dag_id: str
    run_id: str
    evaluated_at: datetime


def current_alerts(store: Any, *, firing_only: bool = True) -> list[AlertState]:
    """Every (rule, subject)'s newest evaluation (only those firing, by default), newest first: what the page
    shows as the currently firing alert rules."""

    def read() -> list[AlertState]:
        from sqlalchemy import func

        newest = (
            select(SuiteRun.name, func.max(SuiteRun.finished_at).label("at"))
            .where(SuiteRun.kind == ALERT_KIND)
            .group_by(SuiteRun.name)
            .subquery()
        )
        q = (
            select(SuiteRun)
            .join(newest, (SuiteRun.name == newest.c.name) & (SuiteRun.finished_at == newest.c.at))
            .where(SuiteRun.kind == ALERT_KIND)
            .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
        )
        with Session(store.engine) as s:
            seen: dict[str, AlertState] = {}
            for r in s.scalars(q):
                if r.name in seen:
                    continue
                sm = r.summary or {}
                seen[r.name] = AlertState(
                    rule=sm.get("rule", r.name.split(":", 1)[0]),
                    subject=sm.get("subject", r.name.split(":", 1)[-1]),
                    firing=r.status == Status.FAIL.value,
                    since=_aware(datetime.fromisoformat(sm["since"])) if sm.get("since") else None,
                    observed=sm.get("observed"),
                    threshold=sm.get("threshold"),
                    message=r.message or "",
                    dag_id=r.dag_id,
                    run_id=r.run_id,
                    evaluated_at=_aware(r.finished_at),
                )
        return [a for a in seen.values() if a.firing or not firing_only]

    return store.read("current_alerts", read)


# -- the message ---------------------------------------------------------------------------------------

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


@dataclass(frozen=True)
class RuleAlert:
    """The notification of one rule's transition (fired or resolved) on one subject. It renders as the
    failure alert does (``subject``, ``slack_text()``, ``email_html()``), so the same channels send it."""

    rule: str
    subject_name: str
    kind: str
    observed: str
    threshold: str
    comparator: str
    message: str
    dag_id: str
    run_id: str
    run_url: str
    since: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, t: Transition, *, dag_id: str, run_id: str, run_url: str) -> RuleAlert:
        e = t.evaluation
        return cls(
            rule=e.rule,
            subject_name=strip_url_credentials(e.subject),
            kind=t.kind,
            observed=_fmt(e.observed),
            threshold=_fmt(e.threshold),
            comparator=e.comparator,
            message=redact(e.message),
            dag_id=dag_id,
            run_id=run_id,
            run_url=strip_url_credentials(run_url),
            since=t.since.strftime("%Y-%m-%d %H:%M UTC") if t.since else None,
        )

    @property
    def failed(self) -> bool:
        return self.kind == "fired"

    @property
    def subject(self) -> str:
        word = "FIRING" if self.kind == "fired" else "RESOLVED"
        return (
            f"[Assay] {word} {self.rule} on {self.subject_name}: observed {self.observed} "
            f"(alert when {self.comparator} {self.threshold})"
        )

    def slack_text(self) -> str:
        return strip_url_credentials(_env.get_template("rule.slack.txt").render(a=self))

    def email_html(self) -> str:
        return strip_url_credentials(_env.get_template("rule.email.html").render(a=self))


def notifying(transitions: Iterable[Transition]) -> list[Transition]:
    return [t for t in transitions if t.notifies]
