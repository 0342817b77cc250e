"""A/B analysis: decisions from the frequentist and Bayesian tests, small samples, guardrails,
sequential looks, and bad input."""

from __future__ import annotations

import json

import pytest
from scipy.stats import fisher_exact, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    proportions_ztest,
)

from assay.engines.ab_testing import (
    ABTestConfig,
    SequentialConfig,
    VariantCounts,
    analyze_experiment,
    analyze_records,
    group_sequential_bounds,
    outcomes_from_records,
    plan_sample_size,
    sample_size_per_variant,
)


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
    data = json.loads(json.dumps(result.describe_dict(), allow_nan=False))["summary"]
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


@pytest.mark.slow
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


def test_power_just_above_alpha_is_solved():
    """The normal-approximation start overshoots by ~12x here; the old fixed bracket crashed in brentq."""
    n = sample_size_per_variant(0.1, 0.05, 0.051)
    assert NormalIndPower().power(0.1, n, 0.05) == pytest.approx(0.051, abs=1e-12)
    result = analyze_records(records(), ABTestConfig(power=0.051))
    assert checks(result)["ab:conversion:power"].status == "PASS"


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
