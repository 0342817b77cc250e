"""Client-side p95 against the server's own timings, and which side a disagreement is blamed on
(pure part; live runs are in test_load_test and test_arrivals)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from support.perf_server import PerfServer

from assay.engines.performance.client_stats import ClientStats
from assay.engines.performance.load_test import LoadTestResult
from assay.engines.performance.locust_stats import EndpointStats, LoadTestStats
from assay.engines.performance.measurement import (
    CLIENT_EXACT,
    CLIENT_HISTOGRAM,
    CLIENT_WIRE,
    ServerSample,
    ServerTimings,
    add_server_comparison,
    compare_client_server,
    exact_percentile,
    server_p95,
)
from assay.errors import TargetError


def client_stats(*, cpu_s=0.5, wall_s=10.0, lag_ms=1.0, connections=4, requests=200, machine=0.3) -> ClientStats:
    """A quiet generator by default: 5 % of a core, 1 ms loop lag, keep-alive reused."""
    return ClientStats(
        arrival="poisson",
        wall_s=wall_s,
        cpu_s=cpu_s,
        loop_lag_ms=(lag_ms,) * 100,
        arrivals=requests,
        lateness_ms=(),
        connects_ms=(0.2,) * connections,
        endpoints=(("POST", "/models/predict"),),
        req_endpoint=(0,) * requests,
        req_start_s=tuple(i * 0.05 for i in range(requests)),
        req_duration_ms=(30.0,) * requests,
        machine_cpu_busy=machine,
        cpus=2,
    )


def samples(duration: float = 30.0, in_flight: int = 0, n: int = 100) -> list[ServerSample]:
    return [ServerSample(duration, in_flight)] * n


def test_agreement_within_tolerance_passes_and_reports_both_numbers():
    cmp = compare_client_server(33.0, [30.0] * 96 + [31.0] * 4, endpoint="/models/predict", method="POST")
    assert cmp.server_p95_ms == 30.0 and cmp.ratio == pytest.approx(1.1)
    check = cmp.check()
    assert check.status == "PASS" and cmp.cause == "agree"
    # observed is the deviation from 1, with a comparator that fits the metrics DB's 10-character column
    assert check.observed == pytest.approx(0.1) and check.comparator == "<=" and check.threshold == 0.2
    assert check.severity == "warning"
    assert "POST /models/predict: client p95 33.0 ms, server p95 30.0 ms" in check.message
    assert {m.name for m in cmp.metrics()} == {
        "load.client_p95_ms",
        "load.server_p95_ms",
        "load.server_p50_ms",
        "load.client_server_p95_ratio",
    }


def test_a_busy_load_generator_is_blamed_when_its_cpu_was_saturated():
    cmp = compare_client_server(60.0, samples(), client=client_stats(cpu_s=9.5), client_in_flight=[0] * 100)
    assert cmp.check().status == "WARN" and cmp.cause == "load_generator"
    assert "load generator explains it" in cmp.message and "95% of a core" in cmp.message


def test_a_late_event_loop_in_the_load_generator_is_blamed():
    cmp = compare_client_server(60.0, samples(), client=client_stats(lag_ms=20.0), client_in_flight=[0] * 100)
    assert cmp.cause == "load_generator" and "loop lag p95 20.0 ms" in cmp.message


def test_requests_waiting_before_the_servers_timer_are_blamed_on_server_queueing_not_the_client():
    """The issue's case: a request found 7-9 others in flight from the client while the server was timing
    only a few of them; the generator itself was idle."""
    cmp = compare_client_server(150.0, samples(in_flight=2), client=client_stats(), client_in_flight=[8] * 100)
    assert cmp.cause == "server_queueing"
    assert "queueing at the server explains it" in cmp.message
    assert "in flight from the client at request start p95 8" in cmp.message
    assert "in flight at the server p95 2" in cmp.message
    assert "client-side overhead" not in cmp.message
    assert {m.name: m.value for m in cmp.metrics()}["load.server_in_flight_p95"] == 2


def test_new_connections_for_most_requests_are_blamed_on_connection_setup():
    cmp = compare_client_server(45.0, samples(), client=client_stats(connections=150), client_in_flight=[0] * 100)
    assert cmp.cause == "connection_setup" and "150 new connection(s) for 200 requests" in cmp.message


def test_a_gap_nothing_recorded_explains_says_what_was_ruled_out():
    cmp = compare_client_server(45.0, samples(), client=client_stats(), client_in_flight=[0] * 100)
    assert cmp.cause == "unexplained" and "do not explain" in cmp.message
    assert "load generator CPU 5% of a core" in cmp.message


def test_the_cause_is_recorded_as_a_label_of_the_ratio():
    cmp = compare_client_server(60.0, samples(), client=client_stats(cpu_s=9.5), endpoint="/p", method="POST")
    ratio = next(m for m in cmp.metrics() if m.name == "load.client_server_p95_ratio")
    assert ratio.labels == {"endpoint": "/p", "method": "POST", "cause": "load_generator"}


def test_client_below_server_says_the_windows_differ():
    cmp = compare_client_server(10.0, [30.0] * 100)
    assert cmp.check().status == "WARN" and cmp.cause == "windows_differ"
    assert "do not cover the same requests" in cmp.message


def test_no_server_timings_is_not_a_pass():
    cmp = compare_client_server(30.0, [])
    assert cmp.server_p95_ms is None and cmp.check().status == "WARN"
    assert "no timings" in cmp.check().message


def test_server_p95_uses_locusts_rank_rule():
    assert server_p95(list(range(1, 101))) == 96.0  # the floor(100*0.95)+1 = 96th fastest
    with pytest.raises(ValueError, match="tolerance"):
        compare_client_server(1.0, [1.0], tolerance=0)


def test_server_timings_client_reads_the_window_after_a_mark_with_in_flight_counts():
    import requests

    server = PerfServer()
    try:
        timings = ServerTimings(server.url, "admin-token")
        mark = timings.mark()
        for _ in range(3):
            requests.get(server.url + "/health", timeout=5).close()
        requests.post(server.url + "/models/predict", json={"amount": 1}, timeout=5).close()
        assert len(timings.durations(mark)) == 4
        predict = timings.samples(mark, route="/models/predict", method="POST")
        assert len(predict) == 1 and predict[0].in_flight == 0  # nothing else was in flight
        assert timings.samples(mark, route="/models/predict", method="GET") == []
    finally:
        server.close()
    with pytest.raises(TargetError, match="cannot read server timings"):
        timings.mark()


# --- like with like: exact client percentiles, the same rule as the server's -----------------------------------


def _bucket(ms: float) -> int:
    """Locust's rounding of a response time into its histogram (below 100 ms: the nearest millisecond)."""
    return round(ms) if ms < 100 else int(round(ms, -1))


