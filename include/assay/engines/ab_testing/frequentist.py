"""Frequentist tests of challenger vs champion: the two-proportion z-test, Fisher's exact test for small
samples, the confidence interval of the difference, and the correction across several primary metrics.

* The z-test is the pooled one (the standard error under H0, p1 = p2), as statsmodels ``proportions_ztest``.
  It keeps its own closed form, on purpose: ``proportions_ztest`` tests one comparison per call and divides
  by zero (nan and a RuntimeWarning) when neither variant varies, while this form broadcasts over arrays
  (the sequential tests simulate 2,000 A/A experiments x 5 looks in one call) and gives z = 0, p = 1 when there is no
  variance (no evidence of a difference). The tests hold it to ``proportions_ztest`` within 1e-9.
* The z-test is only used when every expected count of the 2x2 table (variant x converted) under H0 is at
  least ``MIN_EXPECTED_COUNT`` (5, Cochran's rule); below it the p-value is Fisher's exact test
  (``scipy.stats.fisher_exact``), e.g. 0/3 vs 3/3 gives p = 0.1, not the z-test's 0.014.
* The confidence interval of the difference is statsmodels ``confint_proportions_2indep`` (Newcomb's hybrid
  score interval by default, or Wald); p-values across metrics are adjusted by statsmodels ``multipletests``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

Alternative = Literal["two-sided", "larger", "smaller"]


def two_proportion_ztest(x1, n1, x2, n2, alternative: Alternative = "two-sided"):  # noqa: ANN001, ANN201
    """Pooled z statistic and p-value of p1 - p2 (arrays broadcast); as ``proportions_ztest([x1, x2], [n1, n2])``.

    With no variance (both rates 0 or both 1) z is 0 and p is 1: there is no evidence of a difference.
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2))
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x1 / n1 - x2 / n2) / np.where(se > 0, se, 1.0), 0.0)
    if alternative == "two-sided":
        p = 2 * stats.norm.sf(np.abs(z))
    elif alternative == "larger":
        p = stats.norm.sf(z)
    else:
        p = stats.norm.cdf(z)
    return (float(z), float(p)) if z.ndim == 0 else (z, p)


MIN_EXPECTED_COUNT = 5.0  # Cochran's rule: the z-test needs every expected 2x2 count >= 5 under H0


def min_expected_count(x1: int, n1: int, x2: int, n2: int) -> float:
    """Smallest expected cell of the 2x2 table (variant x converted or not) under H0 (the pooled rate)."""
    total, converted = n1 + n2, x1 + x2
    return min(n1, n2) * min(converted, total - converted) / total


def fisher_exact_test(x1: int, n1: int, x2: int, n2: int, alternative: Alternative = "two-sided") -> float:
    """Fisher's exact p-value of p1 vs p2 (``alternative`` as in :func:`two_proportion_ztest`)."""
    side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    return float(stats.fisher_exact(table, alternative=side).pvalue)


def diff_confint(x1: int, n1: int, x2: int, n2: int, alpha: float, method: str = "newcomb") -> tuple[float, float]:
    """Confidence interval of p1 - p2: statsmodels ``confint_proportions_2indep(..., compare='diff')``
    (``method`` "newcomb", the hybrid Wilson score interval, or "wald")."""
    low, upp = confint_proportions_2indep(x1, n1, x2, n2, method=method, compare="diff", alpha=alpha)
    return float(low), float(upp)


def adjust_pvalues(pvalues: Sequence[float], alpha: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Reject flags and adjusted p-values across metrics (statsmodels ``multipletests``).

    With one p-value every correction is the identity, so statsmodels is not called (its Holm branch runs
    a full ``gc.collect()``, 0.1-0.3 s in a process that holds a million-row frame).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if method == "none" or len(p) <= 1:
        return p < alpha, p
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=method)
    return reject, adjusted
