"""assay_data_quality: Great Expectations suites on each dataset's current data, and golden datasets."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param

from assay_airflow.dag_config import load_dag_config
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.datasets import DataQualityOperator, GoldenDatasetsOperator

CONFIG = load_dag_config()
DATASETS = {name: ds for name, ds in CONFIG.datasets.items() if ds.quality_suite}
ASSETS = [Asset(ds.asset) for ds in DATASETS.values() if ds.asset]
DAILY = CronTriggerTimetable(CONFIG.data_quality_schedule, timezone="UTC")

with DAG(
    dag_id="assay_data_quality",
    description="Expectation suites (completeness, ranges, sets, schema, constraints) and golden datasets",
    schedule=AssetOrTimeSchedule(timetable=DAILY, assets=ASSETS) if ASSETS else DAILY,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["assay", "data-quality"],
    default_args={"owner": "assay", "retries": 1, "retry_delay": timedelta(minutes=2)},
    params={
        "dataset": Param(
            "all",
            type="string",
            enum=["all", *sorted(DATASETS)],
            title="Dataset",
            description="Check one configured dataset, or all of them",
        )
    },
    doc_md=__doc__
    + """

Each suite runs in its own ephemeral Great Expectations context; every expectation's result is recorded
and an HTML report is written under `data_quality.report_dir`. Golden datasets are validated against
their committed schema and summary statistics on every run.
""",
) as dag:
    GoldenDatasetsOperator(task_id="golden_datasets", on_failure_callback=AssayAlertNotifier())
    for name in DATASETS:
        DataQualityOperator(task_id=f"quality__{name}", dataset=name, on_failure_callback=AssayAlertNotifier())
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
