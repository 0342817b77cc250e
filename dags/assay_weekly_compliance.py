"""assay_weekly_compliance: GDPR, HIPAA and SOX audits of the platform, with evidence, waivers and a score."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from assay_airflow.dag_config import compliance_frameworks, load_dag_config
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.compliance import ComplianceAuditOperator

CONFIG = load_dag_config()
FRAMEWORKS = compliance_frameworks(CONFIG)

with DAG(
    dag_id="assay_weekly_compliance",
    description="Compliance audits per framework: controls with citations, evidence, waivers, score",
    schedule=CONFIG.compliance.schedule if CONFIG.compliance else None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # each audit starts its own service and plants its own canary subject
    tags=["assay", "compliance", "weekly"],
    default_args={
        "owner": "assay",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=30),
    },
    params={
        "framework": Param(
            "all",
            type="string",
            enum=["all", *FRAMEWORKS],
            title="Framework",
            description="Audit one framework of the compliance catalog, or all of them",
        )
    },
    doc_md=__doc__
    + """

Weekly (`compliance.schedule` in assay.yaml, Monday 06:00 UTC by default), from the UI's form or the REST
API. One task per framework of the catalog (`compliance.catalog_dir`, one YAML file per framework). Per
control: PASS, FAIL, ERROR (a store that could not be read, a check that raised: never PASS), MANUAL,
NOT_APPLICABLE or WAIVED (`compliance.waivers`). Score = passed / (controls − not applicable); a critical
FAIL makes the framework non-compliant whatever the score. Evidence (method, query, when, expiry, SHA-256)
goes to the metrics DB with each finding; the HTML and OSCAL JSON reports are in the task's work dir.
A violation fails the task without retry and alerts (rule `compliance_violation`); an unreachable store is
ERROR and retried.
""",
) as dag:
    for framework in FRAMEWORKS:
        ComplianceAuditOperator(
            task_id=f"audit__{framework}",
            framework=framework,
            on_failure_callback=AssayAlertNotifier(),
        )
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
