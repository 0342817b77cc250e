"""A/B analysis: closed forms against statsmodels (1e-9), Bayesian against the exact sum, sequential
boundaries against the multivariate normal and by simulation, decisions, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import betaln
from scipy.stats import multivariate_normal
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
    assert bounds[0] == pytest.approx(
        1.959963984540054 / math.sqrt(fractions[0]) if spending == "obrien_fleming" else bounds[0]
    )
    if spending == "obrien_fleming":
        assert np.all(np.diff(bounds) < 0) and bounds[-1] > 1.96  # strict early, close to fixed at the end


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
    assert sequential_fpr <= alpha + tolerance
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
    from statsmodels.stats.multitest import multipletests

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
