"""Operators of ``assay_per_commit``: resolve the commit, run each pytest suite, evaluate the gates.

Each records its outcome in the metrics DB before it raises (DESIGN.md: record, then fail).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
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
from assay.engines.per_commit.sharding import ShardPlan, ShardSpec, shard_count
from assay.errors import AssayError, ConfigError
from assay.results import Result
from assay.status import Status, worst
from assay_airflow.operators.base import AssayOperator, raise_for, task_work_dir

if TYPE_CHECKING:
    from airflow.sdk import Context


CHECKOUT = "checkout"
COMMIT_XCOM_KEY = "commit"
#: XCom of ``resolve_commit``: {suite: ShardPlan.to_dict()} for each suite this run shards
SHARD_PLANS_XCOM_KEY = "shard_plans"
#: XCom of a shard task: where its outputs are and what it recorded (pushed before it raises)
SHARD_XCOM_KEY = "shard_output"
SHARD_KIND = "pytest_shard"
_SHARD_ITEM = re.compile(r"(?P<suite>[a-z0-9][a-z0-9_-]*)\[(?P<index>\d+)/(?P<count>\d+)\]")
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


def shard_item(suite: str, index: int, count: int) -> str:
    """What the suite task is mapped over for one shard: ``unit[2/4]`` (index 1 of 4)."""
    return f"{suite}[{index + 1}/{count}]"


def parse_shard_item(item: str) -> tuple[str, int, int]:
    """(suite, 0-based index, count) of a mapped suite item: ``unit`` is (``unit``, 0, 1)."""
    m = _SHARD_ITEM.fullmatch(item)
    if m is None:
        return item, 0, 1
    return m["suite"], int(m["index"]) - 1, int(m["count"])


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
        plans = self.shard_plans(request.target, target)
        suites = [
            item
            for name in target.suites
            for item in (
                [shard_item(name, i, plans[name].count) for i in range(plans[name].count)] if name in plans else [name]
            )
        ]
        if plans:
            summary["shards"] = {name: plan.to_dict() for name, plan in plans.items()}
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
        if plans:
            context["ti"].xcom_push(SHARD_PLANS_XCOM_KEY, {name: plan.to_dict() for name, plan in plans.items()})
        return suites

    def shard_plans(self, name: str, target: TargetConfig) -> dict[str, ShardPlan]:
        """The suites this run shards, each with its shard count and the recorded runs whose test durations
        balance it (frozen here, so every shard reads the same). With the metrics DB down, a fixed count still
        shards (by file count) and ``auto`` runs unsharded."""
        from assay.store import StoreUnavailable

        plans = {}
        for suite_name, suite in target.suites.items():
            if suite.shards == 1:
                continue
            try:
                store = self.metrics_hook.store
                store.ensure_schema()
                runs, total = store.duration_runs(target=name, suite=suite_name)
            except (StoreUnavailable, AssayError) as exc:
                self.log.warning("suite %s: no recorded durations to balance shards by (%s)", suite_name, exc)
                runs, total = [], None
            count = shard_count(suite, total)
            if count > 1:
                plans[suite_name] = ShardPlan(suite_name, count, tuple(runs), total)
                self.log.info(
                    "suite %s: %d shards, balanced by %s",
                    suite_name,
                    count,
                    f"the test durations of runs {runs}" if runs else "file count (no recorded durations)",
                )
        return plans


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
        suite_name, index, count = parse_shard_item(self.suite)
        kind = SHARD_KIND if count > 1 else "pytest"
        try:
            target = self.assay_config.target(name)
        except ConfigError as exc:
            self.record_error(context, exc, kind=kind, name=self.suite, started_at=started, **ids)
        if suite_name not in target.suites:
            raise AirflowSkipException(f"target {name!r} configures no suite {suite_name!r}")
        out_dir = task_work_dir(context)
        workdir: Path | None = None
        try:
            shard = self.shard_spec(context, suite_name, index, count) if count > 1 else None
            workdir = checkout(name, target, sha)
            result = self.run_suite(
                context,
                target_name=name,
                target=target,
                suite_name=suite_name,
                worktree=workdir,
                out_dir=out_dir,
                shard=shard,
                started=started,
            )
        except AssayError as exc:
            result = SuiteResult(
                name=suite_name,
                status=Status.ERROR,
                message=str(exc),
                started_at=started,
                finished_at=datetime.now(UTC),
                retryable=exc.retryable,
            )
        except AirflowTaskTimeout:
            result = interrupted_suite_result(
                name=suite_name,
                out_dir=out_dir,
                workdir=workdir or out_dir,
                started_at=started,
                reason=f"was stopped by Airflow's execution_timeout ({self.execution_timeout})",
            )
            self.record_suite(context, result, index, count, out_dir, ids)
            raise
        self.record_suite(context, result, index, count, out_dir, ids)
        self.log.info("suite %s: %s — %s", self.suite, result.status.value, result.message)
        raise_for(
            result.status,
            f"suite {self.suite!r} on {name}@{sha[:12]}: {result.status.value}: {result.message}",
            retryable=result.retryable,
        )
        return result.describe_dict()

    def run_suite(
        self,
        context: Context,
        *,
        target_name: str,
        target: TargetConfig,
        suite_name: str,
        worktree: Path,
        out_dir: Path,
        shard: ShardSpec | None,
        started: datetime,
    ) -> SuiteResult:
        """Run the suite (``shard``'s part of it) on the checked-out ``worktree``: here in the worker's own
        process (sandboxed as the target's config says); the container operators run it in a container."""
        return run_commit_suite(
            target_name=target_name,
            target=target,
            suite_name=suite_name,
            worktree=worktree,
            envs_root=envs_root(),
            out_dir=out_dir,
            shard=shard,
        )

    def shard_spec(self, context: Context, suite: str, index: int, count: int) -> ShardSpec:
        """This shard's part: the durations of the recorded runs ``resolve_commit`` froze for the suite."""
        from assay.store import StoreUnavailable

        plans = context["ti"].xcom_pull(task_ids=self.commit_task_id, key=SHARD_PLANS_XCOM_KEY) or {}
        if suite not in plans:
            raise ConfigError(f"no shard plan for suite {suite!r} in XCom of task {self.commit_task_id!r}")
        plan = ShardPlan.from_dict(plans[suite])
        try:
            durations = self.metrics_hook.store.test_durations(plan.duration_runs)
        except StoreUnavailable as exc:  # every shard must balance by the same durations: wait for the DB
            raise AssayError(f"cannot read the recorded test durations the shards balance by: {exc}") from exc
        return ShardSpec(index, count, durations)

    def record_suite(
        self, context: Context, result: SuiteResult, index: int, count: int, out_dir: Path, ids: dict[str, Any]
    ) -> None:
        """Record the suite; a shard is recorded as a ``pytest_shard`` run named ``unit[2/4]`` with its status
        and counts only (its tests and coverage are recorded once, by the merge), and tells the merge where
        its outputs are before anything can raise."""
        if count == 1:
            self.record_result(context, result, **ids)
            return
        shard = replace(
            result, kind=SHARD_KIND, name=shard_item(result.name, index, count), test_cases=[], coverage=None
        )
        context["ti"].xcom_push(
            SHARD_XCOM_KEY,
            {
                "index": index,
                "out_dir": str(out_dir),
                "status": result.status.value,
                "message": result.message,
                "started_at": result.started_at.isoformat(),
                "finished_at": result.finished_at.isoformat(),
            },
        )
        self.record_result(context, shard, **ids)


class MergeShardsOperator(AssayOperator):
    """Merge each sharded suite's shards into the one ``pytest`` suite run an unsharded run would record
    (:func:`assay.engines.per_commit.shard_merge.merge_shards`): every test case, the counts, the combined
    coverage. Runs once all shards are done (trigger rule ``all_done``, after Airflow retried failed shards
    alone); a shard that left nothing makes its suite ERROR. Skipped when the run sharded no suite."""

    def __init__(self, *, commit_task_id: str = "resolve_commit", suite_task_id: str = "run_suite", **kwargs) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.commit_task_id = commit_task_id
        self.suite_task_id = suite_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.per_commit.shard_merge import ShardOutput, merge_shards

        ti = context["ti"]
        commit = resolved_commit(ti, self.commit_task_id)
        plans = ti.xcom_pull(task_ids=self.commit_task_id, key=SHARD_PLANS_XCOM_KEY) if commit else None
        if not commit or not plans:
            raise AirflowSkipException("no suite of this run was sharded")
        name, sha = commit["target"], commit["sha"]
        ids = {"target": name, "commit_sha": sha, "branch": commit.get("branch")}
        items = ti.xcom_pull(task_ids=self.commit_task_id) or []
        target = self.assay_config.target(name)
        out: dict[str, Any] = {}
        for suite_name, raw in plans.items():
            started = datetime.now(UTC)
            plan = ShardPlan.from_dict(raw)
            suite = target.suites[suite_name]
            with self.recording_errors(context, kind="pytest", name=suite_name, started_at=started, **ids):
                workdir = checkout(name, target, sha)
                python = prepare_python(name, target, workdir, envs_root()).python
                outputs = []
                for map_index, item in enumerate(items):
                    s, index, count = parse_shard_item(item)
                    if s != suite_name or count == 1:
                        continue
                    got = ti.xcom_pull(task_ids=self.suite_task_id, key=SHARD_XCOM_KEY, map_indexes=map_index)
                    outputs.append(_shard_output(ShardOutput, index, got))
                result = merge_shards(
                    name=suite_name,
                    suite=suite,
                    count=plan.count,
                    shards=outputs,
                    worktree=workdir,
                    out_dir=task_work_dir(context) / suite_name,
                    python=python,
                    source=suite.source or target.source,
                    sandbox=target.sandbox.policy(suite.network),
                )
            self.record_result(context, result, **ids)
            self.log.info("suite %s (%d shards): %s — %s", suite_name, plan.count, result.status.value, result.message)
            out[suite_name] = result.describe_dict()
        verdict = worst(r["status"] for r in out.values())
        if verdict is not Status.PASS:
            failed = "; ".join(f"{s}: {r['status']}: {r['message']}" for s, r in out.items() if r["status"] != "PASS")
            raise_for(verdict, f"sharded suites on {name}@{sha[:12]}: {failed}", retryable=False)
        return out


def _shard_output(cls: Any, index: int, got: dict[str, Any] | None) -> Any:
    if not got:
        return cls(index, None)
    return cls(
        index,
        Path(got["out_dir"]),
        Status(got["status"]),
        got.get("message"),
        datetime.fromisoformat(got["started_at"]),
        datetime.fromisoformat(got["finished_at"]),
    )


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
