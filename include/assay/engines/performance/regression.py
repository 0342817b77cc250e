"""Regression of a nightly run against the accepted baseline: p95 latency per endpoint, and throughput.

Worse means p95 higher or throughput lower, as a fraction of the baseline value. More than
``warn_margin`` worse is WARN, more than ``fail_margin`` worse is FAIL (both strict). Latency is compared
endpoint by endpoint (``load.regression_p95[POST /models/predict]``), never pooled, so a slower
prediction cannot hide behind a faster health probe. No baseline, or a baseline without a usable value
for an endpoint, is SKIP (nothing to compare with); a current run without the value is ERROR (the run
produced no figure to judge). A baseline recorded before per-endpoint figures existed (only the pooled
``Aggregated`` p95) is compared on the pooled figure, and the message says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assay.engines.performance.config import RegressionConfig
from assay.engines.performance.locust_stats import AGGREGATED
from assay.status import Status
from assay.store.records import CheckRecord

if TYPE_CHECKING:
    from assay.engines.performance.load_test import LoadTestResult

#: the load test's checks against its baseline (ERROR, all of them, when the baseline could not be read)
REGRESSION_CHECKS = ("load.regression_p95", "load.regression_throughput")
P95_METRIC = "load.latency_p95_ms"
THROUGHPUT_METRIC = "load.throughput_steady_rps"
RPS_METRIC = "load.rps"


@dataclass(frozen=True)
class PerformanceFigures:
    """What a nightly run is compared on: the pooled p95 and throughput, and p95 per endpoint
    (``"METHOD name"`` → ms). Any of them may be missing."""

    p95_ms: float | None
    rps: float | None
    endpoints: Mapping[str, float] = field(default_factory=dict)


def figures_from_metrics(metrics: Iterable[Any], *, endpoint: str = AGGREGATED) -> PerformanceFigures:
    """Pick p95 and throughput for ``endpoint`` (the pooled figures by default) and every endpoint's
    p95 out of recorded metrics (``MetricRecord`` or stored rows with ``name``/``value``/``labels``).
    Throughput is the steady-state rate, else the whole-run rate."""
    by_name: dict[str, float] = {}
    per_endpoint: dict[str, float] = {}
    for m in metrics:
        labels = m.labels or {}
        name = labels.get("endpoint")
        if name is None:
            continue
        if name == endpoint and m.name not in by_name:
            by_name[m.name] = float(m.value)
        if m.name == P95_METRIC and name != AGGREGATED and labels.get("method") is not None:
            per_endpoint.setdefault(f"{labels['method']} {name}".strip(), float(m.value))
    rps = by_name.get(THROUGHPUT_METRIC, by_name.get(RPS_METRIC))
    return PerformanceFigures(p95_ms=by_name.get(P95_METRIC), rps=rps, endpoints=per_endpoint)


def _relative_worsening(current: float, baseline: float, higher_is_worse: bool) -> float:
    change = (current - baseline) / baseline
    return change if higher_is_worse else -change


def _regression_check(
    name: str,
    what: str,
    unit: str,
    current: float | None,
    baseline: float | None,
    config: RegressionConfig,
    *,
    higher_is_worse: bool,
    baseline_ref: str,
    note: str = "",
) -> CheckRecord:
    if baseline is None or baseline <= 0:
        return CheckRecord(
            name,
            Status.SKIP,
            threshold=config.warn_margin,
            comparator="<=",
            message=f"baseline {baseline_ref} has no usable {what}; nothing to compare with",
        )
    if current is None:
        return CheckRecord(
            name,
            Status.ERROR,
            threshold=config.warn_margin,
            comparator="<=",
            message=f"this run produced no {what} to compare with the baseline",
        )
    worse = _relative_worsening(current, baseline, higher_is_worse)
    if worse > config.fail_margin:
        status, band = Status.FAIL, f"more than the {config.fail_margin:.0%} failure margin"
    elif worse > config.warn_margin:
        status, band = Status.WARN, f"more than the {config.warn_margin:.0%} warning margin"
    else:
        status, band = Status.PASS, f"within the {config.warn_margin:.0%} margin"
    direction = "worse" if worse > 0 else "better" if worse < 0 else "unchanged"
    return CheckRecord(
        name,
        status,
        observed=round(worse, 4),
        threshold=config.warn_margin if status is not Status.FAIL else config.fail_margin,
        comparator="<=",
        message=f"{what} {current:.1f} {unit} vs baseline {baseline:.1f} {unit} ({baseline_ref}): "
        f"{abs(worse):.1%} {direction}, {band}{note}",
    )


def evaluate_regression(
    current: PerformanceFigures,
    baseline: PerformanceFigures | None,
    config: RegressionConfig,
    *,
    baseline_ref: str = "accepted baseline",
) -> list[CheckRecord]:
    """``load.regression_p95[<METHOD name>]`` per endpoint of this run (or ``load.regression_p95`` on the
    pooled figure when either side has no per-endpoint figures) and ``load.regression_throughput``;
    observed is the relative worsening (0.12 = 12 % worse; negative = better)."""
    if baseline is None:
        msg = "no accepted baseline yet; accept a passing run (DAG assay_accept_baseline) to enable this check"
        return [
            CheckRecord("load.regression_p95", Status.SKIP, message=msg),
            CheckRecord("load.regression_throughput", Status.SKIP, message=msg),
        ]
    checks = []
    if current.endpoints and baseline.endpoints:
        for key, p95 in current.endpoints.items():
            checks.append(
                _regression_check(
                    f"load.regression_p95[{key}]",
                    f"{key} p95 latency",
                    "ms",
                    p95,
                    baseline.endpoints.get(key),
                    config,
                    higher_is_worse=True,
                    baseline_ref=baseline_ref,
                )
            )
    else:
        pooled = "" if not current.endpoints else " (pooled over all endpoints: the baseline has no per-endpoint p95)"
        checks.append(
            _regression_check(
                "load.regression_p95",
                "p95 latency",
                "ms",
                current.p95_ms,
                baseline.p95_ms,
                config,
                higher_is_worse=True,
                baseline_ref=baseline_ref,
                note=pooled,
            )
        )
    checks.append(
        _regression_check(
            "load.regression_throughput",
            "throughput",
            "req/s",
            current.rps,
            baseline.rps,
            config,
            higher_is_worse=False,
            baseline_ref=baseline_ref,
        )
    )
    return checks


def add_regression(
    result: LoadTestResult,
    baseline_metrics: Iterable[Any] | None,
    config: RegressionConfig,
    *,
    baseline_ref: str = "accepted baseline",
    unreadable: str | None = None,
) -> None:
    """Add the regression checks of a load test that produced numbers (a run without any is ERROR already):
    against ``baseline_metrics`` (the baseline run's recorded metrics; None when there is no baseline yet), or,
    when the baseline could not be read (``unreadable`` says why), an ERROR for each regression check."""
    if result.stats is None:
        return
    if unreadable is not None:
        result.add_checks(
            CheckRecord(name, Status.ERROR, message=f"baseline not read: {unreadable}") for name in REGRESSION_CHECKS
        )
        return
    baseline = figures_from_metrics(baseline_metrics) if baseline_metrics is not None else None
    result.add_checks(
        evaluate_regression(figures_from_metrics(result.metrics), baseline, config, baseline_ref=baseline_ref)
    )
