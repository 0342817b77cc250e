"""The drift statistics, each equal to its scipy reference implementation (tests compare to 1e-9).

Two kinds of input:

* **values** (``ks``, ``wasserstein``, ``anderson``): 1-D float64 arrays of finite values, *sorted*.
  KS and Wasserstein are computed here from the sorted arrays (no re-sort, integer arithmetic for the
  merge), which is what makes a column cheap once it is sorted; Anderson–Darling calls
  ``scipy.stats.anderson_ksamp`` (it sorts the pooled sample itself: ~0.7 s for 1M + 1M values).
* **counts** (``psi``, ``kl_div``, ``jensenshannon``, ``chisquare``): integer count vectors over the
  same bins or categories, reference first. These call scipy directly on a handful of numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

#: Evidently's empty-bin rule (``get_binned_data(feel_zeroes=True)``): a zero share becomes EMPTY_BIN_SHARE,
#: or the smallest non-zero share / EMPTY_BIN_DIVISOR when that share is itself <= EMPTY_BIN_SHARE.
EMPTY_BIN_SHARE = 1e-4
EMPTY_BIN_DIVISOR = 1e6
#: Evidently's floor for the reference standard deviation in the normalised Wasserstein distance.
WASSERSTEIN_STD_FLOOR = 1e-3
#: scipy's ks_2samp(method="auto") is exact up to this many values per sample, asymptotic above.
KS_EXACT_MAX_N = 10_000
#: anderson_ksamp's p-value range (interpolated from its table; outside it scipy returns these bounds).
AD_P_MAX, AD_P_MIN = 0.25, 0.001

# scipy warns each time it caps the Anderson-Darling p-value; the result's note says so instead. A filter
# scoped to this module (warnings.catch_warnings is not thread-safe, and columns run in threads).
warnings.filterwarnings(
    "ignore", message="p-value (capped|floored)", category=UserWarning, module=r"assay\.engines\.drift\.statistics"
)


@dataclass(frozen=True)
class TestValue:
    """What one statistic produced: its value, a p-value for hypothesis tests, and a note for the message."""

    __test__ = False

    statistic: float
    p_value: float | None = None
    note: str = ""


# ---------------------------------------------------------------- binning


def quantile_edges(reference_sorted: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges: the reference's ``bins``-quantiles (numpy's linear method), duplicates dropped.

    The outer bins are open (``(-inf, e1]`` and ``(e_last, inf)``), so current values beyond the reference
    range land in the extreme bins. Bins are right-closed: ``(e_i-1, e_i]``. Ties collapse edges, so a
    column with heavy ties gets fewer bins (a constant column gets two: ``(-inf, c]`` and ``(c, inf)``).
    """
    if reference_sorted.size == 0:
        raise ValueError("quantile edges need at least one reference value")
    qs = np.quantile(reference_sorted, np.linspace(0.0, 1.0, bins + 1))
    return np.unique(qs[1:-1]) if bins > 1 else qs[:0]


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of ``values`` per right-closed bin of ``edges`` (any order; chunks add up exactly)."""
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=edges.size + 1).astype(np.int64)


def bin_counts_sorted(values_sorted: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """:func:`bin_counts` for an already sorted array, in O(bins log n)."""
    upto = np.searchsorted(values_sorted, edges, side="right")
    return np.diff(np.concatenate(([0], upto, [values_sorted.size]))).astype(np.int64)


def fill_empty(shares: np.ndarray) -> np.ndarray:
    """Evidently's empty-bin rule on a share vector (a new array; non-empty shares are unchanged)."""
    out = np.asarray(shares, dtype=np.float64).copy()
    nonzero = out[out != 0]
    if nonzero.size == 0:
        raise ValueError("every bin is empty")
    smallest = nonzero.min()
    eps = smallest / EMPTY_BIN_DIVISOR if smallest <= EMPTY_BIN_SHARE else EMPTY_BIN_SHARE
    out[out == 0] = eps
    return out


def _shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    return counts / counts.sum()


# ---------------------------------------------------------------- count statistics


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> TestValue:
    """Population stability index ``sum((c - r) * ln(c / r))`` on shares with empty bins filled."""
    r = fill_empty(_shares(reference_counts))
    c = fill_empty(_shares(current_counts))
    return TestValue(float(np.sum((c - r) * np.log(c / r))))


def kl_div(reference_counts: np.ndarray, current_counts: np.ndarray) -> TestValue:
    """KL(reference ‖ current) in nats: ``scipy.stats.entropy`` on shares with empty bins filled."""
    r = fill_empty(_shares(reference_counts))
    c = fill_empty(_shares(current_counts))
    return TestValue(float(stats.entropy(r, c)))


def jensenshannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> TestValue:
    """Jensen–Shannon *distance* (natural log, in [0, sqrt(ln 2)]): ``scipy.spatial.distance.jensenshannon``."""
    return TestValue(float(distance.jensenshannon(_shares(reference_counts), _shares(current_counts))))


