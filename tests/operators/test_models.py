"""Model validation and A/B analysis operators via execute(context) against a real metrics DB (SQLite and
PostgreSQL): a tiny demo model version (trained once, a few seconds), a 300-row evaluation set, the
statistical section off. Every result carries a one-line reason; refused params are recorded."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from support.context import TaskInstanceStub, make_context
from support.operator_env import checks, configure, recorded, sql_connection

from assay_airflow.operators.models import ABAnalysisOperator, ModelValidationOperator

DEMO = str(Path(__file__).resolve().parents[2] / "include" / "demo_platform")
DAG = "assay_model_validation"


@pytest.fixture(scope="module")
def versions_dir(tmp_path_factory):
    if DEMO not in sys.path:
        sys.path.insert(0, DEMO)
    from fraud.artifacts import train_version

    out = tmp_path_factory.mktemp("versions")
    train_version(out / "v1.pt", seed=1, rows=800, epochs=3, fraud_rate=0.3)
    return out


def model_config(versions_dir, **validation):
    job_validation = {
        "label_column": "is_fraud",  # the demo's label
        "quality": {"latency_calls": 10},
        "regression": {"bootstrap_resamples": 200},
        "fairness": {"attributes": [{"column": "region"}]},
        "robustness": {},
        "statistical": {"enabled": False},
    } | validation
    return {
        "tiny": {
            "asset": "assay://models/tiny",
            "versions_dir": str(versions_dir),
            "loader": "fraud.artifacts:load_pipeline",
            "sys_path": [DEMO],
            "job": {
                "evaluation": {
                    "factory": "fraud.data:make_evaluation_set",
                    "kwargs": {"n_rows": 300, "seed": 101, "fraud_rate": 0.3},
                    "sys_path": [DEMO],
                },
                "validation": job_validation,
            },
        }
    }


def validate(params, run_id, model="tiny", events=None):
    ctx = make_context(f"validate__{model}", params, ti=TaskInstanceStub(dag_id=DAG, run_id=run_id))
    if events is not None:
        from airflow.sdk import Asset

        ctx["triggering_asset_events"] = {Asset(uri): [SimpleNamespace(extra=extra)] for uri, extra in events.items()}
    return ModelValidationOperator(task_id=f"validate__{model}", model=model).execute(ctx)


@pytest.mark.slow
def test_a_validation_is_recorded_with_a_one_line_reason(metrics_url, tmp_path, monkeypatch, versions_dir):
    configure(monkeypatch, tmp_path, metrics_url, models=model_config(versions_dir))
    try:
        summary, raised = validate({"model": "tiny", "model_version": "v1"}, "manual__v1"), None
    except AirflowException as exc:
        summary, raised = None, exc
    row = recorded(metrics_url, DAG, "manual__v1")["model_validation"]
    assert row.target == "tiny" and row.model_version == "v1" and row.checks
    assert row.message and "\n" not in row.message and "checks passed" in row.message
    if raised is None:
        assert row.status in ("PASS", "WARN") and summary["message"] == row.message
    else:
        assert str(raised).endswith(f": {row.status}: {row.message}")


def test_a_section_that_errors_fails_the_task_with_its_reason(metrics_url, tmp_path, monkeypatch, versions_dir):
    """The issue's run: ERROR with an empty message, the task failing with "ERROR: " and nothing after."""
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        models=model_config(versions_dir, fairness={"attributes": [{"column": "no_such_attribute"}]}),
    )
    with pytest.raises(AirflowException) as err:
        validate({"model": "tiny", "model_version": "v1"}, "manual__fairness")
    row = recorded(metrics_url, DAG, "manual__fairness")["model_validation"]
    bad = [c for c in row.checks if c.status == "ERROR"]
    assert row.status == "ERROR" and bad and all(c.name.startswith("fairness:") for c in bad)
    assert bad[0].name in row.message and "no_such_attribute" in row.message and "\n" not in row.message
    assert str(err.value).endswith(f"v1: ERROR: {row.message}")


def test_a_version_that_will_not_load_is_recorded_with_why(metrics_url, tmp_path, monkeypatch, versions_dir):
    configure(monkeypatch, tmp_path, metrics_url, models=model_config(versions_dir))
    with pytest.raises(AirflowException, match="v404: ERROR: model file .*v404.pt does not exist"):
        validate({"model": "tiny", "model_version": "v404"}, "manual__v404")
    row = recorded(metrics_url, DAG, "manual__v404")["model_validation"]
    assert row.status == "ERROR" and "v404.pt does not exist" in row.message and checks(row)["load:candidate_model"]


