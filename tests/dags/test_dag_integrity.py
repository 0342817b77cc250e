"""Every DAG file imports cleanly and declares its owner, tags, retries and documented schedule; it talks to
the Airflow layer only and parses cheaply (no engine library loads before a task runs).

Parsing touches no database or network: connections would come from AIRFLOW_CONN_* variables.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
SCHEDULES = {  # DESIGN.md / issues: the documented cadence of each DAG (cron, plus the Assets that trigger it)
    "assay_per_commit": (None, []),
    "assay_commit_watch": ("*/5 * * * *", []),
    "assay_accept_baseline": (None, []),
    "assay_drift_checks": ("0 3 * * 1", ["assay://datasets/fraud-transactions"]),
    "assay_data_quality": ("0 4 * * *", ["assay://datasets/fraud-transactions"]),
    "assay_model_validation": (None, ["assay://models/fraud-detector"]),
    "assay_nightly_performance": ("0 2 * * *", []),
    "assay_weekly_chaos": ("0 5 * * 0", []),
    "assay_weekly_compliance": ("0 6 * * 1", []),
    "assay_security_scan": ("0 1 * * *", ["assay://per_commit/tested"]),
    "assay_test_data": ("0 2 * * 0", []),
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


RULED_DAGS = sorted(set(SCHEDULES) - {"assay_commit_watch", "assay_accept_baseline"})


@pytest.mark.parametrize("dag_id", RULED_DAGS)
def test_standing_alert_rules_run_after_every_task_as_a_teardown(dagbag, dag_id):
    """Every DAG that records results ends with the standing alert rules: downstream of every other task, a
    teardown (run whatever the tasks did; left out of the run's state by Airflow), so the run's state is
    what it was without them."""
    from assay_airflow.operators.alert_rules import StandingAlertRulesOperator

    dag = dagbag.dags[dag_id]
    rules = dag.get_task("alert_rules")
    assert isinstance(rules, StandingAlertRulesOperator) and rules.is_teardown
    assert not rules.on_failure_fail_dagrun
    assert rules.trigger_rule == "all_done_setup_success" and not any(t.is_setup for t in dag.tasks)
    others = [t for t in dag.tasks if t.task_id != "alert_rules"]
    assert all("alert_rules" in t.get_flat_relative_ids(upstream=False) for t in others)
    assert dag.leaves == [rules]


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
    assert sorted(dag.task_ids) == [
        "alert_rules",
        "announce_tested",
        "evaluate_gates",
        "merge_shards",
        "resolve_commit",
        "run_suite",
    ]
    suites = dag.get_task("run_suite")
    assert isinstance(suites, MappedOperator)
    assert suites.upstream_task_ids == {"resolve_commit"} and suites.downstream_task_ids == {"merge_shards"}
    # sharded suites are merged once every shard is done (a failed shard does not stop the merge)
    merge = dag.get_task("merge_shards")
    assert merge.trigger_rule == "all_done" and merge.downstream_task_ids == {"announce_tested"}
    # the tested commit is announced (Asset for the security scan) whatever the suites did; the gates stay
    # the only leaf, so the run's state is the verdict
    tested = dag.get_task("announce_tested")
    assert tested.trigger_rule == "all_done" and [o.uri for o in tested.outlets] == ["assay://per_commit/tested"]
    assert tested.downstream_task_ids == {"evaluate_gates"}
    # the standing alert rules are a teardown, which Airflow leaves out of the run's state: the gates stay the
    # only leaf that decides it
    assert dag.leaves == [dag.get_task("alert_rules")] and dag.get_task("alert_rules").is_teardown
    assert [t.task_id for t in dag.tasks if t.downstream_task_ids <= {"alert_rules"} and not t.is_teardown] == [
        "evaluate_gates"
    ]
    assert dag.get_task("evaluate_gates").trigger_rule == "all_done"


def test_airflow_timeout_of_a_suite_task_never_cuts_below_the_configured_timeout(dagbag, tmp_path, monkeypatch):
    from assay.config import load_config
    from assay.engines.per_commit import per_commit_task_timeout_s

    limit = dagbag.dags["assay_per_commit"].get_task("run_suite").partial_kwargs["execution_timeout"]
    cfg = load_config()
    longest = max(s.timeout_s for t in cfg.targets.values() for s in t.suites.values())
    assert limit.total_seconds() == per_commit_task_timeout_s(cfg.targets.values()) > longest
    # the limit follows the config: a target whose suite may run 5 hours gets a task that may run longer
    slow = {"targets": {"big": {"repo": "x", "suites": {"soak": {"timeout_s": 5 * 3600}}}}}
    (tmp_path / "assay.yaml").write_text(__import__("yaml").safe_dump(slow))
    monkeypatch.setenv("ASSAY_CONFIG", str(tmp_path / "assay.yaml"))
    assert per_commit_task_timeout_s(load_config().targets.values()) > 5 * 3600


MEASUREMENTS = ("load_test", "pipeline_load", "microbenchmark")


def test_timing_measurements_run_alone_in_the_measurement_pool_and_queue(dagbag):
    """The load test, pipeline load and micro-benchmarks take the one-slot pool and the queue with a worker of
    its own (performance_isolation); mutation testing, not a timing measurement, takes neither. dag.test()
    ignores pools, so the attributes are what is checked here (the pool's creation: tests/deploy)."""
    from assay.config import load_config

    isolation = load_config().performance_isolation
    assert (isolation.pool, isolation.queue) == ("assay_measurement", "performance")
    dag = dagbag.dags["assay_nightly_performance"]
    by_suite = {t.task_id.split("__")[0]: t for t in dag.tasks if "__" in t.task_id}
    assert set(by_suite) >= {*MEASUREMENTS, "mutation"}
    for suite in MEASUREMENTS:
        task = by_suite[suite]
        assert (task.pool, task.queue, task.pool_slots) == (isolation.pool, isolation.queue, 1), suite
    assert by_suite["mutation"].pool != isolation.pool and by_suite["mutation"].queue != isolation.queue


def test_the_measurement_pool_and_queue_follow_the_config(tmp_path, monkeypatch):
    import yaml

    cfg = yaml.safe_load((REPO / "include" / "config" / "assay.yaml").read_text())
    cfg["performance_isolation"]["pool"] = "bench_box"
    (tmp_path / "assay.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(tmp_path / "assay.yaml"))
    monkeypatch.setenv("ASSAY_PERFORMANCE_QUEUE", "perf_dedicated")  # what docker-compose passes
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "assay_nightly_performance.py"))
    assert bag.import_errors == {}
    tasks = bag.dags["assay_nightly_performance"].tasks
    measured = {(t.pool, t.queue) for t in tasks if t.task_id.split("__")[0] in MEASUREMENTS}
    assert measured == {("bench_box", "perf_dedicated")}


def test_the_readmes_per_kind_queue_policy_routes_per_commit_and_scans_and_keeps_the_measurements(dagbag):
    """README "Scaling out: one queue per kind of work": its cluster policy, run over the real DAGs."""
    import copy
    import re

    readme = (REPO / "README.md").read_text()
    block = re.search(r"```python\n(# \$AIRFLOW_HOME/config/airflow_local_settings\.py.*?)```", readme, re.S)
    assert block, "the README's airflow_local_settings.py example is gone"
    policy: dict = {}
    exec(compile(block.group(1), "airflow_local_settings.py", "exec"), policy)
    queues = {}
    for dag_id in ("assay_per_commit", "assay_security_scan", "assay_nightly_performance", "assay_drift_checks"):
        for task in dagbag.dags[dag_id].tasks:
            task = copy.copy(task)
            policy["task_policy"](task)
            queues.setdefault(dag_id, set()).add(task.queue)
    assert queues["assay_per_commit"] == {"per_commit"} and queues["assay_security_scan"] == {"scans"}
    assert queues["assay_nightly_performance"] == {"performance", "default"}  # measurements keep theirs
    assert queues["assay_drift_checks"] == {"default"}


# -- DAG files talk to the Airflow layer only, and parse cheaply ------------------------------------------

# what a DAG file's parse must never import: the engines' libraries load inside execute()
HEAVY = ("numpy", "pandas", "scipy", "torch", "great_expectations", "sklearn", "statsmodels")


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at the top or anywhere else (``from a import b`` -> ``a``)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def test_dag_files_import_airflow_and_the_airflow_layer_only():
    files = sorted(DAGS.glob("*.py"))
    assert len(files) == len(SCHEDULES)  # the scan really saw every DAG file
    offenders = {
        f.name: bad
        for f in files
        if (
            bad := [
                m
                for m in imported_modules(f)
                if m.split(".")[0] not in ("__future__", "datetime", "airflow", "assay_airflow")
            ]
        )
    }
    assert offenders == {}, "DAG files import airflow and assay_airflow only (give the Airflow layer what they need)"


def test_the_import_scan_sees_every_kind_of_import(tmp_path):
    dag = tmp_path / "d.py"
    dag.write_text("import assay.config\nfrom assay.engines import drift\nif True:\n    from . import x\n")
    assert imported_modules(dag) == ["assay.config", "assay.engines", "."]


@pytest.mark.slow
def test_parsing_a_dag_file_loads_no_engine_library():
    """Each DAG file imported in a fresh interpreter, after what Airflow's DAG processor has loaded before
    it parses a file (airflow.sdk, the processor, the airflow modules the file names), leaves none of the
    engines' heavy libraries in sys.modules. What the code controls, so no timing: the parse time itself
    is measured by benchmarks/dag_parse.py."""
    code = f"""
import importlib, importlib.util, json, sys
import airflow.sdk, airflow.dag_processing.processor
from airflow.utils.file import iter_airflow_imports
heavy_before = sorted(m for m in {HEAVY!r} if m in sys.modules)
found = {{}}
for i, path in enumerate(sys.argv[1:]):
    for name in iter_airflow_imports(path):
        importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(f"dag_{{i}}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
    found[path.rsplit("/", 1)[-1]] = sorted(set(loaded) - {{m for ms in found.values() for m in ms}})
print(json.dumps({{"before": heavy_before, "after": found}}))
"""
    files = [str(f) for f in sorted(DAGS.glob("*.py"))]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins")])}
    proc = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["before"] == []  # the check can see a heavy module: Airflow itself loads none
    assert set(seen["after"]) == {Path(f).name for f in files}
    # per file, the heavy modules its import added (modules stay imported: a later file adds nothing new)
    assert {name: heavy for name, heavy in seen["after"].items() if heavy} == {}
