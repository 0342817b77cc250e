"""Client-side p95 against the server's own timings, and which side a disagreement is blamed on
(pure part; live runs are in test_load_test and test_arrivals)."""

from __future__ import annotations

import pytest
from support.perf_server import PerfServer

from assay.engines.performance.client_stats import ClientStats
from assay.engines.performance.measurement import (
    ServerSample,
    ServerTimings,
    compare_client_server,
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
