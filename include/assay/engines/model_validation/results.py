"""Result objects of a model validation: sections of checks and metrics, nested in one run result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord


@dataclass
class SectionResult:
    """The checks and metrics one section (quality, regression, ...) produced."""

    name: str
    checks: list[CheckRecord] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.checks)

    def check(self, name: str, status: Status | str, message: str, **kw: Any) -> CheckRecord:
        record = CheckRecord(f"{self.name}:{name}", status, message=message, **kw)
        self.checks.append(record)
        return record

    def error(self, name: str, message: str) -> CheckRecord:
        return self.check(name, Status.ERROR, message)

    def metric(self, name: str, value: float, unit: str | None = None, **labels: Any) -> None:
        """Record a number; an undefined (NaN/inf) one is not a measurement and is left out."""
        if math.isfinite(value):
            self.metrics.append(MetricRecord(f"{self.name}.{name}", float(value), unit, dict(labels)))

    def threshold(
        self,
        name: str,
        observed: float,
        threshold: float,
        comparator: str,
        what: str,
        *,
        fired: Status = Status.FAIL,
        severity: str = "error",
    ) -> CheckRecord:
        """A check that passes when ``observed <comparator> threshold`` (``>=`` or ``<=``)."""
        ok = observed >= threshold if comparator == ">=" else observed <= threshold
        status = Status.PASS if ok else fired
        verb = "meets" if ok else "breaks"
        return self.check(
            name,
            status,
            f"{what} {observed:.4g} {verb} {comparator} {threshold:g}",
            observed=float(observed),
            threshold=float(threshold),
            comparator=comparator,
            severity=severity,
        )

    def describe_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            **_counts(self.checks),
            "details": json_safe(self.details),
        }


def one_line(text: str | None) -> str:
    """``text`` with its line breaks and runs of blanks collapsed to single spaces."""
    return " ".join((text or "").split())


def json_safe(value: Any) -> Any:
    """Plain JSON types only: numpy scalars become Python numbers, NaN/inf None, tuples lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _counts(checks: Sequence[CheckRecord]) -> dict[str, int]:
    failed = [c for c in checks if c.status in (Status.FAIL.value, Status.ERROR.value, Status.WARN.value)]
    return {"evaluated": len(checks), "successful": len(checks) - len(failed), "unsuccessful": len(failed)}


@dataclass(kw_only=True)
class ModelValidationResult(Result):
    """One validation run (suite ``model_validation``) of version ``model_version`` of ``model``: its checks
    and metrics are its sections', its status the worst check (a run that evaluated nothing is ERROR), its
    message the reason it could not run, else a summary of its checks, on one line."""

    name: str = "model_validation"
    kind: str = "model_validation"
    model: str = ""
    model_version: str | None = None
    baseline_version: str | None = None
    dataset: str | None = None
    sections: list[SectionResult] = field(default_factory=list)
    reason: str = ""  # set when validation could not run (the model would not load, the data is unusable)
    status: Status = field(init=False)
    message: str = field(init=False)
    checks: list[CheckRecord] = field(init=False)
    metrics: list[MetricRecord] = field(init=False)
    summary: dict[str, Any] = field(init=False)

    def derive(self) -> None:
        self.checks = [c for s in self.sections for c in s.checks]
        self.metrics = [m for s in self.sections for m in s.metrics]
        self.status = worst(c.status for c in self.checks)
        self.message = one_line(self.reason) or self._checks_line()
        self.summary = {
            "model": self.model,
            "model_version": self.model_version,
            "baseline_version": self.baseline_version,
            "dataset": self.dataset,
            **_counts(self.checks),
            "sections": [s.describe_dict() for s in self.sections],
        }

    def section(self, name: str) -> SectionResult:
        return next(s for s in self.sections if s.name == name)

    def _checks_line(self) -> str:
        """The first five checks that did not pass (the worst first), then ``k/n checks passed``, on one line:
        the reason leads."""
        bad = [c for c in self.checks if c.status != Status.PASS.value and c.status != Status.SKIP.value]
        if not self.checks:
            return "no check was evaluated"
        head = f"{len(self.checks) - len(bad)}/{len(self.checks)} checks passed"
        if not bad:
            return head
        bad.sort(key=lambda c: -Status(c.status).severity)  # stable: ERROR, FAIL, then WARN in check order
        details = [f"{c.name} {c.status}: {one_line(c.message) or 'no message'}" for c in bad[:5]]
        more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
        return "; ".join(details) + more + f"; {head}"
