"""A/B analysis: closed forms against statsmodels (1e-9), Bayesian against the exact sum, sequential
boundaries against the multivariate normal and by simulation, decisions, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln
from scipy.stats import fisher_exact, multivariate_normal, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from assay.engines.ab_testing import (
    ABTestConfig,
    SequentialConfig,
    VariantCounts,
    adjust_pvalues,
    alpha_spent,
    analyze_experiment,
    analyze_records,
    beta_binomial,
    cohens_h,
    current_look,
    diff_confint,
    group_sequential_bounds,
    outcomes_from_frame,
    outcomes_from_records,
    parse_ab_config,
    plan_sample_size,
    power_two_proportions,
    prob_b_greater,
    sample_size_per_variant,
    two_proportion_ztest,
)
from assay.errors import ConfigError

CASES = [(120, 1000, 100, 1000), (5, 40, 1, 37), (0, 100, 3, 90), (4810, 50_000, 5002, 50_000), (33, 33, 20, 31)]


def records(metric="conversion", champ=(10_000, 1000), chal=(10_000, 1100), **extra):
    rows = [
        {"metric": metric, "variant": "champion", "exposures": champ[0], "conversions": champ[1]},
        {"metric": metric, "variant": "challenger", "exposures": chal[0], "conversions": chal[1]},
    ]
    for name, (c, t) in extra.items():
        rows += [
            {"metric": name, "variant": "champion", "exposures": c[0], "conversions": c[1]},
            {"metric": name, "variant": "challenger", "exposures": t[0], "conversions": t[1]},
        ]
    return rows


def checks(result):
    return {c.name: c for c in result.checks}


# ------------------------------------------------------------------ frequentist vs statsmodels


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_ztest_matches_statsmodels(case, alternative):
    x1, n1, x2, n2 = case
    z, p = two_proportion_ztest(x1, n1, x2, n2, alternative)
    z_sm, p_sm = proportions_ztest([x1, x2], [n1, n2], alternative=alternative)
    assert z == pytest.approx(z_sm, abs=1e-9) and p == pytest.approx(p_sm, abs=1e-9)


def test_ztest_vectorised_and_degenerate():
    x1, n1, x2, n2 = (np.array(v) for v in zip(*CASES, strict=True))
    z, p = two_proportion_ztest(x1, n1, x2, n2)
    expected = np.array([proportions_ztest([a, b], [c, d])[0] for a, c, b, d in CASES])
    np.testing.assert_allclose(z, expected, atol=1e-9)
    assert two_proportion_ztest(0, 50, 0, 70) == (0.0, 1.0)  # no variance: no evidence


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["newcomb", "wald"])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_confint_matches_statsmodels(case, method, alpha):
    x1, n1, x2, n2 = case
    ours = diff_confint(x1, n1, x2, n2, alpha, method)
    theirs = confint_proportions_2indep(x1, n1, x2, n2, method=method, compare="diff", alpha=alpha)
    np.testing.assert_allclose(ours, theirs, atol=1e-9, rtol=0)


@pytest.mark.parametrize(("p1", "p2"), [(0.12, 0.10), (0.5, 0.45), (0.01, 0.02)])
@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_power_and_sample_size_match_statsmodels(p1, p2, alternative, ratio):
    h = cohens_h(p1, p2)
    assert h == pytest.approx(proportion_effectsize(p1, p2), abs=1e-12)
    h = abs(h)
    sm = NormalIndPower()
    for n in (100, 2500, 40_000):
        assert power_two_proportions(h, n, 0.05, ratio, alternative) == pytest.approx(
            sm.power(h, n, 0.05, ratio, alternative), abs=1e-9
        )
    n = sample_size_per_variant(h, 0.05, 0.8, ratio, alternative)
    n_sm = sm.solve_power(h, nobs1=None, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative)
    # statsmodels' own power function says our n is exact; its root finder stops ~1e-9 relative short of it
    assert sm.power(h, n, 0.05, ratio, alternative) == pytest.approx(0.8, abs=1e-12)
    assert n == pytest.approx(n_sm, rel=1e-8)


def test_power_smaller_alternative():
    assert power_two_proportions(-0.1, 800, 0.05, alternative="smaller") == pytest.approx(
        NormalIndPower().power(-0.1, 800, 0.05, alternative="smaller"), abs=1e-12
    )


def test_plan_sample_size():
    plan = plan_sample_size(0.10, 0.02, alpha=0.05, power=0.8)
    expected = NormalIndPower().solve_power(proportion_effectsize(0.12, 0.10), nobs1=None, alpha=0.05, power=0.8)
    assert plan.per_variant == pytest.approx(expected, rel=1e-9)
    assert plan.per_variant_ceil == math.ceil(expected) and plan.target_rate == pytest.approx(0.12)
    with pytest.raises(ValueError, match="must stay in"):
        plan_sample_size(0.99, 0.05)
    assert sample_size_per_variant(0.0, 0.05, 0.8) == math.inf


def test_holm_and_bh_by_hand():
    reject, adjusted = adjust_pvalues([0.01, 0.04, 0.03], 0.05, "holm")
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06])
    assert reject.tolist() == [True, False, False]
    reject, adjusted = adjust_pvalues([0.01, 0.04, 0.03], 0.05, "fdr_bh")
    np.testing.assert_allclose(adjusted, [0.03, 0.04, 0.04])
    assert reject.tolist() == [True, True, True]
    reject, adjusted = adjust_pvalues([0.01, 0.06], 0.05, "none")
    assert adjusted.tolist() == [0.01, 0.06] and reject.tolist() == [True, False]
    for method in ("holm", "fdr_bh"):  # one p-value: statsmodels is skipped, the result is the same
        sm_reject, sm_adjusted, _, _ = multipletests([0.03], alpha=0.05, method=method)
        reject, adjusted = adjust_pvalues([0.03], 0.05, method)
        assert adjusted.tolist() == sm_adjusted.tolist() and reject.tolist() == sm_reject.tolist()


# ------------------------------------------------------------------ Bayesian


def evan_miller(a1, b1, a2, b2):
    """Closed-form P(p2 > p1) for integer a2 (Evan Miller), an independent check of the integration."""
    i = np.arange(int(a2))
    return float(np.sum(np.exp(betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1))))


@pytest.mark.parametrize("params", [(3, 9, 5, 7), (101, 901, 121, 881), (1001, 9001, 1051, 8951), (1, 50, 2, 49)])
def test_exact_probability_matches_closed_form(params):
    assert prob_b_greater(*params) == pytest.approx(evan_miller(*params), abs=1e-9)


def test_beta_binomial_lift_and_monte_carlo():
    a, b = VariantCounts(2000, 200), VariantCounts(2000, 240)
    res = beta_binomial(a, b, draws=400_000, seed=1)
    aa, ab, ba, bb = 201, 1801, 241, 1761
    assert res.prob_challenger_higher == pytest.approx(evan_miller(aa, ab, ba, bb), abs=1e-9)
    assert res.expected_lift == pytest.approx(ba / (ba + bb) * (aa + ab - 1) / (aa - 1) - 1, abs=1e-12)
    rng = np.random.default_rng(9)
    pa, pb = rng.beta(aa, ab, 400_000), rng.beta(ba, bb, 400_000)
    assert (pb / pa - 1).mean() == pytest.approx(res.expected_lift, abs=0.003)
    assert (pb > pa).mean() == pytest.approx(res.prob_challenger_higher, abs=0.003)
    lo, hi = res.lift_interval
    assert lo < res.expected_lift < hi and lo < 0.2 - 0.05
    assert beta_binomial(a, b, seed=1, draws=5000) == beta_binomial(a, b, seed=1, draws=5000)
    assert beta_binomial(VariantCounts(100, 0), b).expected_lift is None  # E[1/p] infinite with Beta(1, .)


# ------------------------------------------------------------------ sequential monitoring


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


# ------------------------------------------------------------------ analysis and decisions


def test_clear_winner():
    result = analyze_records(records(champ=(20_000, 2000), chal=(20_000, 2300)))
    c = checks(result)
    assert result.decision == "challenger_wins" and result.status.value == "PASS"
    assert c["ab:conversion:ztest"].status == "PASS" and c["ab:conversion:bayes"].status == "PASS"
    analysis = result.analyses[0]
    z_sm, p_sm = proportions_ztest([2300, 2000], [20_000, 20_000])
    assert analysis.z == pytest.approx(z_sm, abs=1e-9) and analysis.p_value == pytest.approx(p_sm, abs=1e-12)
    assert analysis.prob_better > 0.999 and analysis.difference == pytest.approx(0.015)
    assert "promote the challenger" in result.message
    data = json.loads(json.dumps(result.describe_dict(), allow_nan=False))
    assert data["decision"] == "challenger_wins" and data["metrics"][0]["challenger_rate"] == 0.115


def test_clear_loser_and_no_difference():
    loser = analyze_records(records(champ=(20_000, 2300), chal=(20_000, 2000)))
    assert loser.decision == "champion_wins" and loser.status.value == "FAIL"
    assert checks(loser)["ab:conversion:bayes"].status == "FAIL"
    same = analyze_records(records(champ=(20_000, 2000), chal=(20_000, 2010)))
    assert same.decision == "inconclusive" and same.status.value == "WARN"
    assert checks(same)["ab:conversion:ztest"].status == "WARN"


def test_frequentist_and_bayesian_must_agree():
    # p just below 0.05 two-sided, yet P(better) about 0.976 > 0.95 -> winner; with a 0.99 bar -> inconclusive
    rows = records(champ=(10_000, 1000), chal=(10_000, 1085))
    assert analyze_records(rows).decision == "challenger_wins"
    strict = analyze_records(rows, ABTestConfig(prob_better_threshold=0.99))
    assert strict.decision == "inconclusive" and checks(strict)["ab:conversion:bayes"].status == "WARN"


def test_lower_is_better_metric():
    cfg = ABTestConfig(metrics={"chargeback": {"higher_is_better": False}})
    result = analyze_records(records("chargeback", champ=(20_000, 400), chal=(20_000, 300)), cfg)
    assert result.decision == "challenger_wins" and result.analyses[0].outcome == "better"
    assert result.analyses[0].prob_better > 0.99


def test_holm_correction_across_metrics():
    rows = records(
        "clicks",
        champ=(10_000, 1000),
        chal=(10_000, 1090),
        signups=((10_000, 500), (10_000, 520)),
        purchases=((10_000, 300), (10_000, 310)),
    )
    holm = analyze_records(rows)
    raw = {a.name: a.p_value for a in holm.analyses}
    assert raw["clicks"] < 0.05
    adjusted = {a.name: a.p_adjusted for a in holm.analyses}
    names = [a.name for a in holm.analyses]
    expected = multipletests([raw[n] for n in names], method="holm")[1]
    assert [adjusted[n] for n in names] == pytest.approx(list(expected), abs=1e-12)
    assert adjusted["clicks"] > 0.05 and holm.decision == "inconclusive"  # significant alone, not after Holm
    assert analyze_records(rows, ABTestConfig(correction="none")).decision == "challenger_wins"


def test_guardrail_degradation_fails():
    cfg = ABTestConfig(metrics={"errors": {"role": "guardrail", "higher_is_better": False}})
    rows = records(champ=(20_000, 2000), chal=(20_000, 2300), errors=((20_000, 100), (20_000, 160)))
    result = analyze_records(rows, cfg)
    guard = checks(result)["ab:guardrail:errors"]
    _, p_sm = proportions_ztest([160, 100], [20_000, 20_000], alternative="larger")
    assert guard.status == "FAIL" and guard.observed == pytest.approx(p_sm, abs=1e-12)
    assert "significantly worse" in guard.message
    assert result.decision == "champion_wins" and "errors (guardrail) significantly worse" in result.message
    fine = analyze_records(
        records(champ=(20_000, 2000), chal=(20_000, 2300), errors=((20_000, 100), (20_000, 90))), cfg
    )
    assert checks(fine)["ab:guardrail:errors"].status == "PASS" and fine.decision == "challenger_wins"


def test_power_warning_when_underpowered():
    result = analyze_records(records(champ=(500, 50), chal=(500, 52)), ABTestConfig(minimum_detectable_effect=0.01))
    power = checks(result)["ab:conversion:power"]
    plan = plan_sample_size(0.10, 0.01)
    assert power.status == "WARN" and power.observed == pytest.approx(
        NormalIndPower().power(abs(plan.effect_size), 500, 0.05), abs=1e-9
    )
    assert f"{plan.per_variant_ceil} needed" in power.message


def test_sequential_interim_continue_then_early_stop():
    seq = ABTestConfig(sequential=SequentialConfig(planned_exposures_per_variant=50_000, looks=5))
    interim = analyze_records(records(champ=(10_000, 1000), chal=(10_000, 1090)), seq)  # p~0.03 at look 1
    check = checks(interim)["ab:conversion:sequential"]
    assert interim.decision == "continue" and check.status == "WARN"
    assert check.threshold == pytest.approx(group_sequential_bounds([0.2])[0]) and "look 1" in check.message
    early = analyze_records(records(champ=(10_000, 1000), chal=(10_000, 1250)), seq)
    assert early.decision == "challenger_wins" and checks(early)["ab:conversion:sequential"].status == "PASS"
    final = analyze_records(records(champ=(50_000, 5000), chal=(50_000, 5010)), seq)
    assert final.decision == "inconclusive" and final.analyses[0].sequential.final


# ------------------------------------------------------------------ small samples


def test_tiny_samples_are_decided_by_fishers_exact_test():
    """0/3 vs 3/3: the z-test says p = 0.014 (challenger_wins before); Fisher's exact test says 0.1."""
    result = analyze_records(records(champ=(3, 0), chal=(3, 3)))
    analysis = result.analyses[0]
    z_p = proportions_ztest([3, 0], [3, 3])[1]
    assert z_p == pytest.approx(0.0143, abs=1e-4)
    assert analysis.test == "fisher_exact" and analysis.min_expected == pytest.approx(1.5)
    assert analysis.p_value == pytest.approx(fisher_exact([[3, 0], [0, 3]]).pvalue, abs=1e-12)
    assert analysis.p_value == pytest.approx(0.1) and analysis.normal_p_value == pytest.approx(z_p)
    check = checks(result)["ab:conversion:fisher_exact"]
    assert check.status == "WARN" and check.observed == pytest.approx(0.1)
    assert "Fisher's exact p=0.1" in check.message and "expected count 1.50 < 5" in check.message
    assert result.decision == "inconclusive"


