"""Start a real Airflow (``airflow standalone``: API server, scheduler, dag-processor, triggerer,
LocalExecutor) on loopback for the tests and benchmarks that go through the REST API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AirflowStack:
    """``airflow standalone`` in its own home; ``trigger`` and ``wait`` use the public REST API."""

    def __init__(self, home: Path, env: dict[str, str] | None = None, password: str = "assay-test") -> None:
        self.home = Path(home)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = password
        venv_bin = str(Path(sys.executable).parent)
        self.env = (
            os.environ
            | {
                "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                "AIRFLOW_HOME": str(self.home / "airflow"),
                "ASSAY_HOME": str(self.home / "assay"),
                "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins")]),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # Only the DAGs a test unpauses run: the scheduled ones would compete for the SQLite metadata
                # DB and the 2 cores with what is measured.
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "ASSAY_AIRFLOW_BASE_URL": self.url,
            }
            | (env or {})
        )
        self.proc: subprocess.Popen | None = None
        self._token: str | None = None

    def start(self, timeout_s: float = 180) -> AirflowStack:
        (self.home / "airflow").mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({"admin": self.password}))
        log = (self.home / "standalone.log").open("wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited: see {self.home / 'standalone.log'}")
            try:
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).json()
                if all(
                    health.get(k, {}).get("status") == "healthy" for k in ("metadatabase", "scheduler", "dag_processor")
                ):
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError(f"airflow standalone not healthy after {timeout_s}s: see {self.home / 'standalone.log'}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def headers(self) -> dict[str, str]:
        if self._token is None:
            resp = requests.post(
                f"{self.url}/auth/token", json={"username": "admin", "password": self.password}, timeout=10
            )
            resp.raise_for_status()
            self._token = resp.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers(), timeout=30, **kw)

    def wait_for_dag(self, dag_id: str, timeout_s: float = 120) -> None:
        """Wait until the DAG is parsed, then unpause it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.api("GET", f"/dags/{dag_id}").status_code == 200:
                self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
                return
            time.sleep(1)
        raise RuntimeError(f"DAG {dag_id} was not parsed within {timeout_s}s")

    def trigger(self, dag_id: str, conf: dict) -> requests.Response:
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})

    def wait(self, dag_id: str, run_id: str, timeout_s: float = 600, poll_s: float = 0.25) -> dict:
        from urllib.parse import quote

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}").json()
            if run.get("state") in ("success", "failed"):
                return run
            time.sleep(poll_s)
        raise TimeoutError(f"run {run_id} of {dag_id} did not finish within {timeout_s}s")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        from urllib.parse import quote

        tis = self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances").json()

        def key(t: dict) -> str:  # a mapped task instance: "run_suite[unit]" (its rendered map index)
            if t.get("map_index", -1) == -1:
                return t["task_id"]
            return f"{t['task_id']}[{t.get('rendered_map_index') or t['map_index']}]"

        return {key(t): t for t in tis["task_instances"]}
