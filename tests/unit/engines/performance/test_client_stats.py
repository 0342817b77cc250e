"""What Assay's Locust plugin records about the load generator, parsed and summarised."""

from __future__ import annotations

import json

import pytest

from assay.engines.performance.client_stats import in_flight_at_starts, parse_client_stats, rank_percentile
from assay.errors import ToolError


def test_in_flight_counts_the_other_requests_started_and_not_yet_finished():
    # a: 0-10, b: 2-5, c: 5-6 (b ended exactly when c started), d: 20-21
    starts, ends = [0.0, 2.0, 5.0, 20.0], [10.0, 5.0, 6.0, 21.0]
    assert in_flight_at_starts(starts, ends) == [0, 1, 1, 0]


def test_rank_percentile_is_locusts_rule():
    assert rank_percentile(list(range(1, 101)), 0.95) == 96.0
    assert rank_percentile([], 0.5) is None


def test_a_recorded_file_is_summarised(tmp_path):
    path = tmp_path / "client_stats.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "arrival": "poisson",
                "wall_s": 10.0,
                "cpu_s": 2.5,
                "machine_cpu_busy": 0.4,
                "cpus": 2,
                "loop_lag_ms": [0.5] * 95 + [9.0] * 5,
                "arrivals": 100,
                "lateness_ms": [4.0] * 10,
                "connects_ms": [0.3, 0.4],
                "endpoints": [["POST", "/models/predict"], ["GET", "/health"]],
                "requests": {
                    "endpoint": [0, 0, 1],
                    "start_s": [0.0, 0.01, 0.02],
                    "duration_ms": [50.0, 50.0, 5.0],
                    "failed": [0, 0, 0],
                },
                "truncated": False,
            }
        )
    )
    stats = parse_client_stats(path)
    assert stats.cpu_utilisation == 0.25 and stats.loop_lag_p95_ms == 9.0
    assert stats.late_share == 0.1 and stats.lateness_p95_ms == 4.0 and stats.connections == 2
    assert stats.in_flight("POST", "/models/predict") == [0, 1] and stats.in_flight("GET", "/health") == [2]
    metrics = {m.name: m.value for m in stats.metrics()}
    assert metrics["load.client.cpu_utilisation"] == 0.25 and metrics["load.client.machine_cpu_busy"] == 0.4


def test_exact_and_wire_durations_per_endpoint(tmp_path):
    """Each request's exact Locust time and its time on the wire (first byte sent to last byte read); a request
    that read no response has no wire time and keeps its Locust time; an older file has no wire times."""
    raw = {
        "version": 1,
        "arrival": "poisson",
        "wall_s": 1.0,
        "cpu_s": 0.1,
        "loop_lag_ms": [0.1],
        "arrivals": 4,
        "lateness_ms": [],
        "connects_ms": [0.2],
        "endpoints": [["POST", "/models/predict"], ["GET", "/health"]],
        "requests": {
            "endpoint": [0, 1, 0, 0],
            "start_s": [0.0, 0.01, 0.02, 0.03],
            "duration_ms": [4.437, 1.2, 5.25, 30.0],
            "wire_ms": [4.201, 1.0, 5.004, None],
            "failed": [0, 0, 0, 1],
        },
        "truncated": False,
    }
    path = tmp_path / "client_stats.json"
    path.write_text(json.dumps(raw))
    stats = parse_client_stats(path)
    assert stats.has_wire_times
    assert stats.durations("POST", "/models/predict") == [4.437, 5.25, 30.0]
    assert stats.durations("POST", "/models/predict", wire=True) == [4.201, 5.004, 30.0]
    assert stats.durations("GET", "/health", wire=True) == [1.0]
    del raw["requests"]["wire_ms"]
    path.write_text(json.dumps(raw))
    old = parse_client_stats(path)
    assert not old.has_wire_times and old.durations("POST", "/models/predict", wire=True) == [4.437, 5.25, 30.0]


def test_a_missing_or_malformed_file_is_a_tool_error(tmp_path):
    with pytest.raises(ToolError, match="wrote no client stats"):
        parse_client_stats(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"arrival": "poisson"}')
    with pytest.raises(ToolError, match="unexpected shape"):
        parse_client_stats(tmp_path / "bad.json")
