"""assay_nightly_performance: load tests against SLOs, concurrent pipelines, micro-benchmarks, mutation."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from assay_airflow.dag_config import load_dag_config, measurement_task_args, performance_targets
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.performance import (
    LoadTestOperator,
    MicrobenchmarkOperator,
    MutationTestingOperator,
    PipelineLoadOperator,
)

CONFIG = load_dag_config()
TARGETS = performance_targets(CONFIG)
# the timing measurements run alone: a one-slot pool across the deployment, a queue with a worker of its own
MEASUREMENT = measurement_task_args(CONFIG)
SUITES = {
    "load_test": LoadTestOperator,
    "pipeline_load": PipelineLoadOperator,
    "microbenchmark": MicrobenchmarkOperator,
    "mutation": MutationTestingOperator,
}

with DAG(
    dag_id="assay_nightly_performance",
    description="Locust load tests with SLO gates and regression, pipeline execution, micro-benchmarks, mutation",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # one suite at a time: concurrent suites would measure each other
    tags=["assay", "performance", "nightly"],
    default_args={
        "owner": "assay",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(hours=1),
    },
    doc_md=__doc__
    + """

Per target with a `performance` section in assay.yaml. The load test starts the target's service for the
run (or reaches a running one through `api_conn_id`) and always stops what it started. Production values
from the testing strategy (1000 users, 60 s ramp, 10 min, 100 rps, p95 < 100 ms, errors < 0.1%) are the
engine defaults; the demo config scales users and duration to a 2-core machine and says so.

The load test, pipeline load and micro-benchmarks take the one-slot pool `performance_isolation.pool` and
the queue `performance_isolation.queue` (a worker of their own under Celery); a run during which other work
used more than `performance_isolation.other_work_max_share` of the cores is WARN "measurement disturbed".
""",
) as dag:
    for target in TARGETS:
        for suite, operator in SUITES.items():
            operator(
                task_id=f"{suite}__{target}",
                target=target,
                on_failure_callback=AssayAlertNotifier(),
                **(MEASUREMENT if operator.measures_timing else {}),
            )
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
