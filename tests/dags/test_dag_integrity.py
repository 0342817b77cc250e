"""Every DAG file imports cleanly and declares its owner, tags, retries and documented schedule.

Parsing touches no database or network: connections would come from AIRFLOW_CONN_* variables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
SCHEDULES = {  # DESIGN.md / issues: the documented cadence of each DAG (cron, plus the Assets that trigger it)
    "assay_per_commit": (None, []),
    "assay_commit_watch": ("*/5 * * * *", []),
    "assay_accept_baseline": (None, []),
    "assay_drift_checks": ("0 3 * * 1", ["assay://datasets/fraud-transactions"]),
    "assay_data_quality": ("0 4 * * *", ["assay://datasets/fraud-transactions"]),
    "assay_model_validation": (None, ["assay://models/fraud-detector"]),
    "assay_nightly_performance": ("0 2 * * *", []),
    "assay_weekly_chaos": ("0 5 * * 0", []),
}


def cadence(dag) -> tuple[str | None, list[str]]:
    timetable = dag.timetable
    cron = getattr(getattr(timetable, "timetable", timetable), "expression", None)
    condition = getattr(timetable, "asset_condition", None)
    assets = sorted(a.uri for a in getattr(condition, "objects", []) or []) if condition is not None else []
    return cron, assets


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == set(SCHEDULES)


@pytest.mark.parametrize("dag_id", sorted(SCHEDULES))
def test_dag_has_tags_owner_retries_and_documented_schedule(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "assay" in dag.tags
    assert dag.doc_md and dag.description
    assert dag.catchup is False
    for task in dag.tasks:
        assert task.owner == "assay", task.task_id
        assert task.retries >= 1, task.task_id
    assert cadence(dag) == SCHEDULES[dag_id]


def test_per_commit_params_form(dagbag):
    dag = dagbag.dags["assay_per_commit"]
    schema = {k: dag.params.get_param(k).schema for k in ("target", "sha", "branch")}
    assert schema["target"]["enum"] == ["demo-platform"]
    assert "pattern" in schema["sha"] and "pattern" in schema["branch"]


def test_failure_alerts_are_attached_at_task_level(dagbag):
    from assay_airflow.notifiers.run_alert import AssayAlertNotifier

    gates = dagbag.dags["assay_per_commit"].get_task("evaluate_gates")
    callbacks = (
        gates.on_failure_callback if isinstance(gates.on_failure_callback, list) else [gates.on_failure_callback]
    )
    assert any(isinstance(cb, AssayAlertNotifier) for cb in callbacks)
    assert gates.trigger_rule == "all_done"


@pytest.mark.parametrize(
    "dag_id, param",
    [
        ("assay_drift_checks", "dataset"),
        ("assay_data_quality", "dataset"),
        ("assay_model_validation", "model_version"),
        ("assay_accept_baseline", "run_id"),
    ],
)
def test_runnable_from_the_ui_with_a_params_form(dagbag, dag_id, param):
    assert param in dagbag.dags[dag_id].params


def test_per_commit_runs_one_mapped_task_per_configured_suite(dagbag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dagbag.dags["assay_per_commit"]
    assert sorted(dag.task_ids) == ["evaluate_gates", "resolve_commit", "run_suite"]
    suites = dag.get_task("run_suite")
    assert isinstance(suites, MappedOperator)
    assert suites.upstream_task_ids == {"resolve_commit"} and suites.downstream_task_ids == {"evaluate_gates"}
    assert dag.get_task("evaluate_gates").trigger_rule == "all_done"


def test_airflow_timeout_of_a_suite_task_never_cuts_below_the_configured_timeout(dagbag, tmp_path, monkeypatch):
    from assay.config import load_config
    from assay.engines.per_commit import per_commit_task_timeout_s

    limit = dagbag.dags["assay_per_commit"].get_task("run_suite").partial_kwargs["execution_timeout"]
    cfg = load_config()
    longest = max(s.timeout_s for t in cfg.targets.values() for s in t.suites.values())
    assert limit.total_seconds() == per_commit_task_timeout_s(cfg) > longest
    # the limit follows the config: a target whose suite may run 5 hours gets a task that may run longer
    slow = {"targets": {"big": {"repo": "x", "suites": {"soak": {"timeout_s": 5 * 3600}}}}}
    (tmp_path / "assay.yaml").write_text(__import__("yaml").safe_dump(slow))
    monkeypatch.setenv("ASSAY_CONFIG", str(tmp_path / "assay.yaml"))
    assert per_commit_task_timeout_s(load_config()) > 5 * 3600
