"""Run a tool as a subprocess in its own process group, with a hard timeout.

On timeout the whole group (pytest and its xdist workers, or anything a hanging test spawned) gets
SIGTERM, then SIGKILL after a grace period. Output goes to a file, never a pipe, so a chatty tool cannot
block on a full buffer; the caller gets the tail for messages and the path for the full log.

:func:`run_command` runs a tool to its end; :func:`spawn` and :func:`kill_group` are its two halves for a
process that keeps running, such as the service under test (:mod:`assay.service`). :func:`target_env` is
the environment every process of a target gets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from assay.errors import ToolError

TAIL_CHARS = 4000
_SCRUBBED_ENV_PREFIXES = ("AIRFLOW", "ASSAY_", "_AIRFLOW")


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when killed on timeout
    timed_out: bool
    duration_s: float
    output_tail: str
    log_path: Path


def spawn(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    stdout: IO[bytes],
    stderr: IO[bytes] | int = subprocess.STDOUT,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` (never through a shell) as the leader of a new process group, stdin closed, output to
    the given files; raises ``OSError`` when it cannot start (each caller says what could not start)."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the process group of ``proc`` (started by :func:`spawn`), SIGKILL after ``grace_s``; once the
    leader is gone, SIGKILL whatever is left of its group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure no member of its group survives it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return


def run_command(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout_s: float,
    log_path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    grace_s: float = 5.0,
    stderr_path: str | os.PathLike[str] | None = None,
) -> CommandResult:
    """Run ``argv`` (never through a shell) and return its exit status and output tail.

    stdout and stderr go to ``log_path`` together, unless ``stderr_path`` names a separate file for
    stderr (for a tool whose stdout is data, such as ``git rev-parse``)."""
    log = Path(log_path)
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("wb") as out, Path(stderr_path).open("wb") if stderr_path else nullcontext() as err:
        try:
            proc = spawn(argv, cwd=cwd, stdout=out, stderr=err if err is not None else subprocess.STDOUT, env=env)
        except OSError as exc:
            raise ToolError(f"cannot start {argv[0]!r}: {exc.strerror}") from None
        timed_out = False
        try:
            returncode: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc, grace_s)
            returncode = None
        except BaseException:
            kill_group(proc, grace_s)
            raise
    duration = time.monotonic() - started
    with log.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - TAIL_CHARS))
        tail = fh.read().decode("utf-8", errors="replace")
    return CommandResult(tuple(argv), returncode, timed_out, duration, tail, log)


def target_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a target's processes see (its tests, its service, its tools): the worker's, minus
    Airflow/Assay settings and secrets, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env
