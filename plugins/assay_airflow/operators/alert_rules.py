"""``StandingAlertRulesOperator``: after every Assay DAG run, evaluate the standing alert rules on what the run
recorded, notify the rules that started firing or resolved, and record each rule's state.

Where it runs, and why there: :func:`standing_alert_rules` adds it to a DAG as a *teardown* task downstream of
every other task. A teardown runs once everything upstream is done, whatever their states (trigger rule
``all_done_setup_success``, with no setup: all done), and Airflow leaves teardowns out when it decides the run's
state (``DagRun._tis_for_dagrun_state``), so the run is failed or successful exactly as without it, and a
failure of this task (the metrics DB down) never turns a run red or green. It is an ordinary task: it runs on
a worker with a log, a retry and the run's context, the same way under the scheduler and ``dag.test()``.
The alternatives were worse: a DAG-level ``on_failure_callback`` runs in the DAG processor and has an open bug
in Airflow 3, and callbacks cannot be retried; an ``all_done`` leaf task would turn a failed run into a
success; a listener plugin runs inside the scheduler loop (sending e-mail there stalls scheduling) and is not
called by ``dag.test()``.

Idempotent: the state before this run is read from other DAG runs only, so a retry of this task computes the
same transitions; each evaluation is recorded under the task try's run key (an upsert), and a transition an
earlier try already notified is not notified again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

from assay.redaction import strip_url_credentials
from assay.store import StoreUnavailable
from assay_airflow.operators.base import AssayOperator, run_key

if TYPE_CHECKING:
    from airflow.sdk import DAG, Context

TASK_ID = "alert_rules"


class StandingAlertRulesOperator(AssayOperator):
    """Evaluate the standing alert rules of this DAG run (:mod:`assay.alerts.standing`).

    XCom: ``{"evaluated": n, "fired": [...], "resolved": [...], "firing": [...]}`` (names ``rule:subject``).
    """

    ui_color = "#fbeee8"

    def __init__(self, *, flaky_window: int = 20, **kwargs) -> None:
        super().__init__(**kwargs)
        self.flaky_window = flaky_window

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.alerts.flaky import flaky_node_ids
        from assay.alerts.standing import (
            ALERT_KIND,
            RuleAlert,
            alert_record,
            evaluate_standing_rules,
            plan_transitions,
        )
        from assay_airflow.notifiers.rule_alert import RuleAlertNotifier
        from assay_airflow.operators.gates import run_url

        key = run_key(context)
        cfg = self.assay_config
        store = self.metrics_hook.store
        try:
            store.ensure_schema()
            self.metrics_hook.outbox.flush(store)
            rows = [r for r in store.latest_suite_runs(key.dag_id, key.run_id) if r.kind != ALERT_KIND]
            targets = sorted({r.target for r in rows if r.kind == "pytest" and r.target and r.test_cases})
            flaky = {t: flaky_node_ids(store, target=t, window=self.flaky_window) for t in targets}
            evaluations = evaluate_standing_rules(rows, cfg.alerts.rules, flaky=flaky)
            transitions = plan_transitions(store, evaluations, dag_id=key.dag_id, run_id=key.run_id)
        except StoreUnavailable as exc:
            raise AirflowException(f"cannot evaluate the alert rules: {exc}") from exc
        url = run_url(cfg.airflow_base_url, key.dag_id, key.run_id)
        out: dict[str, Any] = {"evaluated": len(transitions), "fired": [], "resolved": [], "firing": []}
        for t in transitions:
            name = t.evaluation.name
            if t.kind in out:
                out[t.kind].append(name)
            notified = t.already_notified
            if t.notifies:
                alert = RuleAlert.of(t, dag_id=key.dag_id, run_id=key.run_id, run_url=url)
                self.log.info("alert rule %s %s: %s", name, t.kind, strip_url_credentials(t.evaluation.message))
                RuleAlertNotifier(alert, metrics_conn_id=self.metrics_conn_id).notify(context)
                notified = True
            else:
                self.log.info(
                    "alert rule %s: %s%s",
                    name,
                    t.kind,
                    " (already notified by an earlier try)" if t.already_notified else "",
                )
            self.record(alert_record(t, key, notified=notified, at=datetime.now(UTC)))
        if not transitions:
            self.log.info("no standing alert rule applies to what this run recorded")
        return out


def standing_alert_rules(dag: DAG, *, upstream: Iterable[Any] | None = None, **kwargs) -> StandingAlertRulesOperator:
    """Add the standing alert rules to ``dag`` after every task already in it (call it last in the DAG file),
    as a teardown: it runs whatever the tasks did and never changes the run's state (see the module
    docstring)."""
    # downstream of the leaves: a task finishes only after its upstream did, so "all leaves done" is "all done"
    tasks = list(upstream) if upstream is not None else [t for t in dag.leaves if t.task_id != TASK_ID]
    op = StandingAlertRulesOperator(task_id=TASK_ID, dag=dag, **kwargs)
    for task in tasks:
        task >> op
    return op.as_teardown()
