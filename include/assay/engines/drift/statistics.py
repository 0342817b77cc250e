"""The drift statistics, each equal to its scipy reference implementation (tests compare to 1e-9).

Two kinds of input:

* **values** (``ks``, ``wasserstein``, ``anderson``): 1-D float64 arrays of finite values, *sorted*.
  KS and Wasserstein are computed here from the sorted arrays (no re-sort, integer arithmetic for the
  merge), which is what makes a column cheap once it is sorted; Anderson–Darling calls
  ``scipy.stats.anderson_ksamp`` (it sorts the pooled sample itself: ~0.7 s for 1M + 1M values).
* **counts** (``psi``, ``kl_div``, ``jensenshannon``, ``chisquare``): integer count vectors over the
  same bins or categories, reference first. These call scipy directly on a handful of numbers.

Memory: the merges of KS and Wasserstein run in blocks of at most BLOCK points, so their temporaries stay
a few tens of MB whatever the column's length. Scale: values beyond ±1e100 are divided by a power of two
before anything squares them (exact in binary floating point, so results are unchanged wherever they
did not overflow before), which keeps the normalised Wasserstein finite up to the largest doubles.
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
#: Points per block in the KS and Wasserstein merges (bounds their temporary memory).
BLOCK = 1 << 18
#: Above this magnitude values are rescaled by a power of two before a standard deviation is taken.
LARGE_MAGNITUDE = 1e100
#: Up to this many values in both samples together, math.comb gives the exact permutation bound.
EXACT_COMB_MAX = 1000

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


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges: the reference's ``bins``-quantiles (numpy's linear method), duplicates dropped.

    ``reference`` may be in any order: ``np.quantile`` selects the same order statistics a sort would.

    The outer bins are open (``(-inf, e1]`` and ``(e_last, inf)``), so current values beyond the reference
    range land in the extreme bins. Bins are right-closed: ``(e_i-1, e_i]``. Ties collapse edges, so a
    column with heavy ties gets fewer bins (a constant column gets two: ``(-inf, c]`` and ``(c, inf)``).
    """
    if reference.size == 0:
        raise ValueError("quantile edges need at least one reference value")
    qs = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1))
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
    """Two-sided KS statistic ``max |F_a - F_b|`` of two sorted samples (exact integer arithmetic).

    The maximum is taken at the sample points of ``a`` and of ``b``, block by block (bounded memory).
    """
    n, m = a.size, b.size
    best = 0
    for points in (a, b):
        for start in range(0, points.size, BLOCK):
            block = points[start : start + BLOCK]
            fa = np.searchsorted(a, block, side="right").astype(np.int64)
            fb = np.searchsorted(b, block, side="right").astype(np.int64)
            # F_a - F_b = (fa * m - fb * n) / (n * m); the maximum is taken over integers, then divided once.
            best = max(best, int(np.abs(fa * m - fb * n).max()))
    return float(np.float64(best) / (n * m))


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
    scale n*m they are i*m and j*n, whose merged order is known without sorting. The integral is summed
    over blocks of BLOCK of u's points (with the v points between them), so memory stays bounded.
    """
    n, m = u.size, v.size
    if n == 0 or m == 0:
        raise ValueError("the Wasserstein distance needs at least one value on each side")
    if n == m:  # same step points: the mean absolute difference of the order statistics
        d = u - v
        np.abs(d, out=d)
        return float(np.mean(d))
    total = 0.0
    for i_lo in range(0, n, BLOCK):
        total += _wasserstein_block(u, v, i_lo, min(n, i_lo + BLOCK))
    return float(total / (float(n) * float(m)))


def _wasserstein_block(u: np.ndarray, v: np.ndarray, i_lo: int, i_hi: int) -> float:
    """The part of ``n * m * W1`` on the integer-scale interval ``(i_lo * m, i_hi * m]`` (u's points
    i_lo+1..i_hi; v's points j*n in that interval; at a tie u's point comes first, its length then 0)."""
    n, m = u.size, v.size
    j_lo, j_hi = (i_lo * m) // n, (i_hi * m) // n
    i = np.arange(i_lo + 1, i_hi + 1, dtype=np.int64)
    j = np.arange(j_lo + 1, j_hi + 1, dtype=np.int64)
    points = np.empty(i.size + j.size, dtype=np.int64)
    points[(i - i_lo - 1) + ((i * m - 1) // n - j_lo)] = i * m
    points[(j - j_lo - 1) + ((j * n) // m - i_lo)] = j * n
    lengths = np.diff(points, prepend=i_lo * m)
    qu = u[(points + (m - 1)) // m - 1]
    qv = v[(points + (n - 1)) // n - 1]
    return float(np.dot(lengths.astype(np.float64), np.abs(qu - qv)))


def _power_of_two_scale(*arrays: np.ndarray) -> float:
    """1.0, or a power of two that brings the largest magnitude of sorted ``arrays`` near 1 when it is huge."""
    biggest = max((max(abs(float(a[0])), abs(float(a[-1]))) for a in arrays if a.size), default=0.0)
    if biggest <= LARGE_MAGNITUDE:
        return 1.0
    return math.ldexp(1.0, math.frexp(biggest)[1])


def wasserstein(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> TestValue:
    """Evidently's normalised Wasserstein: W1(reference, current) / max(std(reference), 0.001) (std: ddof=0).

    The ratio is scale-free, so for values beyond ±1e100 both samples are first divided by a power of two
    (exact), which keeps ``np.std`` from overflowing to inf (that made the distance 0 before).
    """
    scale = _power_of_two_scale(reference_sorted, current_sorted)
    ref, cur = reference_sorted, current_sorted
    if scale != 1.0:
        ref, cur = reference_sorted / scale, current_sorted / scale
    std = float(np.std(ref))
    floor = WASSERSTEIN_STD_FLOOR / scale
    norm = max(std, floor)
    note = "" if std >= floor else f"reference std {std * scale:.3g} floored at {WASSERSTEIN_STD_FLOOR}"
    if scale != 1.0:
        note = f"values of magnitude up to ~{scale:.3g} divided by that power of two before taking the std"
    return TestValue(wasserstein_sorted(ref, cur) / norm, None, note)


# ---------------------------------------------------------------- how small is too small


def min_p_value(n: int, m: int) -> float:
    """The smallest two-sided p-value an exact two-sample test can give on ``n`` vs ``m`` values.

    Under the null every one of the C(n+m, n) arrangements of the pooled values is equally likely; the
    two most extreme (all of one sample below all of the other) have probability 2 / C(n+m, n) together,
    which is exactly KS's exact p-value for completely separated samples. A test that cannot go below its
    threshold here cannot detect drift whatever the data (1 vs 1, KS on 3 vs 3 at 0.05), and chi-square's
    or Anderson-Darling's approximate p-values below it on such samples are artefacts of the approximation.
    """
    if n < 1 or m < 1:
        return 1.0
    if n + m <= EXACT_COMB_MAX:
        return min(1.0, 2 / math.comb(n + m, n))
    log_comb = math.lgamma(n + m + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    return min(1.0, 2.0 * math.exp(-log_comb))


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
