"""Group fairness per protected attribute, computed with fairlearn.

For each attribute (a column of the evaluation frame, numeric ones optionally banded with ``bins``):

* disparate impact = ``demographic_parity_ratio`` (lowest / highest selection rate) >= 0.8;
* equal opportunity = lowest / highest true positive rate across groups >= 0.9;
* demographic parity difference and equalized odds difference (worst TPR or FPR gap) <= limits;
* calibration by group: |mean predicted probability - observed positive rate| <= tolerance per group
  (per-group Brier scores are recorded as metrics).

An attribute that is missing or has one group only, and a rate that is undefined for some group (no
positives for a TPR, no negatives for an FPR, nobody selected anywhere), are ERROR checks that say so:
fairness that could not be measured never passes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import brier_score_loss

from assay.engines.model_validation.config import FairnessConfig, ProtectedAttribute
from assay.engines.model_validation.results import SectionResult
from assay.engines.model_validation.scoring import Scored
from assay.status import Status

MISSING_GROUP = "<missing>"


def group_labels(df: pd.DataFrame, attr: ProtectedAttribute) -> pd.Series:
    """The group of every row as strings; NaN becomes its own group ``<missing>``."""
    values = df[attr.column]
    if attr.bins is not None:
        values = pd.cut(pd.to_numeric(values, errors="coerce"), bins=attr.bins, labels=attr.labels, include_lowest=True)
    groups = values.astype(object).where(values.notna(), MISSING_GROUP).astype(str)
    return groups.reset_index(drop=True)


def check_fairness(df: pd.DataFrame, scored: Scored, cfg: FairnessConfig) -> SectionResult:
    """Every configured attribute's checks; SKIP when no attribute is configured."""
    section = SectionResult("fairness")
    if not cfg.attributes:
        section.check("attributes", Status.SKIP, "no protected attribute configured (fairness.attributes)")
    for attr in cfg.attributes:
        if attr.column not in df.columns:
            section.error(
                f"{attr.column}:groups", f"protected attribute column {attr.column!r} is not in the evaluation frame"
            )
            continue
        _check_attribute(section, attr, group_labels(df, attr), scored, cfg)
    return section


def _check_attribute(
    section: SectionResult, attr: ProtectedAttribute, groups: pd.Series, scored: Scored, cfg: FairnessConfig
) -> None:
    name = attr.column
    sizes = groups.value_counts().sort_index()
    section.details[name] = {"group_sizes": {str(k): int(v) for k, v in sizes.items()}}
    if len(sizes) < 2:
        only = sizes.index[0] if len(sizes) else "none"
        section.error(
            f"{name}:groups",
            f"protected attribute {name!r} has one group only ({only!r}): fairness "
            "between groups cannot be measured; evaluate on a frame with every group",
        )
        return
    small = {str(k): int(v) for k, v in sizes.items() if v < cfg.min_group_size}
    section.check(
        f"{name}:group_size",
        Status.WARN if small else Status.PASS,
        f"groups smaller than {cfg.min_group_size} rows give unreliable rates: {small}"
        if small
        else f"{len(sizes)} groups, each with at least {cfg.min_group_size} rows",
        observed=float(sizes.min()),
        threshold=float(cfg.min_group_size),
        comparator=">=",
        severity="warning",
    )
    y, pred, sf = scored.y_true, scored.y_pred, groups.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = MetricFrame(
            metrics={
                "count": count,
                "selection_rate": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
            },
            y_true=y,
            y_pred=pred,
            sensitive_features=sf,
        )
    by_group = frame.by_group
    positives = pd.Series(y, index=sf).groupby(level=0).sum()
    negatives = sizes - positives.reindex(sizes.index)
    no_pos = sorted(str(g) for g, v in positives.items() if v == 0)
    no_neg = sorted(str(g) for g, v in negatives.items() if v == 0)
    section.details[name]["by_group"] = {
        str(g): {k: float(v) for k, v in row.items()} for g, row in by_group.iterrows()
    }
    for g, row in by_group.iterrows():
        section.metric("selection_rate", row["selection_rate"], "ratio", attribute=name, group=str(g))
        section.metric("true_positive_rate", row["tpr"], "ratio", attribute=name, group=str(g))

    _disparate_impact(section, name, y, pred, sf, by_group, cfg)
    _equal_opportunity(section, name, by_group, no_pos, cfg)
    if cfg.equalized_odds_difference_max is not None:
        if no_pos or no_neg:
            section.error(
                f"{name}:equalized_odds",
                f"equalized odds is undefined: group(s) without positives {no_pos}, without negatives {no_neg}",
            )
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                diff = equalized_odds_difference(y, pred, sensitive_features=sf)
                ratio = equalized_odds_ratio(y, pred, sensitive_features=sf)
            section.metric("equalized_odds_ratio", ratio, "ratio", attribute=name)
            section.metric("equalized_odds_difference", diff, "ratio", attribute=name)
            section.threshold(
                f"{name}:equalized_odds",
                diff,
                cfg.equalized_odds_difference_max,
                "<=",
                "equalized odds difference (largest TPR or FPR gap between groups)",
            )
    _calibration(section, name, scored, sf, cfg)


