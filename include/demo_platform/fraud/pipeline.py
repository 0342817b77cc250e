"""End-to-end training pipeline: features -> model -> predictions -> metrics.

Critical path: the unit suite must cover every line of this module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from fraud.data import FEATURE_COLUMNS, LABEL_COLUMN
from fraud.features import FeatureTransformer, NotFittedError
from fraud.model import FraudClassifier


class TrainingPipeline:
    """Seeded trainer for a FraudClassifier on a transactions frame."""

    def __init__(
        self,
        hidden: Sequence[int] = (32, 16),
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 1e-2,
        seed: int = 0,
        feature_columns: Sequence[str] = FEATURE_COLUMNS,
    ) -> None:
        self.hidden = tuple(hidden)
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.feature_columns = tuple(feature_columns)
        self.transformer: FeatureTransformer | None = None
        self.model: FraudClassifier | None = None
        self.model_id: str | None = None
        self.loss_history: list[float] = []

    def fit(self, df: pd.DataFrame) -> TrainingPipeline:
        """Fit the transformer and train the model with Adam; sets ``model_id``."""
        if LABEL_COLUMN not in df.columns:
            raise ValueError(f"missing label column: {LABEL_COLUMN}")
        torch.manual_seed(self.seed)
        transformer = FeatureTransformer(self.feature_columns)
        X = torch.from_numpy(transformer.fit_transform(df))
        y = torch.tensor(df[LABEL_COLUMN].to_numpy(dtype=np.int64))
        model = FraudClassifier(X.shape[1], self.hidden)
        optimiser = torch.optim.Adam(model.parameters(), lr=self.lr)
        loss_fn = nn.CrossEntropyLoss()
        shuffler = torch.Generator().manual_seed(self.seed)
        self.loss_history = []
        model.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(X), generator=shuffler)
            total = 0.0
            for start in range(0, len(X), self.batch_size):
                idx = order[start : start + self.batch_size]
                optimiser.zero_grad()
                loss = loss_fn(model(X[idx]), y[idx])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(idx)
            self.loss_history.append(total / len(X))
        model.eval()
        self.transformer, self.model = transformer, model
        self.model_id = self._fingerprint(model)
        return self

    def _fingerprint(self, model: nn.Module) -> str:
        """Content hash of the trained weights and feature columns."""
        digest = hashlib.sha256(",".join(self.feature_columns).encode())
        for tensor in model.state_dict().values():
            digest.update(tensor.detach().numpy().tobytes())
        return digest.hexdigest()[:12]

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Return class probabilities of shape (n, 2); each row sums to 1."""
        if self.model is None or self.transformer is None:
            raise NotFittedError("TrainingPipeline must be fitted before prediction")
        return self._score(self.model, self.transformer.transform(df))

    def predict_proba_values(self, values: np.ndarray) -> np.ndarray:
        """``predict_proba`` for raw feature values in ``feature_columns`` order, shape (n, n_features).

        Same probabilities as ``predict_proba`` on a frame of those values, without building one.
        """
        if self.model is None or self.transformer is None:
            raise NotFittedError("TrainingPipeline must be fitted before prediction")
        return self._score(self.model, self.transformer.transform_values(values))

    @staticmethod
    def _score(model: FraudClassifier, features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(features)), dim=1).numpy()

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Return hard 0/1 fraud predictions."""
        return self.predict_proba(df).argmax(axis=1).astype(np.int64)

    def evaluate(self, df: pd.DataFrame) -> dict[str, float]:
        """Return accuracy, precision, recall and f1 for the fraud class."""
        y_true = df[LABEL_COLUMN].to_numpy()
        y_pred = self.predict(df)
        tp = int(np.sum((y_pred == 1) & (y_true == 1)))
        fp = int(np.sum((y_pred == 1) & (y_true == 0)))
        fn = int(np.sum((y_pred == 0) & (y_true == 1)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "accuracy": float(np.mean(y_pred == y_true)),
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
