"""End-to-end: generate data -> preprocess -> train -> predict -> evaluate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fraud import LABEL_COLUMN, NotFittedError, TrainingPipeline, make_fraud_dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return make_fraud_dataset(1000, seed=2, fraud_rate=0.3)


@pytest.fixture(scope="module")
def trained() -> TrainingPipeline:
    return TrainingPipeline(seed=0).fit(make_fraud_dataset(3000, seed=1, fraud_rate=0.3))


def test_end_to_end_quality(trained: TrainingPipeline, holdout: pd.DataFrame) -> None:
    metrics = trained.evaluate(holdout)
    baseline = 1 - holdout[LABEL_COLUMN].mean()  # always predicting "legit"
    assert metrics["accuracy"] >= 0.85 > baseline
    assert metrics["f1"] >= 0.6
    assert trained.loss_history[-1] < trained.loss_history[0]
    assert isinstance(trained.model_id, str) and trained.model_id


def test_predict_proba_rows_sum_to_one(trained: TrainingPipeline, holdout: pd.DataFrame) -> None:
    proba = trained.predict_proba(holdout)
    assert proba.shape == (len(holdout), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    fraud_p = proba[:, 1]
    labels = holdout[LABEL_COLUMN].to_numpy() == 1
    assert fraud_p[labels].mean() > fraud_p[~labels].mean() + 0.3


def test_prediction_before_training_raises(holdout: pd.DataFrame) -> None:
    pipeline = TrainingPipeline()
    for method in (pipeline.predict, pipeline.predict_proba, pipeline.evaluate):
        with pytest.raises(NotFittedError):
            method(holdout)


def test_training_is_reproducible(trained: TrainingPipeline, holdout: pd.DataFrame) -> None:
    again = TrainingPipeline(seed=0).fit(make_fraud_dataset(3000, seed=1, fraud_rate=0.3))
    assert again.model_id == trained.model_id
    np.testing.assert_array_equal(again.predict(holdout), trained.predict(holdout))


def test_default_fraud_rate_is_learnable() -> None:
    pipeline = TrainingPipeline(seed=0).fit(make_fraud_dataset(3000, seed=3))
    holdout = make_fraud_dataset(1000, seed=4)
    metrics = pipeline.evaluate(holdout)
    assert metrics["accuracy"] > 1 - holdout[LABEL_COLUMN].mean()  # beats "never fraud"
    assert metrics["f1"] >= 0.5
