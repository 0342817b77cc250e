"""Check the evaluation frame, score it once, and compute the classification metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from assay.engines.model_validation.loading import EvaluationDataError, ValidatableModel
from assay.errors import TargetError


class ModelOutputError(TargetError):
    """The model's predictions are unusable (wrong shape, NaN, not probabilities)."""


@dataclass(frozen=True)
class Scored:
    """Labels, positive-class probabilities and hard predictions (threshold 0.5 via argmax) of one frame."""

    y_true: np.ndarray
    y_prob: np.ndarray
    y_pred: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        return self.y_pred == self.y_true


def evaluation_problems(df: pd.DataFrame, label: str, feature_columns: Sequence[str] | None = None) -> list[str]:
    """Why ``df`` cannot be evaluated (empty list when it can)."""
    if len(df) == 0:
        return ["the evaluation frame is empty"]
    if label not in df.columns:
        return [f"the evaluation frame has no label column {label!r} (columns: {', '.join(map(str, df.columns))})"]
    problems = []
    labels = pd.to_numeric(df[label], errors="coerce")
    n_nan = int(labels.isna().sum())
    if n_nan == len(df):
        problems.append(f"label column {label!r} is entirely NaN or non-numeric")
    elif n_nan:
        problems.append(f"label column {label!r} has {n_nan} NaN or non-numeric value(s) out of {len(df)}")
    elif not set(np.unique(labels)) <= {0, 1}:
        problems.append(f"label column {label!r} must hold 0/1, found {sorted(np.unique(labels))[:10]}")
    for column in feature_columns or ():
        if column not in df.columns:
            problems.append(f"feature column {column!r} is missing")
        elif df[column].isna().all():
            problems.append(f"feature column {column!r} is entirely NaN")
    return problems


def require_evaluable(df: pd.DataFrame, label: str, feature_columns: Sequence[str] | None = None) -> None:
    """Raise EvaluationDataError listing every problem of ``df``."""
    problems = evaluation_problems(df, label, feature_columns)
    if problems:
        raise EvaluationDataError("; ".join(problems))


def positive_proba(model: ValidatableModel, df: pd.DataFrame) -> np.ndarray:
    """Positive-class probabilities, after checking the model returned valid (n, 2) probabilities."""
    try:
        proba = np.asarray(model.predict_proba(df), dtype=np.float64)
    except Exception as exc:
        raise ModelOutputError(f"predict_proba failed: {type(exc).__name__}: {exc}") from exc
    if proba.shape != (len(df), 2):
        raise ModelOutputError(f"predict_proba returned shape {proba.shape}, expected ({len(df)}, 2)")
    if not np.isfinite(proba).all():
        raise ModelOutputError(f"predict_proba returned {int((~np.isfinite(proba)).sum())} NaN/inf value(s)")
    if (proba < -1e-6).any() or (proba > 1 + 1e-6).any() or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-4):
        raise ModelOutputError("predict_proba rows are not probabilities in [0, 1] summing to 1")
    return proba[:, 1]


def score(model: ValidatableModel, df: pd.DataFrame, label: str) -> Scored:
    """Score ``df`` with ``model``; the frame must have passed :func:`require_evaluable`."""
    y_prob = positive_proba(model, df)
    y_pred = (y_prob > 0.5).astype(np.int64)
    return Scored(df[label].to_numpy(dtype=np.int64), y_prob, y_pred)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy, and precision/recall/F1 of the positive class (0 where undefined)."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
    }
