"""assay_security_scan: Trivy, bandit and API security tests of each target, with findings that have a lifecycle."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param

from assay_airflow.dag_config import (
    BRANCH_PATTERN,
    SHA_PATTERN,
    load_dag_config,
    security_scan_timeout,
    security_scanners,
)
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.security import (
    TESTED_ASSET,
    ResolveScanOperator,
    SecurityAlertNotifier,
    SecurityPostureOperator,
    SecurityScanOperator,
    UpdateVulnerabilityDbOperator,
)

CONFIG = load_dag_config()
TARGETS = sorted(CONFIG.targets)
SCANNERS = security_scanners()
NIGHTLY = CronTriggerTimetable("0 1 * * *", timezone="UTC")

with DAG(
    dag_id="assay_security_scan",
    description="Dependency, secret, misconfiguration, code and API security scans per target",
    # nightly at 01:00 UTC, and whenever assay_per_commit has tested a commit (its Asset event)
    schedule=AssetOrTimeSchedule(timetable=NIGHTLY, assets=[Asset(TESTED_ASSET)]),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=2,  # two scanners at once on a 2-core worker
    tags=["assay", "security", "nightly"],
    default_args={"owner": "assay", "retries": 1, "retry_delay": timedelta(minutes=2)},
    params={
        "target": Param(
            "all",
            type="string",
            enum=["all", *TARGETS],
            title="Target",
            description="Scan one configured target, or all of them",
        ),
        "sha": Param(
            None,
            type=["null", "string"],
            pattern=SHA_PATTERN,
            title="Commit sha",
            description="7 to 40 hex characters (one target only); leave empty to scan the branch head",
        ),
        "branch": Param(
            None,
            type=["null", "string"],
            pattern=BRANCH_PATTERN,
            title="Branch",
            description="Leave empty for the target's first watched branch",
        ),
        "scanners": Param(
            [],
            type="array",
            items={"type": "string", "enum": SCANNERS},
            uniqueItems=True,
            title="Scanners",
            description="Leave empty for every scanner that applies to the target",
        ),
    },
    doc_md=__doc__
    + """

Nightly at 01:00 UTC, after every commit `assay_per_commit` tested (Asset `assay://per_commit/tested`), and
from the UI's form. One task per (target, scanner): `trivy_fs` (dependencies' vulnerabilities, secrets,
misconfigurations, licenses of the commit's checkout), `trivy_config` (Dockerfile, compose, Kubernetes),
`trivy_image` (a configured image), `bandit` (Python SAST), `dast_fuzz` (schemathesis on the service's
OpenAPI), `dast_authz` (authentication / authorization matrix) and `dast_injection` (SQL injection, XSS,
path traversal). Findings go to `assay_finding` with a fingerprint, state (new / existing / suppressed) and
first-seen time; gates per target (`security.gates`): critical > 0 FAIL, high > N WARN, secrets > 0 FAIL, a
scanner that crashed, timed out or examined nothing ERROR. Suppressions with an expiry in
`security.suppressions`. Alerts (Slack, e-mail) for new critical findings and new leaked secrets only.
""",
) as dag:
    update_db = UpdateVulnerabilityDbOperator(task_id="update_vulnerability_db", retry_delay=timedelta(seconds=30))
    resolve = ResolveScanOperator(task_id="resolve_targets", trigger_rule="all_done")
    scans = SecurityScanOperator.partial(
        task_id="scan",
        execution_timeout=security_scan_timeout(CONFIG),
        map_index_template="{{ task.target }} {{ task.scanner }}",
        on_failure_callback=SecurityAlertNotifier(),
    ).expand_kwargs(resolve.output)
    posture = SecurityPostureOperator(task_id="posture")
    update_db >> resolve >> scans >> posture
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
