"""Arrival shape and measurement agreement, with real Locust runs against a real loopback server.

The server (tests/support/perf_server.py) has one worker's worth of serial work *before* its timer starts,
like the demo API's event loop: requests that arrive together queue there, and only the client sees it.
Every assertion compares figures of the same run (or of two runs side by side against the same server),
never an absolute time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.demo_platform import LOCUSTFILE
from support.perf_server import PerfServer

from assay.engines.performance.config import INFERENCE_GROUP, LoadProfile, LoadTestConfig, SloConfig
from assay.engines.performance.load_test import run_load_test
from assay.engines.performance.measurement import CLIENT_WIRE, ServerTimings, add_server_comparison

TOKEN = "arrivals-token-7c2d"
SLO = SloConfig(p95_max_ms=1000, error_rate_max=0.01, throughput_min_rps=0, groups={"inference": INFERENCE_GROUP})
# 10 users started at once, 2 requests/s each: the shape the lockstep defect needed
PROFILE = dict(users=10, ramp_up_s=0, duration_s=5, target_rps=20)

LOCKSTEP_LOCUSTFILE = """
from locust import HttpUser, constant_throughput, task

class Lockstep(HttpUser):
    wait_time = constant_throughput(2)  # the old shipped locustfile's pacing

    @task
    def predict(self):
        self.client.post("/models/predict", json={"amount": 1}, headers={"Authorization": "Bearer TOKEN"})
""".replace("TOKEN", TOKEN)

TWO_ENDPOINTS_LOCUSTFILE = """
from locust import HttpUser, constant, task

class TwoEndpoints(HttpUser):
    wait_time = constant(1)  # replaced by Assay's arrivals

    def on_start(self):
        self.client.headers["Authorization"] = "Bearer TOKEN"

    @task
    def fast(self):
        self.client.post("/models/predict", json={"amount": 1})

    @task
    def slow(self):
        self.client.post("/models/predict-slow", json={"amount": 1})
