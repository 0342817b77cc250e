"""The service started for load, chaos (and later security) runs never sees the worker's secrets: it gets
the scrubbed environment a target's pytest suites get, plus only what its config says it needs."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
import requests

from assay.chaos.service import start_service
from assay.config import ServiceConfig, TargetConfig

# A real HTTP service that answers /health with the environment it was started with.
ENV_SERVER = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(dict(os.environ)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

SECRET_CONN = '{"conn_type": "postgres", "password": "s3cret-worker-password"}'
METRICS_URL = "postgresql://assay:metrics-db-password@db/assay"


@pytest.fixture
def worker_secrets(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_METRICS", SECRET_CONN)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", SECRET_CONN)
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", METRICS_URL)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "fernet-key-of-the-worker")
    monkeypatch.setenv("HARMLESS_SETTING", "kept")


def _service_env(base_url: str) -> dict[str, str]:
    return requests.get(base_url + "/health", timeout=5).json()


def _assert_scrubbed(env: dict[str, str]) -> None:
    leaked = sorted(k for k in env if k.startswith(("AIRFLOW", "ASSAY_", "_AIRFLOW")))
    assert leaked == []
    assert "s3cret-worker-password" not in json.dumps(env) and "metrics-db-password" not in json.dumps(env)
    assert env["HARMLESS_SETTING"] == "kept" and env.get("PATH")


def test_start_service_gives_the_service_the_scrubbed_environment_plus_what_it_needs(tmp_path, worker_secrets):
    script = tmp_path / "env_server.py"
    script.write_text(ENV_SERVER)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with start_service(
        [sys.executable, str(script), str(port)], cwd=tmp_path, port=port, env={"SERVICE_DB_URL": "sqlite:///x.db"}
    ) as svc:
        env = _service_env(svc.base_url)
    _assert_scrubbed(env)
    assert env["SERVICE_DB_URL"] == "sqlite:///x.db"


def test_the_dags_target_service_passes_no_worker_secret_and_fills_the_configured_env(tmp_path, worker_secrets):
    from assay_airflow.operators.service import target_service

    script = tmp_path / "env_server.py"
    script.write_text(ENV_SERVER)
    target = TargetConfig(
        repo=str(tmp_path),
        service=ServiceConfig(
            argv=["{python}", str(script), "{port}"],
            cwd=str(tmp_path),
            ready_timeout_s=30,
            env={"SERVICE_WORK_DIR": "{work_dir}"},
        ),
    )
    with target_service("env-probe", target, tmp_path / "work") as svc:
        env = _service_env(svc.base_url)
    _assert_scrubbed(env)
    assert Path(env["SERVICE_WORK_DIR"]) == tmp_path / "work"
