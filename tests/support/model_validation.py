"""Helpers for the model validation tests: the demo platform on sys.path, tiny trained models, and
evaluation frames with a protected attribute (the demo data has none yet)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "include" / "demo_platform"
if str(DEMO) not in sys.path:
    sys.path.insert(0, str(DEMO))

from fraud import TrainingPipeline, make_fraud_dataset  # noqa: E402

LABEL = "is_fraud"  # the demo's label column
LOADER = "fraud.artifacts:load_pipeline"  # the demo's model loader


def train(rows: int = 1500, seed: int = 1, fraud_rate: float = 0.2, epochs: int = 3, hidden=(16,)) -> TrainingPipeline:
    """A tiny demo model; a second or so of CPU."""
    return TrainingPipeline(hidden=hidden, epochs=epochs, seed=seed).fit(make_fraud_dataset(rows, seed, fraud_rate))


def evaluation_frame(rows: int = 1200, seed: int = 11, fraud_rate: float = 0.2) -> pd.DataFrame:
    """Demo transactions plus two protected attributes and a time column.

    ``region`` is drawn independently of everything (a fair model treats its groups alike);
    ``age`` is a customer age that tracks account age, so a model leaning on account age treats age
    bands differently. ``event_time`` orders the rows for temporal validation.
    """
    df = make_fraud_dataset(rows, seed=seed, fraud_rate=fraud_rate)
    rng = np.random.default_rng(seed + 1000)
    df["region"] = rng.choice(["north", "south", "east"], size=rows)
    df["age"] = 18 + (df["account_age_days"] / 3650 * 50).round() + rng.integers(0, 8, size=rows)
    df["event_time"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.permutation(rows), unit="h")
    return df


class FixedModel:
    """A model whose positive-class probabilities are given per row (by the frame's ``row`` column);
    test data for the statistics, satisfying ValidatableModel except for the torch view."""

    def __init__(self, proba: np.ndarray, model_id: str = "fixed") -> None:
        self.proba = np.asarray(proba, dtype=np.float64)
        self.model_id = model_id

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        p = self.proba[df["row"].to_numpy()]
        return np.column_stack([1 - p, p])

    def features(self, df: pd.DataFrame) -> np.ndarray:
        raise TypeError("FixedModel has no features")

    torch_module = None


def labelled_rows(y: np.ndarray) -> pd.DataFrame:
    """A frame with only a row index and labels, for FixedModel."""
    return pd.DataFrame({"row": np.arange(len(y)), LABEL: np.asarray(y, dtype=np.int64)})


def per_row_bootstrap(
    y_true: np.ndarray, cand_pred: np.ndarray, base_pred: np.ndarray | None, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """The per-row paired bootstrap Assay used before it resampled cell counts (kept as the reference the
    vectorised one is held to): draw ``n`` row indices per resample, compute each metric on the rows."""
    rng = np.random.default_rng(seed)
    n = len(y_true)
    block = max(1, 2_000_000 // n)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, resamples, block):
        idx = rng.integers(0, n, size=(min(block, resamples - start), n))
        cand = _row_metrics(y_true[idx], cand_pred[idx])
        if base_pred is not None:
            base = _row_metrics(y_true[idx], base_pred[idx])
            cand = {k: cand[k] - base[k] for k in cand}
        parts.append(cand)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _row_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    tp = ((y_pred == 1) & (y_true == 1)).sum(axis=1)
    pp = (y_pred == 1).sum(axis=1)
    ap = (y_true == 1).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pp > 0, tp / np.maximum(pp, 1), 0.0)
        recall = np.where(ap > 0, tp / np.maximum(ap, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"accuracy": (y_pred == y_true).mean(axis=1), "precision": precision, "recall": recall, "f1": f1}