def _recorded(durations, wire=None, *, truncated=False):
    """A load test result as the engine builds it: Locust's histogram of the rounded durations and the
    plugin's exact record of the same requests."""
    n = len(durations)
    entry = EndpointStats(
        name="/models/predict",
        method="POST",
        requests=n,
        failures=0,
        histogram=dict(Counter(_bucket(d) for d in durations)),
        total_response_ms=float(sum(durations)),
        max_ms=float(max(durations)),
        first_ts=0.0,
        last_ts=20.0,
    )
    client = ClientStats(
        arrival="poisson",
        wall_s=20.0,
        cpu_s=1.0,
        loop_lag_ms=(0.1,) * 100,
        arrivals=n,
        lateness_ms=(),
        connects_ms=(0.2,) * 4,
        endpoints=(("POST", "/models/predict"), ("GET", "/health")),
        req_endpoint=(0,) * n + (1,) * 5,
        req_start_s=tuple(i * 0.01 for i in range(n + 5)),
        req_duration_ms=(*durations, *(50.0,) * 5),  # five slow /health probes that must not count
        req_wire_ms=() if wire is None else (*wire, *(49.0,) * 5),
        truncated=truncated,
        machine_cpu_busy=0.2,
        cpus=2,
    )
    now = datetime.now(UTC)
    result = LoadTestResult(name="load", message="", started_at=now, finished_at=now, suite_kind="load_test", checks=[])
    result.stats, result.client = LoadTestStats((entry,)), client
    return result, entry, client


class _Timings:
    """A server timings endpoint answering fixed samples (and loop lags)."""

    def __init__(self, samples, lags=()):
        self._samples, self._lags = samples, list(lags)

    def window(self, since, *, route=None, method=None):
        return list(self._samples), list(self._lags)


def test_exact_percentile_is_numpys_higher_rule_for_p50_and_p95():
    rng = np.random.default_rng(7)
    for n in (1, 2, 19, 20, 21, 99, 100, 101, 1709):
        values = rng.lognormal(1.0, 0.6, n)
        for q in (0.5, 0.95):
            assert exact_percentile(values, q) == np.percentile(values, q * 100, method="higher")


def test_client_and_server_timing_the_same_requests_agree_exactly():
    """The same 1,000 exact durations on both sides give a ratio of exactly 1; Locust's histogram, which
    rounds each to the millisecond, made the client's p95 up to 0.5 ms off (10 % of a 5 ms p95)."""
    rng = np.random.default_rng(3)
    durations = [float(v) for v in np.round(rng.lognormal(1.0, 0.5, 1000), 3)]
    result, entry, client = _recorded(durations)
    assert client.durations("POST", "/models/predict") == durations
    cmp = add_server_comparison(result, _Timings([ServerSample(d) for d in durations]), 0.0)
    assert cmp.client_source == CLIENT_EXACT
    assert cmp.client_p95_ms == np.percentile(durations, 95, method="higher") == cmp.server_p95_ms
    assert cmp.client_p50_ms == np.percentile(durations, 50, method="higher") == cmp.server_p50_ms
    assert cmp.ratio == 1.0 and cmp.cause == "agree"
    assert entry.percentile(0.95) != cmp.client_p95_ms  # what the histogram would have compared


