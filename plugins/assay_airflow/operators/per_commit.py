"""Operators of ``assay_per_commit``: resolve the commit, run each pytest suite, evaluate the gates.

Each records its outcome in the metrics DB before it raises (DESIGN.md: record, then fail).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from assay.config import TargetConfig, assay_home
from assay.engines.commit_request import validate_commit_request
from assay.engines.git_workspace import GitWorkspace
from assay.engines.pytest_suite import SuiteResult, run_pytest_suite
from assay.engines.target_env import prepare_python
from assay.errors import ConfigError, TargetError
from assay.status import Status
from assay.store import MetricRecord, SuiteRunRecord, TestCaseRecord
from assay.store.repository import COVERAGE_METRIC, FILE_COVERAGE_METRIC
from assay_airflow.operators.base import AssayOperator, raise_for, run_key, task_work_dir

if TYPE_CHECKING:
    from airflow.sdk import Context


CHECKOUT = "checkout"


def workspace() -> GitWorkspace:
    return GitWorkspace(assay_home() / "git")


def checkout(name: str, target: TargetConfig, sha: str) -> tuple[Path, str]:
    """Worktree and interpreter for ``sha`` (idempotent: reused when another task already made them)."""
    ws = workspace()
    try:
        path = ws.worktree(name, sha)
    except TargetError:
        ws.sync_mirror(name, target.repo)
        path = ws.worktree(name, sha)
    return path, prepare_python(name, target, path, assay_home() / "envs")


class ResolveCommitOperator(AssayOperator):
    """Validate the run's params, mirror the target repo, resolve the exact commit, check it out and
    prepare its Python environment. Returns ``{target, sha, branch, requested_sha}`` (XCom).

    Bad params or a commit that does not exist fail the run at once (no retry) with what to fix; a
    repository that cannot be fetched is a retryable ERROR.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        started = datetime.now(UTC)
        params = dict(context["params"])
        raw_target = params.get("target") if isinstance(params.get("target"), str) else None

        def record(status: Status, message: str, **fields: Any) -> None:
            self.record(SuiteRunRecord(
                key=run_key(context), kind=CHECKOUT, name=CHECKOUT, status=status.value, started_at=started,
                finished_at=datetime.now(UTC), message=message,
                summary={"params": {k: v for k, v in params.items() if isinstance(v, (str, int, float, type(None)))}},
                **fields,
            ))

        try:
            request = validate_commit_request(self.assay_config, params)
        except ConfigError as exc:
            record(Status.ERROR, str(exc), target=raw_target)
            raise AirflowFailException(str(exc)) from None
        target = self.assay_config.target(request.target)
        ws = workspace()
        ids = {"target": request.target, "branch": request.branch, "commit_sha": request.sha}
        try:
            ws.sync_mirror(request.target, target.repo)
        except TargetError as exc:
            record(Status.ERROR, str(exc), **ids)
            raise AirflowException(str(exc)) from None
        try:
            sha = ws.resolve(request.target, sha=request.sha, branch=request.branch)
            path, python = checkout(request.target, target, sha)
        except TargetError as exc:
            record(Status.ERROR, str(exc), **ids)
            raise AirflowFailException(str(exc)) from None
        ids["commit_sha"] = sha
        record(Status.PASS, f"checked out {sha} at {path}", **ids)
        self.log.info("target %s at %s (requested %s) in %s, python %s", request.target, sha,
                      request.sha or request.branch, path, python)
        return {"target": request.target, "sha": sha, "branch": request.branch, "requested_sha": request.sha}


class PytestSuiteOperator(AssayOperator):
    """Run one configured pytest suite of the resolved commit and record every test case and coverage.

    :param suite: name of the suite in the target's config (``unit``, ``integration``, ...).
    :param commit_task_id: task whose XCom holds the resolved commit.
    XCom: the suite's ``describe_dict()``.
    """

    template_fields = ("suite",)

    def __init__(self, *, suite: str, commit_task_id: str = "resolve_commit", **kwargs) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.commit_task_id = commit_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        commit = context["ti"].xcom_pull(task_ids=self.commit_task_id)
        if not commit:
            raise AirflowFailException(f"no resolved commit in XCom of task {self.commit_task_id!r}")
        name, sha, branch = commit["target"], commit["sha"], commit.get("branch")
        target = self.assay_config.target(name)
        key = run_key(context)
        if self.suite not in target.suites:
            raise AirflowSkipException(f"target {name!r} configures no suite {self.suite!r}")
        try:
            workdir, python = checkout(name, target, sha)
        except TargetError as exc:
            now = datetime.now(UTC)
            result = SuiteResult(self.suite, "pytest", Status.ERROR, now, now, str(exc))
        else:
            out_dir = task_work_dir(context)
            result = run_pytest_suite(name=self.suite, suite=target.suites[self.suite], workdir=workdir,
                                      out_dir=out_dir, python=python,
                                      source=target.suites[self.suite].source or target.source)
        self.record(suite_record(result, key=key, target=name, sha=sha, branch=branch))
        summary = result.describe_dict()
        self.log.info("suite %s: %s — %s", self.suite, result.status.value, result.message)
        raise_for(result.status, f"suite {self.suite!r} on {name}@{sha[:12]}: {result.status.value}: {result.message}")
        return summary


def suite_record(result: SuiteResult, *, key, target: str, sha: str, branch: str | None) -> SuiteRunRecord:
    metrics = []
    if result.coverage is not None:
        metrics.append(MetricRecord(COVERAGE_METRIC, round(result.coverage.line_percent, 4), "percent"))
        metrics += [
            MetricRecord(FILE_COVERAGE_METRIC, round(f.percent, 4), "percent",
                         {"file": f.path, "statements": f.statements, "covered": f.covered})
            for f in result.coverage.files
        ]
    counts = result.counts
    metrics += [MetricRecord(f"tests.{k}", float(v), "count") for k, v in counts.items()]
    metrics.append(MetricRecord("suite.duration_s", round(result.duration_s, 3), "s"))
    return SuiteRunRecord(
        key=key, kind=result.kind, name=result.name, status=result.status.value,
        started_at=result.started_at, finished_at=result.finished_at, target=target, commit_sha=sha,
        branch=branch, message=result.message, summary=result.describe_dict() | {"log_path": result.log_path},
        test_cases=tuple(TestCaseRecord(c.node_id, c.outcome, c.duration_s, c.message) for c in result.cases),
        metrics=tuple(metrics),
    )
