"""Regression of p95 and throughput against the nightly baseline."""

from __future__ import annotations

import pytest

from assay.engines.performance.config import RegressionConfig
from assay.engines.performance.regression import PerformanceFigures, evaluate_regression, figures_from_metrics
from assay.store.records import MetricRecord

MARGINS = RegressionConfig(warn_margin=0.10, fail_margin=0.25)
BASE = PerformanceFigures(p95_ms=50.0, rps=100.0)


def _statuses(current, baseline=BASE, config=MARGINS):
    return {c.name: c.status for c in evaluate_regression(current, baseline, config)}


@pytest.mark.parametrize(
    ("p95", "status"),
    [
        (40.0, "PASS"),  # better
        (55.0, "PASS"),  # exactly 10 % worse: not more than the margin
        (55.5, "WARN"),  # 11 % worse
        (62.5, "WARN"),  # exactly 25 %
        (63.0, "FAIL"),  # 26 %
    ],
)
def test_p95_margins(p95, status):
    assert _statuses(PerformanceFigures(p95_ms=p95, rps=100.0))["load.regression_p95"] == status


@pytest.mark.parametrize(
    ("rps", "status"), [(120.0, "PASS"), (90.0, "PASS"), (89.0, "WARN"), (75.0, "WARN"), (74.0, "FAIL")]
)
def test_throughput_margins(rps, status):
    assert _statuses(PerformanceFigures(p95_ms=50.0, rps=rps))["load.regression_throughput"] == status


def test_check_reports_relative_worsening_and_both_values():
    check = evaluate_regression(PerformanceFigures(70.0, 100.0), BASE, MARGINS, baseline_ref="run nightly-7")[0]
    assert check.observed == pytest.approx(0.4)
    assert check.threshold == 0.25
    assert "70.0 ms vs baseline 50.0 ms (run nightly-7)" in check.message and "40.0% worse" in check.message


def test_without_a_baseline_both_checks_skip():
    assert _statuses(PerformanceFigures(50.0, 100.0), baseline=None) == {
        "load.regression_p95": "SKIP",
        "load.regression_throughput": "SKIP",
    }


def test_baseline_without_a_value_skips_and_a_current_run_without_one_errors():
    statuses = _statuses(PerformanceFigures(p95_ms=None, rps=100.0), baseline=PerformanceFigures(None, 100.0))
    assert statuses["load.regression_p95"] == "SKIP"
    statuses = _statuses(PerformanceFigures(p95_ms=None, rps=None))
    assert statuses == {"load.regression_p95": "ERROR", "load.regression_throughput": "ERROR"}


def test_margins_must_be_ordered():
    with pytest.raises(ValueError, match="fail_margin"):
        RegressionConfig(warn_margin=0.3, fail_margin=0.2)


def test_figures_come_from_the_metrics_of_a_recorded_run():
    agg = {"endpoint": "Aggregated", "method": "ALL"}
    metrics = [
        MetricRecord("load.latency_p95_ms", 12.0, "ms", {"endpoint": "/health", "method": "GET"}),
        MetricRecord("load.latency_p95_ms", 42.0, "ms", agg),
        MetricRecord("load.latency_p95_ms", 45.0, "ms", {"group": "inference"}),  # group figures: not endpoints
        MetricRecord("load.client_p95_ms", 99.0, "ms", {"endpoint": "/models/predict"}),  # the comparison's
        MetricRecord("load.latency_p95_ms", 48.0, "ms", {"endpoint": "/models/predict", "method": "POST"}),
        MetricRecord("load.rps", 18.0, "req/s", agg),
        MetricRecord("load.throughput_steady_rps", 19.5, "req/s", agg | {"seconds": 7}),
    ]
    figures = figures_from_metrics(metrics)
    assert (figures.p95_ms, figures.rps) == (42.0, 19.5)
    assert figures.endpoints == {"GET /health": 12.0, "POST /models/predict": 48.0}
    assert figures_from_metrics(metrics[:6]).rps == 18.0


def test_latency_is_compared_per_endpoint_so_a_slower_prediction_is_not_hidden_by_health():
    """Pooled, the p95 is the health probe's and unchanged; per endpoint the prediction is 60 % slower."""
    baseline = PerformanceFigures(5.0, 100.0, {"POST /models/predict": 50.0, "GET /health": 5.0})
    current = PerformanceFigures(5.0, 100.0, {"POST /models/predict": 80.0, "GET /health": 5.0})
    checks = {c.name: c for c in evaluate_regression(current, baseline, MARGINS, baseline_ref="run n-1")}
    assert checks["load.regression_p95[POST /models/predict]"].status == "FAIL"
    assert (
        "POST /models/predict p95 latency 80.0 ms vs baseline 50.0 ms"
        in checks["load.regression_p95[POST /models/predict]"].message
    )
    assert checks["load.regression_p95[GET /health]"].status == "PASS"
    assert "load.regression_p95" not in checks and checks["load.regression_throughput"].status == "PASS"


def test_an_endpoint_new_since_the_baseline_skips():
    baseline = PerformanceFigures(5.0, 100.0, {"GET /health": 5.0})
    current = PerformanceFigures(5.0, 100.0, {"POST /models/predict": 80.0, "GET /health": 5.0})
    statuses = _statuses(current, baseline)
    assert statuses["load.regression_p95[POST /models/predict]"] == "SKIP"


def test_a_baseline_with_only_pooled_figures_is_still_read_and_says_so():
    old = figures_from_metrics([MetricRecord("load.latency_p95_ms", 40.0, "ms", {"endpoint": "Aggregated"})])
    assert old.endpoints == {} and old.p95_ms == 40.0
    current = PerformanceFigures(60.0, 100.0, {"POST /models/predict": 60.0})
    check = evaluate_regression(current, old, MARGINS)[0]
    assert check.name == "load.regression_p95" and check.status == "FAIL"
    assert "pooled over all endpoints" in check.message
