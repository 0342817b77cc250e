"""Operators of ``assay_per_commit``: resolve the commit, run each pytest suite, evaluate the gates.

Each records its outcome in the metrics DB before it raises (DESIGN.md: record, then fail).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, AirflowTaskTimeout

from assay.config import TargetConfig, assay_home
from assay.engines.per_commit import (
    GitWorkspace,
    SuiteResult,
    interrupted_suite_result,
    prepare_python,
    run_commit_suite,
    validate_commit_request,
)
from assay.errors import AssayError, ConfigError
from assay.results import Result
from assay.status import Status
from assay_airflow.operators.base import AssayOperator, raise_for, task_work_dir

if TYPE_CHECKING:
    from airflow.sdk import Context


CHECKOUT = "checkout"
COMMIT_XCOM_KEY = "commit"
#: the Asset updated once a commit's suites have run, whatever the verdict (extra: target, sha, branch):
#: ``assay_security_scan`` scans each tested commit
TESTED_ASSET = "assay://per_commit/tested"


def resolved_commit(ti: Any, task_id: str) -> dict[str, Any] | None:
    """The commit ``resolve_commit`` resolved: ``{target, sha, branch, requested_sha}`` (XCom key ``commit``)."""
    commit = ti.xcom_pull(task_ids=task_id, key=COMMIT_XCOM_KEY)
    if commit is None:  # a run from before the suites were mapped returned the commit itself
        legacy = ti.xcom_pull(task_ids=task_id)
        commit = legacy if isinstance(legacy, dict) else None
    return commit


def workspace() -> GitWorkspace:
    return GitWorkspace(assay_home() / "git")


def envs_root() -> Path:
    """Where target virtualenvs are cached: ``ASSAY_ENVS_DIR``, by default ``$ASSAY_HOME/envs``."""
    return Path(os.environ.get("ASSAY_ENVS_DIR") or assay_home() / "envs")


def checkout(name: str, target: TargetConfig, sha: str) -> Path:
    """The worktree of ``sha`` (idempotent: reused when another task already made it)."""
    ws = workspace()
    try:
        return ws.worktree(name, sha)
    except AssayError:
        ws.sync_mirror(name, target.repo)
        return ws.worktree(name, sha)


class ResolveCommitOperator(AssayOperator):
    """Validate the run's params, mirror the target repo, resolve the exact commit, check it out and
    prepare the cached venv of its dependencies.

    XCom: returns the target's suite names, which the suite task is mapped over (one task per configured
    suite); the commit ``{target, sha, branch, requested_sha}`` goes under the key ``commit``.

    Bad params, a repository or commit that does not exist, or dependencies that cannot be resolved fail the
    run at once (no retry) with what to fix; a fetch that timed out or an unreachable host is retried.
    A commit the target's ``testable_refs`` do not allow (no watched branch contains it; pull-request refs
    only when opted in), or a branch that is not watched, fails at once too, before anything is checked out.
    """

    def execute(self, context: Context) -> list[str]:
        started = datetime.now(UTC)
        params = dict(context["params"])
        raw_target = params.get("target") if isinstance(params.get("target"), str) else None
        summary = {"params": {k: v for k, v in params.items() if isinstance(v, (str, int, float, type(None)))}}
        recorded = {"kind": CHECKOUT, "name": CHECKOUT, "started_at": started, "summary": summary}
        try:
            request = validate_commit_request(self.assay_config.targets, params)
        except ConfigError as exc:
            self.record_error(context, exc, target=raw_target, **recorded)
        target = self.assay_config.target(request.target)
        ids = {"target": request.target, "branch": request.branch, "commit_sha": request.sha}
        ws = workspace()
        try:
            ws.sync_mirror(request.target, target.repo)
            sha = ws.resolve(request.target, sha=request.sha, branch=request.branch)
            ids["commit_sha"] = sha
            ws.ensure_testable(
                request.target,
                sha,
                branch=request.branch,
                watch_branches=target.watch_branches,
                pull_requests=target.testable_refs.pull_requests,
            )
            path = checkout(request.target, target, sha)
            python = prepare_python(request.target, target, path, envs_root())
        except AssayError as exc:
            self.record_error(context, exc, **ids, **recorded)
        suites = list(target.suites)
        checked_out = Result(
            name=CHECKOUT,
            kind=CHECKOUT,
            status=Status.PASS,
            message=f"checked out {sha} at {path}",
            started_at=started,
            finished_at=datetime.now(UTC),
            summary=summary,
        )
        self.record_result(context, checked_out, **ids)
        self.log.info(
            "target %s at %s (requested %s) in %s, python %s, suites %s",
            request.target,
            sha,
            request.sha or request.branch,
            path,
            python.python,
            suites,
        )
        context["ti"].xcom_push(
            COMMIT_XCOM_KEY,
            {"target": request.target, "sha": sha, "branch": request.branch, "requested_sha": request.sha},
        )
        return suites


class PytestSuiteOperator(AssayOperator):
    """Run one configured pytest suite of the resolved commit and record every test case and coverage.

    :param suite: name of the suite in the target's config (``unit``, ``integration``, ...) (templated);
        in ``assay_per_commit`` the task is mapped over the resolved target's suites.
    :param commit_task_id: task whose XCom holds the resolved commit.
    XCom: the suite's ``describe_dict()``.

    If Airflow's own ``execution_timeout`` fires inside the run, the suite is still recorded (ERROR, with
    the tests that finished and the one that was running) before the timeout propagates.
    """

    template_fields = ("suite",)

    def __init__(self, *, suite: str, commit_task_id: str = "resolve_commit", **kwargs) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.commit_task_id = commit_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        started = datetime.now(UTC)
        commit = resolved_commit(context["ti"], self.commit_task_id)
        if not commit:
            raise AirflowFailException(f"no resolved commit in XCom of task {self.commit_task_id!r}")
        name, sha, branch = commit["target"], commit["sha"], commit.get("branch")
        ids = {"target": name, "commit_sha": sha, "branch": branch}
        try:
            target = self.assay_config.target(name)
        except ConfigError as exc:
            self.record_error(context, exc, kind="pytest", name=self.suite, started_at=started, **ids)
        if self.suite not in target.suites:
            raise AirflowSkipException(f"target {name!r} configures no suite {self.suite!r}")
        out_dir = task_work_dir(context)
        workdir: Path | None = None
        try:
            workdir = checkout(name, target, sha)
            result = run_commit_suite(
                target_name=name,
                target=target,
                suite_name=self.suite,
                worktree=workdir,
                envs_root=envs_root(),
                out_dir=out_dir,
            )
        except AssayError as exc:
            result = SuiteResult(
                name=self.suite,
                status=Status.ERROR,
                message=str(exc),
                started_at=started,
                finished_at=datetime.now(UTC),
                retryable=exc.retryable,
            )
        except AirflowTaskTimeout:
            result = interrupted_suite_result(
                name=self.suite,
                out_dir=out_dir,
                workdir=workdir or out_dir,
                started_at=started,
                reason=f"was stopped by Airflow's execution_timeout ({self.execution_timeout})",
            )
            self.record_result(context, result, **ids)
            raise
        self.record_result(context, result, **ids)
        self.log.info("suite %s: %s — %s", self.suite, result.status.value, result.message)
        raise_for(
            result.status,
            f"suite {self.suite!r} on {name}@{sha[:12]}: {result.status.value}: {result.message}",
            retryable=result.retryable,
        )
        return result.describe_dict()


class AnnounceTestedOperator(AssayOperator):
    """Update the Asset :data:`TESTED_ASSET` with the tested commit (extra ``{target, sha, branch}``) once the
    suites ran, whatever their outcome (trigger rule ``all_done``), so the DAGs scheduled on it
    (``assay_security_scan``) run on that commit. It runs before the gates, which stay the DAG's leaf (the
    run's state is their verdict). Skipped when no commit was resolved."""

    def __init__(self, *, commit_task_id: str = "resolve_commit", **kwargs) -> None:
        from airflow.sdk import Asset

        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("outlets", [Asset(TESTED_ASSET)])
        super().__init__(**kwargs)
        self.commit_task_id = commit_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk import Asset

        commit = resolved_commit(context["ti"], self.commit_task_id)
        if not commit:
            raise AirflowSkipException("no commit was resolved: nothing was tested")
        extra = {"target": commit["target"], "sha": commit["sha"], "branch": commit.get("branch")}
        context["outlet_events"][Asset(TESTED_ASSET)].extra.update(extra)
        return extra
