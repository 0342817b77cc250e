"""Start the service under test (for load, chaos and later security runs), and always stop everything that
was started.

The service runs in its own process group (:func:`assay.process.spawn`), output to a log file, with the
environment every process of a target gets (:func:`assay.process.target_env`: the worker's minus every
Airflow and Assay variable, so no ``AIRFLOW_CONN_*`` secret or metrics DB URL reaches the service under
test) plus only the variables the caller passes in ``env``. ``stop()`` sends SIGTERM to the group, then
SIGKILL after a grace period (:func:`assay.process.kill_group`), and finally kills any descendant that
left the group; it is idempotent and is what the context manager calls on the way out, error or not.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from assay.errors import TargetError, ToolError
from assay.process import kill_group, spawn, target_env
from assay.sandbox import SandboxPolicy, interpreter_dirs, wrap_command

TAIL_CHARS = 2000


@dataclass
class ServiceHandle:
    """A started service: its process (group leader), where it listens and where its log goes."""

    argv: tuple[str, ...]
    cwd: Path
    host: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = TAIL_CHARS) -> str:
        try:
            return self.log_path.read_bytes()[-chars:].decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop the whole process group and any stray descendant; safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        try:
            descendants = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        kill_group(self.process, grace_s)
        if self.process.poll() is None:  # its group could not be signalled
            self.process.kill()
            self.process.wait(timeout=grace_s)
        survivors = [p for p in descendants if _alive(p)]
        for proc in survivors:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(survivors, timeout=grace_s)

    def __enter__(self) -> ServiceHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_service(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    port: int,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 60.0,
    host: str = "127.0.0.1",
    health_path: str = "/health",
    log_path: str | os.PathLike[str] | None = None,
    sandbox: SandboxPolicy | None = None,
    read_only: Sequence[str | os.PathLike[str]] = (),
    writable: Sequence[str | os.PathLike[str]] = (),
) -> ServiceHandle:
    """Start ``argv`` (never through a shell) and wait until ``GET http://host:port/health_path`` answers 200.

    The process gets the scrubbed worker environment plus ``env`` (what the service needs), never the
    worker's own Airflow connections or Assay settings.

    ``sandbox``: the service is the target's code: it runs confined (:mod:`assay.sandbox`) with the host
    network (the probes and Locust on the worker reach it), seeing ``cwd``, its interpreter and ``read_only``
    read-only and ``writable`` (its work dir) read-write; ``pid`` is then bubblewrap's, whose death takes the
    whole sandbox with it.

    Raises :class:`TargetError` (after stopping whatever was started) when the port is already taken, the
    process exits early or it is not ready within ``ready_timeout`` seconds; the message carries the log tail.
    """
    if _port_open(host, port):
        raise TargetError(
            f"port {port} on {host} is already in use; stop what listens there or choose another port "
            f"(otherwise the experiment would test a different server)"
        )
    log = Path(log_path) if log_path is not None else Path(cwd) / f"service-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    run_argv, run_env = list(argv), target_env(dict(env or {}))
    if sandbox is not None:
        try:
            wrapped = wrap_command(
                sandbox.with_network("host"),
                run_argv,
                cwd=cwd,
                env=run_env,
                read_only=[cwd, *interpreter_dirs(argv[0]), *read_only],
                writable=writable,
            )
        except ToolError as exc:
            raise TargetError(f"cannot start service {argv[0]!r} sandboxed: {exc}", retryable=exc.retryable) from None
        run_argv, run_env = wrapped.argv, wrapped.env
    with log.open("wb") as out:
        try:
            proc = spawn(run_argv, cwd=cwd, stdout=out, env=run_env)
        except OSError as exc:
            raise TargetError(f"cannot start service {argv[0]!r}: {exc.strerror}") from None
    handle = ServiceHandle(tuple(argv), Path(cwd), host, int(port), log, proc)
    try:
        _wait_ready(handle, health_path, ready_timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


def _wait_ready(handle: ServiceHandle, health_path: str, timeout_s: float) -> None:
    url = f"{handle.base_url}/{health_path.lstrip('/')}"
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = handle.process.poll()
        if code is not None:
            raise TargetError(
                f"service {' '.join(handle.argv[:4])} exited with code {code} before it was ready:\n{handle.log_tail()}"
            )
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise TargetError(
        f"service on port {handle.port} was not ready within {timeout_s} s ({url}: {last}):\n{handle.log_tail()}"
    )


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
