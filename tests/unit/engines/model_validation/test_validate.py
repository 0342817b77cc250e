"""The operator's entry point end to end: model versions registered with the demo CLI, an evaluation
file with protected attributes, every section, and the records the operator stores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support.model_validation import DEMO, LABEL, LOADER, evaluation_frame

from assay.engines.model_validation import (
    ModelValidationResult,
    parse_job,
    run_model_validation,
    validate_model,
)
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Two versions trained by the demo's own CLI code, and an evaluation parquet file."""
    from fraud.artifacts import main

    root = tmp_path_factory.mktemp("registry")
    for version, seed in (("v1", 1), ("v2", 2)):
        assert (
            main(
                [
                    "train",
                    "--out",
                    str(root / f"{version}.pt"),
                    "--seed",
                    str(seed),
                    "--rows",
                    "1500",
                    "--epochs",
                    "3",
                    "--fraud-rate",
                    "0.2",
                ]
            )
            == 0
        )
    evaluation_frame(rows=800, seed=31).to_parquet(root / "eval.parquet")
    return root


def job(registry, **overrides):
    data = {
        "name": "fraud_model_validation",
        "candidate": {"loader": LOADER, "path": str(registry / "v2.pt"), "sys_path": [str(DEMO)], "version": "v2"},
        "baseline": {"loader": LOADER, "path": str(registry / "v1.pt"), "sys_path": [str(DEMO)], "version": "v1"},
        "evaluation": {"path": str(registry / "eval.parquet")},
        "train_fn": "fraud.artifacts:train_pipeline",
        "train_fn_sys_path": [str(DEMO)],
        "validation": {
            "label_column": LABEL,
            "quality": {"latency_calls": 50},
            "regression": {"bootstrap_resamples": 500},
            "fairness": {
                "attributes": [
                    {"column": "region"},
                    {"column": "age", "bins": [0, 35, 50, 120], "labels": ["18-35", "36-50", "51+"]},
                ]
            },
            "statistical": {"schemes": ["kfold", "temporal"], "folds": 3, "time_column": "event_time"},
        },
    }
    data.update(overrides)
    return parse_job(data)


def test_full_validation_of_a_registered_version(registry):
    result = run_model_validation(job(registry), baseline_metrics={"quality.accuracy": 0.9, "quality.latency_p99": 5.0})
    assert isinstance(result, ModelValidationResult)
    assert [s.name for s in result.sections] == ["quality", "regression", "fairness", "robustness", "statistical"]
    assert result.model_version == "v2" and result.baseline_version == "v1"
    assert result.dataset == str(registry / "eval.parquet")
    assert result.section("regression").details["mode"] == "paired"
    names = {c.name for c in result.checks}
    assert {
        "quality:accuracy",
        "quality:latency_p99",
        "quality:memory",
        "regression:accuracy",
        "regression:latency_p99",
        "fairness:region:disparate_impact",
        "fairness:age:equal_opportunity",
        "fairness:region:calibration",
        "robustness:fgsm_accuracy",
        "robustness:gaussian_noise_accuracy",
        "statistical:kfold:accuracy",
        "statistical:temporal:f1",
    } <= names
    assert all(isinstance(c, CheckRecord) for c in result.checks)
    assert all(isinstance(m, MetricRecord) and np.isfinite(m.value) for m in result.metrics)
    assert all(c.message for c in result.checks)
    assert result.status == max((Status(c.status) for c in result.checks), key=lambda s: s.severity)
    data = json.loads(json.dumps(result.describe_dict(), allow_nan=False))
    assert data["status"] == result.status.value and data["summary"]["evaluated"] == len(result.checks)
    assert [s["name"] for s in data["summary"]["sections"]] == [s.name for s in result.sections]
    if result.status is not Status.PASS:
        worst = next(c for c in result.checks if c.status == result.status.value)
        assert data["message"].startswith(f"{worst.name} {worst.status}: "), data["message"]  # the reason leads
        assert "checks passed" in data["message"]


def test_first_version_has_no_baseline(registry):
    result = run_model_validation(
        job(
            registry,
            baseline=None,
            validation={"label_column": LABEL, "statistical": {"enabled": False}, "quality": {"latency_calls": 20}},
        )
    )
    regression = result.section("regression")
    assert [c.status for c in regression.checks] == ["SKIP"]
    assert result.baseline_version is None
    assert result.section("fairness").checks[0].status == "SKIP"  # no attributes configured


def test_baseline_file_that_will_not_load(registry, tmp_path):
    broken = tmp_path / "v1.pt"
    broken.write_bytes(b"not a model")
    result = run_model_validation(
        job(
            registry,
            baseline={"loader": LOADER, "path": str(broken), "sys_path": [str(DEMO)], "version": "v1"},
            validation={
                "label_column": LABEL,
                "statistical": {"enabled": False},
                "quality": {"latency_calls": 20},
                "regression": {"metrics": ["accuracy"]},
            },
        ),
        baseline_metrics={"accuracy": 0.5},
    )
    checks = {c.name: c for c in result.checks}
    assert checks["regression:baseline_model"].status == "ERROR"
    assert "not a readable model artifact" in checks["regression:baseline_model"].message
    assert checks["regression:accuracy"].status == "PASS"  # still compared with the recorded 0.5
    assert result.status is Status.ERROR


def test_unknown_train_fn_is_error_result(registry):
    result = run_model_validation(job(registry, train_fn="fraud.artifacts:no_such_trainer"))
    assert result.status is Status.ERROR and "no callable 'no_such_trainer'" in result.checks[0].message


def test_training_frame_is_checked(good_model, eval_df):
    result = validate_model(
        good_model,
        eval_df,
        training_frame=eval_df.iloc[0:0],
        config=parse_job(
            {
                "candidate": {"loader": LOADER, "path": "x"},
                "evaluation": {"path": "e.csv"},
                "validation": {
                    "label_column": LABEL,
                    "quality": {"latency_calls": 10},
                    "robustness": {"enabled": False},
                },
            }
        ).validation,
    )
    statistical = result.section("statistical")
    assert [c.status for c in statistical.checks] == ["ERROR"]
    assert "training frame: the evaluation frame is empty" in statistical.checks[0].message


def test_nothing_enabled_is_error(good_model, eval_df):
    off = {"enabled": False}
    cfg = parse_job(
        {
            "candidate": {"loader": LOADER, "path": "x"},
            "evaluation": {"path": "e.csv"},
            "validation": {"label_column": LABEL}
            | {k: off for k in ("quality", "regression", "fairness", "robustness", "statistical")},
        }
    ).validation
    result = validate_model(good_model, eval_df, cfg)
    assert result.checks == [] and result.status is Status.ERROR  # nothing evaluated never passes
    assert result.describe_dict()["message"] == "no check was evaluated"
