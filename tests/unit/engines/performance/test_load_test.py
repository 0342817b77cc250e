"""Real Locust runs (a few seconds each) against a real loopback server with server-side timing."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import psutil
import pytest
from pydantic import ValidationError
from scipy.stats import poisson
from support.demo_platform import LOCUSTFILE, demo_performance
from support.perf_server import PerfServer

from assay.engines.performance.config import (
    INFERENCE_GROUP,
    LoadProfile,
    LoadTestConfig,
    SloConfig,
)
from assay.engines.performance.load_test import run_load_test
from assay.engines.performance.measurement import ServerTimings, add_server_comparison
from assay.errors import ConfigError

TOKEN = "perf-test-token-5b1e"
SLO = SloConfig(p95_max_ms=100, error_rate_max=0.01, throughput_min_rps=0, groups={"inference": INFERENCE_GROUP})
SHORT = LoadProfile(users=2, ramp_up_s=1, duration_s=2, target_rps=10)


def _config(host: str, **kw) -> LoadTestConfig:
    kw.setdefault("locustfile", str(LOCUSTFILE))  # the demo's inference profile, unless a test gives its own
    return LoadTestConfig(host=host, slo=SLO, stop_timeout_s=0, startup_grace_s=30, **kw)


def _locustfile(tmp_path: Path, body: str) -> str:
    path = tmp_path / "locustfile.py"
    path.write_text(body)
    return str(path)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """One 4 s run of the shipped inference locustfile: 4 users, 30 req/s of Poisson arrivals, 20 ms server
    latency. Assertions below hold whatever else the machine is doing: what the code controls (the
    request count, orderings, the checks' consistency with their own figures), never absolute times."""
    server = PerfServer(latency_ms=20, token=TOKEN)
    try:
        timings = ServerTimings(server.url, admin_token="admin")
        mark = timings.mark()
        config = _config(server.url, profile=LoadProfile(users=4, ramp_up_s=1, duration_s=4, target_rps=30))
        result = run_load_test(config, out_dir=tmp_path_factory.mktemp("healthy"), api_token=TOKEN)
        comparison = add_server_comparison(result, timings, mark, route="/models/predict", method="POST")
    finally:
        server.close()
    return result, comparison, server


@pytest.mark.slow
def test_healthy_run_records_metrics_per_endpoint_and_gates_them_separately(healthy):
    result, _, _ = healthy
    assert result.details["exit_code"] == 0
    assert result.check("load.requests_completed").status == "PASS"
    predict = result.metric("load.requests", endpoint="/models/predict", method="POST")
    health = result.metric("load.requests", endpoint="/health", method="GET")
    assert predict > 4 * health > 0  # nine in ten requests are predictions
    assert result.metric("load.failures", endpoint="Aggregated") == 0
    for group in ("inference", "GET /health"):
        p95 = result.check(f"load.p95_ms[{group}]")
        assert p95.observed >= 20  # the server sleeps 20 ms: no client can measure less
        assert p95.status == ("PASS" if p95.observed < p95.threshold else "FAIL")
        assert result.check(f"load.error_rate[{group}]").status == "PASS"
    assert result.metric("load.latency_p95_ms", group="inference") == result.check("load.p95_ms[inference]").observed
    assert Path(result.details["artefacts"]["html"]).is_file()
    assert Path(result.details["artefacts"]["csv_prefix"] + "_stats_history.csv").is_file()


def test_the_request_count_is_the_scheduled_poisson_stream(healthy):
    result, _, _ = healthy
    client = result.client
    assert client is not None and client.arrival == "poisson"
    # open-loop arrivals: the count is Poisson with mean 30 req/s × the time the users ran (all users run
    # from at most the 1 s ramp on, until Locust stopped them)
    sent = result.metric("load.requests", endpoint="Aggregated")
    assert poisson.ppf(1e-4, 30 * (client.wall_s - 1)) <= sent <= poisson.ppf(1 - 1e-4, 30 * client.wall_s)
    assert client.requests == sent and client.arrivals >= sent - 4  # every request was a scheduled arrival


def test_client_and_server_count_the_same_requests_and_the_clients_span_contains_the_servers(healthy):
    result, comparison, _ = healthy
    client_count = result.metric("load.requests", endpoint="/models/predict", method="POST")
    assert client_count <= comparison.server_count <= client_count + 4  # + requests in flight when Locust stopped
    assert comparison.ratio >= 0.98, comparison.message
    check = result.check("load.measurement_agreement")
    assert (
        check.severity == "warning"
        and check.comparator == "<="
        and check.observed == pytest.approx(abs(comparison.ratio - 1), abs=1e-3)
    )
    # within tolerance it passes; beyond it, it names a cause that its own figures show
    assert check.status == ("PASS" if check.observed <= 0.20 else "WARN"), check.message
    if check.status == "WARN":
        assert comparison.cause in ("load_generator", "server_queueing", "connection_setup", "unexplained")
        assert "load generator CPU" in check.message and "in flight at the server" in check.message
    assert result.metric("load.client_server_p95_ratio", endpoint="/models/predict") == pytest.approx(
        comparison.ratio, abs=1e-3
    )


def test_the_token_is_sent_but_never_recorded(healthy):
    result, _, _ = healthy
    predict = [t for t in result.stats.endpoints if t.name == "/models/predict"][0]
    assert predict.failures == 0  # the server answers 401 without the bearer token
    assert TOKEN not in json.dumps(result.describe_dict())
    assert TOKEN not in Path(result.log_path).read_text()
    assert TOKEN not in Path(result.details["artefacts"]["html"]).read_text()


@pytest.mark.slow
def test_injected_errors_fail_the_error_rate_gate(tmp_path):
    server = PerfServer(latency_ms=5, error_rate=0.3, token=TOKEN, seed=1)
    profile = LoadProfile(users=10, ramp_up_s=0, duration_s=3, target_rps=10)
    try:
        result = run_load_test(_config(server.url, profile=profile), out_dir=tmp_path, api_token=TOKEN)
    finally:
        server.close()
    served_500 = sum(1 for t in server.timings if t.route == "/models/predict" and t.status == 500)
    predict = next(e for e in result.stats.endpoints if e.name == "/models/predict")
    # every injected 500 and only those (+ at most one per user cut off in flight when Locust stopped)
    assert 0 < predict.failures <= served_500 <= predict.failures + 10
    assert result.status == "FAIL"
    check = result.check("load.error_rate[inference]")
    assert check.status == "FAIL" and check.observed == round(predict.failures / predict.requests, 6)
    assert "HTTP 500" in check.message
    assert result.details["exit_code"] == 3  # --exit-code-on-error, not a crash


def test_target_down_at_start_is_error_and_locust_never_runs(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_load_test(_config(f"http://127.0.0.1:{port}", profile=SHORT), out_dir=tmp_path)
    assert result.status == "ERROR"
    assert "unreachable" in result.message and "Locust was not started" in result.message
    assert result.metrics == [] and result.stats is None
    assert not (tmp_path / "locust.log").exists()


def test_locustfile_syntax_error_is_error_with_the_tail_of_its_output(tmp_path):
    server = PerfServer()
    try:
        bad = _locustfile(tmp_path, "from locust import HttpUser\nclass U(HttpUser)\n    pass\n")
        result = run_load_test(_config(server.url, profile=SHORT, locustfile=bad), out_dir=tmp_path / "out")
    finally:
        server.close()
    assert result.status == "ERROR"
    assert "exited with code 1" in result.message and "SyntaxError" in result.message
    assert result.metrics == []


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("pass", "made no request at all"),
        ("self.client.get('/no-such-page')", "none of"),
    ],
)
@pytest.mark.slow
def test_zero_completed_requests_is_error(tmp_path, task, expected):
    server = PerfServer()
    body = (
        "from locust import HttpUser, constant_throughput, task\n"
        "class U(HttpUser):\n"
        "    wait_time = constant_throughput(10)\n"
        "    @task\n"
        f"    def t(self):\n        {task}\n"
    )
    try:
        result = run_load_test(
            _config(server.url, profile=SHORT, locustfile=_locustfile(tmp_path, body)), out_dir=tmp_path / "out"
        )
    finally:
        server.close()
    assert result.status == "ERROR"
    assert result.check("load.requests_completed").status == "ERROR"
    assert expected in result.message
    assert result.metric("load.latency_p95_ms", endpoint="Aggregated") is None  # no invented numbers