def test_small_guardrail_uses_the_one_sided_exact_test():
    """0/20 vs 4/20 errors: one-sided z p = 0.018 (FAIL, champion_wins before); Fisher's one-sided p = 0.053."""
    cfg = ABTestConfig(metrics={"errors": {"role": "guardrail", "higher_is_better": False}})
    rows = records(champ=(20_000, 2000), chal=(20_000, 2300), errors=((20, 0), (20, 4)))
    guard = checks(analyze_records(rows, cfg))["ab:guardrail:errors"]
    expected = fisher_exact([[4, 16], [0, 20]], alternative="greater").pvalue
    assert proportions_ztest([4, 0], [20, 20], alternative="larger")[1] < 0.05
    assert guard.observed == pytest.approx(expected, abs=1e-12) and expected > 0.05
    assert guard.status == "PASS" and "Fisher's exact" in guard.message
    assert analyze_records(rows, cfg).decision == "challenger_wins"


def test_normal_approximation_rule_at_its_edge():
    at_five = analyze_records(records(champ=(10, 5), chal=(10, 5))).analyses[0]  # expected 10 * 10 / 20 = 5
    below = analyze_records(records(champ=(10, 4), chal=(10, 5))).analyses[0]  # expected 10 * 9 / 20 = 4.5
    assert at_five.test == "z" and at_five.min_expected == 5
    assert below.test == "fisher_exact" and below.min_expected == pytest.approx(4.5)
    assert below.p_value == pytest.approx(fisher_exact([[5, 5], [4, 6]]).pvalue, abs=1e-12)


