"""Regression of a candidate against its baseline version.

A metric regresses when it is worse by more than ``max_relative_drop`` (relative to the baseline)
AND the difference is significant at ``alpha``, so that noise is never called a regression.

* Baseline model available: both models score the SAME evaluation frame. Accuracy is decided by an
  exact McNemar test on the paired correct/incorrect table; every metric also gets a seeded paired
  bootstrap CI of (candidate - baseline), which decides precision, recall and F1. The metrics depend on
  the rows only through the counts of the 8 kinds of row (label x candidate x baseline prediction), so a
  resample is drawn as those counts, ``Multinomial(n, observed shares)``: the same distribution as
  resampling n rows, without touching the rows (2,000 resamples of 1M rows in milliseconds).
* Only the baseline's recorded metrics: accuracy by an exact binomial test of the candidate's correct
  count against the recorded accuracy; the other metrics by the candidate's bootstrap CI lying wholly
  below the recorded value.

Latency: with both models, they are timed interleaved on the same rows; p99 up by more than
``latency_max_relative_increase`` AND a one-sided Mann-Whitney test (candidate slower) significant is
``latency_status`` (WARN by default: worker timings are noisy; set FAIL to gate on it). Against a
recorded p99 only, no test is possible, so an increase is at most WARN.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import binomtest, mannwhitneyu
from statsmodels.stats.contingency_tables import mcnemar

from assay.engines.model_validation.config import RegressionConfig
from assay.engines.model_validation.loading import ValidatableModel
from assay.engines.model_validation.results import SectionResult
from assay.engines.model_validation.scoring import Scored, classification_metrics, score
from assay.status import Status

LATENCY_KEY = "latency_p99_ms"
_ALIASES = {"latency_p99": LATENCY_KEY, "p99_latency_ms": LATENCY_KEY}


@dataclass
class Baseline:
    """The accepted model version: its recorded metrics and, when its file loads, the model itself."""

    version: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    model: ValidatableModel | None = None
    load_error: str | None = None  # the baseline file was configured but would not load

    def recorded(self, name: str) -> float | None:
        """A recorded metric by name; accepts the store's ``quality.<name>`` spelling too."""
        found = {}
        for key, value in self.metrics.items():
            short = key.removeprefix("quality.")
            found[_ALIASES.get(short, short)] = value
        value = found.get(name)
        return None if value is None or not np.isfinite(value) else float(value)


