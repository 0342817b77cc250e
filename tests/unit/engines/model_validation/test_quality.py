"""Quality thresholds, latency and memory, and what bad evaluation data gives."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from support.model_validation import LABEL, FixedModel, labelled_rows

from assay.engines.model_validation import ModelValidationConfig, QualityConfig, validate_model
from assay.engines.model_validation.quality import check_quality, measure_latency, module_size_mb
from assay.engines.model_validation.scoring import score

ONLY_QUALITY = {
    "regression": {"enabled": False},
    "fairness": {"enabled": False},
    "robustness": {"enabled": False},
    "statistical": {"enabled": False},
}


def quality_only(**quality) -> ModelValidationConfig:
    return ModelValidationConfig(label_column=LABEL, quality=QualityConfig(**quality), **ONLY_QUALITY)


def by_name(checks):
    return {c.name: c for c in checks}


def test_metrics_match_sklearn_and_thresholds_decide(good_model, eval_df):
    scored = score(good_model, eval_df, LABEL)
    section = check_quality(good_model, eval_df, scored, QualityConfig(latency_calls=50))
    y, pred = eval_df[LABEL].to_numpy(), good_model.pipeline.predict(eval_df)
    expected = {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred),
        "recall": recall_score(y, pred),
        "f1": f1_score(y, pred),
    }
    assert section.details["metrics"] == pytest.approx(expected, abs=1e-12)
    checks = by_name(section.checks)
    for name, value in expected.items():
        limit = getattr(QualityConfig(), f"{name}_min")
        check = checks[f"quality:{name}"]
        assert (check.observed, check.threshold, check.comparator) == (pytest.approx(value), limit, ">=")
        assert check.status == ("PASS" if value >= limit else "FAIL")


def test_weak_model_fails_with_reasons(weak_model, eval_df):
    result = validate_model(weak_model, eval_df, quality_only(latency_calls=20))
    checks = by_name(result.checks)
    assert result.status.value == "FAIL"
    assert checks["quality:recall"].status == "FAIL" and checks["quality:recall"].message.startswith("recall 0")
    assert "breaks >= 0.75" in checks["quality:recall"].message


def test_latency_percentiles_and_threshold(good_model, eval_df):
    lat = measure_latency(good_model, eval_df, calls=60)
    assert len(lat.samples_ms) == 60 and (lat.samples_ms > 0).all()
    assert lat.p50_ms <= lat.p95_ms <= lat.p99_ms <= lat.samples_ms.max()
    assert lat.p99_ms == pytest.approx(np.percentile(lat.samples_ms, 99))
    section = check_quality(
        good_model, eval_df, score(good_model, eval_df, LABEL), QualityConfig(latency_calls=20, latency_p99_ms_max=1e-6)
    )
    check = by_name(section.checks)["quality:latency_p99"]
    assert check.status == "FAIL" and check.comparator == "<=" and check.observed > 1e-6
    assert {m.name for m in section.metrics} >= {"quality.latency_p50", "quality.latency_p95", "quality.latency_p99"}


def test_memory_is_weights_plus_rss_growth(good_model, eval_df):
    weights = sum(p.numel() * 4 for p in good_model.torch_module.parameters()) / 2**20
    assert module_size_mb(good_model) == pytest.approx(weights)
    section = check_quality(
        good_model,
        eval_df,
        score(good_model, eval_df, LABEL),
        QualityConfig(latency_calls=10, memory_mb_max=weights / 2),
    )
    metrics = {m.name: m.value for m in section.metrics}
    assert metrics["quality.memory"] == pytest.approx(
        metrics["quality.model_size"] + metrics["quality.inference_rss_growth"]
    )
    assert by_name(section.checks)["quality:memory"].status == "FAIL"
    relaxed = check_quality(good_model, eval_df, score(good_model, eval_df, LABEL), QualityConfig(latency_calls=10))
    assert by_name(relaxed.checks)["quality:memory"].status == "PASS"


def test_thresholds_can_be_switched_off(good_model, eval_df):
    section = check_quality(
        good_model,
        eval_df,
        score(good_model, eval_df, LABEL),
        QualityConfig(latency_calls=10, precision_min=None, latency_p99_ms_max=None),
    )
    names = {c.name for c in section.checks}
    assert "quality:precision" not in names and "quality:latency_p99" not in names
    assert "quality.precision" in {m.name for m in section.metrics}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.iloc[0:0], "the evaluation frame is empty"),
        (lambda df: df.drop(columns=[LABEL]), "has no label column 'is_fraud'"),
        (lambda df: df.assign(is_fraud=np.nan), "entirely NaN"),
        (lambda df: df.assign(is_fraud=df[LABEL].where(df.index > 2)), "3 NaN or non-numeric value(s)"),
        (lambda df: df.assign(is_fraud=df[LABEL] * 2), "must hold 0/1"),
        (lambda df: df.assign(amount=np.nan), "feature column 'amount' is entirely NaN"),
        (lambda df: df.drop(columns=["hour"]), "feature column 'hour' is missing"),
    ],
)
def test_bad_evaluation_data_is_error(good_model, eval_df, mutate, message):
    result = validate_model(good_model, mutate(eval_df), quality_only())
    assert result.status.value == "ERROR"
    [check] = result.checks
    assert check.name == "evaluation:data" and message in check.message
    json.dumps(result.describe_dict())


@pytest.mark.parametrize(
    ("proba", "message"),
    [
        (lambda n: np.full((n, 3), 1 / 3), "shape"),
        (lambda n: np.full((n, 2), np.nan), "NaN/inf"),
        (lambda n: np.full((n, 2), 0.9), "not probabilities"),
    ],
)
def test_unusable_model_output_is_error(proba, message):
    class Broken:
        def predict_proba(self, df):
            return proba(len(df))

    frame = labelled_rows(np.array([0, 1, 0, 1]))
    result = validate_model(Broken(), frame, quality_only())
    assert result.status.value == "ERROR" and message in result.checks[0].message


def test_predict_proba_raising_is_error():
    class Raises:
        def predict_proba(self, df):
            raise RuntimeError("CUDA out of memory")

    result = validate_model(Raises(), labelled_rows(np.array([0, 1])), quality_only())
    assert result.status.value == "ERROR" and "RuntimeError: CUDA out of memory" in result.checks[0].message


def test_describe_dict_is_json_and_counts(good_model, eval_df):
    result = validate_model(good_model, eval_df, quality_only(latency_calls=10), model_version="v7")
    data = json.loads(json.dumps(result.describe_dict()))
    detail = data["summary"]
    assert data["kind"] == "model_validation" and detail["model_version"] == "v7"
    assert detail["evaluated"] == len(result.checks) == detail["successful"] + detail["unsuccessful"]
    assert detail["sections"][0]["name"] == "quality" and data["status"] == result.status.value


def test_fixed_model_metrics():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    p = np.array([0.9, 0.2, 0.7, 0.1, 0.8, 0.3, 0.4, 0.1])  # tp=2, fn=1, fp=1, tn=4
    frame = labelled_rows(y)
    section = check_quality(FixedModel(p), frame, score(FixedModel(p), frame, LABEL), QualityConfig(latency_calls=10))
    assert section.details["metrics"] == pytest.approx(
        {"accuracy": 6 / 8, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3}
    )
    assert by_name(section.checks)["quality:accuracy"].status == "FAIL"  # 0.75 < 0.85
    assert pd.Series([m.name for m in section.metrics]).is_unique


def test_undefined_numbers_stay_out_of_records_and_json():
    from assay.engines.model_validation.results import SectionResult

    section = SectionResult("fairness")
    section.metric("equalized_odds_ratio", float("nan"), "ratio")
    section.metric("disparate_impact", 0.9, "ratio")
    section.details["by_group"] = {"a": {"tpr": np.float64("nan"), "count": np.int64(3)}, "pair": (1.0, np.inf)}
    assert [m.name for m in section.metrics] == ["fairness.disparate_impact"]
    details = json.loads(json.dumps(section.describe_dict(), allow_nan=False))["details"]
    assert details == {"by_group": {"a": {"tpr": None, "count": 3}, "pair": [1.0, None]}}