def test_sequential_look_with_tiny_samples_uses_the_nominal_level():
    seq = ABTestConfig(sequential=SequentialConfig(planned_exposures_per_variant=100, looks=5))
    result = analyze_records(records(champ=(3, 0), chal=(3, 3)), seq)
    check = checks(result)["ab:conversion:sequential"]
    nominal = 2 * norm.sf(result.analyses[0].sequential.boundary)
    assert (
        check.comparator == "<=" and check.observed == pytest.approx(0.1) and check.threshold == pytest.approx(nominal)
    )
    assert result.decision == "continue" and "Fisher's exact" in check.message


# ------------------------------------------------------------------ config that cannot work


@pytest.mark.parametrize(("power", "alpha"), [(0.03, 0.05), (0.05, 0.05), (0.2, 0.3)])
def test_power_not_above_alpha_is_a_config_error(power, alpha):
    with pytest.raises(ConfigError, match=rf"power \({power:g}\) must be greater than alpha \({alpha:g}\)"):
        parse_ab_config({"power": power, "alpha": alpha})
    with pytest.raises(ValueError, match="must be greater than alpha"):
        sample_size_per_variant(0.1, alpha, power)


def test_power_just_above_alpha_is_solved():
    """The normal-approximation start overshoots by ~12x here; the old fixed bracket crashed in brentq."""
    n = sample_size_per_variant(0.1, 0.05, 0.051)
    assert NormalIndPower().power(0.1, n, 0.05) == pytest.approx(0.051, abs=1e-12)
    result = analyze_records(records(), ABTestConfig(power=0.051))
    assert checks(result)["ab:conversion:power"].status == "PASS"


