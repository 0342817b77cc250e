"""Every drift statistic equals its scipy reference implementation to 1e-9 on the same inputs.

The fast paths (KS and Wasserstein from presorted arrays) are compared on hundreds of seeded random
inputs across sizes, with ties, constants and tiny samples; the count statistics are compared with scipy
called on counts computed independently (pandas) from the raw values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from assay.engines.drift import statistics as st

TOL = 1e-9


def close(a: float, b: float) -> bool:
    return abs(float(a) - float(b)) <= TOL


def random_pair(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples of several shapes: continuous, heavy ties, constants, shifted."""
    shape = rng.integers(0, 5)
    if shape == 0:
        return rng.normal(size=n), rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), size=m)
    if shape == 1:  # heavy ties on a small integer grid
        return rng.integers(0, 4, n).astype(float), rng.integers(0, 6, m).astype(float) * 0.5
    if shape == 2:  # one side constant
        return np.full(n, 2.0), rng.integers(0, 3, m).astype(float)
    if shape == 3:  # both constant, maybe equal
        c = float(rng.integers(0, 2))
        return np.full(n, 1.0), np.full(m, c)
    return rng.exponential(size=n).round(1), rng.exponential(1.3, size=m).round(1)


SIZES = [(1, 1), (1, 5), (3, 3), (3, 7), (2, 50), (17, 13), (100, 100), (250, 180), (1000, 999), (64, 4096)]


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_and_wasserstein_from_sorted_arrays_equal_scipy_on_random_inputs(n, m):
    rng = np.random.default_rng(1000 * n + m)
    for _ in range(30):  # 10 size pairs x 30 = 300 cases
        a, b = random_pair(rng, n, m)
        a_s, b_s = np.sort(a), np.sort(b)
        ks = stats.ks_2samp(a, b)
        assert close(st.ks_statistic_sorted(a_s, b_s), ks.statistic)
        got = st.ks(a_s, b_s)
        assert close(got.statistic, ks.statistic) and close(got.p_value, ks.pvalue)
        assert close(st.wasserstein_sorted(a_s, b_s), stats.wasserstein_distance(a, b))
        assert close(st.wasserstein_sorted(b_s, a_s), stats.wasserstein_distance(b, a))


def test_ks_above_the_exact_limit_uses_scipys_asymptotic_p_value():
    rng = np.random.default_rng(5)
    for n, m in [(10_001, 10_001), (12_000, 10_500), (10_200, 20_000), (30_000, 11_000)]:
        for shift in (0.0, 0.02, 0.1):
            a = np.round(rng.normal(size=n), 2)  # ties
            b = np.round(rng.normal(shift, 1.0, size=m), 2)
            got, ref = st.ks(np.sort(a), np.sort(b)), stats.ks_2samp(a, b)
            assert got.note == "asymptotic p-value"
            assert close(got.statistic, ref.statistic)
            assert math.isclose(got.p_value, ref.pvalue, rel_tol=1e-9, abs_tol=TOL)


def test_wasserstein_large_unequal_sizes_equals_scipy():
    rng = np.random.default_rng(11)
    for n, m in [(200_000, 150_001), (99_999, 100_000)]:
        a, b = rng.lognormal(size=n), rng.lognormal(0.1, size=m)
        assert math.isclose(
            st.wasserstein_sorted(np.sort(a), np.sort(b)), stats.wasserstein_distance(a, b), rel_tol=1e-9, abs_tol=TOL
        )


