"""Operators of ``assay_commit_watch``: find new branch heads, then record those handed to a run.

Exactly once per new head sha: ``DetectNewCommitsOperator`` skips shas the metrics DB already holds;
each new sha is triggered with a deterministic run id (``commit__<target>__<sha>``) so Airflow itself
refuses a second run; ``RecordTriggeredCommitsOperator`` writes the shas only after their triggers
did not fail, so a failed trigger is retried by the next watch rather than lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from assay.engines.per_commit import ls_remote
from assay.errors import TargetError
from assay.redaction import redact
from assay.results import Result
from assay.status import Status
from assay.store import StoreUnavailable
from assay_airflow.operators.base import AssayOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


def per_commit_run_id(target: str, sha: str) -> str:
    return f"commit__{target}__{sha}"


class DetectNewCommitsOperator(AssayOperator):
    """``git ls-remote`` every configured target's watched branches; return one trigger spec per new
    head sha (for ``TriggerDagRunOperator.partial(...).expand_kwargs``). An unreachable repo is
    recorded as ERROR and the other targets go on; XCom key ``unreachable`` lists them."""

    def __init__(self, *, ls_remote_timeout_s: float = 60, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ls_remote_timeout_s = ls_remote_timeout_s

    def execute(self, context: Context) -> list[dict[str, Any]]:
        cfg = self.assay_config
        store = self.metrics_hook.store
        try:
            store.ensure_schema()
            seen = store.watched_commits()
        except StoreUnavailable as exc:
            raise AirflowException(f"cannot read watched commits from the metrics DB: {exc}") from exc
        specs: list[dict[str, Any]] = []
        unreachable: list[str] = []
        for name, target in cfg.targets.items():
            started = datetime.now(UTC)
            try:
                heads = ls_remote(target.repo, target.watch_branches, timeout_s=self.ls_remote_timeout_s)
            except TargetError as exc:
                unreachable.append(f"{name}: {exc}")
                status, message, heads = Status.ERROR, f"repository {target.repo!r} unreachable: {exc}", {}
            else:
                missing = sorted(set(target.watch_branches) - set(heads))
                status = Status.PASS
                message = f"heads: {heads}" + (f"; branches not found: {missing}" if missing else "")
            new = {b: sha for b, sha in heads.items() if (name, sha) not in seen}
            for branch, sha in sorted(new.items()):
                seen.add((name, sha))  # two branches at one sha: one run
                specs.append(
                    {
                        "trigger_run_id": per_commit_run_id(name, sha),
                        "conf": {"target": name, "sha": sha, "branch": branch},
                    }
                )
            watched = Result(
                name=f"watch:{name}",
                kind="commit_watch",
                status=status,
                message=message,
                started_at=started,
                finished_at=datetime.now(UTC),
                summary={"heads": heads, "new": new},
            )
            self.record_result(context, watched, target=name)
            self.log.info("%s: %s; new: %s", name, message, new or "none")
        context["ti"].xcom_push(key="unreachable", value=redact(unreachable))
        return specs


class RecordTriggeredCommitsOperator(AssayOperator):
    """After the triggers (trigger rule ``none_failed``): remember every triggered sha, then fail if a
    repository was unreachable so the watch shows red in the UI."""

    def __init__(self, *, detect_task_id: str = "detect_new_commits", **kwargs) -> None:
        kwargs.setdefault("trigger_rule", "none_failed")
        super().__init__(**kwargs)
        self.detect_task_id = detect_task_id

    def execute(self, context: Context) -> list[str]:
        ti = context["ti"]
        specs = ti.xcom_pull(task_ids=self.detect_task_id) or []
        store = self.metrics_hook.store
        claimed = []
        try:
            for spec in specs:
                conf = spec["conf"]
                if store.claim_commit(
                    target=conf["target"], branch=conf["branch"], sha=conf["sha"], run_id=spec["trigger_run_id"]
                ):
                    claimed.append(spec["trigger_run_id"])
        except StoreUnavailable as exc:
            raise AirflowException(f"{exc}; the next watch re-triggers (Airflow dedups by run id)") from exc
        unreachable = ti.xcom_pull(task_ids=self.detect_task_id, key="unreachable") or []
        if unreachable:
            raise AirflowFailException("unreachable repositories (recorded as ERROR): " + "; ".join(unreachable))
        return claimed
