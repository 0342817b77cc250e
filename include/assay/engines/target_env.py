"""The Python environment a target's tests run in.

``python: worker`` uses the worker's own interpreter (fine for the bundled demo target). ``python:
venv`` builds one virtualenv per target and requirements-file hash under ``<root>/<target>-<hash>``,
once, under a lock, installing the target's requirements plus the runner's own plugins; later commits
with the same requirements reuse it.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import sys
from pathlib import Path

from assay.config import TargetConfig
from assay.errors import TargetError
from assay.process import run_command

RUNNER_PACKAGES = ("pytest", "pytest-cov", "pytest-xdist")
BUILD_TIMEOUT_S = 1800


def prepare_python(name: str, target: TargetConfig, worktree: Path, envs_root: Path) -> str:
    """Path of the interpreter to run the target's suites with."""
    if target.python == "worker":
        return sys.executable
    req = worktree / target.requirements
    if not req.is_file():
        raise TargetError(f"target {name!r}: requirements file {target.requirements!r} not found in the commit")
    digest = hashlib.sha256(req.read_bytes() + sys.version.encode()).hexdigest()[:16]
    env_dir = envs_root / f"{name}-{digest}"
    python = env_dir / "bin" / "python"
    ready = env_dir / ".assay-ready"
    if ready.exists():
        return str(python)
    envs_root.mkdir(parents=True, exist_ok=True)
    with (envs_root / f"{name}-{digest}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return str(python)
        shutil.rmtree(env_dir, ignore_errors=True)
        for step in (
            [sys.executable, "-m", "venv", str(env_dir)],
            [str(python), "-m", "pip", "install", "-q", "-r", str(req), *RUNNER_PACKAGES],
        ):
            res = run_command(step, cwd=worktree, timeout_s=BUILD_TIMEOUT_S, log_path=envs_root / f"{name}-{digest}.log")
            if res.timed_out or res.returncode != 0:
                shutil.rmtree(env_dir, ignore_errors=True)
                raise TargetError(
                    f"target {name!r}: building its environment failed at {' '.join(step[:4])}…:\n"
                    f"{res.output_tail[-1500:]}"
                )
        ready.touch()
    return str(python)
