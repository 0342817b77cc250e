"""A sharded suite through the real operators and metrics DB (SQLite and PostgreSQL): resolve plans the
shards from the recorded durations, each shard task runs its part, and the merge records exactly what an
unsharded run of the same commit recorded; a lost shard makes the suite ERROR, naming it."""

from __future__ import annotations

import pytest
import yaml
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from support.context import TaskInstanceStub, make_context
from support.git_repo import commit_folder
from support.operator_env import recorded

from assay_airflow.operators.gates import CommitGatesOperator
from assay_airflow.operators.per_commit import (
    SHARD_PLANS_XCOM_KEY,
    MergeShardsOperator,
    PytestSuiteOperator,
    ResolveCommitOperator,
)


@pytest.fixture
def target(tmp_path, fixtures_dir, monkeypatch, metrics_url):
    repo = tmp_path / "sample-repo"
    sha = commit_folder(repo, fixtures_dir / "sample_suite")
    path = tmp_path / "assay.yaml"

    def configure(shards):
        cfg = {
            "targets": {
                "sample": {
                    "repo": str(repo),
                    "python": "worker",
                    "source": "calc",
                    "suites": {"unit": {"marker": "unit and not slow", "timeout_s": 120, "shards": shards}},
                    "gates": {"coverage_min": 50, "critical_paths": []},
                }
            }
        }
        path.write_text(yaml.safe_dump(cfg))

    configure(1)
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    return {"sha": sha, "url": metrics_url, "configure": configure}


def rows(url, run_id):
    """The run's suite runs by name (the newest try of each)."""
    return recorded(url, "assay_per_commit", run_id)


def run_dag(run_id, *, skip_shards=()):
    """resolve → every mapped suite task (map index = position in resolve's list) → merge, as the DAG does."""
    ti = TaskInstanceStub(run_id=run_id)
    ctx = make_context("resolve_commit", {"target": "sample", "branch": "main"}, ti=ti)
    items = ResolveCommitOperator(task_id="resolve_commit").execute(ctx)
    ti.xcom_push("return_value", items)
    for map_index, item in enumerate(items):
        if map_index in skip_shards:
            continue
        ti.map_index = map_index
        try:
            PytestSuiteOperator(task_id="run_suite", suite=item).execute(make_context("run_suite", ti=ti))
        except (AirflowFailException, AirflowException):
            pass  # recorded; the merge and the gates run whatever the suites did (all_done)
    ti.map_index = -1
    merged = None
    if ti.xcom_pull(task_ids="resolve_commit", key=SHARD_PLANS_XCOM_KEY):
        with pytest.raises((AirflowFailException, AirflowException)) as err:
            MergeShardsOperator(task_id="merge_shards").execute(make_context("merge_shards", ti=ti))
        merged = err.value
    return ti, items, merged


def _cases(row):
    return sorted((t.node_id, t.outcome) for t in row.test_cases)


def _metrics(row):
    return {m.name: m.value for m in row.metrics if m.name.startswith(("tests.", "coverage"))}


def test_sharded_suite_records_what_the_unsharded_run_recorded(target):
    _, items, _ = run_dag("manual__whole")
    assert items == ["unit"]
    whole = rows(target["url"], "manual__whole")["unit"]
    assert whole.kind == "pytest"
    assert whole.status == "FAIL"

    target["configure"](2)
    ti, items, merged = run_dag("manual__sharded")
    assert items == ["unit[1/2]", "unit[2/2]"]
    plan = ti.xcom_pull(task_ids="resolve_commit", key=SHARD_PLANS_XCOM_KEY)["unit"]
    assert plan["count"] == 2 and plan["duration_runs"] == [whole.id]  # balanced by the recorded durations
    assert "1 failed" in str(merged)
    recorded_runs = rows(target["url"], "manual__sharded").values()
    shards = sorted((r for r in recorded_runs if r.kind == "pytest_shard"), key=lambda r: r.name)
    assert [r.name for r in shards] == ["unit[1/2]", "unit[2/2]"]
    assert all(not r.test_cases for r in shards)  # the tests are recorded once, by the merge
    (suite,) = [r for r in recorded_runs if r.kind == "pytest"]
    assert suite.name == "unit" and suite.task_id == "merge_shards" and suite.status == "FAIL"
    assert _cases(suite) == _cases(whole)
    assert _metrics(suite) == _metrics(whole)  # counts, total and per-file coverage alike
    # both shards ran tests: balanced by duration, not all in the one test file
    assert all(r.summary["counts"]["total"] > 0 for r in shards)

    # the gates read the merged suite as they read an unsharded one
    gates_ctx = make_context("evaluate_gates", ti=ti)
    with pytest.raises(AirflowFailException, match="all_tests_pass"):
        CommitGatesOperator(task_id="evaluate_gates").execute(gates_ctx)


def test_a_lost_shard_makes_the_merged_suite_error_naming_it(target):
    target["configure"](2)
    ti, items, merged = run_dag("manual__lost", skip_shards={1})
    assert "shard 2/2 left no report log" in str(merged)
    suite = rows(target["url"], "manual__lost")["unit"]
    assert suite.kind == "pytest"
    assert suite.status == "ERROR" and "shard 2/2" in suite.message
