"""Run ``python -m serving`` as a subprocess on a free loopback port, for tests and load/chaos drivers.

::

    with run_server_process(["--no-train"], log_path=tmp / "api.log") as server:
        httpx.get(f"{server.url}/health")

The server gets its own process group; on exit it is stopped with SIGINT (uvicorn shuts its
workers down) and, if it lingers, the whole group is killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

DEMO_ROOT = Path(__file__).resolve().parents[1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _wait_healthy(server: ServerProcess, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"python -m serving exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"python -m serving was not healthy within {timeout_s} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """SIGINT the process group, then SIGKILL it if it has not exited in ``timeout_s``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def run_server_process(
    args: list[str],
    *,
    log_path: Path,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
    startup_timeout_s: float = 60,
) -> Iterator[ServerProcess]:
    """Start the API with extra CLI ``args`` (host and port are chosen here); yield once healthy."""
    port = free_port(host)
    argv = [sys.executable, "-m", "serving", "--host", host, "--port", str(port), *args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=DEMO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    server = ServerProcess(f"http://{host}:{port}", process, log_path)
    try:
        _wait_healthy(server, startup_timeout_s)
        yield server
    finally:
        stop(process)
