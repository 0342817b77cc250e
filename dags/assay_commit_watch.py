"""assay_commit_watch: every 5 minutes, trigger assay_per_commit once per new watched branch head."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

from assay_airflow.operators.commit_watch import DetectNewCommitsOperator, RecordTriggeredCommitsOperator

with DAG(
    dag_id="assay_commit_watch",
    description="Poll configured repositories and trigger assay_per_commit for each new head sha",
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["assay", "per-commit", "watch"],
    default_args={"owner": "assay", "retries": 2, "retry_delay": timedelta(seconds=20)},
    doc_md=__doc__
    + """

`git ls-remote` on each target's `watch_branches`; new head shas (not yet in the metrics DB table
`assay_watched_commit`) are triggered with run id `commit__<target>__<sha>`; an unreachable repository
is recorded as ERROR while the others go on.
""",
) as dag:
    detect = DetectNewCommitsOperator(task_id="detect_new_commits")
    trigger = TriggerDagRunOperator.partial(
        task_id="trigger_per_commit",
        trigger_dag_id="assay_per_commit",
        logical_date=None,
        skip_when_already_exists=True,
        wait_for_completion=False,
    ).expand_kwargs(detect.output)
    record = RecordTriggeredCommitsOperator(task_id="record_triggered")
    detect >> trigger >> record