def _disparate_impact(
    section: SectionResult,
    name: str,
    y: np.ndarray,
    pred: np.ndarray,
    sf: np.ndarray,
    by_group: pd.DataFrame,
    cfg: FairnessConfig,
) -> None:
    rates = by_group["selection_rate"]
    if rates.max() == 0:
        section.error(
            f"{name}:disparate_impact",
            "the model selects no one in any group, so selection-rate "
            "ratios are undefined (every prediction is negative)",
        )
        return
    ratio = demographic_parity_ratio(y, pred, sensitive_features=sf)
    diff = demographic_parity_difference(y, pred, sensitive_features=sf)
    section.metric("disparate_impact", ratio, "ratio", attribute=name)
    section.metric("demographic_parity_difference", diff, "ratio", attribute=name)
    low, high = rates.idxmin(), rates.idxmax()
    what = f"disparate impact (selection rate {low!r} {rates[low]:.4f} / {high!r} {rates[high]:.4f})"
    if cfg.disparate_impact_min is not None:
        section.threshold(f"{name}:disparate_impact", ratio, cfg.disparate_impact_min, ">=", what)
    if cfg.demographic_parity_difference_max is not None:
        section.threshold(
            f"{name}:demographic_parity",
            diff,
            cfg.demographic_parity_difference_max,
            "<=",
            "demographic parity difference (largest selection-rate gap)",
        )


def _equal_opportunity(
    section: SectionResult, name: str, by_group: pd.DataFrame, no_pos: list[str], cfg: FairnessConfig
) -> None:
    if cfg.equal_opportunity_min is None:
        return
    check = f"{name}:equal_opportunity"
    if no_pos:
        section.error(check, f"true positive rate is undefined for group(s) {no_pos}: they have no positive labels")
        return
    tpr = by_group["tpr"]
    if tpr.max() == 0:
        section.error(check, "the model finds no positive in any group (every TPR is 0), so the TPR ratio is undefined")
        return
    ratio = float(tpr.min() / tpr.max())
    section.metric("equal_opportunity_ratio", ratio, "ratio", attribute=name)
    low, high = tpr.idxmin(), tpr.idxmax()
    section.threshold(
        check,
        ratio,
        cfg.equal_opportunity_min,
        ">=",
        f"equal opportunity (TPR {low!r} {tpr[low]:.4f} / {high!r} {tpr[high]:.4f})",
    )


def _calibration(section: SectionResult, name: str, scored: Scored, sf: np.ndarray, cfg: FairnessConfig) -> None:
    gaps = {}
    for g in np.unique(sf):
        mask = sf == g
        y, p = scored.y_true[mask], scored.y_prob[mask]
        gaps[str(g)] = float(abs(p.mean() - y.mean()))
        section.metric(
            "brier_score", float(brier_score_loss(y, p, labels=[0, 1])), "score", attribute=name, group=str(g)
        )
        section.metric("calibration_gap", gaps[str(g)], "ratio", attribute=name, group=str(g))
    section.details[name]["calibration_gap"] = gaps
    if cfg.calibration_tolerance is not None:
        worst_group = max(gaps, key=gaps.__getitem__)
        section.threshold(
            f"{name}:calibration",
            gaps[worst_group],
            cfg.calibration_tolerance,
            "<=",
            f"largest |mean predicted - observed rate| (group {worst_group!r})",
        )
