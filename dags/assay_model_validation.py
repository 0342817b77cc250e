"""assay_model_validation: a new model version must earn its place; champion vs challenger A/B analysis."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, Param

from assay_airflow.dag_config import MODEL_VERSION_PATTERN, load_dag_config
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.models import ABAnalysisOperator, ModelValidationOperator

CONFIG = load_dag_config()
MODELS = sorted(CONFIG.models)
ASSETS = [Asset(m.asset) for m in CONFIG.models.values()]

with DAG(
    dag_id="assay_model_validation",
    description="Thresholds, regression vs baseline, fairness, robustness, cross-validation; A/B analysis",
    schedule=ASSETS or None,  # a registered model version is an event on the model's Asset
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=["assay", "model-validation"],
    default_args={"owner": "assay", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "model": Param(MODELS[0] if MODELS else "", type="string", enum=MODELS or [""], title="Model"),
        "model_version": Param(
            None,
            type=["null", "string"],
            pattern=MODEL_VERSION_PATTERN,
            title="Model version",
            description="The version file <versions_dir>/<version>.pt to validate",
        ),
    },
    doc_md=__doc__
    + """

Triggered when a model version is registered (an event on the model's Asset whose extra carries
`model_version`) or from the UI with the version as a param. A regression needs a drop beyond the
allowance that is also significant (McNemar / paired bootstrap). The baseline is whatever run was last
accepted with `assay_accept_baseline`.
""",
) as dag:
    for name in MODELS:
        ModelValidationOperator(task_id=f"validate__{name}", model=name, on_failure_callback=AssayAlertNotifier())
    for name in sorted(CONFIG.ab_experiments):
        ABAnalysisOperator(task_id=f"ab__{name}", experiment=name, on_failure_callback=AssayAlertNotifier())
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