def test_the_client_figure_is_each_requests_time_on_the_wire_when_recorded():
    rng = np.random.default_rng(5)
    wire = [float(v) for v in np.round(rng.lognormal(1.0, 0.5, 500), 3)]
    locust = [w + 0.4 for w in wire]  # the HTTP library's building and parsing, which no server sees
    result, _entry, _client = _recorded(locust, wire)
    cmp = add_server_comparison(result, _Timings([ServerSample(w) for w in wire]), 0.0)
    assert cmp.client_source == CLIENT_WIRE and cmp.ratio == 1.0
    assert cmp.client_p95_ms == np.percentile(wire, 95, method="higher")
    assert cmp.client_locust_p95_ms == np.percentile(locust, 95, method="higher")  # quoted beside it
    assert "client times on the wire; Locust's own p95" in cmp.message


def test_locusts_histogram_is_only_the_fallback_when_the_plugin_stopped_recording():
    durations = [4.4] * 100
    result, _entry, _client = _recorded(durations, truncated=True)
    cmp = add_server_comparison(result, _Timings([ServerSample(d) for d in durations]), 0.0)
    assert cmp.client_source == CLIENT_HISTOGRAM and cmp.client_p95_ms == 4.0
    assert "from Locust's rounded histogram" in cmp.message


# --- blame: both sides' waits outside the server's timer, measured alike -----------------------------------------


def test_a_servers_loop_lag_larger_than_the_clients_is_blamed_on_server_queueing():
    """Before: the client's loop lag (20 ms, at least half the 30 ms gap) was blamed without looking at the
    server, whose event loop was 25 ms late: requests waited unread at the server."""
    cmp = compare_client_server(
        60.0, samples(), client=client_stats(lag_ms=20.0), client_in_flight=[0] * 100, server_loop_lag_ms=[25.0] * 50
    )
    assert cmp.cause == "server_queueing"
    assert "the server's loop lag p95 25.0 ms" in cmp.message and "its loop lag p95 20.0 ms" in cmp.message


def test_a_clients_loop_lag_larger_than_the_servers_is_blamed_on_the_load_generator():
    cmp = compare_client_server(
        60.0, samples(), client=client_stats(lag_ms=20.0), client_in_flight=[0] * 100, server_loop_lag_ms=[2.0] * 50
    )
    assert cmp.cause == "load_generator"


def test_without_the_servers_loop_lag_requests_it_had_not_received_are_blamed_before_client_lag():
    """The issue's run: client p95 14.0 ms vs server 10.6 ms, the generator's loop lag 1.8 ms (over half the
    3.4 ms gap), and a request found 3 of the client's requests in flight where the server had seen 2."""
    cmp = compare_client_server(
        14.0, samples(10.6, in_flight=2), client=client_stats(lag_ms=1.8), client_in_flight=[3] * 100
    )
    assert cmp.cause == "server_queueing"
    # with no in-flight excess, the same lag is the load generator's
    cmp = compare_client_server(
        14.0, samples(10.6, in_flight=2), client=client_stats(lag_ms=1.8), client_in_flight=[2] * 100
    )
    assert cmp.cause == "load_generator"


def test_lags_that_cover_little_of_the_gap_leave_queueing_then_the_rest():
    quiet = dict(client=client_stats(lag_ms=1.0), server_loop_lag_ms=[1.0] * 50)
    assert (
        compare_client_server(60.0, samples(in_flight=0), client_in_flight=[3] * 100, **quiet).cause
        == "server_queueing"
    )
    assert compare_client_server(60.0, samples(), client_in_flight=[0] * 100, **quiet).cause == "unexplained"


def test_the_timings_window_carries_app_time_and_loop_lag(monkeypatch):
    timings = ServerTimings("http://127.0.0.1:9", "admin")
    body = {
        "now": 5.0,
        "items": [{"duration_ms": 3.0, "in_flight": 1, "app_ms": 2.5}, {"duration_ms": 2.0}],
        "loop_lag_ms": [0.1, 0.4],
    }
    monkeypatch.setattr(timings, "_get", lambda params: body)
    samples_, lags = timings.window(1.0, route="/models/predict")
    assert samples_ == [ServerSample(3.0, 1, 2.5), ServerSample(2.0, None, None)] and lags == [0.1, 0.4]
    cmp = compare_client_server(3.0, [ServerSample(3.0, 1, 2.5)] * 20, server_loop_lag_ms=lags)
    assert cmp.server_queued_ms == (0.5,) * 20 and cmp.server_loop_lag_p95_ms == 0.4
    assert {m.name: m.value for m in cmp.metrics()}["load.server_loop_lag_p95_ms"] == 0.4
