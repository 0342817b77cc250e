"""assay_weekly_chaos: chaostoolkit experiments against each target's service, steady state before/after."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from assay_airflow.dag_config import chaos_experiments, load_dag_config
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.performance import ChaosExperimentOperator

EXPERIMENTS = chaos_experiments(load_dag_config())

with DAG(
    dag_id="assay_weekly_chaos",
    description="Kill a worker, inject latency and errors, cut the registry DB: does the service hold?",
    schedule="0 5 * * 0",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # experiments one after another, each against its own fresh service
    tags=["assay", "chaos", "weekly"],
    default_args={
        "owner": "assay",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=30),
    },
    doc_md=__doc__
    + """

Experiments are the chaostoolkit files a target's `chaos.experiments` names (a name is looked up in its
`chaos.experiments_dir`); each has a steady-state hypothesis (health probe and p95 under a threshold)
checked before and after, and rollbacks that always run. Recorded per experiment:
steady state before/after, deviation, recovery time and a resilience score. A deviated steady state fails
the run and alerts.
""",
) as dag:
    for target, experiment in EXPERIMENTS:
        ChaosExperimentOperator(
            task_id=f"chaos__{target}__{experiment.replace('-', '_')}",
            target=target,
            experiment=experiment,
            on_failure_callback=AssayAlertNotifier(),
        )
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
