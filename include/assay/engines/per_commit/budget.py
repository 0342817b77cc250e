"""How long one per-commit suite task may take, from the config alone (the DAG file sets Airflow's
execution_timeout of the suite task from it at parse time, so this imports nothing but the config model).

A suite task installs the commit's project, runs the suite for its ``timeout_s`` and kills the process
group; a ``python: venv`` target may also build its cached venv and, when that venv turns out broken,
rebuild it and run again. Airflow's timeout is never below that, so it can never cut a suite short of
its configured ``timeout_s``.
"""

from __future__ import annotations

from collections.abc import Iterable

from assay.engines.per_commit.config import CommitTargetConfig

BUILD_TIMEOUT_S = 1800  # building (or rebuilding) a target's cached venv of third-party dependencies
PROJECT_INSTALL_TIMEOUT_S = 300  # installing the commit's own project into the per-run layer
KILL_MARGIN_S = 60  # the process group's SIGTERM grace, parsing and recording


def suite_task_budget_s(target: CommitTargetConfig, timeout_s: int) -> int:
    """The longest one suite task of ``target`` may take when the suite's own limit is ``timeout_s``."""
    once = timeout_s + 2 * PROJECT_INSTALL_TIMEOUT_S + KILL_MARGIN_S
    if target.python == "worker":
        return once + KILL_MARGIN_S
    return 2 * once + 2 * BUILD_TIMEOUT_S + KILL_MARGIN_S


def per_commit_task_timeout_s(targets: Iterable[CommitTargetConfig]) -> int:
    """Airflow's execution_timeout for the (mapped) suite task: the largest budget of any suite of ``targets``
    (the configured targets)."""
    return max(suite_task_budget_s(t, s.timeout_s) for t in targets for s in t.suites.values())