# ------------------------------------------------------------------ columnar input


def per_user_frame(users=4000, seed=3):
    rng = np.random.default_rng(seed)
    variant = np.where(rng.random(users) < 0.5, "champion", "challenger")
    return pd.DataFrame(
        {
            "metric": np.repeat(["signup", "errors"], users // 2),
            "variant": variant,
            "exposures": 1,
            "conversions": (rng.random(users) < np.where(variant == "challenger", 0.13, 0.1)).astype(int),
        }
    )


def test_frame_and_records_give_the_same_analysis():
    frame = per_user_frame()
    cfg = ABTestConfig(metrics={"errors": {"role": "guardrail", "higher_is_better": False}})
    from_frame, from_rows = analyze_records(frame, cfg), analyze_records(frame.to_dict("records"), cfg)
    assert [a.describe_dict() for a in from_frame.analyses] == [a.describe_dict() for a in from_rows.analyses]
    outcomes, problems = outcomes_from_frame(frame)
    sums = frame.groupby(["metric", "variant"])[["exposures", "conversions"]].sum()
    assert problems == [] and [o.name for o in outcomes] == ["signup", "errors"]  # order of first appearance
    for o in outcomes:
        assert o.champion == VariantCounts(*sums.loc[(o.name, "champion")].tolist())
        assert o.challenger == VariantCounts(*sums.loc[(o.name, "challenger")].tolist())


def test_many_bad_rows_are_quoted_then_counted():
    frame = per_user_frame(200)
    frame.loc[:11, "conversions"] = -1
    frame.loc[20, "variant"] = "treatment"
    _, problems = outcomes_from_frame(frame)
    value_rows = [p for p in problems if "whole numbers" in p]
    assert len(value_rows) == 5 and value_rows[0].startswith("row 0 (signup/")
    assert "... and 7 more row(s) with the same problem (exposures or conversions)" in problems
    assert any(p.startswith("row 20: needs a metric and a variant") and "'treatment'" in p for p in problems)
    assert analyze_records(frame).decision == "invalid"


def test_missing_columns_are_named():
    result = analyze_records(pd.DataFrame({"metric": ["m"], "variant": ["champion"], "users": [3]}))
    assert result.decision == "invalid"
    assert "no column(s) ['exposures', 'conversions']" in result.message and "'users'" in result.message


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (records(champ=(0, 0)), "variant 'champion' has zero exposures"),
        (records(chal=(100, 120)), "has 120 conversions but only 100 exposures"),
        (records(chal=(100, -1)), "whole numbers >= 0"),
        (records(chal=(100, float("nan"))), "whole numbers >= 0"),
        (records(chal=(100.5, 3)), "whole numbers >= 0"),
        (records()[:1], "variant 'challenger' has zero exposures"),
        ([{"metric": "m", "variant": "treatment", "exposures": 1, "conversions": 0}], "variant of 'champion' or"),
        ([], "no experiment outcomes were recorded"),
    ],
)
def test_bad_input_is_error(rows, message):
    result = analyze_records(rows)
    assert result.status.value == "ERROR" and result.decision == "invalid"
    assert any(message in (c.message or "") for c in result.checks if c.status == "ERROR")
    assert message in result.message or result.decision == "invalid"
    json.dumps(result.describe_dict(), allow_nan=False)