def _metrics_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall, F1 from confusion counts (arrays); 0 where undefined, as sklearn's
    ``zero_division=0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        predicted, actual = tp + fp, tp + fn
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(actual > 0, tp / np.maximum(actual, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"accuracy": (tp + tn) / (tp + fp + fn + tn), "precision": precision, "recall": recall, "f1": f1}


def paired_bootstrap(
    y_true: np.ndarray, cand_pred: np.ndarray, base_pred: np.ndarray | None, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """Bootstrap draws of each metric's (candidate - baseline), or of the candidate alone without a baseline.

    Each row is one of 8 kinds (label, candidate prediction, baseline prediction; 4 without a baseline); a
    resample of the n rows is drawn as the counts of each kind, ``Multinomial(n, observed shares)``.
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y_true) == 1
    cand = np.asarray(cand_pred) == 1
    base = np.zeros_like(cand) if base_pred is None else np.asarray(base_pred) == 1
    kinds = y.astype(np.int64) * 4 + cand.astype(np.int64) * 2 + base.astype(np.int64)
    n = len(kinds)
    counts = rng.multinomial(n, np.bincount(kinds, minlength=8) / n, size=resamples)  # (resamples, 8)
    cells = counts.reshape(resamples, 2, 2, 2)  # [resample, label, candidate, baseline]

    def metrics(by_pred: np.ndarray) -> dict[str, np.ndarray]:  # by_pred: [resample, label, prediction]
        return _metrics_from_counts(by_pred[:, 1, 1], by_pred[:, 0, 1], by_pred[:, 1, 0], by_pred[:, 0, 0])

    drawn = metrics(cells.sum(axis=3))
    if base_pred is not None:
        baseline = metrics(cells.sum(axis=2))
        drawn = {k: drawn[k] - baseline[k] for k in drawn}
    return drawn


def mcnemar_test(cand_correct: np.ndarray, base_correct: np.ndarray) -> tuple[float, np.ndarray]:
    """Exact McNemar p-value and the 2x2 table [[both right, only baseline right], [only candidate right, both wrong]]."""
    table = np.array(
        [
            [np.sum(base_correct & cand_correct), np.sum(base_correct & ~cand_correct)],
            [np.sum(~base_correct & cand_correct), np.sum(~base_correct & ~cand_correct)],
        ]
    )
    return float(mcnemar(table, exact=True).pvalue), table


def _relative(cand: float, base: float) -> float:
    """(cand - base) / base; against a baseline of 0 the absolute difference (it has no relative scale)."""
    return (cand - base) / abs(base) if base else cand - base


def check_regression(
    candidate: ValidatableModel,
    df: pd.DataFrame,
    label: str,
    scored: Scored,
    baseline: Baseline | None,
    cfg: RegressionConfig,
    candidate_p99_ms: float | None = None,
    latency_calls: int = 200,
) -> SectionResult:
    """Compare the candidate with ``baseline`` on ``df``; SKIP when there is no baseline version."""
    section = SectionResult("regression")
    if baseline is None:
        section.check("baseline", Status.SKIP, "no baseline version is recorded yet, so there is nothing to compare")
        return section
    section.details["baseline_version"] = baseline.version
    if baseline.load_error:
        section.error(
            "baseline_model",
            f"baseline model would not load, compared with its recorded metrics only: {baseline.load_error}",
        )
    base_scored = score(baseline.model, df, label) if baseline.model is not None else None
    paired = base_scored is not None
    section.details["mode"] = "paired" if paired else "recorded"
    draws = paired_bootstrap(
        scored.y_true, scored.y_pred, base_scored.y_pred if paired else None, cfg.bootstrap_resamples, cfg.seed
    )
    cand_metrics = classification_metrics(scored.y_true, scored.y_pred)
    base_metrics = classification_metrics(base_scored.y_true, base_scored.y_pred) if paired else {}
    for name in cfg.metrics:
        base = base_metrics[name] if paired else baseline.recorded(name)
        if base is None:
            section.error(
                name,
                f"baseline {baseline.version or ''} has no recorded {name!r} and no model file "
                f"to compute it on this evaluation frame",
            )
            continue
        _metric_regression(section, name, cand_metrics[name], base, scored, base_scored, draws[name], cfg)
    _latency_regression(section, candidate, baseline, df, cfg, candidate_p99_ms, latency_calls)
    return section


def _metric_regression(
    section: SectionResult,
    name: str,
    cand: float,
    base: float,
    scored: Scored,
    base_scored: Scored | None,
    draws: np.ndarray,
    cfg: RegressionConfig,
) -> None:
    lo_q, hi_q = cfg.alpha / 2, 1 - cfg.alpha / 2
    rel = _relative(cand, base)
    info: dict[str, float | list[float] | str] = {"candidate": cand, "baseline": base, "relative_change": rel}
    if base_scored is not None:
        lo, hi = np.quantile(draws, [lo_q, hi_q])
        info |= {
            "bootstrap_diff_ci": [float(lo), float(hi)],
            "bootstrap_p": float(min(1.0, 2 * min((draws <= 0).mean(), (draws >= 0).mean()))),
        }
        significant_worse = hi < 0
        test = f"paired bootstrap {1 - cfg.alpha:.0%} CI of the difference [{lo:+.4f}, {hi:+.4f}]"
        if name == "accuracy":
            p, table = mcnemar_test(scored.correct, base_scored.correct)
            info |= {"mcnemar_p": p, "mcnemar_table": table.tolist()}
            significant_worse = p < cfg.alpha and cand < base
            test = (
                f"McNemar exact p={p:.4g} (only baseline right {table[0, 1]}, only candidate right "
                f"{table[1, 0]}); {test}"
            )
    else:
        lo, hi = np.quantile(draws, [lo_q, hi_q])
        info |= {"bootstrap_ci": [float(lo), float(hi)]}
        significant_worse = hi < base
        test = f"candidate bootstrap {1 - cfg.alpha:.0%} CI [{lo:.4f}, {hi:.4f}] vs recorded {base:.4f}"
        if name == "accuracy":
            n, k = len(scored.y_true), int(scored.correct.sum())
            p = float(binomtest(k, n, min(max(base, 0.0), 1.0), alternative="less").pvalue)
            info |= {"binomial_p": p}
            significant_worse = p < cfg.alpha
            test = f"exact binomial p={p:.4g} that accuracy is below the recorded {base:.4f}; {test}"
    section.details[name] = info
    section.metric(f"{name}_relative_change", rel, "ratio", baseline=section.details["baseline_version"])
    dropped = -rel > cfg.max_relative_drop
    if dropped and significant_worse:
        status, verdict = Status.FAIL, "regression"
    else:
        status = Status.PASS
        verdict = "worse beyond the allowance but not significant (noise)" if dropped else "within the allowance"
    section.check(
        name,
        status,
        f"{name} {cand:.4f} vs baseline {base:.4f} ({rel:+.2%}; allowed -{cfg.max_relative_drop:.0%}): "
        f"{verdict}; {test}",
        observed=float(rel),
        threshold=-cfg.max_relative_drop,
        comparator=">=",
    )


def _interleaved_latency(
    a: ValidatableModel, b: ValidatableModel, df: pd.DataFrame, calls: int
) -> tuple[np.ndarray, np.ndarray]:
    """Single-row latencies (ms) of two models timed alternately on the same rows."""
    rows = [df.iloc[[i % len(df)]] for i in range(min(len(df), calls))]
    for row in rows[:5]:
        a.predict_proba(row)
        b.predict_proba(row)
    ta, tb = np.empty(calls), np.empty(calls)
    for i in range(calls):
        row = rows[i % len(rows)]
        order = ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))
        for model, out in order:
            start = time.perf_counter()
            model.predict_proba(row)
            out[i] = (time.perf_counter() - start) * 1000.0
    return ta, tb


def _latency_regression(
    section: SectionResult,
    candidate: ValidatableModel,
    baseline: Baseline,
    df: pd.DataFrame,
    cfg: RegressionConfig,
    candidate_p99_ms: float | None,
    calls: int,
) -> None:
    limit = cfg.latency_max_relative_increase
    if baseline.model is not None:
        cand_ms, base_ms = _interleaved_latency(candidate, baseline.model, df, calls)
        cand_p99, base_p99 = float(np.percentile(cand_ms, 99)), float(np.percentile(base_ms, 99))
        p = float(mannwhitneyu(cand_ms, base_ms, alternative="greater").pvalue)
        rel = _relative(cand_p99, base_p99)
        regressed = rel > limit and p < cfg.alpha
        status = Status(cfg.latency_status) if regressed else Status.PASS
        note = f"Mann-Whitney p={p:.3g} that the candidate is slower ({calls} interleaved calls each)"
        section.details["latency"] = {"candidate_p99_ms": cand_p99, "baseline_p99_ms": base_p99, "mannwhitney_p": p}
    else:
        base_p99 = baseline.recorded(LATENCY_KEY)
        if base_p99 is None or candidate_p99_ms is None:
            section.check(
                "latency_p99",
                Status.SKIP,
                "no baseline model and no recorded baseline p99 latency (or no candidate latency measured) to compare",
            )
            return
        cand_p99 = candidate_p99_ms
        rel = _relative(cand_p99, base_p99)
        status = Status.WARN if rel > limit else Status.PASS
        note = "recorded baseline p99 only: no significance test possible, so at most WARN"
    section.metric("latency_p99_relative_change", rel, "ratio")
    section.check(
        "latency_p99",
        status,
        f"p99 {cand_p99:.3f} ms vs baseline {base_p99:.3f} ms ({rel:+.2%}; allowed +{limit:.0%}); {note}",
        observed=float(rel),
        threshold=limit,
        comparator="<=",
        severity="error" if status is Status.FAIL else "warning",
    )
