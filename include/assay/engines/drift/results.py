"""Drift results: one per (column, test), one per dataset; as CheckRecords, MetricRecords and JSON-safe dicts.

Record names (stable, the dashboard reads them):

* check ``drift:<column>:<test>`` (``prediction_drift:...`` for the prediction column); a column-level
  error (missing column, wrong type, no values) is ``drift:<column>``. PASS, WARN, FAIL (= drift), ERROR;
  WARN also when the sample is too small for the test to decide (``untested``).
* checks ``drift:<column>:missing_share`` (every column present on both sides: the change of its share of
  missing or non-finite values) and ``drift:<column>:unseen_share`` (categorical columns: the share of
  current values in categories the reference never had); comparator ``<=`` the threshold.
* check ``dataset_drift``: observed share of drifted feature columns among those evaluated, FAIL when it
  is ``>=`` the threshold (Evidently's rule; the check's comparator ``<`` states what passes).
* metrics ``drift_statistic`` and ``drift_p_value`` (labels column, test, role), ``drift_share``
  (ratio) and ``drifted_columns`` (labels evaluated).

Which checks decide the verdict: a column's drift FAIL is severity ``warning`` (it is reported; the
dataset verdict comes from the share), unless the column is ``critical`` or is the prediction column;
ERROR checks, "too few rows to test" WARNs and the missing/unseen share checks always count.
``DatasetDriftResult.status`` (an :class:`assay.results.Result`) is the worst of the deciding checks.

The dataset verdict never rests on columns that could not be evaluated (ERROR) or tested (too few
rows): it is given only when it would be the same whether those columns drifted or not; otherwise the
``dataset_drift`` check is ERROR (or WARN when the unknown columns were only too small to test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from assay.engines.drift.config import P_VALUE_TESTS, SHARE_CHECKS
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord

FEATURE = "feature"
PREDICTION = "prediction"
DECIDING = "error"
INFORMING = "warning"


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class ColumnDriftResult:
    """One test on one column (or a column-level error, with ``test`` None)."""

    column: str
    test: str | None
    status: Status
    drifted: bool
    message: str
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    warn_threshold: float | None = None
    kind: str | None = None
    auto: bool = False
    role: str = FEATURE
    critical: bool = False
    n_reference: int = 0
    n_current: int = 0
    missing_reference: int = 0
    missing_current: int = 0
    untested: bool = False

    @property
    def is_share_check(self) -> bool:
        return self.test in SHARE_CHECKS

    @property
    def check_name(self) -> str:
        prefix = "prediction_drift" if self.role == PREDICTION else "drift"
        return f"{prefix}:{self.column}" + (f":{self.test}" if self.test else "")

    @property
    def deciding(self) -> bool:
        return (
            self.status is Status.ERROR
            or self.untested
            or self.is_share_check
            or self.critical
            or self.role == PREDICTION
        )

    def check_record(self) -> CheckRecord:
        p_test = self.test in P_VALUE_TESTS
        observed = self.p_value if p_test else self.statistic
        comparator = None if self.test is None else ">=" if p_test else "<=" if self.is_share_check else "<"
        return CheckRecord(
            name=self.check_name,
            status=self.status,
            observed=_num(observed),
            threshold=self.threshold,
            comparator=comparator,
            severity=DECIDING if self.deciding else INFORMING,
            message=self.message,
        )

    def metric_records(self) -> list[MetricRecord]:
        labels = {"column": self.column, "test": self.test, "role": self.role}
        out = []
        if _num(self.statistic) is not None:
            out.append(MetricRecord("drift_statistic", float(self.statistic), None, dict(labels)))
        if _num(self.p_value) is not None:
            out.append(MetricRecord("drift_p_value", float(self.p_value), None, dict(labels)))
        return out

    def describe_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "test": self.test,
            "status": self.status.value,
            "drifted": self.drifted,
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "threshold": self.threshold,
            "warn_threshold": self.warn_threshold,
            "kind": self.kind,
            "auto": self.auto,
            "role": self.role,
            "critical": self.critical,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "missing_reference": self.missing_reference,
            "missing_current": self.missing_current,
            "untested": self.untested,
            "message": self.message,
        }


@dataclass(kw_only=True)
class DatasetDriftResult(Result):
    """The whole comparison (suite ``data_drift``): per-column results, the dataset verdict, and a
    dataset-level error if any. Its checks (the dataset check, then every column's), metrics and summary
    are derived from them."""

    name: str = "data_drift"
    kind: str = "drift"
    dataset_status: Status
    drift_share_threshold: float
    columns: tuple[ColumnDriftResult, ...] = ()
    predictions: tuple[ColumnDriftResult, ...] = ()
    #: the missing-share and unseen-share checks of feature and prediction columns (``role`` tells which)
    share_checks: tuple[ColumnDriftResult, ...] = ()
    n_columns: int = 0
    n_drifted: int = 0
    n_unknown: int = 0
    share_drifted: float | None = None
    dataset_drift: bool = False
    rows_reference: int = 0
    rows_current: int = 0
    reference_label: str = ""
    current_label: str = ""
    skipped_columns: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    checks: list[CheckRecord] = field(init=False)
    metrics: list[MetricRecord] = field(init=False)
    summary: dict[str, Any] = field(init=False)

    @property
    def drifted_columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in (*self.columns, *self.share_checks):
            if r.drifted and r.role == FEATURE:
                seen[r.column] = None
        return list(seen)

    @property
    def prediction_drift(self) -> bool:
        return any(r.drifted for r in (*self.predictions, *self.share_checks) if r.role == PREDICTION)

    def dataset_check(self) -> CheckRecord:
        return CheckRecord(
            name="dataset_drift",
            status=self.dataset_status,
            observed=_num(self.share_drifted),
            threshold=self.drift_share_threshold,
            comparator="<",
            severity=DECIDING,
            message=self.message if self.error else self._dataset_message(),
        )

    def _dataset_message(self) -> str:
        if self.dataset_status is Status.SKIP:
            return "no feature columns to compare (only the prediction column was checked)"
        if self.share_drifted is None:
            return (
                f"no feature column could be {'evaluated' if self.dataset_status is Status.ERROR else 'tested'}; "
                "see the column checks"
            )
        names = ", ".join(self.drifted_columns[:10]) + (", …" if len(self.drifted_columns) > 10 else "")
        counts = (
            f"{self.n_drifted} of {self.n_columns} columns drifted (share {self.share_drifted:.3f}, "
            f"drift when >= {self.drift_share_threshold})" + (f": {names}" if names else "")
        )
        if not self.n_unknown:
            return f"{'dataset drift' if self.dataset_drift else 'no dataset drift'}: {counts}"
        unknown = f"{self.n_unknown} column(s) could not be evaluated or tested"
        if self.dataset_status in (Status.PASS, Status.FAIL):
            verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
            return f"{verdict}: {counts}; {unknown}, and the verdict holds whatever they show"
        return f"dataset drift undetermined: {counts}; {unknown}, and they could change the verdict"

    @property
    def all_results(self) -> tuple[ColumnDriftResult, ...]:
        """Every column-level result: prediction tests, feature tests, then the share checks."""
        return (*self.predictions, *self.columns, *self.share_checks)

    def derive(self) -> None:
        self.checks = [self.dataset_check()] + [r.check_record() for r in self.all_results]
        metrics: list[MetricRecord] = []
        if self.share_drifted is not None:
            metrics.append(MetricRecord("drift_share", self.share_drifted, "ratio"))
            metrics.append(
                MetricRecord("drifted_columns", float(self.n_drifted), "columns", {"evaluated": self.n_columns})
            )
        for r in self.all_results:
            metrics.extend(r.metric_records())
        self.metrics = metrics
        statuses = [r.status for r in self.all_results]
        self.summary = {
            "dataset_status": Status(self.dataset_status).value,
            "dataset_drift": self.dataset_drift,
            "share_drifted": _num(self.share_drifted),
            "drift_share_threshold": self.drift_share_threshold,
            "n_columns": self.n_columns,
            "n_drifted": self.n_drifted,
            "n_unknown": self.n_unknown,
            "drifted_columns": self.drifted_columns,
            "prediction_drift": self.prediction_drift,
            "rows_reference": self.rows_reference,
            "rows_current": self.rows_current,
            "reference": self.reference_label,
            "current": self.current_label,
            "skipped_columns": dict(self.skipped_columns),
            "error": self.error,
            "counts": {
                "evaluated": len(statuses),
                "successful": sum(s is Status.PASS for s in statuses),
                "unsuccessful": sum(s is not Status.PASS for s in statuses),
            },
            "predictions": [r.describe_dict() for r in self.predictions],
            "columns": [r.describe_dict() for r in self.columns],
            "share_checks": [r.describe_dict() for r in self.share_checks],
        }


def dataset_verdict(
    drifted: int, clean: int, unknown: int, errors: bool, drift_share: float
) -> tuple[Status, bool, float | None]:
    """(status, dataset drift, observed share) from the counts of feature columns that drifted, that were
    evaluated without drift, and that could not be evaluated or tested (``errors``: some of those are ERRORs).

    The share is over the evaluated columns; the verdict is given only if it is the same at both ends of
    what the unknown columns could do (none of them drifted / all of them drifted).
    """
    unknown_status = Status.ERROR if errors else Status.WARN
    if drifted + clean == 0:
        return unknown_status, False, None
    share = drifted / (drifted + clean)
    total = drifted + clean + unknown
    low, high = drifted / total, (drifted + unknown) / total
    if low >= drift_share:
        return Status.FAIL, True, share
    if high < drift_share:
        return Status.PASS, False, share
    return unknown_status, False, share


def overall_status(dataset_status: Status, results: list[ColumnDriftResult]) -> Status:
    """The worst of the dataset check and the deciding column checks (SKIP alone stays SKIP)."""
    return worst([dataset_status, *(r.status for r in results if r.deciding)])