""".replace("TOKEN", TOKEN)


def _run(server: PerfServer, out: Path, **profile):
    timings = ServerTimings(server.url, "admin")
    mark = timings.mark()
    locustfile = profile.pop("locustfile", None) or str(LOCUSTFILE)  # the demo's inference profile by default
    config = LoadTestConfig(
        host=server.url,
        profile=LoadProfile(**(PROFILE | profile)),
        slo=SLO,
        stop_timeout_s=1,
        startup_grace_s=30,
        locustfile=locustfile,
    )
    result = run_load_test(config, out_dir=out, api_token=TOKEN)
    comparison = add_server_comparison(result, timings, mark, route="/models/predict", method="POST")
    arrivals = sorted(t.arrived for t in server.timings if t.arrived > mark and t.route == "/models/predict")
    return result, comparison, arrivals


def _bunched_share(arrivals: list[float]) -> float:
    """Share of gaps between consecutive arrivals at the server shorter than 2 ms."""
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    return sum(g < 0.002 for g in gaps) / len(gaps)


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory):
    """The old pacing (constant_throughput, users in lockstep) and Assay's default Poisson arrivals, one
    after the other against the same single-worker server (6 ms serial work, 30 ms handling)."""
    tmp = tmp_path_factory.mktemp("arrivals")
    lockstep_file = tmp / "lockstep.py"
    lockstep_file.write_text(LOCKSTEP_LOCUSTFILE)
    runs = {}
    for shape, extra in (("lockstep", {"arrival": "locustfile", "locustfile": str(lockstep_file)}), ("poisson", {})):
        server = PerfServer(latency_ms=30, serial_ms=6, token=TOKEN)
        try:
            runs[shape] = _run(server, tmp / shape, **extra)
        finally:
            server.close()
    return runs


@pytest.mark.slow
def test_poisson_arrivals_are_not_bunched_like_lockstep_users(side_by_side):
    lockstep, poisson = side_by_side["lockstep"][2], side_by_side["poisson"][2]
    assert len(lockstep) > 50 and len(poisson) > 50
    # lockstep: 10 users fire together, so 9 gaps in 10 are ~0; Poisson at 20/s: ~4 % of gaps are < 2 ms
    assert _bunched_share(lockstep) > 0.5
    assert _bunched_share(poisson) < 0.3
    assert _bunched_share(poisson) < _bunched_share(lockstep) / 2


def test_lockstep_users_inflate_the_client_p95_and_poisson_arrivals_do_not(side_by_side):
    (lock_result, lock_cmp, _), (poi_result, poi_cmp, _) = side_by_side["lockstep"], side_by_side["poisson"]
    assert lock_cmp is not None and poi_cmp is not None
    # the requests queued behind each other before the server's timer: only the client saw it
    assert lock_cmp.client_in_flight_p95 >= 5
    assert poi_cmp.client_in_flight_p95 < lock_cmp.client_in_flight_p95
    # what the client adds at p95 beyond the server's own figure: lockstep queueing of up to 10 × 6 ms
    assert poi_cmp.overhead_ms < lock_cmp.overhead_ms / 2, (poi_cmp.message, lock_cmp.message)
    assert poi_cmp.ratio < lock_cmp.ratio
    # the lockstep disagreement is blamed on queueing at the server, with the figures that show it
    check = lock_result.check("load.measurement_agreement")
    assert check.status == "WARN" and lock_cmp.cause == "server_queueing", check.message
    assert "queueing at the server" in check.message and "client-side overhead" not in check.message
    assert lock_result.metric("load.client_in_flight_p95", endpoint="/models/predict") >= 5
    assert poi_result.client.arrival == "poisson" and lock_result.client.arrival == "locustfile"


def test_the_plugin_records_each_requests_time_on_the_wire_for_both_locust_clients(side_by_side):
    """HttpUser (requests) in the lockstep run, FastHttpUser (geventhttpclient) in the demo's: every request's
    first byte sent to last byte read, inside Locust's own time of it, and the figure compared with the server."""
    for shape in ("lockstep", "poisson"):
        result, comparison, _ = side_by_side[shape]
        client = result.client
        locust = client.durations("POST", "/models/predict")
        wire = client.durations("POST", "/models/predict", wire=True)
        assert comparison.client_source == CLIENT_WIRE, shape
        assert sum(w is not None for w in client.req_wire_ms) >= 0.95 * client.requests, shape
        assert all(w <= d for w, d in zip(wire, locust, strict=True)) and sum(wire) < sum(locust), shape


@pytest.mark.slow
def test_an_added_20_ms_shows_in_the_client_p50_as_it_does_at_the_server(tmp_path):
    """Two endpoints in one run, one with 20 ms more server latency: the client's p50 difference equals
    the server's within 5 ms (the load generator adds the same to both)."""
    locustfile = tmp_path / "two.py"
    locustfile.write_text(TWO_ENDPOINTS_LOCUSTFILE)
    server = PerfServer(latency_ms=10, extra_latency_ms=20, token=TOKEN)
    try:
        result = run_load_test(
            LoadTestConfig(
                host=server.url,
                locustfile=str(locustfile),
                profile=LoadProfile(users=10, ramp_up_s=0, duration_s=5, target_rps=30),
                slo=SLO,
                stop_timeout_s=1,
            ),
            out_dir=tmp_path / "out",
            api_token=TOKEN,
        )
    finally:
        server.close()
    by_name = {e.name: e for e in result.stats.endpoints}
    fast, slow = by_name["/models/predict"], by_name["/models/predict-slow"]
    assert fast.requests > 30 and slow.requests > 30 and fast.failures == slow.failures == 0

    def server_p50(route: str) -> float:
        durations = sorted(t.duration_ms for t in server.timings if t.route == route)
        return durations[len(durations) // 2]

    server_delta = server_p50("/models/predict-slow") - server_p50("/models/predict")
    client_delta = slow.percentile(0.5) - fast.percentile(0.5)
    assert server_delta >= 19  # the server slept 20 ms more
    assert abs(client_delta - server_delta) <= 5, (client_delta, server_delta)
