"""assay_accept_baseline: accept a passing run as the new baseline (an explicit, recorded action)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from assay_airflow.operators.baseline import AcceptBaselineOperator

with DAG(
    dag_id="assay_accept_baseline",
    description="Accept a passing run as the reference that later runs are compared with",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["assay", "baseline"],
    default_args={"owner": "assay", "retries": 1},
    params={
        "kind": Param("model", type="string", enum=["model", "performance"], title="What kind of baseline"),
        "subject": Param("fraud-detector", type="string", minLength=1, title="Model or service name"),
        "run_id": Param("", type="string", minLength=1, title="DAG run id of the run to accept"),
        "suite_name": Param("model_validation", type="string", minLength=1, title="Recorded suite in that run"),
        "note": Param(None, type=["null", "string"], title="Why (kept with the baseline)"),
    },
    doc_md=__doc__ + """

Records who (the user who triggered this run), when, and which run became the baseline in the metrics
DB table `assay_baseline`. Only a run whose suite passed (PASS or WARN) can be accepted.
""",
) as dag:
    AcceptBaselineOperator(task_id="accept_baseline")
