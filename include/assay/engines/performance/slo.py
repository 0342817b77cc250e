"""The load test's service-level gates, evaluated on Locust's aggregated numbers.

* ``load.requests_completed``: at least one request succeeded, else ERROR (no numbers to judge);
* ``load.p95_ms``: p95 < limit (over the whole run, ramp-up included, as Locust reports it);
* ``load.error_rate``: failed / all requests < limit;
* ``load.throughput_rps``: successful requests per second over the steady state (after the ramp-up)
  >= floor; when the run is too short to have a whole steady second, the full-window rate is used
  and the message says so.
"""

from __future__ import annotations

from assay.engines.performance.config import SloConfig
from assay.engines.performance.locust_stats import LoadTestStats
from assay.status import Status
from assay.store.records import CheckRecord


def evaluate_slo(stats: LoadTestStats, slo: SloConfig, *, ramp_up_s: float) -> list[CheckRecord]:
    agg = stats.aggregated
    failures = stats.failure_summary()
    if agg.requests == 0:
        return [
            CheckRecord(
                "load.requests_completed",
                Status.ERROR,
                observed=0,
                threshold=1,
                comparator=">=",
                message="Locust made no request at all, so there is nothing to judge",
            )
        ]
    checks = [
        CheckRecord(
            "load.error_rate",
            Status.PASS if agg.error_rate < slo.error_rate_max else Status.FAIL,
            observed=round(agg.error_rate, 6),
            threshold=slo.error_rate_max,
            comparator="<",
            message=f"{agg.failures} of {agg.requests} requests failed" + (f": {failures}" if failures else ""),
        )
    ]
    if agg.successes == 0:
        checks.insert(
            0,
            CheckRecord(
                "load.requests_completed",
                Status.ERROR,
                observed=0,
                threshold=1,
                comparator=">=",
                message=f"none of {agg.requests} requests succeeded, so latency and throughput cannot be measured"
                + (f": {failures}" if failures else ""),
            ),
        )
        return checks
    checks.insert(
        0,
        CheckRecord(
            "load.requests_completed",
            Status.PASS,
            observed=agg.successes,
            threshold=1,
            comparator=">=",
            message=f"{agg.successes} of {agg.requests} requests succeeded",
        ),
    )
    p95 = agg.percentile(0.95)
    checks.append(
        CheckRecord(
            "load.p95_ms",
            Status.PASS if p95 < slo.p95_max_ms else Status.FAIL,
            observed=p95,
            threshold=slo.p95_max_ms,
            comparator="<",
            message=f"p95 {p95:.0f} ms over {agg.requests} requests (p50 {agg.percentile(0.5):.0f} ms, "
            f"p99 {agg.percentile(0.99):.0f} ms, max {agg.max_ms:.0f} ms)",
        )
    )
    steady, seconds = agg.steady_throughput(ramp_up_s)
    if steady is None:
        rate = agg.successes / agg.window_s if agg.window_s > 0 else 0.0
        how = f"over the whole {agg.window_s:.1f} s window (the run had no whole second after the ramp-up)"
    else:
        rate, how = steady, f"over {seconds} steady-state second(s) after the {ramp_up_s:g} s ramp-up"
    checks.append(
        CheckRecord(
            "load.throughput_rps",
            Status.PASS if rate >= slo.throughput_min_rps else Status.FAIL,
            observed=round(rate, 3),
            threshold=slo.throughput_min_rps,
            comparator=">=",
            message=f"{rate:.1f} successful requests/s {how}",
        )
    )
    return checks
