"""Real services for the DAST scanners' tests: the three deliberately broken FastAPI apps of
``tests/fixtures/security/broken_apps`` and the demo serving API, each a real uvicorn subprocess on a free
loopback port, with fresh random tokens (three roles and one already expired) and stopped on exit."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from support.demo_platform import DEMO_DIR, demo_on_sys_path

BROKEN_APPS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "security" / "broken_apps"


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    tokens: dict[str, str]  # role -> token
    expired_token: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _token(label: str) -> str:
    return f"tok-{label}-{secrets.token_urlsafe(18)}"


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy within {timeout_s} s:\n{log_path.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def broken_app(module: str, work: Path) -> Iterator[LiveApi]:
    """Start ``tests/fixtures/security/broken_apps/<module>.py`` (roles ``viewer`` and ``admin``)."""
    tokens = {"viewer": _token("viewer"), "admin": _token("admin")}
    expired = _token("expired")
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / f"{module}.log"
    env = {**os.environ, "BROKEN_APP_TOKENS": json.dumps(tokens), "BROKEN_APP_EXPIRED": expired}
    argv = [sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(BROKEN_APPS_DIR)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path, 30)
        yield LiveApi(url, tokens, expired, log_path, process)
    finally:
        _stop(process)


#: the demo API's roles as "METHOD /path" patterns (what the demo's README and serving.auth say)
DEMO_ROLES: dict[str, list[str]] = {
    "reader": ["GET /models", "GET /models/*", "POST /models/predict", "POST /customers/*/score"],
    "ml-engineer": [
        "GET /models",
        "GET /models/*",
        "POST /models/predict",
        "POST /customers/*/score",
        "POST /models",
        "POST /models/register",
        "POST /models/*/retire",
    ],
    "admin": ["*"],
}


@contextmanager
def demo_api(work: Path) -> Iterator[LiveApi]:
    """The real demo serving API (``python -m serving``, a model trained at start) with a tokens file of
    fresh tokens for its three roles and one that expired in 2000."""
    demo_on_sys_path()
    from serving.server_process import run_server_process

    tokens = {role: _token(role) for role in ("reader", "ml-engineer", "admin")}
    expired = _token("expired")
    entries = [{"token": t, "actor": f"dast-{role}", "role": role} for role, t in tokens.items()]
    entries.append({"token": expired, "actor": "dast-expired", "role": "admin", "expires_at": "2000-01-01T00:00:00Z"})
    work.mkdir(parents=True, exist_ok=True)
    tokens_file = work / "tokens.json"
    tokens_file.write_text(json.dumps({"tokens": entries}), encoding="utf-8")
    args = [
        "--tokens-file",
        str(tokens_file),
        "--db-url",
        f"sqlite:///{work / 'registry.db'}",
        "--log-level",
        "warning",
    ]
    env = {"PYTHONPATH": str(DEMO_DIR)}
    with run_server_process(args, log_path=work / "demo-api.log", env=env, startup_timeout_s=120) as server:
        yield LiveApi(server.url, tokens, expired, server.log_path, server.process)
