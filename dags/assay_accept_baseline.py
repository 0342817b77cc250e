"""assay_accept_baseline: accept a passing run as the new baseline (an explicit, recorded action)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from assay_airflow.dag_config import load_dag_config, load_test_targets
from assay_airflow.operators.baseline import AcceptBaselineOperator

CONFIG = load_dag_config()
# what can have a baseline: a configured model (kind "model"), a target with a load test ("performance")
SUBJECTS = sorted(CONFIG.models) + [name for name in load_test_targets(CONFIG) if name not in CONFIG.models]

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
        "subject": Param(
            SUBJECTS[0] if SUBJECTS else "",
            type="string",
            enum=SUBJECTS or [""],
            title="Model (kind model) or target (kind performance)",
        ),
        "run_id": Param("", type="string", minLength=1, title="DAG run id of the run to accept"),
        "suite_name": Param(
            None,
            type=["null", "string"],
            enum=[None, "model_validation", "load_test"],
            title="Recorded suite (optional: model_validation for a model, load_test for a target)",
        ),
        "note": Param(None, type=["null", "string"], title="Why (kept with the baseline)"),
    },
    doc_md=__doc__
    + """

Records who (the user who triggered this run), when, and which run became the baseline in the metrics
DB table `assay_baseline`. Only what matches is accepted: a `model` baseline is a passing (PASS or WARN)
`model_validation` run of that model in the given DAG run of `assay_model_validation`; a `performance`
baseline a passing `load_test` run of that target in a run of `assay_nightly_performance`. Anything else
is refused with a message listing what the run did record.
""",
) as dag:
    AcceptBaselineOperator(task_id="accept_baseline")
