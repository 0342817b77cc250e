"""One configured suite on one checked-out commit: its environment, its own project, pytest, the result.

The cached dependency venv is trusted only as far as it works. When, on a venv not built in this run, the
commit's project cannot be installed into the per-run layer, or collection fails with an ImportError of a
module that is not the repository's own code (``No module named 'six'``, not ``... 'mypkg.gone'``), the venv
is rebuilt once and the suite runs again: what the fresh venv gives is the commit's result, and the rebuild
is noted in the message and ``details``. A module that a fresh venv lacks too is remembered on that venv
(the commit really does not declare it), so later suites do not rebuild for it again.

The commit's code runs confined by the target's ``sandbox`` (:mod:`assay.sandbox`): pytest, and the per-run
install of its own project (its build backend). A worker that cannot sandbox makes the suite ERROR. Not
confined yet: the build of the cached venv (pip downloading third-party dependencies, which also builds the
commit's project once to resolve them, and the target's ``install_command``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from assay.engines.per_commit.config import CommitTargetConfig
from assay.engines.per_commit.pytest_suite import SuiteResult, run_pytest_suite
from assay.engines.per_commit.python_env import (
    TargetPython,
    install_project_layer,
    note_missing_modules,
    prepare_python,
    rebuild_python,
)
from assay.engines.per_commit.sharding import ShardSpec
from assay.errors import AssayError, TargetError
from assay.sandbox import SandboxUnavailable, check_available
from assay.status import Status

_NO_MODULE = re.compile(r"No module named '([^']+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '[^']+' from '([^']+)'")
_SOURCE_ROOTS = (".", "src", "lib", "python")


def missing_modules(result: SuiteResult) -> set[str]:
    """Top-level names of the modules the suite's import errors could not import (``?`` when unnamed)."""
    names = set()
    for err in result.import_errors:
        m = _NO_MODULE.search(err.message) or _CANNOT_IMPORT.search(err.message)
        names.add(m.group(1).split(".")[0] if m else "?")
    return names


def _in_repository(name: str, root: Path) -> bool:
    return any((root / base / name).is_dir() or (root / base / f"{name}.py").is_file() for base in _SOURCE_ROOTS)


def venv_suspects(result: SuiteResult, env: TargetPython, worktree: Path) -> set[str]:
    """The missing modules that a broken cached venv could explain (not the repository's own, not ones a
    fresh build of this venv lacked as well)."""
    root = Path(worktree)
    return {m for m in missing_modules(result) if not _in_repository(m, root)} - set(env.known_missing)


def run_commit_suite(
    *,
    target_name: str,
    target: CommitTargetConfig,
    suite_name: str,
    worktree: Path,
    envs_root: Path,
    out_dir: Path,
    shard: ShardSpec | None = None,
) -> SuiteResult:
    """Run one configured suite on ``worktree`` (only ``shard``'s part of it, when given)."""
    suite = target.suites[suite_name]
    started = datetime.now(UTC)
    out_dir = Path(out_dir).resolve()
    rebuilt: str | None = None
    sandbox = target.sandbox.policy(suite.network)  # None: a trusted target, run unconfined
    try:
        if sandbox is not None:
            check_available(sandbox)
        env = prepare_python(target_name, target, worktree, envs_root)
    except (TargetError, SandboxUnavailable) as exc:
        return _error(suite_name, started, exc)
    while True:
        suspect = env.env_dir is not None and not env.built_now and rebuilt is None
        try:
            layer = install_project_layer(env, worktree, out_dir / "layer", sandbox=sandbox)
        except TargetError as exc:
            if not suspect:
                return _error(suite_name, started, exc)
            rebuilt = f"installing the commit's project failed on the cached venv {env.env_dir}: {exc}"
            try:
                env = rebuild_python(target_name, env, worktree, envs_root)
            except TargetError as exc2:
                return _error(suite_name, started, exc2)
            continue
        result = run_pytest_suite(
            name=suite_name,
            suite=suite,
            workdir=worktree,
            out_dir=out_dir,
            python=env.python,
            source=suite.source or target.source,
            env=layer.env(),
            shard=shard,
            sandbox=sandbox,
        )
        if suspect and venv_suspects(result, env, worktree):
            rebuilt = (
                "collection failed with "
                + "; ".join(f"{e.describe()} ({e.message.splitlines()[0]})" for e in result.import_errors[:3])
                + f" on the cached venv {env.env_dir}"
            )
            try:
                env = rebuild_python(target_name, env, worktree, envs_root)
            except TargetError as exc:
                return _error(suite_name, started, exc)
            continue
        if rebuilt and env.env_dir is not None and (still := missing_modules(result)):
            note_missing_modules(env, still)  # a fresh venv lacks them too: the commit's own doing
        break
    result.details["python"] = env.python
    result.details["environment"] = env.plan.key if env.env_dir else "worker"
    result.details["project_layer"] = list(layer.projects)
    if rebuilt:
        result.details["environment_rebuilt"] = rebuilt
        result = replace(
            result, message=f"{result.message} (the cached environment was rebuilt first: {rebuilt.split(':', 1)[0]})"
        )
    return result


def _error(name: str, started: datetime, exc: AssayError) -> SuiteResult:
    return SuiteResult(
        name=name,
        status=Status.ERROR,
        message=str(exc),
        started_at=started,
        finished_at=datetime.now(UTC),
        retryable=exc.retryable,
    )
