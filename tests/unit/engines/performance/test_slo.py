"""The load test's SLO gates on parsed stats: per request group and per endpoint, never pooled."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assay.engines.performance.config import INFERENCE_GROUP, RequestGroupSlo, SloConfig
from assay.engines.performance.locust_stats import EndpointStats, FailureRow, LoadTestStats
from assay.engines.performance.slo import evaluate_slo

# the demo's SLO (include/config/assay.yaml): the strategy's p95 and error limits, 19 requests/s
DEMO_INFERENCE_SLO = SloConfig(
    p95_max_ms=100, error_rate_max=0.001, throughput_min_rps=19, groups={"inference": INFERENCE_GROUP}
)


def _entry(name="/models/predict", method="POST", *, requests, failures=0, latency_ms, per_second=20):
    return EndpointStats(
        name,
        method,
        requests=requests,
        failures=failures,
        histogram={latency_ms: requests} if requests else {},
        total_response_ms=latency_ms * requests,
        max_ms=latency_ms,
        first_ts=1000.0,
        last_ts=1010.0,
        requests_per_second={s: per_second for s in range(1000, 1010)},
        failures_per_second={},
    )


def _stats(*, requests: int, failures: int, latency_ms: int, per_second: int = 20) -> LoadTestStats:
    entry = _entry(requests=requests, failures=failures, latency_ms=latency_ms, per_second=per_second)
    return LoadTestStats((entry,) if requests else ())


def _by_name(checks):
    return {c.name: c for c in checks}


def test_healthy_run_passes_every_gate():
    checks = _by_name(evaluate_slo(_stats(requests=200, failures=0, latency_ms=30), DEMO_INFERENCE_SLO, ramp_up_s=2))
    assert {n: c.status for n, c in checks.items()} == {
        "load.requests_completed": "PASS",
        "load.error_rate[inference]": "PASS",
        "load.p95_ms[inference]": "PASS",
        "load.throughput_rps": "PASS",
    }
    assert checks["load.p95_ms[inference]"].observed == 30
    assert "inference (POST /models/predict)" in checks["load.p95_ms[inference]"].message
    assert checks["load.throughput_rps"].observed == 20.0
    assert "steady-state" in checks["load.throughput_rps"].message


def test_a_slow_prediction_cannot_hide_behind_a_fast_health_check():
    """20 health probes at 5 ms for every prediction at 150 ms: pooled, the p95 is 5 ms and passed."""
    predict = _entry(requests=90, latency_ms=150, per_second=9)
    health = _entry("/health", "GET", requests=1800, latency_ms=5, per_second=180)
    stats = LoadTestStats((predict, health))
    assert stats.aggregated.percentile(0.95) == 5  # what the pooled gate used to judge
    checks = _by_name(evaluate_slo(stats, DEMO_INFERENCE_SLO, ramp_up_s=0))
    assert checks["load.p95_ms[inference]"].status == "FAIL" and checks["load.p95_ms[inference]"].observed == 150
    assert checks["load.p95_ms[GET /health]"].status == "PASS"  # health gets the default limits, on its own


def test_health_errors_do_not_dilute_the_inference_error_rate():
    predict = _entry(requests=1000, failures=2, latency_ms=20)
    health = _entry("/health", "GET", requests=9000, latency_ms=2)
    stats = LoadTestStats((predict, health), failures=(FailureRow("POST", "/models/predict", "HTTP 500", 2),))
    assert stats.aggregated.error_rate < 0.001  # pooled it passed
    check = _by_name(evaluate_slo(stats, DEMO_INFERENCE_SLO, ramp_up_s=0))["load.error_rate[inference]"]
    assert check.status == "FAIL" and check.observed == 0.002 and "HTTP 500 ×2" in check.message


def test_groups_pool_their_own_requests_with_their_own_limits():
    slo = SloConfig(
        p95_max_ms=None,
        error_rate_max=None,
        groups={"registry": RequestGroupSlo(requests=["GET /models/*"], p95_max_ms=50)},
    )
    stats = LoadTestStats(
        (
            _entry("/models/1", "GET", requests=50, latency_ms=40),
            _entry("/models/2", "GET", requests=50, latency_ms=60),
            _entry("/health", "GET", requests=50, latency_ms=500),  # no group, no default limits: not gated
        )
    )
    checks = _by_name(evaluate_slo(stats, slo, ramp_up_s=0))
    assert checks["load.p95_ms[registry]"].status == "FAIL" and checks["load.p95_ms[registry]"].observed == 60
    assert "load.error_rate[registry]" not in checks and not any("/health" in n for n in checks)


def test_a_group_that_matched_nothing_is_error_and_names_what_ran():
    slo = SloConfig(groups={"inference": RequestGroupSlo(requests=["POST /predict"], p95_max_ms=100)})
    checks = _by_name(evaluate_slo(_stats(requests=100, failures=0, latency_ms=5), slo, ramp_up_s=0))
    check = checks["load.requests[inference]"]
    assert check.status == "ERROR" and "POST /models/predict" in check.message and "POST /predict" in check.message


@pytest.mark.parametrize(("latency", "status"), [(99, "PASS"), (100, "FAIL"), (250, "FAIL")])
def test_p95_must_be_strictly_below_the_limit(latency, status):
    checks = _by_name(
        evaluate_slo(_stats(requests=200, failures=0, latency_ms=latency), DEMO_INFERENCE_SLO, ramp_up_s=2)
    )
    assert checks["load.p95_ms[inference]"].status == status
    assert checks["load.p95_ms[inference]"].threshold == 100


def test_error_rate_of_one_in_a_thousand_fails_the_production_limit():
    slo = SloConfig(p95_max_ms=100, error_rate_max=0.001, throughput_min_rps=0)
    ok = _by_name(evaluate_slo(_stats(requests=2000, failures=1, latency_ms=5), slo, ramp_up_s=0))
    assert ok["load.error_rate[POST /models/predict]"].status == "PASS"
    failed = _by_name(evaluate_slo(_stats(requests=1000, failures=1, latency_ms=5), slo, ramp_up_s=0))
    check = failed["load.error_rate[POST /models/predict]"]
    assert check.status == "FAIL" and check.observed == 0.001


def test_throughput_below_the_floor_fails():
    checks = _by_name(
        evaluate_slo(_stats(requests=100, failures=0, latency_ms=5, per_second=10), DEMO_INFERENCE_SLO, ramp_up_s=2)
    )
    assert checks["load.throughput_rps"].status == "FAIL"
    assert checks["load.throughput_rps"].observed == 10.0


@pytest.mark.parametrize(("per_second", "status"), [(17, "PASS"), (12, "FAIL")])
def test_with_poisson_arrivals_the_floor_allows_for_their_sampling_noise(per_second, status):
    """8 steady seconds at a 19 req/s floor: Poisson arrivals at exactly 19/s give >= 14.4/s 999 times
    in 1000, so 17/s is no evidence of a slower service, while 12/s is."""
    stats = _stats(requests=per_second * 10, failures=0, latency_ms=5, per_second=per_second)
    exact = _by_name(evaluate_slo(stats, DEMO_INFERENCE_SLO, ramp_up_s=2))["load.throughput_rps"]
    noisy = _by_name(evaluate_slo(stats, DEMO_INFERENCE_SLO, ramp_up_s=2, poisson_arrivals=True))["load.throughput_rps"]
    assert exact.status == "FAIL"
    assert noisy.status == status and "Poisson" in noisy.message


def test_no_request_at_all_is_error_without_numbers():
    checks = evaluate_slo(_stats(requests=0, failures=0, latency_ms=0), DEMO_INFERENCE_SLO, ramp_up_s=2)
    assert [(c.name, c.status) for c in checks] == [("load.requests_completed", "ERROR")]


def test_all_requests_failed_is_error_and_no_latency_is_judged():
    checks = _by_name(evaluate_slo(_stats(requests=50, failures=50, latency_ms=1), DEMO_INFERENCE_SLO, ramp_up_s=2))
    assert checks["load.requests_completed"].status == "ERROR"
    assert checks["load.error_rate[inference]"].status == "FAIL"
    assert checks["load.p95_ms[inference]"].status == "SKIP" and checks["load.p95_ms[inference]"].observed is None
    assert "load.throughput_rps" not in checks
    ungated = SloConfig(groups={"inference": RequestGroupSlo(requests=["POST /models/predict"], p95_max_ms=100)})
    alone = _by_name(evaluate_slo(_stats(requests=50, failures=50, latency_ms=1), ungated, ramp_up_s=2))
    assert alone["load.p95_ms[inference]"].status == "ERROR"  # nothing else judged the group: not a pass


def test_old_style_slo_config_still_validates_and_now_gates_each_endpoint():
    slo = SloConfig.model_validate({"p95_max_ms": 100, "error_rate_max": 0.001, "throughput_min_rps": 8})
    assert slo.groups == {} and slo.p95_max_ms == 100
    with pytest.raises(ValidationError, match="names no request"):
        RequestGroupSlo(requests=["  "])
    with pytest.raises(ValidationError, match="group name"):
        SloConfig(groups={"a[b]": RequestGroupSlo(requests=["/x"])})
