"""Sequential boundaries against the multivariate normal, published tables and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from assay.engines.ab_testing import (
    SequentialConfig,
    alpha_spent,
    current_look,
    group_sequential_bounds,
    two_proportion_ztest,
)


def crossing_probabilities(bounds, fractions):
    """Cumulative P(|Z| crosses by look k) under H0 from the multivariate normal (an independent check)."""
    t = np.asarray(fractions)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn_rng = np.random.default_rng(0)
    out = []
    for k in range(1, len(t) + 1):
        b = np.asarray(bounds[:k])
        dist = multivariate_normal(cov=cov[:k, :k], seed=mvn_rng, abseps=1e-6, releps=1e-6, maxpts=500_000)
        out.append(1 - dist.cdf(b, lower_limit=-b))
    return np.array(out)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
@pytest.mark.parametrize("fractions", [[0.2, 0.4, 0.6, 0.8, 1.0], [0.3, 0.5, 1.0]])
def test_boundaries_spend_exactly_the_planned_alpha(spending, fractions):
    bounds = group_sequential_bounds(fractions, 0.05, spending)
    np.testing.assert_allclose(
        crossing_probabilities(bounds, fractions), alpha_spent(np.array(fractions), 0.05, spending), atol=5e-5
    )
    # the first look spends alpha/2 per side with the Lan-DeMets function, written out here
    t1 = fractions[0]
    per_side = (
        2 * norm.sf(norm.isf(0.025 / 2) / math.sqrt(t1))
        if spending == "obrien_fleming"
        else 0.025 * math.log(1 + (math.e - 1) * t1)
    )
    assert bounds[0] == pytest.approx(norm.isf(per_side), abs=1e-9)
    if spending == "obrien_fleming":
        assert np.all(np.diff(bounds) < 0) and bounds[-1] > 1.96  # strict early, close to fixed at the end


# Published two-sided Lan-DeMets boundaries (alpha/2 spent per side), held to the numbers, not to this code.
# K = 5 equally spaced, alpha 0.05, O'Brien-Fleming type: the standard table quoted in issue 8 (gsDesign
# ``gsDesign(k=5, test.type=2, sfu=sfLDOF)``, rpact ``getDesignGroupSequential(kMax=5, alpha=0.05, sided=2,
# typeOfDesign="asOF")``, ldbounds ``bounds(5, iuse=c(1,1), alpha=c(0.025,0.025))``).
OBF_K5 = [4.877, 3.357, 2.680, 2.290, 2.031]
# ldbounds ``bounds(c(0.10, 0.33, 1), iuse=c(1,1), alpha=c(0.025,0.025))`` as printed by ldbounds in the R-help
# thread "output of bounds function, ldbounds package" (J. Sorkin, March 2020): 4 decimals from ldbounds' grid.
LDBOUNDS_OBF = ([0.10, 0.33, 1.0], [6.9913, 3.7308, 1.9605])
# rpact's unit tests (tests/testthat/test-f_design_group_sequential.R, designs x7c and x7d): two-sided "asOF"
# designs; the cumulative alpha spent, and the first critical value (later ones use binding futility bounds).
RPACT_ASOF = [
    (0.05, [0.4, 0.65, 1.0], [0.00078830351, 0.010867832, 0.05], 3.3568694),
    (0.09, [0.2, 0.55, 1.0], [1.475171e-05, 0.013740227, 0.09], 4.3323635),
]


def test_obrien_fleming_boundaries_match_published_tables():
    np.testing.assert_allclose(group_sequential_bounds(np.arange(1, 6) / 5, 0.05), OBF_K5, atol=5e-4)
    fractions, expected = LDBOUNDS_OBF
    np.testing.assert_allclose(group_sequential_bounds(fractions, 0.05), expected, atol=2e-4)
    for alpha, rates, spent, first in RPACT_ASOF:
        np.testing.assert_allclose(alpha_spent(np.array(rates), alpha), spent, rtol=1e-6)
        assert group_sequential_bounds(rates, alpha)[0] == pytest.approx(first, abs=1e-6)
    # the first look spends 11x less than the old total-alpha formula (2 * (1 - Phi(1.96 / sqrt(0.2)))) did
    assert alpha_spent(0.2, 0.05) == pytest.approx(1.0768e-06, rel=1e-3)


def test_pocock_boundaries_match_published_tables():
    # rpact's unit test x6b: getDesignGroupSequential(informationRates = c(0.4, 0.7), typeOfDesign = "asP"), a
    # one-sided design at alpha 0.025; the two-sided symmetric design at 0.05 spends the same per side, and a
    # path crossing both sides is too rare (< 1e-7) to move its boundaries
    np.testing.assert_allclose(
        alpha_spent(np.array([0.4, 0.7]), 0.05, "pocock") / 2, [0.013078429, 0.0197432], rtol=1e-6
    )
    np.testing.assert_allclose(group_sequential_bounds([0.4, 0.7], 0.05, "pocock"), [2.223875, 2.3050796], atol=1e-5)
    # SeqBounds.jl's test: two-sided Pocock-type spending, alpha 0.05, 5 equal looks, final boundary 2.385909
    # (its coarser grid: 1e-4)
    assert group_sequential_bounds(np.arange(1, 6) / 5, 0.05, "pocock")[-1] == pytest.approx(2.385909, abs=1e-4)


def test_single_final_look_is_the_fixed_test():
    assert group_sequential_bounds([1.0], 0.05)[0] == pytest.approx(1.959963984540054, abs=1e-12)


def test_bad_fractions():
    for bad in ([0.5, 0.4], [0.0, 1.0], [0.5, 1.2], []):
        with pytest.raises(ValueError, match="information fractions"):
            group_sequential_bounds(bad)
    with pytest.raises(ValueError, match="unknown spending"):
        alpha_spent(0.5, 0.05, "haybittle")


def test_simulated_false_positive_rate_under_h0():
    """2000 A/A experiments, 5 looks of 1000 exposures per variant: alpha spending keeps the false
    positive rate at alpha, while testing at 1.96 at every look inflates it."""
    rng = np.random.default_rng(2026)
    sims, looks, per_look, rate, alpha = 2000, 5, 1000, 0.1, 0.05
    conversions = rng.binomial(per_look, rate, size=(sims, looks, 2)).cumsum(axis=1)
    n = per_look * np.arange(1, looks + 1)
    z, _ = two_proportion_ztest(conversions[..., 1], n, conversions[..., 0], n)
    bounds = group_sequential_bounds(np.arange(1, looks + 1) / looks, alpha)
    sequential_fpr = np.mean((np.abs(z) >= bounds).any(axis=1))
    naive_fpr = np.mean((np.abs(z) >= 1.959963984540054).any(axis=1))
    final_only_fpr = np.mean(np.abs(z[:, -1]) >= 1.959963984540054)
    tolerance = 3 * math.sqrt(alpha * (1 - alpha) / sims)  # three Monte Carlo standard errors
    assert abs(sequential_fpr - alpha) <= tolerance  # spends alpha, no more and not much less
    assert naive_fpr > 0.10  # peeking five times roughly triples it (theory: 0.142)
    assert abs(final_only_fpr - alpha) < tolerance


def test_current_look_uses_planned_fractions_and_actual_information():
    cfg = SequentialConfig(planned_exposures_per_variant=10_000, looks=4)
    look = current_look(cfg, 5_100, 0.05)
    assert look.fractions == (0.25, 0.5, 0.51) and look.look == 3 and not look.final
    assert look.boundary == pytest.approx(group_sequential_bounds([0.25, 0.5, 0.51])[-1])
    final = current_look(cfg, 12_000, 0.05)
    assert final.final and final.fractions == (0.25, 0.5, 0.75, 1.0)
