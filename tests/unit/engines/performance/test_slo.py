"""The load test's SLO gates on parsed stats."""

from __future__ import annotations

import pytest

from assay.engines.performance.config import DEMO_INFERENCE_SLO, SloConfig
from assay.engines.performance.locust_stats import EndpointStats, LoadTestStats
from assay.engines.performance.slo import evaluate_slo


def _stats(*, requests: int, failures: int, latency_ms: int, per_second: int = 20) -> LoadTestStats:
    seconds = {s: per_second for s in range(1000, 1010)}
    entry = EndpointStats(
        "/models/predict",
        "POST",
        requests=requests,
        failures=failures,
        histogram={latency_ms: requests} if requests else {},
        total_response_ms=latency_ms * requests,
        max_ms=latency_ms,
        first_ts=1000.0,
        last_ts=1010.0,
        requests_per_second=seconds,
        failures_per_second={},
    )
    return LoadTestStats((entry,) if requests else ())


def _by_name(checks):
    return {c.name: c for c in checks}


def test_healthy_run_passes_every_gate():
    checks = _by_name(evaluate_slo(_stats(requests=200, failures=0, latency_ms=30), DEMO_INFERENCE_SLO, ramp_up_s=2))
    assert {n: c.status for n, c in checks.items()} == {
        "load.requests_completed": "PASS",
        "load.error_rate": "PASS",
        "load.p95_ms": "PASS",
        "load.throughput_rps": "PASS",
    }
    assert checks["load.p95_ms"].observed == 30
    assert checks["load.throughput_rps"].observed == 20.0
    assert "steady-state" in checks["load.throughput_rps"].message


@pytest.mark.parametrize(("latency", "status"), [(99, "PASS"), (100, "FAIL"), (250, "FAIL")])
def test_p95_must_be_strictly_below_the_limit(latency, status):
    checks = _by_name(
        evaluate_slo(_stats(requests=200, failures=0, latency_ms=latency), DEMO_INFERENCE_SLO, ramp_up_s=2)
    )
    assert checks["load.p95_ms"].status == status
    assert checks["load.p95_ms"].threshold == 100


def test_error_rate_of_one_in_a_thousand_fails_the_production_limit():
    slo = SloConfig(p95_max_ms=100, error_rate_max=0.001, throughput_min_rps=0)
    assert (
        _by_name(evaluate_slo(_stats(requests=2000, failures=1, latency_ms=5), slo, ramp_up_s=0))[
            "load.error_rate"
        ].status
        == "PASS"
    )
    failed = _by_name(evaluate_slo(_stats(requests=1000, failures=1, latency_ms=5), slo, ramp_up_s=0))
    assert failed["load.error_rate"].status == "FAIL" and failed["load.error_rate"].observed == 0.001


def test_throughput_below_the_floor_fails():
    checks = _by_name(
        evaluate_slo(_stats(requests=100, failures=0, latency_ms=5, per_second=10), DEMO_INFERENCE_SLO, ramp_up_s=2)
    )
    assert checks["load.throughput_rps"].status == "FAIL"
    assert checks["load.throughput_rps"].observed == 10.0


def test_no_request_at_all_is_error_without_numbers():
    checks = evaluate_slo(_stats(requests=0, failures=0, latency_ms=0), DEMO_INFERENCE_SLO, ramp_up_s=2)
    assert [(c.name, c.status) for c in checks] == [("load.requests_completed", "ERROR")]


def test_all_requests_failed_is_error_and_no_latency_is_judged():
    checks = _by_name(evaluate_slo(_stats(requests=50, failures=50, latency_ms=1), DEMO_INFERENCE_SLO, ramp_up_s=2))
    assert checks["load.requests_completed"].status == "ERROR"
    assert checks["load.error_rate"].status == "FAIL"
    assert "load.p95_ms" not in checks and "load.throughput_rps" not in checks