@pytest.mark.parametrize(
    "params, events, expected",
    [
        ({"model": "tiny", "model_version": "v1\n"}, None, "model_version 'v1\\\\n' must be 1-100 letters"),
        ({"model": "tiny", "model_version": "../../etc/passwd"}, None, "must be 1-100 letters"),
        ({}, {"assay://models/tiny": {"registered_by": "ci"}}, "carries no 'model_version' in its extra"),
    ],
)
def test_refused_params_are_recorded_then_fail_for_good(
    metrics_url, tmp_path, monkeypatch, versions_dir, params, events, expected
):
    configure(monkeypatch, tmp_path, metrics_url, models=model_config(versions_dir))
    with pytest.raises(AirflowFailException, match=f"model_validation: ERROR: .*{expected}"):
        validate(params, "manual__bad_params", events=events)
    row = recorded(metrics_url, DAG, "manual__bad_params")["model_validation"]
    assert row.status == "ERROR" and row.target == "tiny" and row.model_version is None
    assert row.summary["retryable"] is False and row.summary["params"] == {
        k: params.get(k) for k in ("model", "model_version")
    }


def test_a_model_that_is_not_configured_is_recorded(metrics_url, tmp_path, monkeypatch, versions_dir):
    configure(monkeypatch, tmp_path, metrics_url, models=model_config(versions_dir))
    with pytest.raises(AirflowFailException, match="model 'retired' is not configured .*configured: tiny"):
        validate({"model_version": "v1"}, "manual__retired", model="retired")
    assert recorded(metrics_url, DAG, "manual__retired")["model_validation"].target == "retired"


def test_another_models_run_skips_without_a_record(metrics_url, tmp_path, monkeypatch, versions_dir):
    configure(monkeypatch, tmp_path, metrics_url, models=model_config(versions_dir))
    with pytest.raises(AirflowSkipException):
        validate({"model": "other", "model_version": "v1"}, "manual__other")
    assert recorded(metrics_url, DAG, "manual__other") == {}


# ---------------------------------------------------------------------------------------------------- A/B


def ab_config(tmp_path, source=None):
    if DEMO not in sys.path:
        sys.path.insert(0, DEMO)
    from fraud.exports import ab_outcomes

    csv = tmp_path / "ab_outcomes.csv"
    ab_outcomes().to_csv(csv, index=False)
    return {
        "rollout": {
            "source": source or {"kind": "csv", "path": str(csv)},
            "analysis": {
                "champion": "champion",
                "challenger": "challenger",
                "minimum_detectable_effect": 0.01,
                "metrics": {
                    "approval_conversion": {"role": "primary"},
                    "chargeback": {"role": "guardrail", "higher_is_better": False},
                },
            },
        }
    }


def analyse(run_id, experiment="rollout"):
    ctx = make_context("ab_analysis", ti=TaskInstanceStub(dag_id=DAG, run_id=run_id))
    return ABAnalysisOperator(task_id="ab_analysis", experiment=experiment).execute(ctx)


def test_ab_analysis_is_recorded(metrics_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, metrics_url, ab_experiments=ab_config(tmp_path))
    summary = analyse("manual__ab")
    row = recorded(metrics_url, DAG, "manual__ab")["ab:rollout"]
    assert row.status == "PASS" == summary["status"] and row.message and row.checks and row.dataset == "rollout"


def test_ab_outcomes_from_sql_through_their_airflow_connection(metrics_url, tmp_path, monkeypatch):
    """The metrics DB doubles as the warehouse: the outcomes as table ``ab_outcomes``, connection ``warehouse``."""
    from sqlalchemy import create_engine

    config = ab_config(tmp_path, {"kind": "sql", "conn_id": "warehouse", "query": "SELECT * FROM ab_outcomes"})
    from fraud.exports import ab_outcomes  # on the path once ab_config put the demo there

    engine = create_engine(metrics_url)
    ab_outcomes().to_sql("ab_outcomes", engine, index=False)
    engine.dispose()
    sql_connection(monkeypatch, "warehouse", metrics_url)
    configure(monkeypatch, tmp_path, metrics_url, ab_experiments=config)
    summary = analyse("manual__ab_sql")
    row = recorded(metrics_url, DAG, "manual__ab_sql")["ab:rollout"]
    assert row.status == "PASS" == summary["status"] and row.checks  # the verdict the CSV of the same rows gets


