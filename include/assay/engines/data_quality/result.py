"""The result of validating one dataset against one suite: outcomes → checks, metrics, summary."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from assay.engines.data_quality.outcomes import ExpectationOutcome
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord

KIND = "data_quality"
_NAME_MAX = 200


@dataclass(kw_only=True)
class DataQualityResult(Result):
    """Every expectation's outcome for one (suite, dataset), named ``data_quality:<suite>`` (``golden:<name>``
    for a golden dataset). Status, message, checks, metrics and summary are derived from the outcomes.

    Counts are Assay's (after its status rules), so they agree with the checks: ``successful`` is
    PASS, ``unsuccessful`` is everything else, ``errored`` the ERROR part of it.
    """

    kind: str = KIND
    suite_name: str
    data_name: str
    outcomes: tuple[ExpectationOutcome, ...]
    row_count: int
    columns: tuple[str, ...] = ()
    suite_source: str = "<memory>"
    ge_version: str = ""
    ge_statistics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the validation as a whole could not run
    report_path: str | None = None
    status: Status = field(init=False)
    message: str = field(init=False)
    checks: list[CheckRecord] = field(init=False)
    metrics: list[MetricRecord] = field(init=False)
    summary: dict[str, Any] = field(init=False)

    def derive(self) -> None:
        self.status = Status.ERROR if self.error is not None else worst(o.status for o in self.outcomes)
        self.message = self._message()
        self.checks = self._checks()
        self.metrics = self._metrics()
        self.summary = {
            "suite": self.suite_name,
            "suite_source": self.suite_source,
            "dataset": self.data_name,
            "counts": self.counts,
            "row_count": self.row_count,
            "columns": list(self.columns),
            "ge_version": self.ge_version,
            "ge_statistics": self.ge_statistics,
            "error": self.error,
            "report_path": self.report_path,
        }

    @property
    def counts(self) -> dict[str, Any]:
        n = len(self.outcomes)
        by = {s: sum(1 for o in self.outcomes if o.status is s) for s in Status}
        return {
            "evaluated": n,
            "successful": by[Status.PASS],
            "unsuccessful": n - by[Status.PASS] - by[Status.SKIP],
            "failed": by[Status.FAIL],
            "warned": by[Status.WARN],
            "errored": by[Status.ERROR],
            "success_percent": round(100.0 * by[Status.PASS] / n, 4) if n else 0.0,
        }

    def _message(self) -> str:
        """The reason first (what failed, or why nothing could be checked), then which suite on which data."""
        where = f"suite {self.suite_name!r} on {self.data_name!r}, {self.row_count} rows"
        if self.error is not None:
            return f"{self.error} ({where})"
        c = self.counts
        if not self.outcomes:
            return f"no expectation was evaluated ({where})"
        if self.row_count == 0:
            return f"the dataset has no rows, so nothing could be checked ({where})"
        if c["unsuccessful"] == 0:
            return f"all {c['evaluated']} expectations passed ({where})"
        parts = [
            f"{c[k]} {label}"
            for k, label in (("failed", "failed"), ("errored", "errored"), ("warned", "warned"))
            if c[k]
        ]
        bad = [o for o in self.outcomes if o.status in (Status.FAIL, Status.ERROR)] or list(self.failures)
        first = "; ".join(f"{o.expectation_type}({o.column_label}): {_first_line(o.message)}" for o in bad[:3])
        more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
        return f"{', '.join(parts)} of {c['evaluated']} expectations: {first}{more} ({where})"

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status not in (Status.PASS, Status.SKIP))

    def check_names(self) -> list[str]:
        """Stable, unique check names: ``<type>:<column(s)>``, ``#2``... for repeats."""
        seen: dict[str, int] = {}
        names = []
        for o in self.outcomes:
            base = f"{o.expectation_type}:{o.column_label}"[: _NAME_MAX - 4]
            seen[base] = seen.get(base, 0) + 1
            names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
        return names

    def _checks(self) -> list[CheckRecord]:
        records = [o.check_record(n) for o, n in zip(self.outcomes, self.check_names(), strict=True)]
        if self.error is not None:
            records.append(CheckRecord("data_quality:validation", Status.ERROR, message=self.error))
        return records

    def _metrics(self) -> list[MetricRecord]:
        labels = {"suite": self.suite_name, "dataset": self.data_name}
        c = self.counts
        out = [
            MetricRecord(f"data_quality.{k}_expectations", float(c[k]), "count", dict(labels))
            for k in ("evaluated", "successful", "unsuccessful", "errored")
        ]
        out.append(MetricRecord("data_quality.success_percent", float(c["success_percent"]), "percent", dict(labels)))
        out.append(MetricRecord("data_quality.row_count", float(self.row_count), "rows", dict(labels)))
        out.append(MetricRecord("data_quality.duration_s", round(self.duration_s, 3), "s", dict(labels)))
        return out

    def with_outcomes(self, extra: tuple[ExpectationOutcome, ...], **changes: Any) -> DataQualityResult:
        return replace(self, outcomes=self.outcomes + tuple(extra), **changes)


def _first_line(text: str | None, limit: int = 160) -> str:
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "") or "no message"
    return line if len(line) <= limit else line[: limit - 1] + "…"