@pytest.mark.slow
def test_task_exceptions_are_error(tmp_path):
    server = PerfServer()
    body = (
        "from locust import HttpUser, constant_throughput, task\n"
        "class U(HttpUser):\n"
        "    wait_time = constant_throughput(10)\n"
        "    @task\n"
        "    def t(self):\n"
        "        self.client.get('/health')\n"
        "        raise KeyError('payload-field')\n"
    )
    try:
        result = run_load_test(
            _config(server.url, profile=SHORT, locustfile=_locustfile(tmp_path, body)), out_dir=tmp_path / "out"
        )
    finally:
        server.close()
    assert result.status == "ERROR"
    assert "raised exceptions" in result.message and "payload-field" in result.message


@pytest.mark.slow
def test_hung_locust_is_killed_with_its_whole_process_group(tmp_path):
    server = PerfServer()
    pid_file = tmp_path / "child.pid"
    body = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "open(os.environ['CHILD_PID_FILE'], 'w').write(str(child.pid))\n"
        "time.sleep(300)\n"
    )
    config = LoadTestConfig(
        host=server.url,
        locustfile=_locustfile(tmp_path, body),
        slo=SLO,
        profile=LoadProfile(users=1, ramp_up_s=0, duration_s=1, target_rps=1),
        stop_timeout_s=0,
        startup_grace_s=4,
        env={"CHILD_PID_FILE": str(pid_file)},
    )
    started = time.monotonic()
    try:
        result = run_load_test(config, out_dir=tmp_path / "out")
    finally:
        server.close()
    assert time.monotonic() - started < 20
    assert result.status == "ERROR"
    assert "did not finish within 5 s" in result.message and "process group was killed" in result.message
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"child {child} of the killed Locust is still running"
        time.sleep(0.1)


def test_missing_locustfile_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        run_load_test(_config("http://127.0.0.1:9", locustfile=str(tmp_path / "nope.py")), out_dir=tmp_path)


def test_the_locustfile_is_configured_never_defaulted_and_the_demo_configures_its_inference_profile():
    with pytest.raises(ValidationError, match=r"locustfile\n  Field required"):
        LoadTestConfig(host="http://127.0.0.1:9")
    assert Path(LOCUSTFILE).is_file() and demo_performance().load_test.locustfile == str(LOCUSTFILE)
