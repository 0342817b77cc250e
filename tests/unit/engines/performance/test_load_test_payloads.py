"""The load test's payloads read from a golden dataset by version: verified before any load, then sent."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError
from support.demo_platform import GOLDEN_DIR, LOCUSTFILE, demo_performance
from support.perf_server import PerfServer

from assay.engines.data_quality.golden import file_sha256, write_golden
from assay.engines.performance.config import LoadProfile, LoadTestConfig, SloConfig
from assay.engines.performance.load_test import payload_env, run_load_test
from assay.errors import ConfigError

TOKEN = "payload-test-token"
SHORT = LoadProfile(users=2, ramp_up_s=0, duration_s=2, target_rps=10)
SLO = SloConfig(p95_max_ms=1000, error_rate_max=0.01, throughput_min_rps=0)
FEATURES = ["amount", "hour", "merchant_risk", "distance_km", "account_age_days", "n_tx_24h"]


def _payloads(n: int = 12, start: float = 7000.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [start + i + 0.25 for i in range(n)],
            "hour": [i % 24 for i in range(n)],
            "merchant_risk": [0.5] * n,
            "distance_km": [1.5 * i for i in range(n)],
            "account_age_days": [100 + i for i in range(n)],
            "n_tx_24h": [i % 5 for i in range(n)],
        }
    )


def _config(host: str, tmp_path, version) -> LoadTestConfig:
    return LoadTestConfig(
        host=host,
        locustfile=str(LOCUSTFILE),
        profile=SHORT,
        slo=SLO,
        stop_timeout_s=0,
        startup_grace_s=30,
        payloads={"dir": str(tmp_path / "golden"), "name": "payloads", "version": version},
    )


def test_the_locustfile_sends_the_golden_version_it_was_given(tmp_path):
    golden = tmp_path / "golden"
    write_golden("payloads", _payloads(start=1000.0), golden, version=1)
    spec = write_golden("payloads", _payloads(), golden, version="2026-12")  # the version asked for
    server = PerfServer(token=TOKEN)
    try:
        result = run_load_test(_config(server.url, tmp_path, "2026-12"), out_dir=tmp_path / "out", api_token=TOKEN)
    finally:
        server.close()
    assert result.details["payloads"] == {
        "name": "payloads",
        "version": "2026-12",
        "sha256": file_sha256(golden / "payloads.csv"),
        "path": str((golden / "payloads.csv").resolve()),
    }
    assert spec.sha256 == result.details["payloads"]["sha256"]
    assert result.check("load.locust_run").status == "PASS", result.message
    expected = _payloads().to_dict(orient="records")
    assert server.bodies and all(body in expected for body in server.bodies)  # version 2026-12's rows only
    assert all(isinstance(body["hour"], int) and isinstance(body["amount"], float) for body in server.bodies)


def test_another_version_is_a_config_error_before_any_request(tmp_path):
    write_golden("payloads", _payloads(), tmp_path / "golden", version=2)
    server = PerfServer()
    try:
        with pytest.raises(ConfigError, match=r"payloads.*is version 2, but version 1 was requested.*no load"):
            run_load_test(_config(server.url, tmp_path, 1), out_dir=tmp_path / "out")
    finally:
        server.close()
    assert server.timings == [] and server.bodies == []  # not even the health probe
    assert not (tmp_path / "out" / "locust.log").exists()


def test_payloads_changed_without_a_bump_are_a_config_error(tmp_path):
    write_golden("payloads", _payloads(), tmp_path / "golden", version=1)
    csv = tmp_path / "golden" / "payloads.csv"
    csv.write_text(csv.read_text().replace("7000.25", "7000.5"))
    with pytest.raises(ConfigError, match=r"payloads.csv\) changed without a version bump"):
        payload_env(_config("http://127.0.0.1:9", tmp_path, 1))


def test_payloads_need_a_version_and_a_folder(tmp_path):
    with pytest.raises(ValidationError, match=r"payloads.version\n  Field required"):
        LoadTestConfig(host="http://127.0.0.1:9", locustfile="x.py", payloads={"name": "p"})
    config = LoadTestConfig(host="http://127.0.0.1:9", locustfile="x.py", payloads={"name": "p", "version": 1})
    with pytest.raises(ConfigError, match="names no 'dir'"):
        payload_env(config)


def test_the_demo_reads_its_payloads_by_version_from_the_golden_folder():
    config = demo_performance().load_test
    assert config.payloads.name == "inference_payloads_256" and config.payloads.version == 1
    env = payload_env(config)
    assert env["ASSAY_PAYLOADS_PATH"] == str((GOLDEN_DIR / "inference_payloads_256.csv").resolve())
    assert env["ASSAY_PAYLOADS_VERSION"] == "1" and env["ASSAY_PAYLOADS_SHA256"] == file_sha256(
        GOLDEN_DIR / "inference_payloads_256.csv"
    )
    assert list(pd.read_csv(env["ASSAY_PAYLOADS_PATH"]).columns) == FEATURES


def test_the_locustfile_refuses_bytes_that_are_not_the_verified_version(tmp_path):
    """Changed after Assay verified it: the locustfile stops before its users start (Locust then exits 1)."""
    import subprocess
    import sys

    write_golden("payloads", _payloads(), tmp_path, version=1)
    env = {
        "ASSAY_PAYLOADS_PATH": str(tmp_path / "payloads.csv"),
        "ASSAY_PAYLOADS_VERSION": "1",
        "ASSAY_PAYLOADS_SHA256": "0" * 64,
        "PATH": "/usr/bin:/bin",
    }
    code = f"import runpy; runpy.run_path({str(LOCUSTFILE)!r})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "are not version '1' as verified" in proc.stderr and "changed after Assay checked it" in proc.stderr
    env["ASSAY_PAYLOADS_SHA256"] = file_sha256(tmp_path / "payloads.csv")
    code = f"import runpy; print(len(runpy.run_path({str(LOCUSTFILE)!r})['RECORDS']))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "12", proc.stderr
