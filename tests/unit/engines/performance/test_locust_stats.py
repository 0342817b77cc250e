"""Parsing Locust's machine output, on a real recorded run (4 users, 15 % injected HTTP 500s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assay.engines.performance.locust_stats import (
    AGGREGATED,
    EndpointStats,
    histogram_percentile,
    load_locust_outputs,
    parse_locust_json,
)
from assay.errors import ToolError

FIXTURES = Path(__file__).parent / "fixtures"
PREFIX = FIXTURES / "errors_locust"


def test_recorded_run_is_parsed_per_endpoint_and_aggregated():
    stats = load_locust_outputs(PREFIX)
    by_name = {e.name: e for e in stats.endpoints}
    assert set(by_name) == {"/models/predict", "/health"}
    assert (by_name["/models/predict"].method, by_name["/health"].method) == ("POST", "GET")
    agg = stats.aggregated
    assert agg.requests == sum(e.requests for e in stats.endpoints) == 196
    assert agg.failures == 23
    assert agg.error_rate == pytest.approx(23 / 196)
    assert sum(agg.histogram.values()) == agg.requests
    assert agg.first_ts < agg.last_ts and agg.rps == pytest.approx(196 / agg.window_s)
    assert {f.name for f in stats.failures} == {"/models/predict", "/health"}
    assert "HTTP 500" in stats.failure_summary()


def test_json_is_authoritative_because_the_stats_csv_misses_the_last_second():
    """Locust rewrites _stats.csv once a second and not at shutdown: in this recorded run it stops at
    160 requests while the JSON written at shutdown has all 196."""
    csv_total = next(
        line
        for line in (FIXTURES / "errors_locust_stats.csv").read_text().splitlines()
        if line.startswith(",Aggregated")
    )
    assert int(csv_total.split(",")[2]) == 160
    assert load_locust_outputs(PREFIX).aggregated.requests == 196


def test_percentiles_equal_locusts_own_computation():
    """Locust itself (in a subprocess: importing it here would monkey-patch this interpreter)."""
    raw = json.loads((FIXTURES / "errors_locust.json").read_text())
    code = (
        "import json, sys\n"
        "from locust.stats import calculate_response_time_percentile as pct\n"
        "out = {}\n"
        "for e in json.load(open(sys.argv[1])):\n"
        "    h = {int(k): v for k, v in e['response_times'].items()}\n"
        "    out[e['name']] = [pct(h, e['num_requests'], q) for q in (0.5, 0.95, 0.99)]\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURES / "errors_locust.json")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    expected = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = {
        e.name: [e.percentile(q) for q in (0.5, 0.95, 0.99)] for e in parse_locust_json(PREFIX.with_suffix(".json"))
    }
    assert ours == expected
    assert len(raw) == 2


@pytest.mark.parametrize(("q", "expected"), [(0.5, 10), (0.95, 50), (0.99, 200), (1.0, 200), (0.0, 10)])
def test_histogram_percentile_rank_rule(q, expected):
    # 100 requests: 90 at 10 ms, 9 at 50 ms, 1 at 200 ms → the floor(n*q)+1-th fastest
    assert histogram_percentile({10: 90, 50: 9, 200: 1}, q) == expected


def test_empty_histogram_has_no_percentile():
    assert histogram_percentile({}, 0.95) is None


def test_failed_only_endpoint_records_counts_but_no_latency():
    entry = EndpointStats(
        "/x",
        "GET",
        requests=5,
        failures=5,
        histogram={1: 5},
        total_response_ms=5,
        max_ms=1,
        first_ts=100.0,
        last_ts=102.0,
    )
    names = {m.name for m in entry.metrics()}
    assert {"load.requests", "load.failures", "load.error_rate", "load.rps"} <= names
    assert not any("latency" in n for n in names)


def test_steady_throughput_skips_ramp_and_partial_seconds():
    per_second = {100: 5, 101: 10, 102: 20, 103: 20, 104: 20, 105: 7}
    entry = EndpointStats(
        AGGREGATED,
        "ALL",
        requests=82,
        failures=2,
        histogram={5: 82},
        total_response_ms=410,
        max_ms=9,
        first_ts=100.4,
        last_ts=105.3,
        requests_per_second=per_second,
        failures_per_second={103: 2},
    )
    rate, seconds = entry.steady_throughput(ramp_up_s=1.0)
    assert seconds == 3  # 102, 103, 104: after the ramp (ends 101.4), before the partial 105
    assert rate == pytest.approx((20 + 18 + 20) / 3)
    assert entry.steady_throughput(ramp_up_s=10.0) == (None, 0)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "wrote no JSON"),
        ("{not json", "not valid JSON"),
        ('{"a": 1}', "not a list"),
        ('[{"name": "x"}]', "entry 0"),
    ],
)
def test_broken_json_output_is_a_tool_error(tmp_path, content, match):
    path = tmp_path / "locust.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ToolError, match=match):
        parse_locust_json(path)
