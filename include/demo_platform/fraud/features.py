"""Feature preprocessing: NaN filling and per-column standardisation."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fraud.data import FEATURE_COLUMNS


class NotFittedError(RuntimeError):
    """Raised when a transformer or pipeline is used before ``fit``."""


class FeatureTransformer:
    """Standardise the named numeric columns using statistics from ``fit``."""

    def __init__(self, columns: Sequence[str] = FEATURE_COLUMNS) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _select(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        return X.loc[:, list(self.columns)].to_numpy(dtype=np.float64)

    def fit(self, X: pd.DataFrame) -> FeatureTransformer:
        """Learn per-column mean and std, ignoring NaN; constant columns get std 1."""
        values = self._select(X)
        if len(values) == 0:
            raise ValueError("cannot fit FeatureTransformer on an empty frame")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column
            mean = np.nan_to_num(np.nanmean(values, axis=0), nan=0.0)
        std = np.where(np.isnan(values), mean, values).std(axis=0)
        self.mean_ = mean
        self.std_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return standardised features as a float32 array of shape (n, n_columns)."""
        if self.mean_ is None or self.std_ is None:
            raise NotFittedError("FeatureTransformer must be fitted before transform")
        return self.transform_values(self._select(X))

    def transform_values(self, values: np.ndarray) -> np.ndarray:
        """``transform`` for raw values already in ``columns`` order, shape (n, n_columns), without pandas.

        What the serving API uses for a few records: building a DataFrame costs far more than the arithmetic.
        """
        if self.mean_ is None or self.std_ is None:
            raise NotFittedError("FeatureTransformer must be fitted before transform")
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise ValueError(
                f"expected values of shape (n, {len(self.columns)}) in the column order "
                f"{', '.join(self.columns)}; got shape {values.shape}"
            )
        filled = np.where(np.isnan(values), self.mean_, values)
        return ((filled - self.mean_) / self.std_).astype(np.float32)

    def fit_transform(self, X: pd.DataFrame) -> np.ndarray:
        """Fit on X, then transform it."""
        return self.fit(X).transform(X)