def test_normalised_wasserstein_is_evidently_formula_with_std_floor():
    rng = np.random.default_rng(3)
    a, b = rng.normal(5, 2, 500), rng.normal(5.5, 2, 400)
    got = st.wasserstein(np.sort(a), np.sort(b))
    assert close(got.statistic, stats.wasserstein_distance(a, b) / np.std(a))
    assert got.p_value is None and got.note == ""
    const = np.full(3, 7.0)  # constant reference: std 0 is floored at 0.001
    got = st.wasserstein(const, np.array([7.0, 7.0, 7.5]))
    assert close(got.statistic, stats.wasserstein_distance(const, [7.0, 7.0, 7.5]) / 0.001)
    assert "floored at 0.001" in got.note


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_anderson_equals_scipy_anderson_ksamp_and_notes_capping():
    rng = np.random.default_rng(8)
    seen_capped = set()
    for n, m, shift in [(3, 3, 0.0), (50, 40, 0.0), (200, 300, 1.0), (1000, 800, 0.1)]:
        a, b = np.round(rng.normal(size=n), 1), np.round(rng.normal(shift, size=m), 1)
        ref = stats.anderson_ksamp([a, b], variant="midrank")
        got = st.anderson(np.sort(a), np.sort(b))
        assert close(got.statistic, ref.statistic) and close(got.p_value, ref.pvalue)
        capped = ref.pvalue in (0.25, 0.001)
        assert bool(got.note) == capped
        seen_capped.add(capped)
    assert seen_capped == {True, False}  # both the interpolated and the capped branch ran
    with pytest.raises(ValueError, match="more than one distinct"):
        st.anderson(np.full(4, 1.0), np.full(3, 1.0))


