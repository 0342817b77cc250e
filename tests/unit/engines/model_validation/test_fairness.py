"""Fairness per protected attribute: values against hand computation and fairlearn (1e-9, random and degenerate
data), group labelling (missing vs out of bins), ERROR cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
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
from support.model_validation import LABEL, FixedModel, labelled_rows

from assay.engines.model_validation import FairnessConfig, ProtectedAttribute
from assay.engines.model_validation.fairness import MISSING_GROUP, OUT_OF_BINS_GROUP, check_fairness, group_labels
from assay.engines.model_validation.scoring import score


def run(frame, proba, **cfg):
    model = FixedModel(proba)
    return check_fairness(frame, score(model, frame, LABEL), FairnessConfig(**cfg))


def checks(section):
    return {c.name: c for c in section.checks}


def designed_frame():
    """Two groups of 100 rows, 50 positives each; group a: TPR 0.8, FPR 0.2; group b: TPR 0.6, FPR 0.1."""
    y, p, g = [], [], []
    for group, tp, fp in (("a", 40, 10), ("b", 30, 5)):
        y += [1] * 50 + [0] * 50
        p += [0.9] * tp + [0.1] * (50 - tp) + [0.9] * fp + [0.1] * (50 - fp)
        g += [group] * 100
    frame = labelled_rows(np.array(y)).assign(group=g)
    return frame, np.array(p)


def test_designed_rates():
    frame, p = designed_frame()
    section = run(frame, p, attributes=[ProtectedAttribute(column="group")], calibration_tolerance=None)
    c = checks(section)
    # selection rates a: 50/100, b: 35/100
    assert c["fairness:group:disparate_impact"].observed == pytest.approx(0.35 / 0.5)
    assert c["fairness:group:disparate_impact"].status == "FAIL"
    assert c["fairness:group:demographic_parity"].observed == pytest.approx(0.15)
    assert c["fairness:group:equal_opportunity"].observed == pytest.approx(0.6 / 0.8)
    assert c["fairness:group:equal_opportunity"].status == "FAIL"
    assert c["fairness:group:equalized_odds"].observed == pytest.approx(0.2)  # max(TPR gap .2, FPR gap .1)
    sel = frame.assign(pred=(p > 0.5).astype(int))
    assert c["fairness:group:disparate_impact"].observed == pytest.approx(
        demographic_parity_ratio(sel[LABEL], sel["pred"], sensitive_features=sel["group"])
    )
    assert c["fairness:group:equalized_odds"].observed == pytest.approx(
        equalized_odds_difference(sel[LABEL], sel["pred"], sensitive_features=sel["group"])
    )
    by_group = section.details["group"]["by_group"]
    assert by_group["a"]["tpr"] == pytest.approx(0.8) and by_group["b"]["fpr"] == pytest.approx(0.1)
    assert "'b' 0.3500 / 'a' 0.5000" in c["fairness:group:disparate_impact"].message


def test_calibration_by_group():
    frame, _ = designed_frame()
    y = frame[LABEL].to_numpy()
    p = np.where(frame["group"] == "a", 0.5, np.where(y == 1, 0.62, 0.42))  # a: mean .5 = rate .5; b: mean .52
    section = run(frame, p, attributes=[ProtectedAttribute(column="group")], calibration_tolerance=0.05)
    c = checks(section)["fairness:group:calibration"]
    assert section.details["group"]["calibration_gap"] == pytest.approx({"a": 0.0, "b": 0.02})
    assert c.status == "PASS" and c.observed == pytest.approx(0.02)
    briers = {m.labels["group"]: m.value for m in section.metrics if m.name == "fairness.brier_score"}
    assert briers["a"] == pytest.approx(0.25)
    assert briers["b"] == pytest.approx(np.mean(np.where(y[100:] == 1, (1 - 0.62) ** 2, 0.42**2)))
    strict = run(frame, p, attributes=[ProtectedAttribute(column="group")], calibration_tolerance=0.01)
    assert checks(strict)["fairness:group:calibration"].status == "FAIL"


def test_demo_model_independent_attribute_passes_correlated_one_fails(good_model, eval_df):
    attrs = [
        ProtectedAttribute(column="region"),
        ProtectedAttribute(column="age", bins=[0, 35, 50, 120], labels=["18-35", "36-50", "51+"]),
    ]
    section = check_fairness(eval_df, score(good_model, eval_df, LABEL), FairnessConfig(attributes=attrs))
    c = checks(section)
    assert c["fairness:region:disparate_impact"].status == "PASS"
    assert c["fairness:region:equal_opportunity"].status == "PASS"
    assert c["fairness:age:disparate_impact"].status == "FAIL"  # the model leans on account age
    assert set(section.details["age"]["group_sizes"]) == {"18-35", "36-50", "51+"}


def test_one_group_only_is_error():
    frame, p = designed_frame()
    section = run(frame.assign(group="a"), p, attributes=[ProtectedAttribute(column="group")])
    [check] = section.checks
    assert check.status == "ERROR" and "one group only ('a')" in check.message
    assert section.status.value == "ERROR"


def test_missing_attribute_and_none_configured():
    frame, p = designed_frame()
    [check] = run(frame, p, attributes=[ProtectedAttribute(column="gender")]).checks
    assert check.status == "ERROR" and "'gender' is not in the evaluation frame" in check.message
    [skip] = run(frame, p).checks
    assert skip.status == "SKIP" and "no protected attribute" in skip.message


def test_group_without_positives_makes_tpr_based_checks_error():
    frame, p = designed_frame()
    frame.loc[frame["group"] == "b", LABEL] = 0
    c = checks(run(frame, p, attributes=[ProtectedAttribute(column="group")]))
    assert c["fairness:group:equal_opportunity"].status == "ERROR"
    assert "['b']: they have no positive labels" in c["fairness:group:equal_opportunity"].message
    assert c["fairness:group:equalized_odds"].status == "ERROR"
    assert c["fairness:group:disparate_impact"].status in ("PASS", "FAIL")  # still measurable


def test_nobody_selected_is_error():
    frame, _ = designed_frame()
    c = checks(run(frame, np.full(200, 0.1), attributes=[ProtectedAttribute(column="group")]))
    assert c["fairness:group:disparate_impact"].status == "ERROR"
    assert "selects no one" in c["fairness:group:disparate_impact"].message
    assert c["fairness:group:equal_opportunity"].status == "ERROR"


def test_small_groups_warn_and_missing_values_form_a_group():
    frame, p = designed_frame()
    frame["group"] = frame["group"].astype(object)
    frame.loc[:9, "group"] = None
    section = run(frame, p, attributes=[ProtectedAttribute(column="group")], min_group_size=20)
    c = checks(section)
    assert c["fairness:group:group_size"].status == "WARN" and MISSING_GROUP in c["fairness:group:group_size"].message
    assert section.details["group"]["group_sizes"] == {MISSING_GROUP: 10, "a": 90, "b": 100}


def test_banding_numeric_attribute():
    df = pd.DataFrame({"age": [18, 30, 31, 64, 65, 90, np.nan]})
    groups = group_labels(df, ProtectedAttribute(column="age", bins=[18, 30, 64, 120], labels=["young", "mid", "old"]))
    assert groups.tolist() == ["young", "young", "mid", "mid", "old", "old", MISSING_GROUP]


def test_thresholds_can_be_disabled():
    frame, p = designed_frame()
    section = run(
        frame,
        p,
        attributes=[ProtectedAttribute(column="group")],
        equal_opportunity_min=None,
        demographic_parity_difference_max=None,
        equalized_odds_difference_max=None,
        calibration_tolerance=None,
    )
    assert sorted(checks(section)) == ["fairness:group:disparate_impact", "fairness:group:group_size"]
    assert any(m.name == "fairness.calibration_gap" for m in section.metrics)


def test_values_outside_the_bins_are_not_missing():
    """Before, 10, 130, inf and 'n/a' joined the real NaN in <missing>: a data gap and an unbanded age are apart."""
    df = pd.DataFrame({"age": pd.Series([10, 18, 64, 65, 130, np.nan, np.inf, None, "n/a"], dtype=object)})
    groups = group_labels(df, ProtectedAttribute(column="age", bins=[18, 30, 64, 120], labels=["young", "mid", "old"]))
    assert groups.tolist() == [
        OUT_OF_BINS_GROUP,
        "young",
        "mid",
        "old",
        OUT_OF_BINS_GROUP,
        MISSING_GROUP,
        OUT_OF_BINS_GROUP,
        MISSING_GROUP,
        OUT_OF_BINS_GROUP,
    ]
    frame, p = designed_frame()
    frame["age"] = np.where(frame.index % 10 == 0, np.nan, np.where(frame.index % 10 == 1, 150.0, 40.0))
    section = run(frame, p, attributes=[ProtectedAttribute(column="age", bins=[18, 65, 120])], min_group_size=5)
    assert section.details["age"]["group_sizes"] == {"(17.999, 65.0]": 160, MISSING_GROUP: 20, OUT_OF_BINS_GROUP: 20}


def fairlearn_values(y, pred, groups):
    frame = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
    )
    return frame.by_group


def random_case(seed):
    """Groups of very different sizes (one of 3 rows), skewed labels, probabilities not calibrated."""
    rng = np.random.default_rng(seed)
    n = 3000
    group = rng.choice(["a", "b", "c", "d"], size=n, p=[0.6, 0.3, 0.099, 0.001])
    group[:3] = "tiny"
    y = (rng.random(n) < np.where(group == "b", 0.4, 0.15)).astype(int)
    prob = np.clip(0.3 * y + rng.random(n) * 0.7 + np.where(group == "c", 0.1, 0.0), 0, 1)
    return labelled_rows(y).assign(group=group), prob


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_values_equal_fairlearn_on_random_data(seed):
    frame, prob = random_case(seed)
    section = run(frame, prob, attributes=[ProtectedAttribute(column="group")], min_group_size=1)
    y, pred, sf = frame[LABEL].to_numpy(), (prob > 0.5).astype(int), frame["group"].to_numpy()
    theirs = fairlearn_values(y, pred, sf)
    ours = pd.DataFrame(section.details["group"]["by_group"]).T.loc[theirs.index]
    np.testing.assert_allclose(ours.to_numpy(float), theirs[ours.columns].to_numpy(float), atol=1e-9, rtol=0)
    metrics = {m.name: m.value for m in section.metrics if "group" not in m.labels}
    expected = {
        "fairness.disparate_impact": demographic_parity_ratio(y, pred, sensitive_features=sf),
        "fairness.demographic_parity_difference": demographic_parity_difference(y, pred, sensitive_features=sf),
    }
    if (theirs["tpr"] > 0).all() or "fairness.equalized_odds_difference" in metrics:
        expected["fairness.equalized_odds_difference"] = equalized_odds_difference(y, pred, sensitive_features=sf)
        expected["fairness.equalized_odds_ratio"] = equalized_odds_ratio(y, pred, sensitive_features=sf)
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, abs=1e-9), name
    for g in theirs.index:
        mask = sf == g
        brier = next(m.value for m in section.metrics if m.name == "fairness.brier_score" and m.labels["group"] == g)
        assert brier == pytest.approx(brier_score_loss(y[mask], prob[mask], labels=[0, 1]), abs=1e-9)
        gap = section.details["group"]["calibration_gap"][g]
        assert gap == pytest.approx(abs(prob[mask].mean() - y[mask].mean()), abs=1e-9)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    "case",
    ["no positives in a group", "no negatives in a group", "nobody selected in a group", "nobody selected at all"],
)
def test_values_equal_fairlearn_on_degenerate_groups(case):
    frame, p = designed_frame()
    b = frame["group"] == "b"
    if case == "no positives in a group":
        frame.loc[b, LABEL] = 0
    elif case == "no negatives in a group":
        frame.loc[b, LABEL] = 1
    elif case == "nobody selected in a group":
        p = np.where(b, 0.1, p)
    else:
        p = np.full(len(p), 0.1)
    section = run(frame, p, attributes=[ProtectedAttribute(column="group")])
    y, pred, sf = frame[LABEL].to_numpy(), (p > 0.5).astype(int), frame["group"].to_numpy()
    theirs = fairlearn_values(y, pred, sf)
    ours = pd.DataFrame(section.details["group"]["by_group"]).T.loc[theirs.index]
    np.testing.assert_allclose(ours.to_numpy(float), theirs[ours.columns].to_numpy(float), atol=1e-9, rtol=0)
    metrics = {m.name: m.value for m in section.metrics if "group" not in m.labels}
    c = checks(section)
    if case == "nobody selected at all":
        assert np.isnan(demographic_parity_ratio(y, pred, sensitive_features=sf))
        assert "fairness.disparate_impact" not in metrics and c["fairness:group:disparate_impact"].status == "ERROR"
    else:
        assert metrics["fairness.disparate_impact"] == pytest.approx(
            demographic_parity_ratio(y, pred, sensitive_features=sf), abs=1e-9
        )
    if case.startswith("no ") and "selected" not in case:
        assert c["fairness:group:equalized_odds"].status == "ERROR"
    else:  # every group has both labels: equalized odds is measured, as fairlearn measures it
        assert metrics["fairness.equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y, pred, sensitive_features=sf), abs=1e-9
        )
        ratio = equalized_odds_ratio(y, pred, sensitive_features=sf)
        if np.isnan(ratio):  # 0 / 0: not a measurement, so not recorded
            assert "fairness.equalized_odds_ratio" not in metrics
        else:
            assert metrics["fairness.equalized_odds_ratio"] == pytest.approx(ratio, abs=1e-9)