def chisquare(reference_counts: np.ndarray, current_counts: np.ndarray) -> TestValue:
    """Pearson chi-square test of homogeneity on the 2 x k table (``chi2_contingency``, no Yates correction).

    Bins or categories empty on both sides are left out (they carry no information and would make an
    expected frequency zero); a category seen on one side only stays in, which is how unseen categories
    enter the comparison honestly.
    """
    table = np.vstack([np.asarray(reference_counts), np.asarray(current_counts)]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 0 or (table.sum(axis=1) == 0).any():
        raise ValueError("chi-square needs at least one observation on each side")
    res = stats.chi2_contingency(table, correction=False)
    note = "" if table.shape[1] > 1 else "a single category on both sides: nothing to compare"
    return TestValue(float(res.statistic), float(res.pvalue), note)


# ---------------------------------------------------------------- value statistics (sorted inputs)


def ks_statistic_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided KS statistic ``max |F_a - F_b|`` of two sorted samples (exact integer arithmetic)."""
    n, m = a.size, b.size
    both = np.concatenate((a, b))
    fa = np.searchsorted(a, both, side="right").astype(np.int64)
    fb = np.searchsorted(b, both, side="right").astype(np.int64)
    # F_a - F_b = (fa * m - fb * n) / (n * m); the maximum is taken over integers, then divided once.
    return float(np.abs(fa * m - fb * n).max() / (n * m))


def ks(a_sorted: np.ndarray, b_sorted: np.ndarray) -> TestValue:
    """Two-sample KS test, as ``scipy.stats.ks_2samp(a, b)`` (two-sided, method "auto").

    Up to KS_EXACT_MAX_N values per sample scipy's own exact computation runs (it is cheap there); above,
    the statistic comes from the sorted arrays and the p-value from scipy's asymptotic formula
    (``kstwo.sf(d, round(n*m/(n+m)))``), exactly as ``ks_2samp`` does for that size.
    """
    n, m = a_sorted.size, b_sorted.size
    if max(n, m) <= KS_EXACT_MAX_N:
        res = stats.ks_2samp(a_sorted, b_sorted)
        return TestValue(float(res.statistic), float(res.pvalue))
    d = ks_statistic_sorted(a_sorted, b_sorted)
    big, small = sorted((float(n), float(m)), reverse=True)
    en = big * small / (big + small)
    p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0.0, 1.0))
    return TestValue(d, p, "asymptotic p-value")


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """Wasserstein-1 distance of two sorted samples, ``scipy.stats.wasserstein_distance(u, v)``.

    Computed as the integral of ``|Q_u(t) - Q_v(t)|`` over t in (0, 1] (quantile functions), which equals
    scipy's integral of ``|U - V|`` over x. The step points of Q_u are i/n and of Q_v j/m; on the integer
    scale n*m they are i*m and j*n, whose merged order is known without sorting: u's i-th point has
    ``(i-1) + ceil(i*m/n) - 1`` points before it, v's j-th ``(j-1) + floor(j*n/m)``.
    """
    n, m = u.size, v.size
    if n == m:  # same step points: the mean absolute difference of the order statistics
        return float(np.mean(np.abs(u - v)))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    points = np.empty(n + m, dtype=np.int64)
    points[(i - 1) + (i * m - 1) // n] = i * m
    points[(j - 1) + (j * n) // m] = j * n
    lengths = np.diff(points, prepend=0)
    qu = u[(points + (m - 1)) // m - 1]
    qv = v[(points + (n - 1)) // n - 1]
    return float(np.dot(lengths.astype(np.float64), np.abs(qu - qv)) / (float(n) * float(m)))


def wasserstein(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> TestValue:
    """Evidently's normalised Wasserstein: W1(reference, current) / max(std(reference), 0.001) (std: ddof=0)."""
    std = float(np.std(reference_sorted))
    norm = max(std, WASSERSTEIN_STD_FLOOR)
    note = "" if std >= WASSERSTEIN_STD_FLOOR else f"reference std {std:.3g} floored at {WASSERSTEIN_STD_FLOOR}"
    return TestValue(wasserstein_sorted(reference_sorted, current_sorted) / norm, None, note)


def anderson(reference: np.ndarray, current: np.ndarray) -> TestValue:
    """k-sample Anderson–Darling (midrank variant): ``scipy.stats.anderson_ksamp([ref, cur], variant="midrank")``.

    scipy interpolates the p-value from tabulated critical values, so it is capped to [0.001, 0.25]; the
    note says when that happened.
    """
    res = stats.anderson_ksamp([reference, current], variant="midrank")
    statistic, p = float(res.statistic), float(res.pvalue)
    if not (math.isfinite(statistic) and math.isfinite(p)):
        raise ValueError(f"Anderson-Darling gave no finite result for samples of {reference.size} and {current.size}")
    note = ""
    if p in (AD_P_MAX, AD_P_MIN):
        note = f"p-value {'capped' if p == AD_P_MAX else 'floored'} at {p} by scipy's table interpolation"
    return TestValue(statistic, p, note)
