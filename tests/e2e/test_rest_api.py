"""Through the real scheduler and REST API: trigger assay_per_commit by HTTP and poll it to success,
the way a git host webhook or a CI job does (README has the same calls with curl)."""

from __future__ import annotations

import pytest
from support.airflow_stack import AirflowStack
from support.demo_platform import prepare_demo_assets, prepare_demo_repo

from assay.store import MetricsStore

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("stack")
    metrics = f"sqlite:///{home / 'metrics.db'}"
    s = AirflowStack(home, env={"ASSAY_METRICS_DB_URL": metrics})
    prepare_demo_repo(home / "assay" / "demo-platform")
    s.metrics_url = metrics
    try:
        yield s.start()
    finally:
        s.stop()


def test_trigger_by_http_and_poll_to_success(stack):
    stack.wait_for_dag("assay_per_commit")
    resp = stack.trigger("assay_per_commit", {"target": "demo-platform", "branch": "main"})
    assert resp.status_code == 200, resp.text
    run_id = resp.json()["dag_run_id"]
    run = stack.wait("assay_per_commit", run_id, timeout_s=600)
    tis = stack.task_instances("assay_per_commit", run_id)
    store = MetricsStore(stack.metrics_url)
    rows = {r.name: r for r in store.latest_suite_runs("assay_per_commit", run_id)}
    gates = rows.get("per_commit_gates")
    failed_gates = [(c.name, c.status, c.message) for c in gates.checks if c.status != "PASS"] if gates else None
    assert run["state"] == "success", ({k: v["state"] for k, v in tis.items()}, failed_gates)
    assert {k: v["state"] for k, v in tis.items()} == dict.fromkeys(
        [
            "resolve_commit",
            "run_suite[unit]",
            "run_suite[integration]",
            "run_suite[component]",
            "run_suite[contract]",
            "announce_tested",
            "evaluate_gates",
            "alert_rules",  # the standing alert rules, a teardown after the gates (under the real scheduler)
        ],
        "success",
    ) | {"merge_shards": "skipped"}  # no suite of the demo is sharded
    assert rows["per_commit_gates"].status == "PASS"
    assert rows["unit"].summary["counts"]["passed"] > 20


def test_a_registered_model_version_asset_event_triggers_its_validation(stack):
    import time

    prepare_demo_assets(stack.home / "assay", versions={"v1": 1}, rows=3000, train_rows=2000, epochs=5)
    stack.wait_for_dag("assay_model_validation")
    assets = stack.api("GET", "/assets", params={"uri_pattern": "assay://models/fraud-detector"}).json()["assets"]
    resp = stack.api("POST", "/assets/events", json={"asset_id": assets[0]["id"], "extra": {"model_version": "v1"}})
    assert resp.status_code == 200, resp.text
    deadline, runs = time.monotonic() + 120, []
    while time.monotonic() < deadline and not runs:
        runs = stack.api("GET", "/dags/assay_model_validation/dagRuns").json()["dag_runs"]
        time.sleep(1)
    assert runs and runs[0]["run_type"] == "asset_triggered"
    run = stack.wait("assay_model_validation", runs[0]["dag_run_id"], timeout_s=600)
    store = MetricsStore(stack.metrics_url)
    recorded = {r.name: r for r in store.latest_suite_runs("assay_model_validation", run["dag_run_id"])}
    assert recorded["model_validation"].model_version == "v1"
    assert recorded["model_validation"].status in ("PASS", "WARN", "FAIL")  # a verdict, from the event's version


def test_bad_conf_is_rejected_by_the_api_with_the_reason(stack):
    stack.wait_for_dag("assay_per_commit")
    resp = stack.trigger("assay_per_commit", {"target": "demo-platform", "branch": "main && reboot"})
    assert resp.status_code == 400
    assert "branch" in resp.text