def test_configured_metric_without_data_and_guardrails_only():
    result = analyze_records(records(), ABTestConfig(metrics={"revenue": {}}))
    assert checks(result)["ab:revenue:input"].status == "ERROR" and result.decision == "invalid"
    only_guard = analyze_records(records("errors"), ABTestConfig(metrics={"errors": {"role": "guardrail"}}))
    assert only_guard.decision == "invalid" and "no primary metric" in only_guard.message


def test_rows_are_summed_and_variant_names_configurable():
    rows = [
        {"metric": "ctr", "variant": v, "exposures": 1000, "conversions": c}
        for v, c in (("control", 100), ("control", 110), ("treatment", 130), ("treatment", 140))
    ]
    outcomes, problems = outcomes_from_records(rows, "control", "treatment")
    assert problems == [] and outcomes[0].champion == VariantCounts(2000, 210)
    assert outcomes[0].challenger == VariantCounts(2000, 270)
    with pytest.raises(ValueError, match="different variant names"):
        ABTestConfig(champion="a", challenger="a")
    result = analyze_experiment(outcomes, ABTestConfig(champion="control", challenger="treatment"))
    assert result.analyses[0].difference == pytest.approx(0.03)


def test_sequential_splits_alpha_across_primary_metrics():
    seq = ABTestConfig(sequential=SequentialConfig(planned_exposures_per_variant=20_000, looks=2))
    rows = records("a", champ=(10_000, 1000), chal=(10_000, 1100), b=((10_000, 500), (10_000, 500)))
    result = analyze_records(rows, seq)
    look = result.analyses[0].sequential
    assert look.alpha == pytest.approx(0.025) and look.boundary == pytest.approx(
        group_sequential_bounds([0.5], 0.025)[0]
    )


def test_parse_ab_config():
    cfg = parse_ab_config(
        {
            "alpha": 0.01,
            "metrics": {"errors": {"role": "guardrail", "higher_is_better": False}},
            "sequential": {"planned_exposures_per_variant": 1000},
        }
    )
    assert cfg.metric("errors").role == "guardrail" and cfg.metric("other").role == "primary"
    with pytest.raises(ConfigError) as exc:
        parse_ab_config({"alpha": 2, "metrics": {"x": {"role": "tertiary"}}, "sequence": {}})
    text = str(exc.value)
    assert "alpha:" in text and "metrics.x.role" in text and "sequence: Extra inputs are not permitted" in text
