"""assay_test_data: weekly synthetic refresh, anonymised production samples with a leak check, retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, Param

from assay_airflow.dag_config import load_dag_config, test_datasets
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.test_data import TestDataOperator

CONFIG = load_dag_config()
DATASETS = test_datasets(CONFIG)

with DAG(
    dag_id="assay_test_data",
    description="Test data: synthetic refresh, anonymised production sample (masked, leak-checked), retention",
    schedule=CONFIG.test_data.schedule if CONFIG.test_data else None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # each step holds up to a million rows in memory on a 2-core worker
    tags=["assay", "test-data", "weekly"],
    default_args={"owner": "assay", "retries": 1, "retry_delay": timedelta(minutes=2)},
    params={
        "dataset": Param(
            "all",
            type="string",
            enum=["all", *(name for name, _, _ in DATASETS)],
            title="Dataset",
            description="One test dataset of assay.yaml (test_data.datasets), or all of them",
        ),
        "step": Param(
            "all",
            type="string",
            enum=["all", "synthetic", "sample", "retention"],
            title="Step",
            description="Synthetic refresh, anonymised production sample, retention, or all three",
        ),
    },
    doc_md=__doc__
    + """

Weekly (`test_data.schedule`, Sunday 02:00 UTC by default) and from the UI's form. Per dataset of
`test_data.datasets`: **synthetic** (a seeded generator: Faker values for personal fields, the reference data's
distributions and correlations, 1M rows by default, checked against the dataset's own GE suite), **sample** (a
stratified, seeded share of the production source with every personal column of the inventory masked:
keyed pseudonymisation, Faker replacement, generalisation or drop; published only if the leak check passes:
no original value anywhere, no e-mail / phone / card number in free text, k-anonymity), **retention**
(snapshots older than `retention_days` deleted, each deletion recorded for the compliance audit). Snapshots
are Parquet under `test_data.snapshot_dir`; a published one updates the dataset's Asset.
""",
) as dag:
    for name, steps, asset in DATASETS:
        tasks = {
            step: TestDataOperator(
                task_id=f"{step}__{name}",
                dataset=name,
                step=step,
                outlets=[Asset(asset)] if asset and step != "retention" else [],
                on_failure_callback=AssayAlertNotifier(),
                trigger_rule="all_done" if step == "retention" else "all_success",
            )
            for step in steps
        }
        # retention after this week's snapshots, whatever they did
        [tasks[s] for s in steps if s != "retention"] >> tasks["retention"]
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