def pandas_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Independent right-closed binning with open outer bins."""
    cut = pd.cut(values, np.concatenate(([-np.inf], edges, [np.inf])), right=True)
    return pd.Series(cut).value_counts(sort=False).to_numpy()


def test_quantile_edges_and_bin_counts_agree_with_numpy_and_pandas():
    rng = np.random.default_rng(21)
    for n in (1, 3, 10, 97, 5000):
        ref = np.round(rng.normal(size=n), rng.integers(0, 3))
        cur = np.round(rng.normal(0.3, 1.5, size=2 * n + 1), 1)
        edges = st.quantile_edges(np.sort(ref), 10)
        assert np.array_equal(edges, np.unique(np.quantile(ref, np.linspace(0, 1, 11))[1:-1]))
        assert np.array_equal(st.bin_counts(cur, edges), pandas_bins(cur, edges))
        assert np.array_equal(st.bin_counts_sorted(np.sort(cur), edges), st.bin_counts(cur, edges))
        chunks = sum(st.bin_counts(part, edges) for part in np.array_split(cur, 7))
        assert np.array_equal(chunks, st.bin_counts(cur, edges))
    edges = st.quantile_edges(np.full(5, 3.0), 10)  # constant reference: (-inf, 3] and (3, inf)
    assert edges.tolist() == [3.0]
    assert st.bin_counts(np.array([2.0, 3.0, 3.5]), edges).tolist() == [2, 1]


def test_empty_bin_rule_is_evidentlys():
    assert st.fill_empty(np.array([0.5, 0.5, 0.0])).tolist() == [0.5, 0.5, 1e-4]
    tiny = np.array([0.99995, 0.00005, 0.0])  # smallest non-zero share <= 1e-4: it / 1e6
    assert st.fill_empty(tiny)[2] == pytest.approx(0.00005 / 1e6, rel=1e-12)
    with pytest.raises(ValueError, match="every bin is empty"):
        st.fill_empty(np.zeros(3))


def evidently_shares(counts: np.ndarray) -> np.ndarray:
    shares = counts / counts.sum()
    nz = shares[shares != 0].min()
    return np.where(shares == 0, nz / 1e6 if nz <= 1e-4 else 1e-4, shares)


def test_count_statistics_equal_scipy_on_random_counts():
    rng = np.random.default_rng(4)
    for case in range(300):
        k = int(rng.integers(1, 12))
        ref = rng.integers(0, 50, k) * (rng.random(k) > 0.2)
        cur = rng.integers(0, 50, k) * (rng.random(k) > 0.2)
        ref[rng.integers(0, k)] += 1  # each side has at least one observation
        cur[rng.integers(0, k)] += 1
        r, c = evidently_shares(ref), evidently_shares(cur)
        assert close(st.psi(ref, cur).statistic, np.sum((c - r) * np.log(c / r))), case
        assert close(st.kl_div(ref, cur).statistic, stats.entropy(r, c)), case
        assert close(st.jensenshannon(ref, cur).statistic, distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))
        keep = (ref + cur) > 0
        expected = stats.chi2_contingency(np.vstack([ref[keep], cur[keep]]), correction=False)
        got = st.chisquare(ref, cur)
        assert close(got.statistic, expected.statistic) and close(got.p_value, expected.pvalue), case


def test_chisquare_with_one_category_is_no_evidence_of_drift():
    got = st.chisquare(np.array([5, 0]), np.array([3, 0]))
    assert got.statistic == 0.0 and got.p_value == 1.0 and "single category" in got.note
    with pytest.raises(ValueError, match="each side"):
        st.chisquare(np.array([5]), np.array([0]))


def test_identical_samples_show_no_drift_on_every_statistic():
    x = np.sort(np.array([1.0, 2.0, 2.0]))  # tiny, with a tie
    counts = np.array([1, 2])
    assert st.ks(x, x).statistic == 0.0 and st.ks(x, x).p_value == 1.0
    assert st.wasserstein(x, x).statistic == 0.0
    assert st.psi(counts, counts).statistic == 0.0
    assert st.kl_div(counts, counts).statistic == 0.0
    assert st.jensenshannon(counts, counts).statistic == 0.0
    assert st.chisquare(counts, counts).p_value == 1.0


@pytest.mark.parametrize(("n", "m"), [(7, 5), (5, 7), (13, 13), (30, 7), (6, 4), (1, 9), (64, 96), (500, 333)])
def test_blockwise_merges_equal_scipy_across_block_boundaries(monkeypatch, n, m):
    monkeypatch.setattr(st, "BLOCK", 3)  # many blocks, ties of i*m == j*n on block edges (6 vs 4, 64 vs 96)
    rng = np.random.default_rng(n * 100 + m)
    for _ in range(20):
        a, b = random_pair(rng, n, m)
        a_s, b_s = np.sort(a), np.sort(b)
        assert close(st.wasserstein_sorted(a_s, b_s), stats.wasserstein_distance(a, b))
        assert close(st.wasserstein_sorted(b_s, a_s), stats.wasserstein_distance(b, a))
        assert close(st.ks_statistic_sorted(a_s, b_s), stats.ks_2samp(a, b).statistic)


def test_wasserstein_with_one_block_is_bitwise_the_single_merge():
    rng = np.random.default_rng(12)
    a, b = np.sort(rng.normal(size=3000)), np.sort(rng.normal(size=2001))
    n, m = a.size, b.size
    i, j = np.arange(1, n + 1), np.arange(1, m + 1)
    points = np.empty(n + m, dtype=np.int64)
    points[(i - 1) + (i * m - 1) // n] = i * m
    points[(j - 1) + (j * n) // m] = j * n
    qu, qv = a[(points + (m - 1)) // m - 1], b[(points + (n - 1)) // n - 1]
    single = float(np.dot(np.diff(points, prepend=0).astype(np.float64), np.abs(qu - qv)) / (float(n) * float(m)))
    assert st.wasserstein_sorted(a, b) == single


@pytest.mark.parametrize("scale", [1e120, 1e200, 1e300, 2.0**1000])
def test_normalised_wasserstein_is_scale_free_up_to_the_largest_doubles(scale):
    # before: np.std overflowed (inf) beyond ~1e154 and the distance came out 0 (or nan)
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=700), rng.normal(5.0, 1.0, size=900)
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    got = st.wasserstein(np.sort(a * scale), np.sort(b * scale))
    assert math.isfinite(got.statistic) and math.isclose(got.statistic, expected, rel_tol=1e-12)
    assert "divided by that power of two" in got.note
    tiny = st.wasserstein(np.sort(a), np.sort(b))  # below the limit nothing is rescaled
    assert tiny.note == "" and close(tiny.statistic, expected)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 2), (2, 2), (3, 3), (3, 4), (3, 5), (4, 4), (1, 40), (10, 12)])
def test_min_p_value_is_ks_exact_p_value_of_separated_samples(n, m):
    separated = stats.ks_2samp(np.arange(n, dtype=float), np.arange(m, dtype=float) + n, method="exact")
    assert math.isclose(st.min_p_value(n, m), separated.pvalue, rel_tol=1e-12)
    assert st.min_p_value(n, m) == st.min_p_value(m, n)


def test_min_p_value_large_sizes_use_log_gamma():
    assert math.isclose(st.min_p_value(1, 1500), 2 / 1501, rel_tol=1e-9)  # n + m > EXACT_COMB_MAX
    assert math.isclose(st.min_p_value(2, 1499), 2 / math.comb(1501, 2), rel_tol=1e-9)
    assert st.min_p_value(5_000_000, 5_000_000) == 0.0
    assert st.min_p_value(0, 10) == 1.0
