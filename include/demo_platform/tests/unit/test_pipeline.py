"""Unit tests for TrainingPipeline on tiny data (critical path: 100% lines)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from fraud.data import LABEL_COLUMN, PERSONAL_COLUMNS
from fraud.features import NotFittedError
from fraud.pipeline import TrainingPipeline

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("method", ["predict_proba", "predict_proba_values", "predict", "evaluate"])
def test_use_before_fit_raises(small_df: pd.DataFrame, method: str) -> None:
    pipeline = TrainingPipeline()
    with pytest.raises(NotFittedError):
        getattr(pipeline, method)(small_df)
    assert pipeline.model_id is None


def test_fit_requires_label(small_df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=LABEL_COLUMN):
        TrainingPipeline(epochs=1).fit(small_df.drop(columns=[LABEL_COLUMN]))


def test_fit_sets_model_id_and_losses(tiny_pipeline: TrainingPipeline) -> None:
    assert isinstance(tiny_pipeline.model_id, str) and len(tiny_pipeline.model_id) == 12
    assert len(tiny_pipeline.loss_history) == 1
    assert np.isfinite(tiny_pipeline.loss_history[0])
    assert not tiny_pipeline.model.training  # type: ignore[union-attr]


def test_same_seed_same_model(small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    again = TrainingPipeline(hidden=(8,), epochs=1, batch_size=32).fit(small_df)
    other = TrainingPipeline(hidden=(8,), epochs=1, batch_size=32, seed=1).fit(small_df)
    assert again.model_id == tiny_pipeline.model_id != other.model_id
    np.testing.assert_array_equal(again.predict_proba(small_df), tiny_pipeline.predict_proba(small_df))


def test_predict_proba_and_predict(small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    proba = tiny_pipeline.predict_proba(small_df)
    assert proba.shape == (len(small_df), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    pred = tiny_pipeline.predict(small_df)
    assert pred.dtype == np.int64 and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, proba.argmax(axis=1))


def test_predict_proba_values_matches_predict_proba(small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    values = small_df.loc[:, list(tiny_pipeline.feature_columns)].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(
        tiny_pipeline.predict_proba_values(values), tiny_pipeline.predict_proba(small_df), rtol=0, atol=1e-12
    )


def test_personal_fields_are_ignored(small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    anonymised = small_df.drop(columns=list(PERSONAL_COLUMNS))
    np.testing.assert_array_equal(tiny_pipeline.predict_proba(anonymised), tiny_pipeline.predict_proba(small_df))


def test_evaluate_matches_manual_metrics(small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    pred = tiny_pipeline.predict(small_df)
    truth = pred.copy()
    truth[:6] = [1, 1, 1, 0, 0, 1]  # mix of hits and misses, at least one positive
    tp = int(((pred == 1) & (truth == 1)).sum())
    precision = tp / pred.sum() if pred.sum() else 0.0
    recall = tp / truth.sum()
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    metrics = tiny_pipeline.evaluate(small_df.assign(is_fraud=truth))
    assert metrics == pytest.approx(
        {"accuracy": (pred == truth).mean(), "precision": precision, "recall": recall, "f1": f1}
    )


def test_evaluate_without_positives_is_zero(small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    pipeline = copy.deepcopy(tiny_pipeline)
    with torch.no_grad():  # force the output layer to always say "legit"
        pipeline.model.net[-1].weight.zero_()  # type: ignore[union-attr]
        pipeline.model.net[-1].bias.copy_(torch.tensor([5.0, -5.0]))  # type: ignore[union-attr]
    assert not pipeline.predict(small_df).any()
    assert pipeline.evaluate(small_df) == {
        "accuracy": pytest.approx(1 - small_df[LABEL_COLUMN].mean()),
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }
