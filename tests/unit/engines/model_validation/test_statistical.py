"""Statistical validation by re-training: k-fold, repeated holdout, temporal; mean and spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold
from support.model_validation import LABEL

from assay.engines.model_validation import QualityConfig, StatisticalConfig
from assay.engines.model_validation.scoring import classification_metrics
from assay.engines.model_validation.statistical import check_statistical, fold_metrics


class TrainLog:
    """A real train_fn (the demo's) that also records what it was given."""

    def __init__(self, epochs: int = 2) -> None:
        self.epochs = epochs
        self.frames: list[pd.DataFrame] = []

    def __call__(self, df: pd.DataFrame):
        from fraud.artifacts import train_pipeline

        self.frames.append(df)
        return train_pipeline(df, epochs=self.epochs, hidden=(8,))


@pytest.fixture(scope="module")
def frame():
    from support.model_validation import evaluation_frame

    return evaluation_frame(rows=600, seed=21)


def checks(section):
    return {c.name: c for c in section.checks}


def test_kfold_mean_and_spread_match_manual_folds(frame):
    cfg = StatisticalConfig(schemes=["kfold"], folds=4, seed=3)
    train = TrainLog()
    section = check_statistical(frame, LABEL, train, cfg, QualityConfig())
    assert [len(f) for f in train.frames] == [450] * 4
    manual = []
    for tr, te in StratifiedKFold(4, shuffle=True, random_state=3).split(frame, frame[LABEL]):
        model = TrainLog()(frame.iloc[tr].reset_index(drop=True))
        test = frame.iloc[te]
        manual.append(classification_metrics(test[LABEL].to_numpy(), model.predict(test)))
    acc = np.array([m["accuracy"] for m in manual])
    stats = section.details["kfold"]["accuracy"]
    assert stats == pytest.approx(
        {"mean": acc.mean(), "std": acc.std(ddof=1), "min": acc.min(), "max": acc.max(), "folds": 4}
    )
    c = checks(section)["statistical:kfold:accuracy"]
    assert c.observed == pytest.approx(acc.mean()) and c.threshold == 0.85
    assert f"std {acc.std(ddof=1):.4f}" in c.message
    names = {(m.name, m.labels["scheme"]) for m in section.metrics}
    assert {
        ("statistical.accuracy_mean", "kfold"),
        ("statistical.f1_std", "kfold"),
        ("statistical.recall_min", "kfold"),
        ("statistical.precision_max", "kfold"),
    } <= names


def test_holdout_is_repeated_and_temporal_trains_on_the_past(frame):
    cfg = StatisticalConfig(
        schemes=["holdout", "temporal"],
        holdout_repeats=2,
        temporal_splits=3,
        time_column="event_time",
        metrics=["accuracy"],
    )
    train = TrainLog(epochs=1)
    section = check_statistical(frame, LABEL, train, cfg, QualityConfig())
    assert section.details["holdout"]["accuracy"]["folds"] == 2
    assert section.details["temporal"]["accuracy"]["folds"] == 3
    temporal_frames = train.frames[2:]
    assert [len(f) for f in temporal_frames] == [150, 300, 450]  # TimeSeriesSplit grows the past
    latest_train = temporal_frames[0]["event_time"].max()
    ordered = frame.sort_values("event_time")
    assert latest_train == ordered["event_time"].iloc[149]  # the first fold saw only the earliest rows


def test_spread_above_max_std_is_warn(frame):
    cfg = StatisticalConfig(schemes=["kfold"], folds=3, metrics=["accuracy"], max_std=0.0)
    section = check_statistical(frame, LABEL, TrainLog(epochs=1), cfg, QualityConfig(accuracy_min=0.0))
    spread = checks(section)["statistical:kfold:accuracy:spread"]
    assert spread.status == "WARN" and spread.severity == "warning"
    assert checks(section)["statistical:kfold:accuracy"].status == "PASS"
    assert section.status.value == "WARN"


def test_no_train_fn_is_error(frame):
    [check] = check_statistical(frame, LABEL, None, StatisticalConfig(), QualityConfig()).checks
    assert check.status == "ERROR" and "no train_fn is configured" in check.message


def test_failing_train_fn_is_error(frame):
    def broken(df):
        raise MemoryError("too big")

    [check] = check_statistical(frame, LABEL, broken, StatisticalConfig(schemes=["holdout"]), QualityConfig()).checks
    assert check.name == "statistical:holdout" and check.status == "ERROR"
    assert "train_fn failed on fold 0" in check.message and "MemoryError: too big" in check.message


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_too_few_positives_for_stratified_folds_is_error(frame):
    few = frame.assign(is_fraud=0)
    few.loc[:2, LABEL] = 1  # 3 positives for 5 folds
    [check] = check_statistical(few, LABEL, TrainLog(), StatisticalConfig(schemes=["kfold"]), QualityConfig()).checks
    assert check.status == "ERROR" and "kfold validation could not run" in check.message
    assert "has no positive label among its" in check.message


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.drop(columns=["event_time"]), "time column 'event_time' is not in the evaluation frame"),
        (lambda df: df.assign(event_time=df["event_time"].where(df.index > 0)), "has 1 missing value(s)"),
    ],
)
def test_bad_time_column_is_error(frame, mutate, message):
    cfg = StatisticalConfig(schemes=["temporal"], time_column="event_time")
    [check] = check_statistical(mutate(frame), LABEL, TrainLog(), cfg, QualityConfig()).checks
    assert check.status == "ERROR" and message in check.message


def test_unstratified_kfold(frame):
    folds = fold_metrics("kfold", frame, LABEL, TrainLog(epochs=1), StatisticalConfig(folds=2, stratified=False))
    assert len(folds) == 2 and all(0 <= f["accuracy"] <= 1 for f in folds)
