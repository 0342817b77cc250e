"""Client-side p95 against the server's own timings (pure part; the live run is in test_load_test)."""

from __future__ import annotations

import pytest
from support.perf_server import PerfServer

from assay.engines.performance.measurement import ServerTimings, compare_client_server, server_p95
from assay.errors import TargetError


def test_agreement_within_tolerance_passes_and_reports_both_numbers():
    cmp = compare_client_server(33.0, [30.0] * 96 + [31.0] * 4, endpoint="/models/predict")
    assert cmp.server_p95_ms == 30.0 and cmp.ratio == pytest.approx(1.1)
    check = cmp.check()
    assert check.status == "PASS" and check.observed == pytest.approx(1.1)
    assert "client p95 33.0 ms, server p95 30.0 ms" in check.message
    assert {m.name for m in cmp.metrics()} == {
        "load.client_p95_ms",
        "load.server_p95_ms",
        "load.client_server_p95_ratio",
    }


def test_client_far_above_server_is_explained_as_client_overhead():
    check = compare_client_server(60.0, [30.0] * 100).check()
    assert check.status == "WARN"
    assert "adds 30.0 ms" in check.message and "client-side overhead" in check.message


def test_client_below_server_says_the_windows_differ():
    check = compare_client_server(10.0, [30.0] * 100).check()
    assert check.status == "WARN" and "do not cover the same requests" in check.message


def test_no_server_timings_is_not_a_pass():
    cmp = compare_client_server(30.0, [])
    assert cmp.server_p95_ms is None and cmp.check().status == "WARN"
    assert "no timings" in cmp.check().message


def test_server_p95_uses_locusts_rank_rule():
    assert server_p95(list(range(1, 101))) == 96.0  # the floor(100*0.95)+1 = 96th fastest
    with pytest.raises(ValueError, match="tolerance"):
        compare_client_server(1.0, [1.0], tolerance=0)


def test_server_timings_client_reads_the_window_after_a_mark():
    import requests

    server = PerfServer()
    try:
        timings = ServerTimings(server.url, "admin-token")
        mark = timings.mark()
        for _ in range(3):
            requests.get(server.url + "/health", timeout=5).close()
        requests.post(server.url + "/models/predict", json={"amount": 1}, timeout=5).close()
        assert len(timings.durations(mark)) == 4
        assert len(timings.durations(mark, route="/models/predict")) == 1
    finally:
        server.close()
    with pytest.raises(TargetError, match="cannot read server timings"):
        timings.mark()
