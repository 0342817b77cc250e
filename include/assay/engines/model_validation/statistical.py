"""Statistical validation: re-train with ``train_fn`` under k-fold, holdout and temporal splits.

Splits come from scikit-learn (``StratifiedKFold``/``KFold``, ``StratifiedShuffleSplit`` repeated
``holdout_repeats`` times,
``TimeSeriesSplit`` on the frame ordered by ``time_column``). Each metric is reported as mean, std
(ddof=1 over folds), min and max. The mean must meet the quality threshold of that metric (FAIL); a
std above ``max_std`` is a WARN (the model is unstable across folds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit, TimeSeriesSplit

from assay.engines.model_validation.config import QualityConfig, StatisticalConfig
from assay.engines.model_validation.loading import as_validatable
from assay.engines.model_validation.results import SectionResult
from assay.engines.model_validation.scoring import classification_metrics, score
from assay.errors import TargetError
from assay.status import Status

TrainFn = Callable[[pd.DataFrame], Any]
Split = tuple[np.ndarray, np.ndarray]


def _splits(scheme: str, df: pd.DataFrame, label: str, cfg: StatisticalConfig) -> Iterator[Split]:
    positions = np.arange(len(df))
    if scheme == "kfold":
        splitter = (StratifiedKFold if cfg.stratified else KFold)(
            n_splits=cfg.folds, shuffle=True, random_state=cfg.seed
        )
        yield from splitter.split(positions, df[label].to_numpy())
    elif scheme == "holdout":  # repeated random holdout, so that it has a spread too
        splitter = (StratifiedShuffleSplit if cfg.stratified else ShuffleSplit)(
            n_splits=cfg.holdout_repeats, test_size=cfg.holdout_fraction, random_state=cfg.seed
        )
        yield from splitter.split(positions, df[label].to_numpy())
    else:  # temporal: train on the past, test on the next block
        order = np.argsort(df[str(cfg.time_column)].to_numpy(), kind="stable")
        for train, test in TimeSeriesSplit(n_splits=cfg.temporal_splits).split(order):
            yield order[train], order[test]


def fold_metrics(
    scheme: str, df: pd.DataFrame, label: str, train_fn: TrainFn, cfg: StatisticalConfig
) -> list[dict[str, float]]:
    """The metrics of each fold of ``scheme``; raises ValueError with the reason when it cannot split or train."""
    results = []
    for i, (train, test) in enumerate(_splits(scheme, df, label, cfg)):
        train_df, test_df = df.iloc[train].reset_index(drop=True), df.iloc[test].reset_index(drop=True)
        if not test_df[label].astype(bool).any():
            raise ValueError(
                f"fold {i} has no positive label among its {len(test_df)} test rows, so precision, "
                "recall and F1 are undefined; use fewer folds/splits or more data"
            )
        try:
            model = as_validatable(train_fn(train_df))
        except Exception as exc:
            raise ValueError(
                f"train_fn failed on fold {i} ({len(train_df)} rows): {type(exc).__name__}: {exc}"
            ) from exc
        scored = score(model, test_df, label)
        results.append(classification_metrics(scored.y_true, scored.y_pred))
    return results


def summarise(folds: list[dict[str, float]], metric: str) -> dict[str, float]:
    values = np.array([f[metric] for f in folds])
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {
        "mean": float(values.mean()),
        "std": std,
        "min": float(values.min()),
        "max": float(values.max()),
        "folds": len(values),
    }


def _scheme_problem(scheme: str, df: pd.DataFrame, cfg: StatisticalConfig) -> str | None:
    if scheme != "temporal":
        return None
    column = str(cfg.time_column)
    if column not in df.columns:
        return f"time column {column!r} is not in the evaluation frame"
    if df[column].isna().any():
        return f"time column {column!r} has {int(df[column].isna().sum())} missing value(s); rows cannot be ordered"
    return None


def check_statistical(
    df: pd.DataFrame, label: str, train_fn: TrainFn | None, cfg: StatisticalConfig, thresholds: QualityConfig
) -> SectionResult:
    """Mean and spread of each metric per scheme, with threshold and stability checks."""
    section = SectionResult("statistical")
    if train_fn is None:
        section.error(
            "train_fn",
            "statistical validation re-trains the model but no train_fn is configured "
            "(job.train_fn = 'module:function')",
        )
        return section
    for scheme in cfg.schemes:
        problem = _scheme_problem(scheme, df, cfg)
        if problem is None:
            try:
                folds = fold_metrics(scheme, df, label, train_fn, cfg)
            except (ValueError, TargetError) as exc:
                problem = str(exc)
        if problem is not None:
            section.error(scheme, f"{scheme} validation could not run: {problem}")
            continue
        section.details[scheme] = {}
        for metric in cfg.metrics:
            stats = summarise(folds, metric)
            section.details[scheme][metric] = stats
            for stat in ("mean", "std", "min", "max"):
                section.metric(f"{metric}_{stat}", stats[stat], "ratio", scheme=scheme, folds=stats["folds"])
            spread = (
                f"std {stats['std']:.4f}, min {stats['min']:.4f}, max {stats['max']:.4f} over {stats['folds']} fold(s)"
            )
            limit = getattr(thresholds, f"{metric}_min")
            if limit is not None:
                section.threshold(
                    f"{scheme}:{metric}", stats["mean"], limit, ">=", f"{scheme} mean {metric} ({spread})"
                )
            if cfg.max_std is not None and stats["folds"] > 1:
                section.threshold(
                    f"{scheme}:{metric}:spread",
                    stats["std"],
                    cfg.max_std,
                    "<=",
                    f"{scheme} {metric} std across folds",
                    fired=Status.WARN,
                    severity="warning",
                )
    return section
