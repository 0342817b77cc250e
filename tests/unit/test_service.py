"""The service starter (assay.service): the service under test for load, chaos (and later security) runs.

It never sees the worker's secrets: it gets the scrubbed environment a target's pytest suites get, plus only
what its config says it needs. It always stops what it started, error or not, and fails clearly."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import psutil
import pytest
import requests
from support.chaos_target import target_argv
from support.chaos_target import target_env as chaos_target_env

from assay.config import ServiceConfig, TargetConfig
from assay.errors import TargetError
from assay.service import start_service

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_pids(pids) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def start_target(work: Path, *, workers: int = 2):
    """The chaos stand-in server (tests/support/chaos_target.py): a uvicorn master and its workers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return start_service(
        target_argv(port, workers),
        cwd=REPO,
        port=port,
        ready_timeout=30,
        env=chaos_target_env(work / "faults.json"),
        log_path=work / "server.log",
    )


@pytest.fixture
def listening_port():
    """A port something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# -- the service gets the scrubbed environment ----------------------------------------------------------

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
    tmp_path.chmod(0o755)  # the service runs sandboxed as uid 65534 (when root): its cwd must be readable
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


# -- the service helper always stops what it started ------------------------------------------------


@pytest.mark.slow
def test_a_failed_run_still_stops_the_service_and_its_workers(tmp_path):
    port = None
    with pytest.raises(RuntimeError, match="boom"):
        with start_target(tmp_path) as svc:
            port = svc.port
            pids = {svc.pid, *(p.pid for p in psutil.Process(svc.pid).children(recursive=True))}
            assert len(pids) >= 3  # master and two workers
            raise RuntimeError("boom")
    assert not live_pids(pids)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_start_service_fails_clearly_and_leaves_nothing_behind(tmp_path, listening_port):
    with pytest.raises(TargetError, match="already in use"):
        start_service([sys.executable, "-c", "pass"], cwd=tmp_path, port=listening_port)
    with pytest.raises(TargetError, match=r"exited with code 3 before it was ready:\n.*no model here"):
        start_service(
            [sys.executable, "-c", "import sys; print('no model here'); sys.exit(3)"],
            cwd=tmp_path,
            port=free_port(),
            ready_timeout=10,
        )
    marker = f"time.sleep(60.{free_port()})"  # a unique command line to find stray processes by
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; {marker}']); {marker}"
    with pytest.raises(TargetError, match="not ready within 1.5 s"):
        start_service([sys.executable, "-c", code], cwd=tmp_path, port=free_port(), ready_timeout=1.5)
    strays = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert not live_pids(p.pid for p in strays)
