"""assay_drift_checks, assay_data_quality, assay_model_validation and assay_accept_baseline through
dag.test() on the demo platform's real exports and model versions, with a real metrics DB."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from assay.store import MetricsStore

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]


def recorded(url, dag_id, run_id):
    store = MetricsStore(url)
    rows = {r.name: r for r in store.latest_suite_runs(dag_id, run_id)}
    store.dispose()
    return rows


def test_drift_check_records_scipy_exact_statistics_and_fails_on_prediction_drift(dags, data_env):
    dr = dags["assay_drift_checks"].test()
    rows = recorded(data_env["metrics_url"], "assay_drift_checks", dr.run_id)
    data = rows["data_drift"]
    checks = {c.name: c for c in data.checks}
    ref = pd.read_parquet(data_env["home"] / "data/fraud-transactions/reference.parquet")
    cur = pd.read_parquet(data_env["home"] / "data/fraud-transactions/current.parquet")
    # the demo shifted amount and merchant risk; the recorded statistic is scipy's, normalised by the reference std (ddof=0, as Evidently)
    expected = wasserstein_distance(ref["amount"], cur["amount"]) / ref["amount"].std(ddof=0)
    assert checks["drift:amount:wasserstein"].observed == pytest.approx(expected, abs=1e-9)
    assert checks["drift:amount:wasserstein"].status == "FAIL"
    assert checks["drift:hour:wasserstein"].status == "PASS"
    assert checks["dataset_drift"].status == "PASS" and checks["dataset_drift"].observed == pytest.approx(2 / 6)
    assert checks["prediction_drift:score:wasserstein"].status == "FAIL"
    assert data.status == "FAIL" and data.dataset == "fraud-transactions"
    assert rows["concept_drift"].status == "FAIL"  # accuracy fell as the data moved away from training
    assert dr.state == "failed"


def test_data_quality_records_every_expectation_and_golden_datasets(dags, data_env):
    dr = dags["assay_data_quality"].test()
    assert dr.state == "success"
    rows = recorded(data_env["metrics_url"], "assay_data_quality", dr.run_id)
    suite = rows["data_quality:fraud_transactions"]
    assert suite.status == "PASS" and len(suite.checks) == 48
    assert {"golden:fraud_transactions_200", "golden:customers_200"} <= set(rows)
    report = suite.summary["report_path"]
    assert report and "expect_column_values_to_not_be_null" in open(report).read()


def test_model_validation_then_an_explicit_baseline_then_a_regression_check(dags, data_env):
    v1 = dags["assay_model_validation"].test(run_conf={"model": "fraud-detector", "model_version": "v1"})
    rows = recorded(data_env["metrics_url"], "assay_model_validation", v1.run_id)
    first = rows["model_validation"]
    checks = {c.name: c for c in first.checks}
    assert first.model_version == "v1" and first.status in ("PASS", "WARN")
    assert checks["regression:baseline"].status == "SKIP"
    assert {
        "quality:accuracy",
        "robustness:fgsm_accuracy",
        "fairness:age_band:disparate_impact",
        "statistical:kfold:accuracy:spread",
    } <= set(checks)
    assert rows["ab:fraud-model-rollout"].status == "PASS"

    accept = dags["assay_accept_baseline"].test(
        run_conf={
            "kind": "model",
            "subject": "fraud-detector",
            "run_id": v1.run_id,
            "suite_name": "model_validation",
            "note": "first accepted version",
        }
    )
    assert accept.state == "success"
    store = MetricsStore(data_env["metrics_url"])
    baseline, run = store.current_baseline(kind="model", subject="fraud-detector")
    store.dispose()
    assert run.model_version == "v1" and baseline.accepted_by and baseline.note == "first accepted version"

    v2 = dags["assay_model_validation"].test(run_conf={"model": "fraud-detector", "model_version": "v2"})
    second = recorded(data_env["metrics_url"], "assay_model_validation", v2.run_id)["model_validation"]
    regression = {c.name: c for c in second.checks if c.name.startswith("regression:")}
    assert "regression:accuracy" in regression and regression["regression:accuracy"].status in ("PASS", "FAIL")
    assert (
        "McNemar" in regression["regression:accuracy"].message or "mcnemar" in regression["regression:accuracy"].message
    )


def test_model_file_that_will_not_load_is_recorded_as_error(dags, data_env):
    dr = dags["assay_model_validation"].test(run_conf={"model": "fraud-detector", "model_version": "v404"})
    assert dr.state == "failed"
    row = recorded(data_env["metrics_url"], "assay_model_validation", dr.run_id)["model_validation"]
    assert row.status == "ERROR" and "v404" in (row.message or "") + str([c.message for c in row.checks])
