"""The demo's inference locustfile and SLOs, as include/config/assay.yaml configures them, against the demo
platform's real serving API (uvicorn, trained model)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from support.demo_platform import DEMO_DIR as DEMO_PLATFORM_DIR
from support.demo_platform import demo_performance

from assay.engines.performance.config import LoadProfile, LoadTestConfig
from assay.engines.performance.load_test import run_load_test
from assay.engines.performance.measurement import ServerTimings, add_server_comparison

READER_TOKEN, ADMIN_TOKEN = "demo-reader-token", "demo-admin-token"  # the demo API's documented tokens
SHORT_DEMO = LoadProfile(users=4, ramp_up_s=1, duration_s=4, target_rps=12)
DEMO_LOAD_TEST = demo_performance().load_test  # the configured locustfile and SLOs
DEMO_INFERENCE_SLO = DEMO_LOAD_TEST.slo

pytestmark = pytest.mark.skipif(
    not (DEMO_PLATFORM_DIR / "serving" / "__main__.py").is_file(),
    reason="the demo serving API (include/demo_platform/serving) is not present",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serving")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "PYTHONPATH"))}
    log = (tmp / "serving.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serving",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-url",
            f"sqlite:///{tmp / 'registry.db'}",
            "--log-level",
            "warning",
        ],
        cwd=DEMO_PLATFORM_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp / "serving.log").read_text()[-2000:]
            try:
                if requests.get(url + "/health", timeout=2).json().get("model_loaded"):
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the demo API did not come up with a model within 90 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.slow
def test_inference_load_passes_the_demo_slos_and_agrees_with_server_timing(demo_api, tmp_path):
    timings = ServerTimings(demo_api, ADMIN_TOKEN)
    mark = timings.mark()
    config = LoadTestConfig(
        host=demo_api,
        locustfile=DEMO_LOAD_TEST.locustfile,
        profile=SHORT_DEMO,
        slo=DEMO_INFERENCE_SLO.model_copy(update={"throughput_min_rps": 10}),
        # in-flight requests finish before Locust stops: a request the server timed whose end the client never
        # saw would make the two p95s compare different request sets (a ratio below 1 by chance)
        stop_timeout_s=3,
    )
    result = run_load_test(config, out_dir=tmp_path, api_token=READER_TOKEN)
    comparison = add_server_comparison(result, timings, mark, route="/models/predict", method="POST")
    assert result.check("load.requests_completed").status == "PASS", result.message
    assert result.check("load.error_rate[inference]").observed == 0  # every prediction a 200 with the right count
    p95 = result.check("load.p95_ms[inference]")  # judged on the predictions alone, not pooled with /health
    assert p95.status == ("PASS" if p95.observed < 100 else "FAIL"), result.message
    # the same requests on both sides, so each client span contains its server span
    assert comparison is not None
    assert comparison.server_count == len(result.client.durations("POST", "/models/predict", wire=True))
    assert comparison is not None and comparison.server_count > 20
    assert comparison.ratio >= 0.98, comparison.message  # the client's span contains the server's
    assert comparison.server_in_flight, "the demo API reports in-flight counts with its timings"
    print(comparison.message)


@pytest.mark.slow
def test_injected_server_errors_fail_the_error_rate_gate(demo_api, tmp_path):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    requests.post(
        demo_api + "/admin/faults", json={"error_rate": 0.5, "seed": 7}, headers=admin, timeout=10
    ).raise_for_status()
    try:
        config = LoadTestConfig(
            host=demo_api,
            locustfile=DEMO_LOAD_TEST.locustfile,
            profile=LoadProfile(users=10, ramp_up_s=1, duration_s=3, target_rps=10),
            slo=DEMO_INFERENCE_SLO,
            stop_timeout_s=0,
        )
        result = run_load_test(config, out_dir=tmp_path, api_token=READER_TOKEN)
    finally:
        requests.delete(demo_api + "/admin/faults", headers=admin, timeout=10).raise_for_status()
    check = result.check("load.error_rate[inference]")
    assert result.status == "FAIL" and check.status == "FAIL", result.message
    assert 0.15 < check.observed < 0.9 and "HTTP 500" in check.message  # 50 % of predictions, few samples


@pytest.mark.slow
def test_a_wrong_token_is_seen_as_failed_predictions(demo_api, tmp_path):
    config = LoadTestConfig(
        host=demo_api,
        locustfile=DEMO_LOAD_TEST.locustfile,
        profile=LoadProfile(users=10, ramp_up_s=1, duration_s=3, target_rps=10),
        slo=DEMO_INFERENCE_SLO,
        stop_timeout_s=0,
    )
    result = run_load_test(config, out_dir=tmp_path, api_token="not-a-valid-token")
    predict = next(e for e in result.stats.endpoints if e.name == "/models/predict")
    assert predict.requests > 0 and predict.failures == predict.requests
    assert any(f.error.startswith("CatchResponseError('HTTP 40") for f in result.stats.failures), result.message
    assert result.check("load.error_rate[inference]").status == "FAIL"
    # FAIL when a health probe got through; ERROR when the run happened to send none (nothing succeeded)
    health_ok = sum(e.successes for e in result.stats.endpoints if e.name == "/health")
    assert result.status == ("FAIL" if health_ok else "ERROR"), result.message
