"""Commit watch operators via execute(context) against a real metrics DB (SQLite and PostgreSQL) and real
git repositories: each new head is handed out once, an unreachable repository is recorded as ERROR and
turns the watch red while the reachable targets go on."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException
from support.context import TaskInstanceStub, make_context
from support.git_repo import commit_all, commit_folder
from support.operator_env import configure, recorded

from assay.store import MetricsStore
from assay_airflow.operators.commit_watch import DetectNewCommitsOperator, RecordTriggeredCommitsOperator

DAG = "assay_commit_watch"


def watch(run_id):
    """One watch: detect, then (as the triggers succeeded) record what was handed out."""
    ti = TaskInstanceStub(dag_id=DAG, run_id=run_id)
    specs = DetectNewCommitsOperator(task_id="detect_new_commits").execute(make_context("detect_new_commits", ti=ti))
    ti.xcoms[("detect_new_commits", "return_value")] = specs
    ti.xcoms[("detect_new_commits", "unreachable")] = ti.xcoms.pop(("detect_new_commits", "unreachable"))
    try:
        RecordTriggeredCommitsOperator(task_id="record_triggered").execute(make_context("record_triggered", ti=ti))
        failure = None
    except AirflowFailException as exc:
        failure = exc
    return specs, failure


def test_each_new_head_is_handed_out_once_and_a_ghost_repo_is_recorded(
    metrics_url, tmp_path, monkeypatch, fixtures_dir
):
    repo = tmp_path / "sample"
    sha = commit_folder(repo, fixtures_dir / "sample_suite")
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        targets={
            "sample": {"repo": str(repo), "watch_branches": ["main"]},
            "ghost": {"repo": str(tmp_path / "no-such-repo"), "watch_branches": ["main"]},
        },
    )
    specs, failure = watch("scheduled__1")
    assert specs == [
        {"trigger_run_id": f"commit__sample__{sha}", "conf": {"target": "sample", "sha": sha, "branch": "main"}}
    ]
    assert failure is not None and "ghost" in str(failure)
    rows = recorded(metrics_url, DAG, "scheduled__1")
    assert rows["watch:sample"].status == "PASS" and rows["watch:sample"].summary["new"] == {"main": sha}
    assert rows["watch:ghost"].status == "ERROR" and "unreachable" in rows["watch:ghost"].message

    assert watch("scheduled__2")[0] == []  # nothing new: no second run for the same head
    (repo / "NEWS.md").write_text("a change\n")
    sha2 = commit_all(repo, "news")
    assert [s["conf"]["sha"] for s in watch("scheduled__3")[0]] == [sha2]
    store = MetricsStore(metrics_url)
    assert store.watched_commits() == {("sample", sha), ("sample", sha2)}
    store.dispose()