@pytest.mark.parametrize(
    "source, error, expected",
    [
        (
            {"kind": "csv", "path": "/nonexistent/outcomes.csv"},
            AirflowException,
            "dataset file /nonexistent/outcomes.csv does not exist",
        ),
        (
            {"kind": "sql", "conn_id": "no_such_db", "query": "select 1"},
            AirflowFailException,
            "connection 'no_such_db' is not defined",
        ),
    ],
)
def test_an_ab_error_is_recorded_then_raised_as_its_kind(metrics_url, tmp_path, monkeypatch, source, error, expected):
    configure(monkeypatch, tmp_path, metrics_url, ab_experiments=ab_config(tmp_path, source))
    with pytest.raises(error, match=f"ab:rollout: ERROR: .*{expected}") as err:
        analyse("manual__ab_error")
    assert (type(err.value) is AirflowFailException) == (error is AirflowFailException)
    row = recorded(metrics_url, DAG, "manual__ab_error")["ab:rollout"]
    assert row.status == "ERROR" and expected in row.message


def test_an_experiment_that_is_not_configured_is_recorded(metrics_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, metrics_url, ab_experiments=ab_config(tmp_path))
    with pytest.raises(AirflowFailException, match="A/B experiment 'gone' is not configured"):
        analyse("manual__gone", experiment="gone")
    assert recorded(metrics_url, DAG, "manual__gone")["ab:gone"].status == "ERROR"


def golden_model_config(versions_dir, golden_dir, version):
    """``tiny`` evaluated on a golden dataset by version, its folder taken from data_quality.golden_dir."""
    from fraud.data import make_evaluation_set

    from assay.engines.data_quality.golden import write_golden

    write_golden("tiny_eval", make_evaluation_set(300, seed=101, fraud_rate=0.3), golden_dir, version=2)
    models = model_config(versions_dir, robustness={"enabled": False})
    models["tiny"]["job"]["evaluation"] = {"golden": {"name": "tiny_eval", "version": version}}
    return models


def test_the_evaluation_golden_dataset_is_read_by_version(metrics_url, tmp_path, monkeypatch, versions_dir):
    golden_dir = tmp_path / "golden"
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        models=golden_model_config(versions_dir, golden_dir, 2),
        data_quality={"golden_dir": str(golden_dir)},
    )
    try:
        validate({"model": "tiny", "model_version": "v1"}, "manual__golden_v2")
    except AirflowException:
        pass  # the verdict of a tiny model does not matter here: what it was evaluated on does
    row = recorded(metrics_url, DAG, "manual__golden_v2")["model_validation"]
    assert row.dataset == "golden:tiny_eval@2" and "quality:accuracy" in checks(row)


def test_asking_for_another_golden_version_is_recorded_as_error(metrics_url, tmp_path, monkeypatch, versions_dir):
    golden_dir = tmp_path / "golden"
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        models=golden_model_config(versions_dir, golden_dir, 1),
        data_quality={"golden_dir": str(golden_dir)},
    )
    with pytest.raises(AirflowException, match=r"ERROR: .*is version 2, but version 1 was requested"):
        validate({"model": "tiny", "model_version": "v1"}, "manual__golden_v1")
    row = recorded(metrics_url, DAG, "manual__golden_v1")["model_validation"]
    assert row.status == "ERROR" and "golden:tiny_eval@1" in row.message and "quality:accuracy" not in checks(row)


def test_the_log_line_of_key_metrics_names_the_headline_figures():
    from assay.store.records import MetricRecord
    from assay_airflow.operators.models import key_metrics

    metrics = [
        MetricRecord("quality.accuracy", 0.91234, "ratio"),
        MetricRecord("quality.roc_auc", 0.95, "ratio"),
        MetricRecord("quality.latency_p95", 12.5, "ms", {"calls": 50}),  # labelled: stays on the run's page
        MetricRecord("fairness.selection_rate", 0.3, "ratio", {"attribute": "sex", "group": "f"}),
    ]
    assert key_metrics(metrics) == "quality.accuracy=0.9123, quality.roc_auc=0.95"
    many = [MetricRecord(f"m{i}", i, "ratio") for i in range(20)]
    assert key_metrics(many).endswith(", m15=15, and 4 more")
