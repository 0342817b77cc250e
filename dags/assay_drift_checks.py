"""assay_drift_checks: data drift, prediction drift and performance decay of each configured dataset."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, MultipleCronTriggerTimetable, Param

from assay_airflow.dag_config import load_dag_config
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.datasets import DriftCheckOperator

CONFIG = load_dag_config()
DATASETS = {name: ds for name, ds in CONFIG.datasets.items() if ds.drift is not None}
ASSETS = [Asset(ds.asset) for ds in DATASETS.values() if ds.asset]
CRONS = sorted({CONFIG.drift_cron(name) for name in DATASETS} or {CONFIG.drift_schedule})
WEEKLY = (
    CronTriggerTimetable(CRONS[0], timezone="UTC")
    if len(CRONS) == 1
    else MultipleCronTriggerTimetable(*CRONS, timezone="UTC")
)  # per-dataset schedules; see the operator

with DAG(
    dag_id="assay_drift_checks",
    description="Reference vs current data per dataset: per-column drift tests, dataset drift, concept drift",
    schedule=AssetOrTimeSchedule(timetable=WEEKLY, assets=ASSETS) if ASSETS else WEEKLY,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["assay", "drift", "weekly"],
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

Weekly (`drift_schedule` in assay.yaml, overridable per dataset) and whenever a dataset's Asset gets an
event (new current data); an Asset-triggered run checks only the datasets whose Asset fired, a scheduled
run only those whose cron is due. Tests per column are chosen
automatically (KS / chi-square for small references, normalised Wasserstein / Jensen-Shannon above
1000 rows) or per column in the config; PSI, KL, Anderson-Darling are available too.
""",
) as dag:
    for name in DATASETS:
        DriftCheckOperator(task_id=f"drift__{name}", dataset=name, on_failure_callback=AssayAlertNotifier())
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
