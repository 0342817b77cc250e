"""assay_per_commit: run every configured pytest suite of a target on one exact commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from assay_airflow.dag_config import BRANCH_PATTERN, SHA_PATTERN, load_dag_config, suite_task_timeout
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.alert_rules import standing_alert_rules
from assay_airflow.operators.container_suite import suite_task
from assay_airflow.operators.gates import CommitGatesOperator
from assay_airflow.operators.per_commit import AnnounceTestedOperator, MergeShardsOperator, ResolveCommitOperator

CONFIG = load_dag_config()
TARGETS = sorted(CONFIG.targets)
# Airflow's own timeout of a suite task is a backstop derived from the config: never below a suite's
# timeout_s plus what the task needs around it (installing the commit's project, building its venv).
SUITE_TASK_TIMEOUT = suite_task_timeout(CONFIG)

with DAG(
    dag_id="assay_per_commit",
    description="Unit and integration suites, coverage and gates for one commit of a target",
    schedule=None,  # triggered: from the UI form, the REST API (git host webhook, CI) or assay_commit_watch
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    max_active_tasks=2,  # two suites at once per run on a 2-core worker
    tags=["assay", "per-commit"],
    default_args={"owner": "assay", "retries": 1, "retry_delay": timedelta(seconds=30)},
    params={
        "target": Param(
            TARGETS[0],
            type="string",
            enum=TARGETS,
            title="Target repository",
            description="One of the targets configured in include/config/assay.yaml",
        ),
        "sha": Param(
            None,
            type=["null", "string"],
            pattern=SHA_PATTERN,
            title="Commit sha",
            description="7 to 40 hex characters; leave empty to test the branch head",
        ),
        "branch": Param(
            "main",
            type=["null", "string"],
            pattern=BRANCH_PATTERN,
            title="Branch",
            description=(
                "Branch the commit belongs to (coverage is compared with its previous run): one of the target's "
                "watched branches; only commits they contain are tested (pull/N/head where the target opts in)"
            ),
        ),
    },
    doc_md=__doc__
    + """

Checks out the commit into an isolated worktree, runs each suite configured for the target (one mapped
`run_suite` task per suite, or per shard of a suite configured with `shards`, balanced by the tests'
recorded durations and merged by `merge_shards` into one suite run) as a subprocess (pytest's report log +
coverage JSON; in a pod or container per task when the config's `isolation.backend` is `kubernetes` or
`docker`), records every test
case in pytest's own outcomes and node ids, then evaluates the target's gates: all tests pass,
coverage >= 80%, critical paths 100%, coverage drop <= 5 points against the previous run on the branch.
A failed verdict alerts by Slack and e-mail and, where configured, posts a commit status. Before the gates,
once the suites ran (whatever their outcome), `announce_tested` updates the Asset `assay://per_commit/tested`
(target, sha, branch), which schedules `assay_security_scan` on the commit.
""",
) as dag:
    resolve = ResolveCommitOperator(task_id="resolve_commit")
    # one task per suite the resolved target configures (unit, integration, component, contract, ...), or
    # per shard of a sharded suite ("unit[2/4]"): a failed or lost shard is retried alone.
    # isolation.backend: local -> PytestSuiteOperator (the worker's process); kubernetes / docker -> a container
    suites = suite_task(
        CONFIG, task_id="run_suite", execution_timeout=SUITE_TASK_TIMEOUT, map_index_template="{{ task.suite }}"
    ).expand(suite=resolve.output)
    gates = CommitGatesOperator(task_id="evaluate_gates", on_failure_callback=AssayAlertNotifier())
    # once the suites ran, whatever their outcome: the Asset event schedules assay_security_scan on this
    # commit; the gates stay the DAG's only leaf, so the run's state is the verdict
    tested = AnnounceTestedOperator(task_id="announce_tested")
    # each sharded suite's shards merged into one suite run (skipped when no suite is sharded)
    merge = MergeShardsOperator(task_id="merge_shards")
    resolve >> suites >> merge >> tested >> gates
    standing_alert_rules(dag)  # after every task, whatever they did; never changes the run's state
