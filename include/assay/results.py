"""The one result model: what every engine returns, what goes to XCom and what the metrics store records.

A :class:`Result` is one run of one suite (a pytest suite, a drift check, a load test, a chaos experiment...):

* ``name`` and ``kind``: the suite run's name and kind in the store (``data_drift`` / ``drift``);
* ``status`` (:class:`~assay.status.Status`) and ``message``: the verdict and its one-line reason, never empty
  (a producer that gives none gets a summary of its checks);
* ``started_at`` / ``finished_at``: when the engine ran;
* ``checks``, ``metrics``, ``findings``, ``test_cases``, ``evidence``: the store's own records
  (:mod:`assay.store.records`), built by the engine directly, never mirrored (``evidence``: what a compliance
  audit collected, each row linked to the finding it supports; empty for every other engine);
* ``summary``: the engine's JSON-safe detail (counts, artefact paths, per-column figures...). It never repeats
  what the fields above already hold; it is the suite run's ``summary`` column and goes to XCom under
  ``describe_dict()["summary"]``.

An engine returns a ``Result`` or a subclass of it. A subclass keeps typed conveniences of its own (the load
test's parsed stats, the drift columns) and may derive fields from them in :meth:`Result.derive` (declare
such fields ``field(init=False)``): they are derived when the result is built, when it is copied with
``dataclasses.replace`` and when :meth:`Result.add_checks` adds checks after the run (e.g. against a baseline
the caller read). Change a result after it is built only in those ways, or by assigning a field nothing is
derived from.

:func:`suite_run_record` turns a result, the task try's run key and the ids of what was tested into the
:class:`~assay.store.records.SuiteRunRecord` the store writes; :func:`error_result` is the ERROR result of
an :class:`~assay.errors.AssayError` raised before an engine could return one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from assay.errors import AssayError
from assay.status import Status, worst
from assay.store.records import (
    CheckRecord,
    DeletionRecord,
    EvidenceRecord,
    FindingRecord,
    MetricRecord,
    RunKey,
    SuiteRunRecord,
    TestCaseRecord,
)

__all__ = ["Result", "check_counts", "checks_reason", "error_result", "json_safe", "suite_run_record"]


@dataclass(kw_only=True)
class Result:
    """One suite run as an engine reports it (see the module docstring)."""

    name: str
    kind: str
    status: Status
    message: str
    started_at: datetime
    finished_at: datetime
    checks: list[CheckRecord] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)
    findings: list[FindingRecord] = field(default_factory=list)
    test_cases: list[TestCaseRecord] = field(default_factory=list)
    evidence: list[EvidenceRecord] = field(default_factory=list)
    deletions: list[DeletionRecord] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._settle()

    def derive(self) -> None:
        """Set the fields a subclass derives from its own (status from its checks, summary...); the base
        result derives nothing."""

    def _settle(self) -> None:
        self.derive()
        self.status = Status(self.status)
        self.checks = list(self.checks)
        self.metrics = list(self.metrics)
        self.findings = list(self.findings)
        self.test_cases = list(self.test_cases)
        self.evidence = list(self.evidence)
        self.deletions = list(self.deletions)
        self.summary = json_safe(dict(self.summary))
        self.message = (self.message or "").strip() or checks_reason(self.status, self.checks)

    def add_checks(self, checks: Iterable[CheckRecord], metrics: Iterable[MetricRecord] = ()) -> None:
        """Add checks (and metrics) judged after the run, e.g. against a baseline the caller read: the status
        becomes the worst of the old one and theirs, and derived fields are derived again."""
        checks = list(checks)
        self.checks += checks
        self.metrics += list(metrics)
        self.status = worst([self.status, *(c.status for c in checks)])
        self._settle()

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def check(self, name: str) -> CheckRecord | None:
        """The check called ``name`` (None when there is none)."""
        return next((c for c in self.checks if c.name == name), None)

    def metric(self, name: str, **labels: Any) -> float | None:
        """The value of metric ``name`` whose labels include ``labels`` (None when absent)."""
        for m in self.metrics:
            if m.name == name and all(m.labels.get(k) == v for k, v in labels.items()):
                return m.value
        return None

    def describe_dict(self) -> dict[str, Any]:
        """The JSON-safe summary pushed to XCom: the same shape for every engine, its detail under ``summary``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "message": self.message,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "check_counts": check_counts(self.checks),
            "records": {
                "checks": len(self.checks),
                "metrics": len(self.metrics),
                "findings": len(self.findings),
                "test_cases": len(self.test_cases),
            }
            | ({"evidence": len(self.evidence)} if self.evidence else {})
            | ({"deletions": len(self.deletions)} if self.deletions else {}),
            "summary": self.summary,
        }


