"""``evaluate_gates``: read what the suites recorded, evaluate the target's gates and the per-commit alert
rules (recorded as checks of severity ``alert``; flaky tests left out of the failure rate), record them, post
the commit status, then fail if the verdict is FAIL or ERROR. A failed verdict is notified once, by the task's
failure callback; a rule that fires is notified by the standing alert rules evaluated after the DAG run
(:mod:`assay_airflow.operators.alert_rules`), once when it starts firing and once when it resolves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from assay.alerts.rules import evaluate_alert_rules
from assay.engines.per_commit import PreviousCoverage, evaluate_commit_gates, outcome_from_row, verdict
from assay.redaction import strip_url_credentials
from assay.results import Result
from assay.status import Status
from assay.store import StoreUnavailable
from assay.store.repository import COVERAGE_METRIC
from assay_airflow.hooks.commit_status import CommitStatusHook
from assay_airflow.operators.base import AssayOperator, run_key
from assay_airflow.operators.per_commit import CHECKOUT, resolved_commit

if TYPE_CHECKING:
    from airflow.sdk import Context

GATES = "per_commit_gates"


def run_url(base_url: str, dag_id: str, run_id: str) -> str:
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}"


class CommitGatesOperator(AssayOperator):
    """Evaluate the per-commit gates of this DAG run from the metrics DB (trigger rule: all_done).

    XCom: ``{"verdict": ..., "checks": [...], "alert_rules_fired": [...]}``.
    """

    def __init__(self, *, commit_task_id: str = "resolve_commit", **kwargs) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.commit_task_id = commit_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        started = datetime.now(UTC)
        key = run_key(context)
        cfg = self.assay_config
        store = self.metrics_hook.store
        try:
            store.ensure_schema()
            self.metrics_hook.outbox.flush(store)
            rows = store.latest_suite_runs(key.dag_id, key.run_id, kinds=("pytest", CHECKOUT))
        except StoreUnavailable as exc:
            raise AirflowException(f"cannot read this run's results: {exc}") from exc
        commit = resolved_commit(context["ti"], self.commit_task_id) or {}
        checkout_row = next((r for r in rows if r.kind == CHECKOUT), None)
        target_name = commit.get("target") or (checkout_row.target if checkout_row else None)
        sha = commit.get("sha") or (checkout_row.commit_sha if checkout_row else None)
        branch = commit.get("branch") or (checkout_row.branch if checkout_row else None)
        target = cfg.targets.get(target_name) if target_name else None

        outcomes = [outcome_from_row(r) for r in rows]
        if target is None:
            from assay.store.records import CheckRecord

            reason = checkout_row.message if checkout_row else "the commit was never resolved"
            checks = [CheckRecord(f"suite_completed:{CHECKOUT}", Status.ERROR, message=reason)]
        else:
            previous = None
            if branch:
                prev = store.previous_metric(
                    target=target_name,
                    branch=branch,
                    suite_name=target.gates.coverage_suite,
                    metric=COVERAGE_METRIC,
                    exclude_run_id=key.run_id,
                    before=started,
                )
                previous = PreviousCoverage(*prev) if prev else None
            suites = [o for o in outcomes if o.name != CHECKOUT]
            checks = evaluate_commit_gates(
                target.gates, outcomes, [CHECKOUT, *target.suites], branch=branch, previous=previous
            ) + evaluate_alert_rules(
                cfg.alerts.rules,
                suites,
                coverage_suite=target.gates.coverage_suite,
                branch=branch,
                previous=previous,
                flaky_outcomes=self._flaky_outcomes(store, target_name, rows),
            )
        result = verdict(checks)
        failed = [c for c in checks if Status(c.status).is_failure and c.severity != "alert"]
        fired = [c.name for c in checks if c.severity == "alert" and c.status == Status.FAIL.value]
        summary = {
            "verdict": result.value,
            "checks": [
                {
                    "name": c.name,
                    "status": c.status,
                    "observed": c.observed,
                    "threshold": c.threshold,
                    "message": c.message,
                }
                for c in checks
            ],
            "alert_rules_fired": fired,
        }
        message = "; ".join(f"{c.name}: {c.message}" for c in failed) or "all gates passed"
        gates = Result(
            name=GATES,
            kind="gate",
            status=result,
            message=message,
            started_at=started,
            finished_at=datetime.now(UTC),
            checks=checks,
            summary=summary,
        )
        self.record_result(context, gates, target=target_name, commit_sha=sha, branch=branch)
        if target is not None and target.commit_status is not None and sha:
            self._post_status(target.commit_status, sha, result, message, cfg.airflow_base_url, key)
        self.log.info("verdict %s for %s@%s: %s", result.value, target_name, sha, message)
        if fired and not result.is_failure:
            # the standing alert rules, after the DAG run, notify a rule that starts firing (once)
            self.log.info("alert rule(s) fired on a %s verdict: %s", result.value, ", ".join(fired))
        if result.is_failure:
            raise AirflowFailException(
                f"per-commit verdict {result.value} for {target_name}@{(sha or '?')[:12]}: {message}"
            )
        return summary

    def _flaky_outcomes(self, store, target_name: str | None, rows) -> list[str]:
        """This run's outcomes of the target's flaky tests (left out of the failure-rate rule); none when the
        history cannot be read (the rule then counts every test, as before)."""
        from assay.alerts.flaky import flaky_node_ids

        if not target_name:
            return []
        try:
            flaky = flaky_node_ids(store, target=target_name)
        except StoreUnavailable as exc:
            self.log.warning("flaky tests not read, every test counts: %s", exc)
            return []
        return [t.outcome for r in rows if r.kind == "pytest" for t in r.test_cases if (r.name, t.node_id) in flaky]

    def _post_status(self, cs, sha: str, result: Status, message: str, base_url: str, key) -> None:
        """Post the commit status; a failure is logged and never changes the verdict."""
        try:
            code = CommitStatusHook(cs.conn_id, provider=cs.provider).post_status(
                repository=cs.repository,
                sha=sha,
                verdict=result,
                description=f"Assay {result.value}: {message}",
                context=cs.context,
                target_url=run_url(base_url, key.dag_id, key.run_id),
            )
            self.log.info("posted commit status %s to %s (HTTP %s)", result.value, cs.provider, code)
        except Exception as exc:  # noqa: BLE001 - a notification must never change the verdict
            self.log.error("could not post the commit status to %s: %s", cs.provider, strip_url_credentials(str(exc)))