def suite_run_record(
    result: Result,
    key: RunKey,
    *,
    started_at: datetime | None = None,
    target: str | None = None,
    commit_sha: str | None = None,
    branch: str | None = None,
    model_version: str | None = None,
    dataset: str | None = None,
) -> SuiteRunRecord:
    """The suite run the store writes for ``result`` in the task try ``key``, with the ids of what was tested.

    ``started_at`` replaces the result's start when the suite run began before the engine did (the task
    started a service or read a baseline for it first)."""
    return SuiteRunRecord(
        key=key,
        kind=result.kind,
        name=result.name,
        status=Status(result.status).value,
        started_at=started_at or result.started_at,
        finished_at=result.finished_at,
        target=target,
        commit_sha=commit_sha,
        branch=branch,
        model_version=model_version,
        dataset=dataset,
        message=result.message,
        summary=dict(result.summary),
        test_cases=tuple(result.test_cases),
        checks=tuple(result.checks),
        metrics=tuple(result.metrics),
        findings=tuple(result.findings),
        evidence=tuple(result.evidence),
        deletions=tuple(result.deletions),
    )


def error_result(
    error: AssayError, *, kind: str, name: str, started_at: datetime, summary: Mapping[str, Any] | None = None
) -> Result:
    """The ERROR result of suite ``name`` when ``error`` stopped it before its engine returned a result: the
    error's message is the reason (never empty), and the summary says which error and whether a retry may help."""
    return Result(
        name=name,
        kind=kind,
        status=Status.ERROR,
        message=str(error).strip() or type(error).__name__,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        summary=dict(summary or {}) | {"error": type(error).__name__, "retryable": error.retryable},
    )


def check_counts(checks: Sequence[CheckRecord]) -> dict[str, int]:
    """``evaluated`` (every check not SKIP), ``successful`` (PASS) and ``unsuccessful`` (the rest of them)."""
    judged = [c for c in checks if c.status != Status.SKIP.value]
    ok = sum(1 for c in judged if c.status == Status.PASS.value)
    return {"evaluated": len(judged), "successful": ok, "unsuccessful": len(judged) - ok}


def checks_reason(status: Status, checks: Sequence[CheckRecord]) -> str:
    """A one-line reason from the checks, for a result whose engine gave no message: the checks that did
    not pass (the worst first, up to five), then ``k/n checks passed``."""
    if not checks:
        return f"{Status(status).value}: no check was evaluated"
    bad = [c for c in checks if c.status not in (Status.PASS.value, Status.SKIP.value)]
    head = f"{len(checks) - len(bad)}/{len(checks)} checks passed"
    bad.sort(key=lambda c: -Status(c.status).severity)  # the reason leads: the worst checks first
    reasons = [f"{c.name} {c.status}" + (f": {c.message}" if c.message else "") for c in bad[:5]]
    return "; ".join([*reasons, head])


def json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN and infinities to None, tuples and sets to lists, dates
    to ISO strings, anything else unknown to its ``str``. The store's JSON column and XCom take the result."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # numpy scalars and arrays, unimported
        value = value.tolist()
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return str(value)  # a str enum (Status) as its plain value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date) or hasattr(value, "isoformat"):  # pandas' Timestamp too
        return value.isoformat()
    return str(value)
